//! Execution input (raw bytes as JSON text) against a fixed set of varied definitions: the
//! six workloads, and machines that take the input apart with JSONata, intrinsics, paths,
//! Choice rules of every kind, Wait and Map fields read from the input.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use quickstep::Machine;
use quickstep_fuzz::harness;

const DEFINITIONS: &[&str] = &[
    include_str!("../../tests/data/workloads/w1_order.asl.json"),
    include_str!("../../tests/data/workloads/w2_pass_chain.asl.json"),
    include_str!("../../tests/data/workloads/w3_choice_heavy.asl.json"),
    include_str!("../../tests/data/workloads/w4_map100.asl.json"),
    include_str!("../../tests/data/workloads/w5_parallel3.asl.json"),
    include_str!("../../tests/data/workloads/w6_intrinsics.asl.json"),
    // JSONata over the input
    r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {
      "A": {"Type": "Pass", "Assign": {"keys": "{% $keys($states.input) %}", "sum": "{% $sum($states.input.items[$type($) = 'number']) %}"},
            "Output": "{% $merge([$type($states.input) = 'object' ? $states.input : {}, {'s': $string($states.input), 'n': $count($states.input.items), 'k': $keys}]) %}", "Next": "B"},
      "B": {"Type": "Choice", "Choices": [{"Condition": "{% $type($states.input.a) = 'number' and $states.input.a > 1 %}", "Next": "C"}], "Default": "M"},
      "C": {"Type": "Pass", "Output": "{% $join($states.input.items.$string(), ',') & $formatNumber($states.input.a, '#,##0.00') %}", "End": true},
      "M": {"Type": "Map", "Items": "{% $type($states.input.items) = 'array' ? $states.input.items : [] %}",
            "ItemProcessor": {"StartAt": "E", "States": {"E": {"Type": "Pass", "Output": "{% {'v': $states.input, 'i': $states.context.Map.Item.Index, 'j': $string($states.input), 'e': $states.input = $states.context.Execution.Input} %}", "End": true}}},
            "Output": "{% [$states.result, $sum, $distinct($states.result.j)] %}", "End": true}}}"#,
    // intrinsics over the input, one per state
    r#"{"StartAt": "U", "States": {
      "U": {"Type": "Pass", "Parameters": {"v.$": "States.ArrayUnique($.items)", "n.$": "States.ArrayLength($.items)"}, "ResultPath": "$.u", "Next": "J"},
      "J": {"Type": "Pass", "Parameters": {"v.$": "States.JsonToString($)", "b.$": "States.Base64Encode(States.JsonToString($.items))"}, "ResultPath": "$.j", "Next": "P"},
      "P": {"Type": "Pass", "Parameters": {"v.$": "States.ArrayPartition($.items, 2)", "c.$": "States.ArrayContains($.items, $.a)", "g.$": "States.ArrayGetItem($.items, 0)"}, "ResultPath": "$.p", "Next": "F"},
      "F": {"Type": "Pass", "Parameters": {"v.$": "States.Format('{} and {}', $.a, $.items)", "h.$": "States.Hash(States.JsonToString($), 'SHA-256')"}, "ResultPath": "$.f", "Next": "S"},
      "S": {"Type": "Pass", "Parameters": {"v.$": "States.StringSplit($.s, ',')", "d.$": "States.Base64Decode($.s)"}, "ResultPath": "$.s2", "Next": "M"},
      "M": {"Type": "Pass", "Parameters": {"v.$": "States.JsonMerge($.x, $.a, false)", "r.$": "States.StringToJson($.s)", "add.$": "States.MathAdd($.n, 1)", "range.$": "States.ArrayRange(0, $.n, 1)"}, "End": true}}}"#,
    // paths and Choice rules of every kind
    r#"{"StartAt": "P", "States": {
      "P": {"Type": "Pass", "Parameters": {"d.$": "$..a", "f.$": "$.items[?(@.a > 1)]", "s.$": "$.items[1:]", "w.$": "$.*", "m.$": "$['a','n']", "in.$": "$"}, "Next": "C"},
      "C": {"Type": "Choice", "Choices": [
        {"Variable": "$.in.n", "NumericGreaterThan": 10, "Next": "Y"},
        {"Variable": "$.in.s", "StringMatches": "a*b*", "Next": "Y"},
        {"And": [{"Variable": "$.in.ts", "IsTimestamp": true}, {"Variable": "$.in.ts", "TimestampLessThan": "2020-01-01T00:00:00Z"}], "Next": "Y"},
        {"Or": [{"Variable": "$.in.a", "IsNull": true}, {"Not": {"Variable": "$.in.a", "IsPresent": true}}], "Next": "Y"},
        {"Variable": "$.in.a", "StringEqualsPath": "$.in.s", "Next": "Y"},
        {"Variable": "$.in.n", "NumericLessThanEqualsPath": "$.in.a", "Next": "Y"},
        {"Variable": "$.in.b", "BooleanEquals": true, "Next": "Y"},
        {"Variable": "$.in.ts", "TimestampGreaterThanEqualsPath": "$.in.s", "Next": "Y"}],
        "Default": "N"},
      "Y": {"Type": "Pass", "OutputPath": "$.d", "End": true},
      "N": {"Type": "Fail", "ErrorPath": "$.in.s", "CausePath": "States.Format('{}', $.in)"}}}"#,
    // Wait and Map fields read from the input
    r#"{"StartAt": "W", "States": {
      "W": {"Type": "Wait", "TimestampPath": "$.ts", "Next": "S"},
      "S": {"Type": "Wait", "SecondsPath": "$.n", "Next": "M"},
      "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrencyPath": "$.n", "ToleratedFailurePercentagePath": "$.n",
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "a.$": "$.a"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:identity", "End": true}}},
            "ResultPath": "$.out", "End": true}}}"#,
    // InputPath, ResultPath, OutputPath, Parallel, Catch
    r#"{"StartAt": "Par", "States": {
      "Par": {"Type": "Parallel", "InputPath": "$.x", "ResultPath": "$.x.r", "ResultSelector": {"first.$": "$[0]", "all.$": "$"},
              "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:wrap", "ResultPath": "$.w", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "OutputPath": "$.a", "End": true}}}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Out"}], "Next": "Out"},
      "Out": {"Type": "Pass", "InputPath": "$", "OutputPath": "$.x", "End": true}}}"#,
];

fn machines() -> &'static [Machine] {
    static MACHINES: OnceLock<Vec<Machine>> = OnceLock::new();
    MACHINES.get_or_init(|| {
        DEFINITIONS
            .iter()
            .map(|text| {
                let json: serde_json::Value = serde_json::from_str(text).expect("a fixed definition is JSON");
                Machine::new(text, harness::identity_registry(&json))
                    .unwrap_or_else(|e| panic!("a fixed definition is valid: {e}\n{text}"))
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| quickstep_fuzz::on_worker_stack(|| run(data)));

fn run(data: &[u8]) {
    if data.len() > 64 * 1024 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for machine in machines() {
        if harness::run_once(machine, text).is_none() {
            return; // the input is not JSON
        }
    }
}
