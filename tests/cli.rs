//! The `quickstep` binary, end to end: `run` on the bundled example, `validate` with
//! located diagnostics, `test` on case files.

use std::path::PathBuf;
use std::process::Command;

fn quickstep(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quickstep"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn shared() -> PathBuf {
    std::env::var_os("QUICKSTEP_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")))
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
    let expected_text = std::fs::read_to_string(shared().join("workloads/w1_order.expected.json")).unwrap();
    let expected = quickstep::value::parse(&arena, &expected_text).unwrap();
    assert_eq!(output, expected);
}

#[test]
fn run_reports_a_failed_execution() {
    let dir = std::env::temp_dir().join(format!("quickstep-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let def = dir.join("fail.asl.json");
    std::fs::write(
        &def,
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Oops","Cause":"broken"}}}"#,
    )
    .unwrap();
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
fn validate_locates_every_problem() {
    let dir = std::env::temp_dir().join(format!("quickstep-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let def = dir.join("bad.asl.json");
    std::fs::write(
        &def,
        "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"Next\": \"Nowhere\"}\n  }\n}\n",
    )
    .unwrap();
    let (code, out) = quickstep(&["validate", def.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("bad.asl.json:4:"), "{out}");
    assert!(out.contains("MISSING_TRANSITION_TARGET"), "{out}");
    let (code, out) = quickstep(&["validate", "examples/order/order.asl.json"]);
    assert_eq!((code, out.trim().ends_with("OK")), (0, true), "{out}");
}

#[test]
fn test_command_counts_and_ends_with_the_summary_line() {
    let cases = shared().join("conformance/cases");
    let (code, out) = quickstep(&["test", cases.to_str().unwrap(), "--filter", "io-json-path-array"]);
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap();
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed > 0 && last == format!("{passed} passed, 0 failed"), "{last}");
    assert!(out.contains("io "), "per-area counts: {out}");
}

#[test]
fn test_command_checks_answers_to_definitions() {
    let dir = std::env::temp_dir().join(format!("quickstep-definition-cases-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
    let file = dir.join("case.json");
    std::fs::write(&file, case("MISSING_TRANSITION_TARGET")).unwrap();
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
    // The recorded corpus: every answer matches; TestState-only restrictions do not apply.
    let (code, out) = quickstep(&["test", shared().join("conformance/invalid").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let skips = out.lines().filter(|l| l.starts_with("SKIP teststate-")).count();
    assert!(
        out.trim_end().ends_with(&format!("passed, 0 failed, {skips} skipped")),
        "{out}"
    );
}
