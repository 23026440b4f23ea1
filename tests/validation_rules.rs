//! Validation behaviour measured against AWS (`ValidateStateMachineDefinition`), one
//! definition per test: the exact diagnostics (code, message, location) in AWS's order.

use quickstep::model::MachineType;
use quickstep::validate_text;

type Diag = (&'static str, String, Option<String>);

fn diags(definition: &str) -> Vec<Diag> {
    diags_as(definition, MachineType::Standard)
}

fn diags_as(definition: &str, ty: MachineType) -> Vec<Diag> {
    match validate_text(definition, ty) {
        Ok(_) => Vec::new(),
        Err(d) => d.into_iter().map(|d| (d.code, d.message, d.location)).collect(),
    }
}

fn schema(message: &str, location: &str) -> Diag {
    (
        "SCHEMA_VALIDATION_FAILED",
        message.to_string(),
        Some(location.to_string()),
    )
}

fn missing(target: &str, location: &str) -> Diag {
    (
        "MISSING_TRANSITION_TARGET",
        format!("Missing 'Next' target: {target}"),
        Some(location.to_string()),
    )
}

fn unreachable(name: &str, location: &str) -> Diag {
    (
        "MISSING_TRANSITION_TARGET",
        format!("State \"{name}\" is not reachable."),
        Some(location.to_string()),
    )
}

fn no_end() -> Diag {
    ("MISSING_END_STATE", "Workflow has no terminal state".to_string(), None)
}

fn mismatch(is: &str, field: &str, only: &str, location: &str) -> Diag {
    schema(
        &format!(
            "The QueryLanguage is set to '{is}', but field '{field}' is only supported for the \
             '{only}' QueryLanguage"
        ),
        location,
    )
}

const DOWNGRADE: &str = "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine";
const QL_ENUM: &str = "Value should be one of the following: [JSONPath, JSONata]";

#[test]
fn loop_without_terminal_state() {
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}"#;
    assert_eq!(diags(def), vec![no_end()]);
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"},
        "Unused":{"Type":"Pass","Next":"A"}}}"#;
    assert_eq!(diags(def), vec![no_end()]);
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"},
        "C":{"Type":"Pass","End":true}}}"#;
    assert_eq!(diags(def), vec![unreachable("C", "/States/C")]);
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"NOPE"}}}"#;
    assert_eq!(diags(def), vec![missing("NOPE", "/States/A/Next"), no_end()]);
}

#[test]
fn nested_loop_without_terminal_state_is_accepted() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemProcessor":{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}},
        "End":true}}}"#;
    assert_eq!(diags(def), vec![]);
}

#[test]
fn unsupported_fields_in_table_order() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","TimeoutSeconds":5,"ItemsPath":"$.items",
        "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":25,"End":true}}},
        "End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![schema("Field 'TimeoutSeconds' is not supported", "/States/M")]
    );
    let def = r#"{"StartAt":"X","States":{"X":{"Type":"Pass","End":true,
        "Retry":[{"ErrorEquals":["States.ALL"]}],"TimeoutSeconds":5,
        "Catch":[{"ErrorEquals":["States.ALL"],"Next":"X"}]}}}"#;
    let got: Vec<String> = diags(def).into_iter().map(|d| d.1).collect();
    assert_eq!(
        got,
        vec![
            "Field 'TimeoutSeconds' is not supported",
            "Field 'Catch' is not supported",
            "Field 'Retry' is not supported"
        ]
    );
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"X","States":{"X":{"Type":"Pass","End":true,
        "Catch":[{"ErrorEquals":["States.ALL"],"Next":"X"}]}}}"#;
    assert_eq!(diags(def), vec![schema("Field 'Catch' is not supported", "/States/X")]);
}

#[test]
fn dangling_targets_everywhere() {
    let def = r#"{"StartAt":"A","States":{
        "A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Next":"Ghost",
             "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Z"}]},
        "Z":{"Type":"Pass","End":true}}}"#;
    assert_eq!(diags(def), vec![missing("Ghost", "/States/A/Next")]);
    let def = r#"{"StartAt":"C","States":{"C":{"Type":"Choice",
        "Choices":[{"Variable":"$.x","IsPresent":true,"Next":"Ghost"}],"Default":"Z"},
        "Z":{"Type":"Pass","End":true}}}"#;
    assert_eq!(diags(def), vec![missing("Ghost", "/States/C/Choices[0]/Next")]);
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Choice",
        "Choices":[{"Variable":"$.x","IsPresent":true,"Next":"Z"}],"Default":"Ghost"},
        "Z":{"Type":"Pass","End":true}}}"#;
    assert_eq!(diags(def), vec![missing("Ghost", "/States/A/Default")]);
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
        "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Ghost"}],"End":true}}}"#;
    assert_eq!(diags(def), vec![missing("Ghost", "/States/T/Catch[0]/Next")]);
    let def = r#"{"StartAt":"Nope","States":{"A":{"Type":"Pass","End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![missing("Nope", "/StartAt"), unreachable("A", "/States/A")]
    );
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemProcessor":{"StartAt":"Nope","States":{"A":{"Type":"Pass","End":true}}},"End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![
            missing("Nope", "/States/M/ItemProcessor/StartAt"),
            unreachable("A", "/States/M/ItemProcessor/States/A")
        ]
    );
}

#[test]
fn unreachable_states_in_nested_blocks() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemProcessor":{"StartAt":"W","States":{"W":{"Type":"Pass","End":true},"Ghost":{"Type":"Pass","End":true}}},
        "End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![unreachable("Ghost", "/States/M/ItemProcessor/States/Ghost")]
    );
    let def = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel",
        "Branches":[{"StartAt":"W","States":{"W":{"Type":"Pass","End":true},"Ghost":{"Type":"Pass","End":true}}}],
        "End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![unreachable("Ghost", "/States/P/Branches[0]/States/Ghost")]
    );
    let def = r#"{"StartAt":"Start","States":{"Start":{"Type":"Pass","End":true},"a/b":{"Type":"Pass","End":true}}}"#;
    assert_eq!(diags(def), vec![unreachable("a/b", "/States/a/b")]);
}

#[test]
fn inner_states_inherit_the_machine_language() {
    for map_ql in ["", r#""QueryLanguage":"JSONata","#] {
        let def = format!(
            r#"{{"QueryLanguage":"JSONPath","StartAt":"M","States":{{"M":{{"Type":"Map",{map_ql}
            "ItemProcessor":{{"StartAt":"P","States":{{"P":{{"Type":"Pass","Output":{{"d":"{{% 1 %}}"}},"End":true}}}}}},
            "End":true}}}}}}"#
        );
        assert_eq!(
            diags(&def),
            vec![mismatch(
                "JSONPath",
                "Output",
                "JSONata",
                "/States/M/ItemProcessor/States/P"
            )]
        );
    }
    let def = r#"{"QueryLanguage":"JSONPath","StartAt":"PAR","States":{"PAR":{"Type":"Parallel","QueryLanguage":"JSONata",
        "Branches":[{"StartAt":"P","States":{"P":{"Type":"Pass","Output":{"d":"{% 1 %}"},"End":true}}}],"End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![mismatch(
            "JSONPath",
            "Output",
            "JSONata",
            "/States/PAR/Branches[0]/States/P"
        )]
    );
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map",
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Output":{"d":"{% 1 %}"},"End":true}}},"End":true}}}"#;
    assert_eq!(diags(def), vec![]);
}

#[test]
fn language_only_fields() {
    let def = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
        "Arguments":{"payload":"literal"},"End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![mismatch("JSONPath", "Arguments", "JSONata", "/States/T")]
    );
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","Items":[{"n":1}],
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    assert_eq!(diags(def), vec![mismatch("JSONPath", "Items", "JSONata", "/States/M")]);
    let def = r#"{"StartAt":"X","States":{"X":{"Type":"Pass","Assign":{"counter":1},"End":true}}}"#;
    assert_eq!(diags(def), vec![]);
    let def = r#"{"QueryLanguage":"JSONPath","StartAt":"M","States":{"M":{"Type":"Map","QueryLanguage":"JSONata",
        "Items":"{% [1, 2] %}","Output":{"count":"{% $count($states.result) %}"},
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    assert_eq!(diags(def), vec![]);
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"X","States":{"X":{"Type":"Pass",
        "InputPath":"$.a","OutputPath":"$.b","ResultPath":"$.c","End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![
            mismatch("JSONata", "InputPath", "JSONPath", "/States/X"),
            mismatch("JSONata", "OutputPath", "JSONPath", "/States/X"),
            mismatch("JSONata", "ResultPath", "JSONPath", "/States/X"),
        ]
    );
}

#[test]
fn query_language_downgrade() {
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","QueryLanguage":"JSONPath",
        "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    assert_eq!(diags(def), vec![schema(DOWNGRADE, "/States/M")]);
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"X","States":{"X":{"Type":"Pass","QueryLanguage":"JSONPath",
        "Output":{"v":"{% 1 %}"},"End":true}}}"#;
    assert_eq!(diags(def), vec![schema(DOWNGRADE, "/States/X")]);
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","QueryLanguage":"JSONPath",
        "MaxConcurrency":-1,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![
            schema(DOWNGRADE, "/States/M"),
            schema("Minimum value is 0", "/States/M/MaxConcurrency")
        ]
    );
}

#[test]
fn blocks_carry_no_query_language() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"QueryLanguage":"JSONata",
        "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![schema(
            "Field 'QueryLanguage' is not supported",
            "/States/M/ItemProcessor"
        )]
    );
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","Iterator":{"QueryLanguage":"JSONata",
        "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![schema("Field 'QueryLanguage' is not supported", "/States/M/Iterator")]
    );
    let def = r#"{"StartAt":"PAR","States":{"PAR":{"Type":"Parallel","Branches":[{"QueryLanguage":"JSONata",
        "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}],"End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![schema(
            "Field 'QueryLanguage' is not supported",
            "/States/PAR/Branches[0]"
        )]
    );
}

#[test]
fn query_language_values_outside_the_enum() {
    let def = r#"{"StartAt":"X","States":{"X":{"Type":"Pass","QueryLanguage":"jsonata","Output":{"v":"{% 1 %}"},
        "InputPath":"$.a","End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![
            mismatch("JSONata", "InputPath", "JSONPath", "/States/X"),
            schema(QL_ENUM, "/States/X/QueryLanguage")
        ]
    );
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"X","States":{"X":{"Type":"Pass","QueryLanguage":"jsonata",
        "Output":{"v":"{% 1 %}"},"End":true}}}"#;
    assert_eq!(diags(def), vec![schema(QL_ENUM, "/States/X/QueryLanguage")]);
    let def = r#"{"QueryLanguage":"jsonata","StartAt":"X","States":{"X":{"Type":"Pass","Output":{"v":"{% 1 %}"},"End":true}}}"#;
    assert_eq!(diags(def), vec![schema(QL_ENUM, "/QueryLanguage")]);
    let def = r#"{"QueryLanguage":5,"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![schema("Expected value of type [STRING]", "/QueryLanguage")]
    );
    let def = r#"{"QueryLanguage":"JSONata","StartAt":"X","States":{"X":{"Type":"Pass","QueryLanguage":"jsonpath","End":true}}}"#;
    assert_eq!(diags(def), vec![schema(QL_ENUM, "/States/X/QueryLanguage")]);
    let def =
        r#"{"QueryLanguage":"jsonpath","StartAt":"X","States":{"X":{"Type":"Pass","InputPath":"$.a","End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![
            schema(QL_ENUM, "/QueryLanguage"),
            mismatch("JSONata", "InputPath", "JSONPath", "/States/X")
        ]
    );
    let def = r#"{"StartAt":"X","States":{"X":{"Type":"Pass","QueryLanguage":5,"InputPath":"$.a","End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![
            mismatch("JSONata", "InputPath", "JSONPath", "/States/X"),
            schema("Expected value of type [STRING]", "/States/X/QueryLanguage")
        ]
    );
}

#[test]
fn map_concurrency_fields() {
    let map = |top: &str, fields: &str| {
        format!(
            r#"{{{top}"StartAt":"M","States":{{"M":{{"Type":"Map",{fields}"ItemProcessor":{{"StartAt":"P","States":{{"P":{{"Type":"Pass","End":true}}}}}},"End":true}}}}}}"#
        )
    };
    let d = diags(&map("", r#""MaxConcurrency":2,"MaxConcurrencyPath":"$.limit","#));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].2.as_deref(), Some("/States/M/MaxConcurrency"));
    assert_eq!(
        diags(&map("", r#""MaxConcurrency":-1,"#)),
        vec![schema("Minimum value is 0", "/States/M/MaxConcurrency")]
    );
    assert_eq!(
        diags(&map(
            r#""QueryLanguage":"JSONata","#,
            r#""MaxConcurrencyPath":"$.limit","#
        )),
        vec![mismatch("JSONata", "MaxConcurrencyPath", "JSONPath", "/States/M")]
    );
    assert_eq!(
        diags(&map(
            r#""QueryLanguage":"JSONata","#,
            r#""MaxConcurrency":"{% $states.input.limit %}","#
        )),
        vec![]
    );
    assert_eq!(diags(&map("", r#""MaxConcurrency":9223372036854775807,"#)), vec![]);
    let def = r#"{"StartAt":"Outer","States":{"Outer":{"Type":"Map","ItemProcessor":{"StartAt":"Inner","States":{
        "Inner":{"Type":"Map","MaxConcurrency":-1,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}},
        "End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![schema(
            "Minimum value is 0",
            "/States/Outer/ItemProcessor/States/Inner/MaxConcurrency"
        )]
    );
}

#[test]
fn recorded_schema_messages() {
    assert_eq!(
        diags("{}"),
        vec![schema("These fields are required: [States, StartAt]", "/")]
    );
    assert_eq!(
        diags(r#"{"StartAt":"X","States":{"X":{"Type":"Nope","End":true}}}"#),
        vec![schema(
            "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
            "/States/X/Type"
        )]
    );
    assert_eq!(
        diags(r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[],"End":true}}}"#),
        vec![schema("Value cannot be empty", "/States/P/Branches")]
    );
    for not_object in ["[]", "1", "\"x\"", "null", " ", ""] {
        assert_eq!(
            diags(not_object),
            vec![(
                "SCHEMA_VALIDATION_FAILED",
                "Definition must be a valid JSON object".to_string(),
                None
            )],
            "{not_object:?}"
        );
    }
}

#[test]
fn express_restrictions() {
    let task = |resource: &str| {
        format!(r#"{{"StartAt":"T","States":{{"T":{{"Type":"Task","Resource":"{resource}","End":true}}}}}}"#)
    };
    for (resource, message) in [
        (
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Express state machine does not support '.waitForTaskToken' service integration ",
        ),
        (
            "arn:aws:states:::states:startExecution.sync",
            "Express state machine does not support '.sync' service integration",
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            "Express state machine does not support '.sync' service integration",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:activity:a",
            "Express state machine does not support Activity ARN",
        ),
    ] {
        assert_eq!(
            diags_as(&task(resource), MachineType::Express),
            vec![schema(message, "/States/T/Resource")]
        );
        assert_eq!(diags_as(&task(resource), MachineType::Standard), vec![]);
    }
}

#[test]
fn not_json_is_reported_like_jackson() {
    let d = diags("not a definition");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, "INVALID_JSON_DESCRIPTION");
    assert_eq!(
        d[0].2.as_deref(),
        Some("[Source: (String)\"not a definition\"; line: 1, column: 4]")
    );
    for bad in [
        "{",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "[1 2]",
        "{\"a\":tru}",
        "{} x",
        "\u{feff}{}",
    ] {
        let d = diags(bad);
        assert_eq!(d.len(), 1, "{bad:?}");
        assert_eq!(d[0].0, "INVALID_JSON_DESCRIPTION", "{bad:?}");
    }
}

#[test]
fn distributed_map_parts() {
    let reader = |reader: &str, mode: &str| {
        format!(
            r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","ItemReader":{reader},
            "ItemProcessor":{{{mode}"StartAt":"P","States":{{"P":{{"Type":"Pass","End":true}}}}}},"End":true}}}}}}"#
        )
    };
    let dist = r#""ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"#;
    let ok = r#"{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON"},
        "Parameters":{"Bucket":"b","Key":"k"}}"#;
    assert_eq!(diags(&reader(ok, dist)), vec![]);
    assert_eq!(diags(&reader(ok, "")), vec![]);
    let d = diags(&reader(
        r#"{"Resource":"arn:aws:states:::s3:unknownOperation","ReaderConfig":{"InputType":"JSON"}}"#,
        dist,
    ));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].2.as_deref(), Some("/States/M/ItemReader/Resource"));
    assert_eq!(
        diags(&reader(
            r#"{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"UNSUPPORTED"}}"#,
            dist
        )),
        vec![schema(
            "Value should be one of the following: [CSV, JSON, JSONL, MANIFEST, PARQUET]",
            "/States/M/ItemReader/ReaderConfig/InputType"
        )]
    );

    let writer = |writer: &str| {
        format!(
            r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","ItemsPath":"$.items","ResultWriter":{writer},
            "ItemProcessor":{{{dist}"StartAt":"P","States":{{"P":{{"Type":"Pass","End":true}}}}}},"End":true}}}}}}"#
        )
    };
    let located = |w: &str| -> Vec<Option<String>> { diags(&writer(w)).into_iter().map(|d| d.2).collect() };
    assert_eq!(
        diags(&writer(
            r#"{"Resource":"arn:aws:states:::s3:putObject","WriterConfig":{"Transformation":"FLATTEN","OutputType":"JSONL"},
            "Parameters":{"Bucket.$":"$.b","Prefix":"results"}}"#
        )),
        vec![]
    );
    let at = |s: &str| Some(s.to_string());
    assert_eq!(located("{}"), vec![at("/States/M/ResultWriter")]);
    assert_eq!(
        located(r#"{"Resource":"arn:aws:states:::s3:putObject"}"#),
        vec![at("/States/M/ResultWriter")]
    );
    assert_eq!(
        located(r#"{"WriterConfig":{"Transformation":"COMPACT"}}"#),
        vec![at("/States/M/ResultWriter/WriterConfig")]
    );
    assert_eq!(
        located(r#"{"Resource":null,"Parameters":{"Bucket":"b"}}"#),
        vec![at("/States/M/ResultWriter/Resource")]
    );
    assert_eq!(
        located(r#"{"Resource":"arn:aws:states:::s3:unknownOperation","Parameters":{"Bucket":"b"}}"#),
        vec![at("/States/M/ResultWriter/Resource")]
    );
}

#[test]
fn duplicate_state_names() {
    let dup = |name: &str, location: &str| {
        (
            "DUPLICATE_STATE_NAME",
            format!("Duplicate State name: {name}"),
            Some(location.to_string()),
        )
    };
    let def = r#"{"StartAt":"Dup","States":{"Dup":{"Type":"Pass","Next":"S"},"Dup":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"}}}"#;
    assert_eq!(diags(def), vec![dup("Dup", "/States/Dup")]);
    let def = r#"{"StartAt":"Map","States":{"Map":{"Type":"Map","Next":"Final State",
        "Iterator":{"StartAt":"Final State","States":{"Final State":{"Type":"Wait","Seconds":20,"End":true}}}},
        "Final State":{"Type":"Pass","End":true}}}"#;
    assert_eq!(diags(def), vec![dup("Final State", "/States/Final State")]);
    // Repeated keys elsewhere are fine (the last one wins).
    let def = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":1,"x":2},"End":true}}}"#;
    assert_eq!(diags(def), vec![]);
}

#[test]
fn distributed_mode_needs_an_execution_type() {
    let def = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},
        "StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#;
    assert_eq!(
        diags(def),
        vec![schema(
            "These fields are required: [ExecutionType]",
            "/States/M/ItemProcessor/ProcessorConfig"
        )]
    );
}
