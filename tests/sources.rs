//! Definitions as people write them, through the command line and the library: YAML files,
//! `--substitutions`, SAM and CloudFormation templates (`--template`), and syntax errors shown
//! as one message and the line they are on.

mod common;

use common::{quickstep, quickstep_apart, response_of, scratch};
use quickstep::model::MachineType;
use quickstep::source::{Source, Substitutions};
use serde_json::json;

const YAML_DEFINITION: &str = "\
Comment: answers yes or no
StartAt: Ask
States:
  Ask:
    Type: Choice
    Choices:
      - Variable: $.answer
        StringEquals: yes
        Next: Yes
    Default: No
  Yes:
    Type: Pass
    Result:
      table: ${TableName}
      flag: on
      hex: 0x1F
      octal: 0o17
      float: 1.5e3
      nothing: ~
      quoted: \"true\"
    End: true
  No:
    Type: Fail
    Error: Nope
";

#[test]
fn yaml_definitions_read_with_the_core_schema() {
    let file = scratch("sources-yaml", "answer.asl.yaml", YAML_DEFINITION);
    let subs = scratch("sources-yaml", "subs.yaml", "TableName: orders\nUnused: 3\n");
    let response = response_of(
        &[
            "run",
            file.to_str().unwrap(),
            "--input",
            r#"{"answer": "yes"}"#,
            "--substitutions",
            subs.to_str().unwrap(),
        ],
        0,
    );
    let output: serde_json::Value = serde_json::from_str(response["output"].as_str().unwrap()).unwrap();
    // `Yes`, `No`, `yes` and `on` stay strings (YAML 1.2), numbers are numbers, quoted text a string
    assert_eq!(
        output,
        json!({"table": "orders", "flag": "on", "hex": 31, "octal": 15, "float": 1500.0, "nothing": null, "quoted": "true"})
    );
    assert_eq!(
        response["stateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:answer"
    );
}

#[test]
fn yaml_diagnostics_point_at_the_member_in_the_yaml_file() {
    let text = YAML_DEFINITION.replace("Next: Yes", "Next: Maybe");
    let file = scratch("sources-yaml-diag", "bad.yaml", &text);
    let (code, out) = quickstep(&["validate", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let file = file.display();
    assert!(
        out.contains(&format!(
            "{file}:9:9: ERROR MISSING_TRANSITION_TARGET: Missing 'Next' target: Maybe at /States/Ask/Choices[0]/Next"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{file}:11:3: ERROR MISSING_TRANSITION_TARGET: State \"Yes\" is not reachable. at /States/Yes"
        )),
        "{out}"
    );
}

#[test]
fn a_placeholder_without_a_value_is_an_error_at_its_place() {
    let file = scratch("sources-missing", "answer.asl.yaml", YAML_DEFINITION);
    let subs = scratch("sources-missing", "subs.json", r#"{"Other": "x"}"#);
    let (code, out) = quickstep(&[
        "validate",
        file.to_str().unwrap(),
        "--substitutions",
        subs.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "{}:14:7: the placeholder ${{TableName}} has no value: give it one with --substitutions",
            file.display()
        )),
        "{out}"
    );
    // `run` stops before any execution: a bad definition exits with 2
    let (code, out) = quickstep(&["run", file.to_str().unwrap(), "--substitutions", subs.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn substitutions_fill_json_definitions_and_keep_their_positions() {
    let text = "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"Result\": \"${Greeting}, ${ Name }\", \"Next\": \"${Missing}\"}\n  }\n}\n";
    let file = scratch("sources-json", "greet.asl.json", text);
    let subs = scratch(
        "sources-json",
        "subs.json",
        r#"{"Greeting": "hello", "Name": "world", "Missing": "Nowhere"}"#,
    );
    let (code, out) = quickstep(&[
        "validate",
        file.to_str().unwrap(),
        "--substitutions",
        subs.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    // the filled-in target is reported where `Next` is in the file as written
    assert!(
        out.contains(&format!(
            "{}:4:63: ERROR MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next",
            file.display()
        )),
        "{out}"
    );
    let source = Source::read(
        &file,
        Some(&Substitutions::parse(r#"{"Greeting": "hi", "Name": 7, "Missing": "x"}"#).unwrap()),
    )
    .unwrap();
    assert_eq!(source.definition().unwrap()["States"]["A"]["Result"], "hi, 7");
}

#[test]
fn without_substitutions_placeholders_stay_as_written() {
    let file = scratch("sources-raw", "raw.asl.yaml", YAML_DEFINITION);
    let source = Source::read(&file, None).unwrap();
    assert_eq!(
        source.definition().unwrap()["States"]["Yes"]["Result"]["table"],
        "${TableName}"
    );
    assert!(source.check(MachineType::Standard).is_ok());
}

#[test]
fn the_bundled_sam_project_runs_from_its_template() {
    let response = response_of(
        &[
            "run",
            "--template",
            "examples/sam/template.yaml",
            "--substitutions",
            "examples/sam/substitutions.json",
            "--resources",
            "examples/sam/resources.json",
        ],
        0,
    );
    assert_eq!(response["status"], "SUCCEEDED");
    assert_eq!(
        response["stateMachineArn"],
        "arn:aws:states:us-east-1:123456789012:stateMachine:StockTradingStateMachine"
    );
    assert_eq!(response["output"], r#"{"id":"t-1","type":"buy","price":42}"#);
}

#[test]
fn template_intrinsics_that_cannot_be_resolved_are_named() {
    let (code, out) = quickstep(&["validate", "--template", "examples/sam/template.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "examples/sam/statemachine/stock_trader.asl.yaml:6:5: the placeholder ${StockCheckerFunctionArn} is !GetAtt StockCheckerFunction.Arn in the template's DefinitionSubstitutions, which cannot be resolved here: give StockCheckerFunctionArn a value with --substitutions"
        ),
        "{out}"
    );
    assert!(
        out.contains("the placeholder ${DDBTable} is !Ref TransactionTable"),
        "{out}"
    );
}

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Fn:
    Type: AWS::Serverless::Function
  Inline:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      DefinitionSubstitutions:
        Table: orders
        FunctionArn: !GetAtt Fn.Arn
      Definition:
        StartAt: Call
        States:
          Call:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke
            Parameters:
              FunctionName: ${FunctionArn}
              Payload:
                table: ${Table}
            OutputPath: $.Payload
            End: true
  Text:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineType: STANDARD
      DefinitionString: !Sub |
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "${AWS::Region}/${Stage}/${!Literal}", "End": true}}}
  Bad:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      Definition:
        StartAt: A
        States:
          A:
            Type: Pass
            End: true
            Next: A
"#;

#[test]
fn templates_list_their_state_machines_when_the_choice_is_unclear() {
    let template = scratch("sources-template", "template.yaml", TEMPLATE);
    let t = template.to_str().unwrap();
    let (code, out) = quickstep(&["validate", "--template", t]);
    assert_eq!(code, 1);
    assert!(
        out.contains("the template has 3 state machines: choose one with --state-machine (Inline, Text, Bad)"),
        "{out}"
    );
    let (code, out) = quickstep(&["validate", "--template", t, "--state-machine", "Nope"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("the template has no state machine Nope; its state machines: Inline, Text, Bad"),
        "{out}"
    );
}

#[test]
fn templates_give_definitions_their_substitutions_and_type() {
    let template = scratch("sources-template2", "template.yaml", TEMPLATE);
    let t = template.to_str().unwrap();
    let subs = scratch(
        "sources-template2",
        "subs.json",
        r#"{"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:F", "Stage": "dev"}"#,
    );
    let resources = scratch(
        "sources-template2",
        "resources.json",
        r#"{"arn:aws:lambda:us-east-1:123456789012:function:F": "identity"}"#,
    );
    let s = subs.to_str().unwrap();

    // the inline SAM definition: EXPRESS, its own substitutions plus --substitutions
    let source = Source::from_template(&template, Some("Inline"), Some(&Substitutions::read(&subs).unwrap())).unwrap();
    assert_eq!(source.machine_type, Some(MachineType::Express));
    assert_eq!(source.logical_id.as_deref(), Some("Inline"));
    let response = response_of(
        &[
            "run",
            "--template",
            t,
            "--state-machine",
            "Inline",
            "--substitutions",
            s,
            "--resources",
            resources.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(response["output"], r#"{"table":"orders"}"#);

    // DefinitionString with !Sub: pseudo parameters, --substitutions, and ${!Literal}
    let response = response_of(
        &["run", "--template", t, "--state-machine", "Text", "--substitutions", s],
        0,
    );
    assert_eq!(response["output"], r#""us-east-1/dev/${Literal}""#);

    // without --substitutions, !Sub's unknown variable is named where the string is
    let (code, out) = quickstep(&["run", "--template", t, "--state-machine", "Text"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{t}:28:7: !Sub's ${{Stage}} cannot be resolved here: give Stage a value with --substitutions"
        )),
        "{out}"
    );

    // a template's definition is located in the template
    let (code, out) = quickstep(&["validate", "--template", t, "--state-machine", "Bad"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "{t}:36:11: ERROR SCHEMA_VALIDATION_FAILED: These fields cannot be used together: [Next, End] at /States/A"
        )),
        "{out}"
    );
}

#[test]
fn syntax_errors_are_one_message_and_the_line() {
    let json = scratch(
        "sources-syntax",
        "bad.json",
        "{\"StartAt\": \"A\",\n \"States\": {\"A\": {\"Type\": \"Pass\" \"End\": true}}}",
    );
    let (code, out) = quickstep(&["validate", json.to_str().unwrap()]);
    assert_eq!(code, 1);
    let expected = format!(
        "{}:2:35: ERROR INVALID_JSON_DESCRIPTION: Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries\n  |\n2 |  \"States\": {{\"A\": {{\"Type\": \"Pass\" \"End\": true}}}}}}\n  |                                   ^\n",
        json.display()
    );
    assert_eq!(out, expected);

    let yaml = scratch(
        "sources-syntax",
        "bad.yaml",
        "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n   Next: x\n",
    );
    let (code, out) = quickstep(&["validate", yaml.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!(
            "{}:6:8: while parsing a block mapping, did not find expected key\n  |\n6 |    Next: x\n  |        ^\n",
            yaml.display()
        )
    );
}

#[test]
fn yaml_documents_are_bounded() {
    // nesting past the limit, and aliases that expand past the node limit, are errors
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let e = quickstep::tools::yaml::parse(&deep).unwrap_err();
    assert!(e.message.contains("nests deeper than 128 levels"), "{e}");
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = i - 1;
        laughs.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let e = quickstep::tools::yaml::parse(&laughs).unwrap_err();
    assert!(e.message.contains("expands to more than"), "{e}");
    let dup = quickstep::tools::yaml::parse("a: 1\nb: 2\na: 3\n").unwrap_err();
    assert_eq!(
        (dup.line, dup.column, dup.message.as_str()),
        (3, 1, "duplicate key \"a\"")
    );
}

#[test]
fn run_names_the_task_states_without_a_behaviour_before_it_starts() {
    let definition = scratch(
        "sources-unmapped",
        "flow.asl.json",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [
            {"StartAt": "L", "States": {"L": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Known", "Payload.$": "$"}, "End": true}}},
            {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "Unknown", "Payload.$": "$"}, "End": true}}},
            {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Parameters": {"JobName": "j", "JobQueue": "q", "JobDefinition": "d"}, "End": true}}},
            {"StartAt": "Dyn", "States": {"Dyn": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName.$": "$.fn", "Payload.$": "$"}, "End": true}}}
        ], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}], "End": true}, "Done": {"Type": "Succeed"}}}"#,
    );
    let resources = scratch(
        "sources-unmapped",
        "resources.json",
        r#"{"Known": "identity", "Unknown2": "identity"}"#,
    );
    let (code, out) = quickstep(&[
        "run",
        definition.to_str().unwrap(),
        "--resources",
        resources.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}");
    // With the integrations, lambda:invoke calls Lambda for the functions without a behaviour.
    let unknown = if cfg!(feature = "integrations") {
        ""
    } else {
        "\n  D: Unknown"
    };
    assert_eq!(
        out,
        format!("quickstep: these Task states have no behaviour: give them one with --resources FILE, or mock them with --mock-config FILE --test-case NAME{unknown}\n  S: arn:aws:states:::batch:submitJob.sync\n")
    );
    // with every static target given, the function chosen at run time fails the execution
    // naming it, and the Catch of States.ALL does not take it (with the integrations, Lambda
    // is called for it instead: tests/integrations.rs)
    if cfg!(feature = "integrations") {
        return;
    }
    let resources = scratch(
        "sources-unmapped",
        "resources.json",
        r#"{"Known": "identity", "Unknown": "identity", "arn:aws:states:::batch:submitJob.sync": "identity"}"#,
    );
    let response = response_of(
        &[
            "run",
            definition.to_str().unwrap(),
            "--resources",
            resources.to_str().unwrap(),
            "--input",
            r#"{"fn": "Nowhere"}"#,
        ],
        1,
    );
    assert_eq!(response["error"], "States.Runtime");
    assert_eq!(
        response["cause"],
        "No handler is registered for the resource 'Nowhere'."
    );
}

#[test]
fn problems_in_payload_templates_and_paths_point_at_the_member_and_quote_the_path() {
    let file = scratch(
        "sources-members",
        "members.asl.json",
        "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\", \"Parameters\": {\n  \"ok\": 1,\n  \"list\": [0, {\"bad.$\": \"$.a[\"}]},\n \"InputPath\": \"$.a..\", \"End\": true}}}",
    );
    let (code, out) = quickstep(&["validate", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let file = file.display();
    // AWS reports the template; the line and column are the member's
    assert!(
        out.contains(&format!("{file}:3:16: ERROR SCHEMA_VALIDATION_FAILED: The value for the field 'bad.$' must be a valid JSONPath or a valid intrinsic function call at /States/A/Parameters")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{file}:4:2: ERROR SCHEMA_VALIDATION_FAILED: path must not end with '..' at position 5 in '$.a..' at /States/A/InputPath")),
        "{out}"
    );
}

#[test]
fn express_runs_get_the_express_arn_and_names_default_to_a_uuid() {
    let is_uuid = |s: &str| {
        s.len() == 36
            && s.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    let args = [
        "run",
        "examples/order/order.asl.json",
        "--resources",
        "examples/order/resources.json",
        "--input-file",
        "examples/order/input.json",
    ];
    let response = response_of(&[&args[..], &["--type", "EXPRESS", "--name", "e-1"]].concat(), 0);
    let arn = response["executionArn"].as_str().unwrap();
    let id = arn
        .strip_prefix("arn:aws:states:us-east-1:123456789012:express:order:e-1:")
        .unwrap_or_else(|| panic!("{arn}"));
    assert!(is_uuid(id), "{arn}");
    let response = response_of(&args, 0);
    let name = response["name"].as_str().unwrap();
    assert!(is_uuid(name), "{name}");
    assert_eq!(
        response["executionArn"],
        format!("arn:aws:states:us-east-1:123456789012:execution:order:{name}")
    );
}

#[test]
fn run_says_once_when_it_waits_in_real_time() {
    let file = scratch(
        "sources-wait",
        "wait.asl.json",
        r#"{"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 2, "Next": "Again"},
            "Again": {"Type": "Wait", "Seconds": 2, "Next": "Done"}, "Done": {"Type": "Succeed"}}}"#,
    );
    let (code, _, stderr) = quickstep_apart(&["run", file.to_str().unwrap(), "--virtual-time"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let short = scratch(
        "sources-wait",
        "short.asl.json",
        r#"{"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 2, "Next": "Done"}, "Done": {"Type": "Succeed"}}}"#,
    );
    let (code, _, stderr) = quickstep_apart(&["run", short.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(
        stderr,
        "quickstep: waiting 2 s of real time in state \"Pause\" (--virtual-time skips waits)\n"
    );
}
