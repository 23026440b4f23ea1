//! Definitions in shapes that published state machines use and AWS accepts: a dot before a
//! bracket in paths, blanks around a path, and payload templates that are not objects.

use quickstep::model::MachineType;
use quickstep::{Machine, Status, TaskRegistry};
use serde_json::{json, Value};

fn run(definition: Value, input: &str) -> Value {
    let machine = Machine::new(&definition.to_string(), TaskRegistry::new()).unwrap_or_else(|e| panic!("{e:?}"));
    let outcome = machine.run_json(input).unwrap();
    assert_eq!(
        outcome.status,
        Status::Succeeded,
        "{:?} {:?}",
        outcome.error,
        outcome.cause
    );
    serde_json::from_str(outcome.output.as_deref().unwrap()).unwrap()
}

#[test]
fn a_dot_before_a_bracket_reads_as_the_bracket() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "$.[0]", "Parameters": {
            "first.$": "$.items.[0].name",
            "spaced.$": "$.abc.['def ghi']",
            "pairs.$": "$.items.[*].['bucket', 'key']"
        }, "End": true}}});
    let input = r#"[{"items": [{"name": "n", "bucket": "b", "key": "k"}], "abc": {"def ghi": 3}}]"#;
    assert_eq!(
        run(definition, input),
        json!({"first": "n", "spaced": 3, "pairs": [{"bucket": "b", "key": "k"}]})
    );
}

#[test]
fn blanks_around_a_path_are_ignored() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": " $.in ", "Parameters": {"name.$": "$$.Execution.Name "}, "ResultPath": "$.out\n", "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": " $.out.name", "IsPresent": true, "Next": "D"}]},
        "D": {"Type": "Succeed"}}});
    // ResultPath places the result in the raw state input (InputPath only feeds Parameters)
    assert_eq!(
        run(definition, r#"{"in": {"x": 1}}"#),
        json!({"in": {"x": 1}, "out": {"name": "execution"}})
    );
}

#[test]
fn payload_templates_may_be_any_json_value() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": [{"v.$": "$.v"}, "literal", 3], "ResultPath": "$.list", "Next": "B"},
        "B": {"Type": "Pass", "Parameters": "just text", "ResultPath": "$.text", "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.list", "ItemSelector": ["each", {"i.$": "$$.Map.Item.Index"}],
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
              "ResultSelector": {"count.$": "States.ArrayLength($)"}, "ResultPath": "$.mapped", "End": true}}});
    assert_eq!(
        run(definition, r#"{"v": 1}"#),
        json!({"v": 1, "list": [{"v": 1}, "literal", 3], "text": "just text", "mapped": {"count": 3}})
    );
}

#[test]
fn a_task_resource_must_be_an_arn() {
    for resource in [
        "not-an-arn",
        "${MyFunctionArn}",
        "arn:aws:lambda",
        "arn::lambda:us-east-1:1:function:f",
        "arn:gcp:lambda:::f",
    ] {
        let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}});
        let diagnostics = quickstep::validate_text(&definition.to_string(), MachineType::Standard).unwrap_err();
        let texts: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            ["SCHEMA_VALIDATION_FAILED: Value is not a valid resource ARN at /States/T/Resource"],
            "{resource}"
        );
    }
    for resource in [
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:us-east-1:123456789012:activity:a",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
        "arn:aws-us-gov:states:::lambda:invoke",
    ] {
        let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": true}}});
        let checked = quickstep::validate_text(&definition.to_string(), MachineType::Standard);
        assert!(checked.is_ok(), "{resource}: {:?}", checked.err());
    }
}

const DISTRIBUTED_MAP: &str = r#"{"StartAt": "Process", "States": {"Process": {"Type": "Map",
  "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                 "Parameters": {"Bucket.$": "$.bucket", "Key": "orders.json"}},
  "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "Double",
                    "States": {"Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": true}}},
  "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "out", "Prefix": "results"}},
  "Catch": [{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "NoItems"}],
  "End": true}, "NoItems": {"Type": "Pass", "Result": "no items", "End": true}}}"#;

#[test]
fn a_distributed_map_reads_and_writes_through_handlers_and_never_its_input() {
    // without handlers, the reader fails the Map (caught here) instead of iterating the input
    let machine = Machine::new(DISTRIBUTED_MAP, TaskRegistry::new()).unwrap();
    let outcome = machine.run_json(r#"{"bucket": "in"}"#).unwrap();
    assert_eq!(outcome.output.as_deref(), Some(r#""no items""#));
    // with them, the reader's result is the items, and the writer's the Map's result
    let mut tasks = TaskRegistry::new();
    tasks.register_json("arn:aws:states:::s3:getObject", |request| {
        assert_eq!(request, json!({"Bucket": "in", "Key": "orders.json"}));
        Ok(json!([{"n": 1}, {"n": 2}]))
    });
    tasks.register_json("arn:aws:states:::s3:putObject", |results| {
        Ok(json!({"written": results}))
    });
    let outcome = Machine::new(DISTRIBUTED_MAP, tasks)
        .unwrap()
        .run_json(r#"{"bucket": "in"}"#)
        .unwrap();
    assert_eq!(outcome.status, Status::Succeeded, "{:?}", outcome.cause);
    assert_eq!(outcome.output.as_deref(), Some(r#"{"written":[{"n":2},{"n":4}]}"#));
    // a writer without a handler fails the Map with States.ResultWriterFailed
    let mut tasks = TaskRegistry::new();
    tasks.register_json("arn:aws:states:::s3:getObject", |_| Ok(json!([])));
    let outcome = Machine::new(DISTRIBUTED_MAP, tasks)
        .unwrap()
        .run_json(r#"{"bucket": "in"}"#)
        .unwrap();
    assert_eq!(outcome.error.as_deref(), Some("States.ResultWriterFailed"));
    assert!(
        outcome.cause.as_deref().unwrap().contains(
            "The ResultWriter calls S3 ('arn:aws:states:::aws-sdk:s3:putObject'), which needs the S3 integration"
        ),
        "{:?}",
        outcome.cause
    );
}
