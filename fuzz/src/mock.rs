//! Mock configurations (Step Functions Local's `MockConfigFile.json`) for [`DEFINITION`]:
//! test cases naming its Task states (and states it lacks, and states that are not Tasks),
//! mocked responses answering invocations by number and by range (overlapping, reversed,
//! huge), with `Return` and `Throw` answers and now and then a field that is wrong.

use serde_json::{json, Map, Value as Json};

use crate::json::value;
use crate::G;

/// The machine the configurations mock: Tasks at the top, in a Parallel branch, in a Map
/// processor, with Retry and a loop back, in both query languages.
pub const DEFINITION: &str = r#"{
  "StartAt": "Init",
  "States": {
    "Init": {"Type": "Pass", "Assign": {"n": 0}, "Next": "Lambda"},
    "Lambda": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:identity", "Payload.$": "$"},
      "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Count"}],
      "ResultPath": "$.lambda", "Next": "Count"},
    "Count": {"Type": "Pass", "Assign": {"n.$": "States.MathAdd($n, 1)"}, "Next": "Again"},
    "Again": {"Type": "Choice", "Choices": [{"Variable": "$n", "NumericLessThan": 3, "Next": "Lambda"}], "Default": "Par"},
    "Par": {"Type": "Parallel", "ResultPath": "$.par", "Next": "Items",
      "Branches": [{"StartAt": "Sqs", "States": {"Sqs": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": {"QueueUrl": "q", "MessageBody.$": "$"}, "End": true}}},
                   {"StartAt": "Js", "States": {"Js": {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::dynamodb:getItem", "Arguments": {"TableName": "t", "Key": "{% $states.input %}"}, "Output": "{% $states.result %}", "End": true}}}]},
    "Items": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.mapped", "Next": "Done",
      "ItemProcessor": {"StartAt": "Each", "States": {"Each": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:identity", "End": true}}}},
    "Done": {"Type": "Succeed"}
  }
}"#;

/// The machine's name in the configurations.
pub const MACHINE: &str = "M";

const STATES: &[&str] = &["Lambda", "Sqs", "Js", "Each", "Count", "Par", "Nope", ""];

fn answer(g: &mut G) -> Json {
    match g.below(6) {
        0 | 1 => json!({"Return": value(g, 2)}),
        2 => json!({"Return": {"StatusCode": 200, "Payload": value(g, 1)}}),
        3 => {
            let mut t = Map::new();
            if g.chance(7, 8) {
                t.insert(
                    "Error".into(),
                    json!(g.pick(&["Lambda.ServiceException", "States.TaskFailed", "Custom", ""])),
                );
            }
            if g.chance(7, 8) {
                t.insert("Cause".into(), json!(g.pick(&["c", "", "{\"a\":1}"])));
            }
            json!({ "Throw": t })
        }
        4 => json!({"Return": value(g, 0), "Throw": {"Error": "E", "Cause": "C"}}),
        _ => value(g, 1),
    }
}

fn range_key(g: &mut G) -> String {
    match g.below(6) {
        0 | 1 => g.below(6).to_string(),
        2 => {
            let a = g.below(5);
            format!("{}-{}", a, a + g.below(4))
        }
        3 => g
            .pick(&[
                "0-4294967295",
                "4294967295",
                "4294967296",
                "2-1",
                "-1",
                "1-",
                "-",
                "a",
                "",
                "01",
                " 1",
                "0-0",
                "18446744073709551616",
            ])
            .to_string(),
        4 => format!("{}-{}", g.int(), g.int()),
        _ => g.string(8),
    }
}

/// A configuration (JSON text) with up to three test cases.
pub fn config(g: &mut G) -> String {
    let mut responses = Map::new();
    let names = ["R0", "R1", "R2", "R3"];
    for name in names.iter().take(1 + g.below(4)) {
        let mut r = Map::new();
        for _ in 0..1 + g.below(4) {
            r.insert(range_key(g), answer(g));
        }
        responses.insert(name.to_string(), Json::Object(r));
    }
    let mut cases = Map::new();
    for case in ["A", "B", "C"].iter().take(1 + g.below(3)) {
        let mut c = Map::new();
        for _ in 0..g.below(5) {
            let response = if g.chance(1, 12) { "Missing" } else { g.pick(&names) };
            c.insert(g.pick(STATES).to_string(), json!(response));
        }
        cases.insert(case.to_string(), Json::Object(c));
    }
    let mut machine = Map::new();
    machine.insert("TestCases".into(), Json::Object(cases));
    let mut machines = Map::new();
    machines.insert(
        if g.chance(1, 20) {
            "Other".into()
        } else {
            MACHINE.to_string()
        },
        Json::Object(machine),
    );
    let mut root = Map::new();
    root.insert("StateMachines".into(), Json::Object(machines));
    root.insert("MockedResponses".into(), Json::Object(responses));
    if g.chance(1, 20) {
        root.insert(
            g.pick(&["StateMachines", "MockedResponses", "Extra"]).into(),
            value(g, 1),
        );
    }
    Json::Object(root).to_string()
}
