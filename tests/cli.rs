//! The `quickstep` binary, end to end: `run` on the bundled example, `graph` of it,
//! `validate` with located diagnostics, `test` on case files.

use std::path::PathBuf;

mod common;

use common::{quickstep, quickstep_apart, scratch};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

#[test]
fn run_prints_a_start_sync_execution_response() {
    let (code, out) = quickstep(&[
        "run",
        "examples/order/order.asl.json",
        "--input-file",
        "examples/order/input.json",
        "--resources",
        "examples/order/resources.json",
    ]);
    assert_eq!(code, 0, "{out}");
    let response: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(response["status"], "SUCCEEDED");
    assert_eq!(
        response["stateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:order"
    );
    // Compare as JSON values (numbers by value: the input's `10.0` is the expected `10`).
    let arena = quickstep::value::Arena::new();
    let output = quickstep::value::parse(&arena, response["output"].as_str().unwrap()).unwrap();
    let expected_text = std::fs::read_to_string(data_dir().join("workloads/w1_order.expected.json")).unwrap();
    let expected = quickstep::value::parse(&arena, &expected_text).unwrap();
    assert_eq!(output, expected);
}

#[test]
fn run_reports_a_failed_execution() {
    let def = scratch(
        "quickstep-cli",
        "fail.asl.json",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Oops","Cause":"broken"}}}"#,
    );
    let (code, out) = quickstep(&["run", def.to_str().unwrap(), "--input", "{}"]);
    assert_eq!(code, 1);
    let response: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            response["status"].as_str(),
            response["error"].as_str(),
            response["cause"].as_str()
        ),
        (Some("FAILED"), Some("Oops"), Some("broken"))
    );
}

#[test]
fn run_prints_the_history_after_the_result() {
    let def = scratch(
        "quickstep-cli",
        "history.asl.json",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":1,"End":true}}}"#,
    );
    let (code, out) = quickstep(&["run", def.to_str().unwrap(), "--history", "--virtual-time"]);
    assert_eq!(code, 0, "{out}");
    // Two JSON documents: the StartSyncExecution-shaped result, then the history.
    let mut documents = serde_json::Deserializer::from_str(&out).into_iter::<serde_json::Value>();
    let response = documents.next().unwrap().unwrap();
    assert_eq!(response["status"], "SUCCEEDED");
    let history = documents.next().unwrap().unwrap();
    assert!(documents.next().is_none());
    let events = history["events"].as_array().unwrap();
    let shape: Vec<(u64, u64, &str)> = events
        .iter()
        .map(|e| {
            assert!(e["timestamp"].is_f64() || e["timestamp"].is_u64(), "{e}");
            (
                e["id"].as_u64().unwrap(),
                e["previousEventId"].as_u64().unwrap(),
                e["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (1, 0, "ExecutionStarted"),
            (2, 0, "PassStateEntered"),
            (3, 2, "PassStateExited"),
            (4, 3, "ExecutionSucceeded")
        ]
    );
    assert_eq!(events[2]["stateExitedEventDetails"]["output"], "1");
    assert_eq!(
        events[0]["executionStartedEventDetails"]["roleArn"],
        "arn:aws:iam::123456789012:role/quickstep"
    );
}

#[test]
fn validate_locates_every_problem() {
    let def = scratch(
        "quickstep-validate",
        "bad.asl.json",
        "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"Next\": \"Nowhere\"}\n  }\n}\n",
    );
    let (code, out) = quickstep(&["validate", def.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("bad.asl.json:4:"), "{out}");
    assert!(out.contains("MISSING_TRANSITION_TARGET"), "{out}");
    let (code, out) = quickstep(&["validate", "examples/order/order.asl.json"]);
    assert_eq!((code, out.trim().ends_with("OK")), (0, true), "{out}");
}

#[test]
fn test_command_counts_and_ends_with_the_summary_line() {
    let cases = data_dir().join("conformance/cases");
    let (code, out) = quickstep(&["test", cases.to_str().unwrap(), "--filter", "io-json-path-array"]);
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap();
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed > 0 && last == format!("{passed} passed, 0 failed"), "{last}");
    assert!(out.contains("io "), "per-area counts: {out}");
}

#[test]
fn test_command_checks_answers_to_definitions() {
    let case = |code: &str| {
        serde_json::json!({
            "name": "create-missing-target",
            "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}},
            "expected": {
                "api": "CreateStateMachine",
                "parsed": {
                    "code": code,
                    "message": "Missing 'Next' target: Nowhere",
                    "location": "/States/A/Next"
                }
            }
        })
        .to_string()
    };
    let file = scratch(
        "quickstep-definition-cases",
        "case.json",
        &case("MISSING_TRANSITION_TARGET"),
    );
    let (code, out) = quickstep(&["test", file.to_str().unwrap()]);
    assert_eq!((code, out.lines().last()), (0, Some("1 passed, 0 failed")), "{out}");
    assert!(out.contains("create          1 passed"), "per-area counts: {out}");
    std::fs::write(&file, case("SCHEMA_VALIDATION_FAILED")).unwrap();
    let (code, out) = quickstep(&["test", file.to_str().unwrap()]);
    assert_eq!((code, out.lines().last()), (1, Some("0 passed, 1 failed")), "{out}");
    assert!(
        out.contains("FAIL create-missing-target") && out.contains("MISSING_TRANSITION_TARGET"),
        "{out}"
    );
    // The recorded corpus: every answer matches, the TestState ones included.
    let (code, out) = quickstep(&["test", data_dir().join("conformance/invalid").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("SKIP"), "{out}");
    assert!(out.trim_end().ends_with("passed, 0 failed"), "{out}");
}

const ORDER: &str = "examples/order/order.asl.json";
const ORDER_RUN: [&str; 4] = [
    "--input-file",
    "examples/order/input.json",
    "--resources",
    "examples/order/resources.json",
];

/// The order example's states and the ids `graph` gives them (definition order).
const ORDER_STATES: [(&str, &str); 5] = [
    ("s0", "ValidateOrder"),
    ("s1", "CheckStock"),
    ("s2", "ProcessPayment"),
    ("s3", "ShipOrder"),
    ("s4", "OutOfStock"),
];

fn trimmed_lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).collect()
}

#[test]
fn graph_draws_the_order_example_as_mermaid() {
    let (code, out, err) = quickstep_apart(&["graph", ORDER]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let lines = trimmed_lines(&out);
    assert_eq!(lines[0], "flowchart TD");
    let expected = [
        r#"start0(("start"))"#,
        r#"end0((("end")))"#,
        r#"s0["ValidateOrder<br/>Task"]"#,
        r#"s1{"CheckStock<br/>Choice"}"#,
        r#"s2["ProcessPayment<br/>Task"]"#,
        r#"s3["ShipOrder<br/>Task"]"#,
        r#"s4["OutOfStock<br/>Task"]"#,
        "start0 --> s0",
        "s0 --> s1",
        r#"s1 -->|"rule 1"| s2"#,
        r#"s1 -->|"Default"| s4"#,
        "s2 --> s3",
        "s3 --> end0",
        "s4 --> end0",
    ];
    assert_eq!(lines[1..], expected, "{out}");
}

#[test]
fn graph_highlights_the_states_that_run_entered() {
    // What `run` does on the same files: each task of the example merges its own field.
    let (code, out) = quickstep(&[&["run", ORDER][..], &ORDER_RUN[..]].concat());
    assert_eq!(code, 0, "{out}");
    let response: serde_json::Value = serde_json::from_str(&out).unwrap();
    let output: serde_json::Value = serde_json::from_str(response["output"].as_str().unwrap()).unwrap();
    let ran = |field: &str| output.get(field).is_some();
    let on_path = [
        ("ValidateOrder", ran("validated")),
        ("CheckStock", true),
        ("ProcessPayment", ran("paymentId")),
        ("ShipOrder", ran("shipped")),
        ("OutOfStock", ran("backordered")),
    ];
    assert_eq!(on_path.iter().filter(|(_, on)| *on).count(), 4, "{output}");

    let (code, out, _) = quickstep_apart(&[&["graph", ORDER][..], &ORDER_RUN[..]].concat());
    assert_eq!(code, 0, "{out}");
    let entered: Vec<&str> = ORDER_STATES
        .iter()
        .zip(on_path)
        .filter(|(_, (_, on))| *on)
        .map(|((id, _), _)| *id)
        .collect();
    let lines = trimmed_lines(&out);
    let class_lines: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("class ")).collect();
    assert_eq!(class_lines, [format!("class {} entered", entered.join(","))], "{out}");
    // The edges taken: start, Next, rule 1, Next, End (not Default, not OutOfStock's End).
    assert!(
        lines.contains(&"linkStyle 0,1,2,4,5 stroke:#2e7d32,stroke-width:3px"),
        "{out}"
    );

    let (code, dot, _) = quickstep_apart(&[&["graph", ORDER, "--format", "dot"][..], &ORDER_RUN[..]].concat());
    assert_eq!(code, 0, "{dot}");
    assert!(
        dot.starts_with("digraph state_machine {\n") && dot.ends_with("}\n"),
        "{dot}"
    );
    for ((id, name), (_, on)) in ORDER_STATES.iter().zip(on_path) {
        let node = dot.lines().find(|l| l.trim().starts_with(&format!("{id} ["))).unwrap();
        assert!(node.contains(&format!("label=\"{name}\\n")), "{node}");
        assert_eq!(node.contains("fillcolor=\"#d9f2d9\""), on, "{node}");
    }
    let plain = quickstep_apart(&["graph", ORDER, "--format", "dot"]).1;
    assert!(
        plain.contains("s1 -> s4 [label=\"Default\"];") && !plain.contains("filled"),
        "{plain}"
    );
}

#[test]
fn graph_marks_where_the_execution_failed() {
    let resources = scratch(
        "quickstep-graph",
        "resources.json",
        r#"{"arn:aws:lambda:us-east-1:123456789012:function:ValidateOrder": "identity",
            "arn:aws:lambda:us-east-1:123456789012:function:ProcessPayment": "identity",
            "arn:aws:lambda:us-east-1:123456789012:function:ShipOrder": "identity",
            "arn:aws:lambda:us-east-1:123456789012:function:OutOfStock": "raise:Backorder:no stock"}"#,
    );
    let args = ["graph", ORDER, "--input", r#"{"inStock": false}"#, "--resources"];
    let (code, out, err) = quickstep_apart(&[&args[..], &[resources.to_str().unwrap()]].concat());
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("FAILED: Backorder"), "{err}");
    let lines = trimmed_lines(&out);
    assert!(
        lines.contains(&"class s0,s1 entered") && lines.contains(&"class s4 failed"),
        "{out}"
    );
    // A bad definition: reported as `run` reports it.
    let bad = scratch(
        "quickstep-graph",
        "bad.asl.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#,
    );
    let run = quickstep(&["run", bad.to_str().unwrap()]);
    let graph = quickstep(&["graph", bad.to_str().unwrap()]);
    assert_eq!(graph, run);
    assert!(
        graph.0 == 2 && graph.1.contains("MISSING_TRANSITION_TARGET"),
        "{graph:?}"
    );
}

#[test]
fn graph_writes_svg_and_html_files_with_the_execution() {
    let dir = std::env::temp_dir().join(format!("quickstep-graph-svg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let svg = dir.join("nested/order.svg");
    let (code, out, err) = quickstep_apart(
        &[
            &["graph", ORDER, "--format", "svg", "--output", svg.to_str().unwrap()][..],
            &ORDER_RUN[..],
        ]
        .concat(),
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "", ""),
        "the drawing goes to the file only"
    );
    let text = std::fs::read_to_string(&svg).expect("the SVG file, its folder created");
    assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{text}");
    for state in [
        "ValidateOrder",
        "CheckStock",
        "ProcessPayment",
        "ShipOrder",
        "OutOfStock",
    ] {
        assert_eq!(text.matches(&format!("data-state=\"{state}\"")).count(), 1, "{state}");
    }
    assert!(
        text.contains("data-state=\"CheckStock\" data-type=\"Choice\" data-status=\"succeeded\""),
        "{text}"
    );
    let (code, html, _) = quickstep_apart(&[&["graph", ORDER, "--format", "html"][..], &ORDER_RUN[..]].concat());
    assert_eq!(code, 0);
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<svg ") && html.contains("<td>ExecutionSucceeded</td>"),
        "{html}"
    );
    // Without an input: the drawing alone.
    let (code, plain, _) = quickstep_apart(&["graph", ORDER, "--format", "svg"]);
    assert_eq!(code, 0);
    assert!(plain.contains("data-status=\"not-started\"") && !plain.contains("data-status=\"succeeded\""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value of attribute `name` in the first element of `xml` that starts with `element`.
fn xml_attribute<'a>(xml: &'a str, element: &str, name: &str) -> &'a str {
    let start = xml.find(element).unwrap_or_else(|| panic!("no {element} in {xml}"));
    let tag = &xml[start..start + xml[start..].find('>').unwrap()];
    let value = &tag[tag
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + name.len()
        + 3..];
    &value[..value.find('"').unwrap()]
}

#[test]
fn test_command_writes_a_junit_report() {
    let execution = |name: &str, output: serde_json::Value| {
        let case = serde_json::json!({
            "name": name,
            "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": "<&\">"}, "End": true}}},
            "input": {},
            "expected": {"status": "SUCCEEDED", "output": output}
        });
        scratch("quickstep-junit", &format!("{name}.json"), &case.to_string());
    };
    execution("pass-matches", serde_json::json!({"a": "<&\">"}));
    execution("pass-differs", serde_json::json!({"a": "b"}));
    let definition = serde_json::json!({
        "name": "create-missing-target",
        "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}},
        "expected": {
            "api": "CreateStateMachine",
            "parsed": {
                "code": "MISSING_TRANSITION_TARGET",
                "message": "Missing 'Next' target: Nowhere",
                "location": "/States/A/Next"
            }
        }
    });
    let file = scratch("quickstep-junit", "create-missing-target.json", &definition.to_string());
    // A file that is not a case: skipped, in no area, in the summary as in the report.
    scratch("quickstep-junit", "notes.json", r#"{"hello": 1}"#);
    let dir = file.parent().unwrap();
    let folder = dir.to_str().unwrap();
    let report = dir.join("report.xml");

    let plain = quickstep_apart(&["test", folder]);
    let with_junit = quickstep_apart(&["test", folder, "--junit", report.to_str().unwrap()]);
    assert_eq!(with_junit, plain, "the terminal output does not change");
    let (code, out, _) = plain;
    assert_eq!(
        (code, out.lines().last()),
        (1, Some("2 passed, 1 failed, 1 skipped")),
        "{out}"
    );

    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "),
        "{xml}"
    );
    let counts = |element: &str| ["tests", "failures", "skipped"].map(|name| xml_attribute(&xml, element, name));
    assert_eq!(counts("<testsuites name=\"quickstep\""), ["4", "1", "1"], "{xml}");
    assert_eq!(counts("<testsuite name=\"create\""), ["1", "0", "0"], "{xml}");
    assert_eq!(counts("<testsuite name=\"pass\""), ["2", "1", "0"], "{xml}");
    assert!(
        xml.find("<testsuite name=\"create\"") < xml.find("<testsuite name=\"pass\""),
        "areas in the terminal's order: {xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 3, "{xml}");
    let time = xml_attribute(&xml, "<testcase name=\"pass-matches\"", "time");
    assert!(time.len() == 5 && time.parse::<f64>().is_ok(), "{time}");
    // The failing case: the difference's first line as the message, the whole of it as text,
    // escaped.
    let failing = &xml[xml.find("<testcase name=\"pass-differs\" classname=\"pass\"").unwrap()..];
    let failure = &failing[..failing.find("</testcase>").unwrap()];
    assert!(
        failure.contains(
            "<failure message=\"output differs:\">output differs:\n  \
             $[&apos;a&apos;]: expected &quot;b&quot;, got &quot;&lt;&amp;\\&quot;&gt;&quot;\n"
        ),
        "{failure}"
    );
    assert!(out.contains("$['a']: expected \"b\", got \"<&\\\">\""), "{out}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");

    // A report in a folder that does not exist yet: the folder is created.
    let nested = dir.join("reports/junit/report.xml");
    let _ = std::fs::remove_dir_all(dir.join("reports"));
    let (code, _, _) = quickstep_apart(&["test", folder, "--junit", nested.to_str().unwrap()]);
    assert_eq!(code, 1);
    let nested_xml = std::fs::read_to_string(&nested).unwrap();
    assert!(nested_xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    assert_eq!(nested_xml.matches("<testcase ").count(), 3, "{nested_xml}");

    // A report that cannot be written (its folder would be inside a file): an error naming
    // the file, after the cases ran.
    let nowhere = dir.join("notes.json/report.xml");
    let (code, out, err) = quickstep_apart(&["test", folder, "--junit", nowhere.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.ends_with("2 passed, 1 failed, 1 skipped\n"), "{out}");
    assert!(
        err.starts_with(&format!(
            "quickstep: {}: cannot write the JUnit report: ",
            nowhere.display()
        )),
        "{err}"
    );
}

#[test]
fn test_command_reports_the_corpus_as_junit() {
    let report = std::env::temp_dir().join(format!("quickstep-junit-corpus-{}.xml", std::process::id()));
    let (code, out) = quickstep(&[
        "test",
        data_dir().join("conformance").to_str().unwrap(),
        "--junit",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap();
    let counted: usize = last
        .split(", ")
        .map(|part| part.split(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    let xml = std::fs::read_to_string(&report).unwrap();
    assert_eq!(xml_attribute(&xml, "<testsuites", "failures"), "0", "{last}");
    assert_eq!(
        xml_attribute(&xml, "<testsuites", "tests"),
        counted.to_string(),
        "{last}"
    );
    assert_eq!(xml.matches("<testcase ").count(), counted, "{last}");
    assert_eq!(xml.matches("<failure").count(), 0);
    // The whole corpus runs: nothing skipped, the TestState cases included.
    assert_eq!(xml.matches("<skipped ").count(), 0, "{last}");
    assert_eq!(xml_attribute(&xml, "<testsuites", "skipped"), "0", "{last}");
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
}

/// `run` of the mocks example's test case `test_case`, with `more` arguments.
fn run_mocked_example(test_case: &str, more: &[&str]) -> (i32, String) {
    let mut args = vec![
        "run",
        "examples/mocks/LambdaSQSIntegration.asl.json",
        "--mock-config",
        "examples/mocks/MockConfigFile.json",
        "--test-case",
        test_case,
    ];
    args.extend_from_slice(more);
    quickstep(&args)
}

#[test]
fn run_with_a_mock_config_answers_with_the_mocked_responses() {
    let (code, out) = run_mocked_example("HappyPath", &["--input", r#"{"orderId":"o-1"}"#]);
    assert_eq!(code, 0, "{out}");
    let response: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(response["status"], "SUCCEEDED");
    let output: serde_json::Value = serde_json::from_str(response["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output,
        serde_json::json!({
            "orderId": "o-1",
            "lambda": {"body": "Hello from Lambda!"},
            "sqs": {
                "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
                "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"
            }
        })
    );
    // RetryPath (three failures, then the answer) on a virtual clock; the machine named
    // explicitly, which also names it in the ARNs.
    let def = scratch(
        "quickstep-mocks",
        "renamed.asl.json",
        &std::fs::read_to_string("examples/mocks/LambdaSQSIntegration.asl.json").unwrap(),
    );
    let (code, out) = quickstep(&[
        "run",
        def.to_str().unwrap(),
        "--mock-config",
        "examples/mocks/MockConfigFile.json",
        "--test-case",
        "RetryPath",
        "--state-machine",
        "LambdaSQSIntegration",
        "--virtual-time",
    ]);
    assert_eq!(code, 0, "{out}");
    let response: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        response["stateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:LambdaSQSIntegration"
    );
    let elapsed = response["stopDate"].as_f64().unwrap() - response["startDate"].as_f64().unwrap();
    assert_eq!(elapsed, 14.0, "the back-offs of three retries: {out}");
    // HybridPath: the unmocked SQS state uses the --resources behaviour.
    let resources = scratch(
        "quickstep-mocks",
        "resources.json",
        r#"{"arn:aws:states:::sqs:sendMessage": {"Return": {"MessageId": "local"}}}"#,
    );
    let (code, out) = run_mocked_example("HybridPath", &["--resources", resources.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let response: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        response["output"],
        r#"{"lambda":{"body":"Hello from Lambda!"},"sqs":{"MessageId":"local"}}"#
    );
}

#[test]
fn mock_config_errors_exit_with_status_2_naming_the_file_and_the_field() {
    let definition = "examples/mocks/LambdaSQSIntegration.asl.json";
    let config = scratch(
        "quickstep-mocks-bad",
        "MockConfigFile.json",
        r#"{"StateMachines": {"LambdaSQSIntegration": {"TestCases": {"HappyPath": {"LambdaState": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "E"}}}}}"#,
    );
    let (code, stdout, stderr) = quickstep_apart(&[
        "run",
        definition,
        "--mock-config",
        config.to_str().unwrap(),
        "--test-case",
        "HappyPath",
    ]);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "quickstep: {}: /MockedResponses/R/0: expected exactly one of Return or Throw",
            config.display()
        )
    );
    // A test case that mocks a state the definition does not have.
    let config = scratch(
        "quickstep-mocks-bad",
        "NoSuchState.json",
        r#"{"StateMachines": {"LambdaSQSIntegration": {"TestCases": {"T": {"Nowhere": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}}}"#,
    );
    let (code, out) = quickstep(&[
        "run",
        definition,
        "--mock-config",
        config.to_str().unwrap(),
        "--test-case",
        "T",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "/StateMachines/LambdaSQSIntegration/TestCases/T/Nowhere: the definition has no state named 'Nowhere'"
        ),
        "{out}"
    );
    // An unknown test case lists the available ones; so does `graph`, through the same options.
    let (code, out) = quickstep(&[
        "graph",
        definition,
        "--input",
        "{}",
        "--mock-config",
        "examples/mocks/MockConfigFile.json",
        "--test-case",
        "SadPath",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("examples/mocks/MockConfigFile.json: /StateMachines/LambdaSQSIntegration/TestCases: no test case named 'SadPath' (available: 'HappyPath', 'HybridPath', 'RetryPath')"), "{out}");
    // One option without the other is a usage error.
    for args in [
        ["--test-case", "HappyPath"],
        ["--mock-config", "examples/mocks/MockConfigFile.json"],
    ] {
        let (code, out) = quickstep(&["run", definition, args[0], args[1]]);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains("required arguments were not provided"), "{out}");
    }
}
