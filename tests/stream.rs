//! `quickstep stream`, end to end: newline-delimited events in, one line per event out, bad
//! lines reported by number, the summary and the exit status.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

mod common;

use common::{quickstep_apart, scratch};

/// Echoes its execution's name (the line number) and `a`; fails with `NotANumber` when `a`
/// is not a number.
const CHECKER: &str = r#"{"StartAt": "P", "States": {
    "P": {"Type": "Pass", "Parameters": {"line.$": "$$.Execution.Name", "a.$": "$.a"}, "Next": "C"},
    "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNumeric": true, "Next": "Ok"}], "Default": "Bad"},
    "Ok": {"Type": "Succeed"},
    "Bad": {"Type": "Fail", "Error": "NotANumber", "Cause": "a is not a number"}}}"#;

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn each_event_gets_one_line_in_input_order_and_bad_lines_name_their_number() {
    let definition = scratch("stream-order", "checker.asl.json", CHECKER);
    let input = definition.with_file_name("events.ndjson");
    let mut events = Vec::new();
    events.extend_from_slice(b"{\"a\": 1}\n");
    events.extend_from_slice(b"\n"); // blank: skipped, but counted as line 2
    events.extend_from_slice(b"not json\n");
    events.extend_from_slice(b"{\"a\": \"x\"}\r\n");
    events.extend_from_slice(b"{\"a\": \"\xff\"}\n"); // not UTF-8
    events.extend_from_slice(format!("{{\"a\": \"{}\"}}\n", "y".repeat(262_144)).as_bytes());
    events.extend_from_slice(b"  {\"a\": 7}  "); // last line, no newline
    std::fs::write(&input, &events).unwrap();
    let (code, stdout, stderr) = quickstep_apart(&[
        "stream",
        definition.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--ordered",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let out = lines(&stdout);
    assert_eq!(out.len(), 6, "{stdout}");
    assert_eq!(out[0], serde_json::json!({"line": "1", "a": 1}));
    assert_eq!(out[1]["error"], "InvalidExecutionInput");
    assert_eq!(out[1]["line"], 3);
    assert!(out[1]["cause"]
        .as_str()
        .unwrap()
        .starts_with("Invalid State Machine Execution Input: '"));
    assert_eq!(
        out[2],
        serde_json::json!({"error": "NotANumber", "cause": "a is not a number"})
    );
    assert_eq!(out[3]["error"], "InvalidExecutionInput");
    assert_eq!(out[3]["line"], 5);
    assert!(out[3]["cause"].as_str().unwrap().contains("UTF-8"), "{}", out[3]);
    assert_eq!(out[4]["error"], "InvalidExecutionInput");
    assert_eq!(out[4]["line"], 6);
    assert!(out[4]["cause"].as_str().unwrap().contains("262153 bytes"), "{}", out[4]);
    assert_eq!(out[5], serde_json::json!({"line": "7", "a": 7}));
    assert!(
        stderr.contains("2 succeeded, 4 failed\n  InvalidExecutionInput: 3\n  NotANumber: 1"),
        "{stderr}"
    );
}

#[test]
fn unordered_lines_are_the_same_outcomes_and_exit_status_zero_when_all_succeed() {
    let definition = scratch("stream-unordered", "checker.asl.json", CHECKER);
    let input = definition.with_file_name("events.ndjson");
    // Several blocks' worth of events.
    let n = 5000;
    let text: String = (1..=n).map(|i| format!("{{\"a\": {i}}}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let output = definition.with_file_name("out.ndjson");
    let (code, stdout, stderr) = quickstep_apart(&[
        "stream",
        definition.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains(&format!("{n} succeeded, 0 failed")), "{stderr}");
    let out = lines(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(out.len(), n);
    // Each event's own outcome, exactly once: the name is its line, `a` its value.
    let by_line: BTreeMap<u64, u64> = out
        .iter()
        .map(|o| (o["line"].as_str().unwrap().parse().unwrap(), o["a"].as_u64().unwrap()))
        .collect();
    assert_eq!(by_line.len(), n);
    assert!(by_line.iter().all(|(line, a)| line == a));
}

#[test]
fn full_format_lines_are_start_sync_execution_responses_named_by_line() {
    let definition = scratch("stream-full", "checker.asl.json", CHECKER);
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstep"))
        .args(["stream", definition.to_str().unwrap(), "--format", "full", "--ordered"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"a\": 2}\n{\"a\": false}\n")
        .unwrap();
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(1));
    let out = lines(&String::from_utf8(done.stdout).unwrap());
    assert_eq!(out.len(), 2);
    let arn = out[0]["executionArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:express:checker:1:"),
        "{arn}"
    );
    assert_eq!(out[0]["name"], "1");
    assert_eq!(out[0]["status"], "SUCCEEDED");
    assert_eq!(out[0]["input"], "{\"a\": 2}");
    assert_eq!(out[0]["output"], "{\"line\":\"1\",\"a\":2}");
    assert_eq!(
        out[0]["stateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:checker"
    );
    assert_eq!(out[1]["name"], "2");
    assert_eq!(out[1]["status"], "FAILED");
    assert_eq!(out[1]["error"], "NotANumber");
    assert_eq!(out[1]["cause"], "a is not a number");
    assert!(out[1].get("output").is_none());
}

#[test]
fn a_bad_definition_or_unanswered_task_exits_with_status_two() {
    let definition = scratch("stream-bad", "bad.asl.json", r#"{"StartAt": "Nowhere", "States": {}}"#);
    let (code, stdout, stderr) = quickstep_apart(&["stream", definition.to_str().unwrap()]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("bad.asl.json"), "{stderr}");
    let task = scratch(
        "stream-bad",
        "task.asl.json",
        r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun", "End": true}}}"#,
    );
    let (code, _, stderr) = quickstep_apart(&["stream", task.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("these Task states have no behaviour"), "{stderr}");
}

#[test]
fn executions_that_wait_end_in_their_own_time_on_a_virtual_clock() {
    let definition = scratch(
        "stream-wait",
        "wait.asl.json",
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"s.$": "$.s", "line.$": "$$.Execution.Name"}, "End": true}}}"#,
    );
    let input = definition.with_file_name("events.ndjson");
    let text: String = (1..=3000)
        .map(|i| format!("{{\"s\": {}}}\n", (i * 7919) % 3600))
        .collect();
    std::fs::write(&input, text).unwrap();
    let (code, stdout, stderr) = quickstep_apart(&[
        "stream",
        definition.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--virtual-time",
        "--ordered",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let out = lines(&stdout);
    assert_eq!(out.len(), 3000);
    for (i, o) in out.iter().enumerate() {
        let line = i as u64 + 1;
        assert_eq!(o["line"], line.to_string());
        assert_eq!(o["s"], (line * 7919) % 3600);
    }
}

/// Runs `quickstep stream` on `input` through a pipe (standard input): exit status,
/// standard output and standard error.
fn stream_piped(args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstep"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let done = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (done.status.code().unwrap_or(-1), text(&done.stdout), text(&done.stderr))
}

#[test]
fn a_file_read_in_place_and_the_same_bytes_through_a_pipe_give_the_same_lines() {
    let definition = scratch("stream-mapped", "checker.asl.json", CHECKER);
    let input = definition.with_file_name("events.ndjson");
    // Several blocks of lines, with bad, blank, too long and CRLF lines among them (some at
    // block boundaries), and a last line without a newline.
    let mut events = Vec::new();
    for i in 1..=4000u32 {
        match i % 997 {
            10 => events.extend_from_slice(b"not json\n"),
            11 => events.extend_from_slice(b"\n"),
            12 => events.extend_from_slice(format!("{{\"a\": \"{}\"}}\n", "z".repeat(300_000)).as_bytes()),
            13 => events.extend_from_slice(b"{\"a\": \"\xfe\"}\n"),
            _ if i % 1024 == 0 => events.extend_from_slice(format!("{{\"a\": {i}}}\r\n").as_bytes()),
            _ => events.extend_from_slice(format!("{{\"a\": {i}}}\n").as_bytes()),
        }
    }
    events.extend_from_slice(b"{\"a\": \"last\"}");
    std::fs::write(&input, &events).unwrap();
    let definition = definition.to_str().unwrap();
    let (code, from_file, file_summary) =
        quickstep_apart(&["stream", definition, "--input", input.to_str().unwrap(), "--ordered"]);
    let (piped_code, from_pipe, pipe_summary) = stream_piped(&["stream", definition, "--ordered"], &events);
    assert_eq!((code, piped_code), (1, 1), "{file_summary}{pipe_summary}");
    assert_eq!(from_file, from_pipe);
    assert_eq!(file_summary, pipe_summary);
    // 4001 lines, of which 5 blank ones are skipped.
    let out = lines(&from_file);
    assert_eq!(out.len(), 3996);
    assert!(
        file_summary.contains("3981 succeeded, 15 failed\n  InvalidExecutionInput: 14\n  NotANumber: 1"),
        "{file_summary}"
    );
    assert_eq!(out[0], serde_json::json!({"line": "1", "a": 1}));
    assert_eq!(out[9]["line"], 10);
    assert_eq!(out[10]["line"], 12);
    assert!(
        out[10]["cause"].as_str().unwrap().contains("300009 bytes"),
        "{}",
        out[10]
    );
    assert_eq!(out[11]["line"], 13);
    assert!(out[11]["cause"].as_str().unwrap().contains("UTF-8"), "{}", out[11]);
    assert_eq!(out[12], serde_json::json!({"line": "14", "a": 14}));
    let crlf = out.iter().find(|o| o["line"] == "1024").unwrap();
    assert_eq!(crlf["a"], 1024);
    assert_eq!(
        out[3995],
        serde_json::json!({"error": "NotANumber", "cause": "a is not a number"})
    );
}

#[test]
fn an_empty_file_gives_no_lines_and_status_zero() {
    let definition = scratch("stream-empty", "checker.asl.json", CHECKER);
    let input = definition.with_file_name("events.ndjson");
    std::fs::write(&input, b"").unwrap();
    let (code, stdout, stderr) = quickstep_apart(&[
        "stream",
        definition.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("0 succeeded, 0 failed"), "{stderr}");
}
