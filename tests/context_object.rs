//! The context object, field by field, as the developer guide's page "Accessing execution
//! data from the Context object" describes it and AWS's recordings order it: JSONPath (`$$`)
//! and JSONata (`$states.context`), STANDARD and EXPRESS executions, Map and Distributed Map
//! iterations (`Map.Item`), retries (`State.RetryCount`) and callback tasks (`Task.Token`).
//! Every run is on a virtual clock, so the timestamps are exact.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use quickstep::{ExecutionInfo, Machine, Status, TaskFailure, TaskRegistry, TaskToken, VirtualClock};

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;

const ROLE: &str = "arn:aws:iam::123456789012:role/quickstep";
const MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders";
const EXPRESS_ID: &str = "0b9d1f3e-6a52-4c1e-9f0a-2d7c8e4b5a61";

fn standard() -> ExecutionInfo {
    ExecutionInfo {
        name: "run-1".into(),
        state_machine_name: "Orders".into(),
        ..ExecutionInfo::default()
    }
}

fn express() -> ExecutionInfo {
    ExecutionInfo {
        express_id: Some(EXPRESS_ID.into()),
        ..standard()
    }
}

/// Runs `definition` on `input` from `start_ms`; the output (or panics with the failure).
fn run(definition: &str, tasks: TaskRegistry, info: &ExecutionInfo, input: &str, start_ms: i64) -> String {
    let machine = Machine::new(definition, tasks).unwrap_or_else(|e| panic!("{e}"));
    let outcome = machine
        .run_json_with(input, info, &mut VirtualClock::starting_at(start_ms))
        .unwrap();
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
    outcome.output.unwrap()
}

/// `$$.Execution` of a STANDARD execution named `run-1` started at `start`, on `input`.
fn standard_execution(input: &str, start: &str) -> String {
    format!(
        r#"{{"Id":"arn:aws:states:us-east-1:123456789012:execution:Orders:run-1","Input":{input},"StartTime":"{start}","Name":"run-1","RoleArn":"{ROLE}","RedriveCount":0}}"#
    )
}

/// `$$.Execution` of an EXPRESS execution named `run-1` (run to its end, as
/// StartSyncExecution does: no `RedriveCount`).
fn express_execution(input: &str, start: &str) -> String {
    format!(
        r#"{{"Id":"arn:aws:states:us-east-1:123456789012:express:Orders:run-1:{EXPRESS_ID}","Input":{input},"Name":"run-1","RoleArn":"{ROLE}","StartTime":"{start}"}}"#
    )
}

/// `$$.StateMachine`.
fn state_machine() -> String {
    format!(r#"{{"Id":"{MACHINE_ARN}","Name":"Orders"}}"#)
}

/// A whole context object: `Execution`, `StateMachine`, `State`, in AWS's order.
fn context(execution: &str, state: &str) -> String {
    format!(
        r#"{{"Execution":{execution},"StateMachine":{},"State":{state}}}"#,
        state_machine()
    )
}

/// A Wait to a whole second, then the whole context read by a JSONPath Pass and by a JSONata
/// Pass.
const BOTH_LANGUAGES: &str = r#"{"StartAt":"Nap","States":{
    "Nap":{"Type":"Wait","Timestamp":"2024-01-01T00:00:05Z","Next":"Path"},
    "Path":{"Type":"Pass","Parameters":{"ctx.$":"$$"},"Next":"Ata"},
    "Ata":{"Type":"Pass","QueryLanguage":"JSONata","End":true,
           "Output":{"path":"{% $states.input.ctx %}","ata":"{% $states.context %}"}}}}"#;

#[test]
fn a_standard_execution_s_context_in_both_languages() {
    let output = run(BOTH_LANGUAGES, TaskRegistry::new(), &standard(), r#"{"k":1}"#, T0 + 250);
    // StartTime has milliseconds; EnteredTime falls on a whole second, so it has none.
    let execution = standard_execution(r#"{"k":1}"#, "2024-01-01T00:00:00.250Z");
    let path = context(&execution, r#"{"Name":"Path","EnteredTime":"2024-01-01T00:00:05Z"}"#);
    let ata = context(&execution, r#"{"Name":"Ata","EnteredTime":"2024-01-01T00:00:05Z"}"#);
    assert_eq!(output, format!(r#"{{"path":{path},"ata":{ata}}}"#));
}

#[test]
fn an_express_execution_s_context_in_both_languages() {
    let output = run(BOTH_LANGUAGES, TaskRegistry::new(), &express(), r#"[true]"#, T0 + 7);
    let execution = express_execution("[true]", "2024-01-01T00:00:00.007Z");
    let path = context(&execution, r#"{"Name":"Path","EnteredTime":"2024-01-01T00:00:05Z"}"#);
    let ata = context(&execution, r#"{"Name":"Ata","EnteredTime":"2024-01-01T00:00:05Z"}"#);
    assert_eq!(output, format!(r#"{{"path":{path},"ata":{ata}}}"#));
}

#[test]
fn each_field_on_its_own_path() {
    let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Parameters":{
        "id.$":"$$.Execution.Id","input.$":"$$.Execution.Input","name.$":"$$.Execution.Name",
        "role.$":"$$.Execution.RoleArn","start.$":"$$.Execution.StartTime",
        "redrives.$":"$$.Execution.RedriveCount","state.$":"$$.State.Name",
        "entered.$":"$$.State.EnteredTime","machine.$":"$$.StateMachine.Id",
        "machineName.$":"$$.StateMachine.Name",
        "format.$":"States.Format('{} of {}', $$.Execution.Name, $$.StateMachine.Name)"}}}}"#;
    let output = run(definition, TaskRegistry::new(), &standard(), r#"{"a":[1]}"#, T0 + 1_999);
    assert_eq!(
        output,
        format!(
            r#"{{"id":"arn:aws:states:us-east-1:123456789012:execution:Orders:run-1","input":{{"a":[1]}},"name":"run-1","role":"{ROLE}","start":"2024-01-01T00:00:01.999Z","redrives":0,"state":"P","entered":"2024-01-01T00:00:01.999Z","machine":"{MACHINE_ARN}","machineName":"Orders","format":"run-1 of Orders"}}"#
        )
    );

    let jsonata = r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true,"Output":{
        "id":"{% $states.context.Execution.Id %}","input":"{% $states.context.Execution.Input %}",
        "name":"{% $states.context.Execution.Name %}","role":"{% $states.context.Execution.RoleArn %}",
        "start":"{% $states.context.Execution.StartTime %}",
        "redrives":"{% $states.context.Execution.RedriveCount %}",
        "redriveTime":"{% $exists($states.context.Execution.RedriveTime) %}",
        "state":"{% $states.context.State.Name %}","entered":"{% $states.context.State.EnteredTime %}",
        "retries":"{% $exists($states.context.State.RetryCount) %}",
        "machine":"{% $states.context.StateMachine.Id %}",
        "machineName":"{% $states.context.StateMachine.Name %}",
        "task":"{% $exists($states.context.Task) %}","map":"{% $exists($states.context.Map) %}"}}}}"#;
    let output = run(jsonata, TaskRegistry::new(), &standard(), r#"{"a":[1]}"#, T0);
    assert_eq!(
        output,
        format!(
            r#"{{"id":"arn:aws:states:us-east-1:123456789012:execution:Orders:run-1","input":{{"a":[1]}},"name":"run-1","role":"{ROLE}","start":"2024-01-01T00:00:00Z","redrives":0,"redriveTime":false,"state":"P","entered":"2024-01-01T00:00:00Z","retries":false,"machine":"{MACHINE_ARN}","machineName":"Orders","task":false,"map":false}}"#
        )
    );
}

#[test]
fn the_context_reads_in_input_path_output_path_choice_and_result_selector() {
    let definition = r#"{"StartAt":"In","States":{
        "In":{"Type":"Pass","InputPath":"$$.Execution.Input.order","Next":"Pick"},
        "Pick":{"Type":"Choice","Choices":[
            {"Variable":"$$.State.Name","StringEquals":"Pick","Next":"Out"}],"Default":"Wrong"},
        "Wrong":{"Type":"Fail","Error":"Wrong"},
        "Out":{"Type":"Task","Resource":"arn:aws:states:::test:echo",
               "ResultSelector":{"retries.$":"$$.State.RetryCount","got.$":"$"},
               "OutputPath":"$$.State","End":true}}}"#;
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:echo", |input, _| Ok(input));
    let output = run(definition, tasks, &standard(), r#"{"order":{"id":3}}"#, T0);
    // OutputPath reads the context: the Task's State has its RetryCount.
    assert_eq!(
        output,
        r#"{"Name":"Out","EnteredTime":"2024-01-01T00:00:00Z","RetryCount":0}"#
    );
}

/// A task that fails with `Busy` twice, then echoes its input.
fn busy_twice() -> (TaskRegistry, Arc<Mutex<Vec<String>>>) {
    let calls = AtomicU32::new(0);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&seen);
    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:busy", move |input, _| {
        kept.lock().unwrap().push(input.to_json_string());
        if calls.fetch_add(1, Ordering::Relaxed) < 2 {
            return Err(TaskFailure::Error {
                error: "Busy".into(),
                cause: None,
            });
        }
        Ok(input)
    });
    (tasks, seen)
}

#[test]
fn state_retry_count_counts_the_retries_in_both_languages() {
    let definition = r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::test:busy",
        "Parameters":{"retry.$":"$$.State.RetryCount","entered.$":"$$.State.EnteredTime"},
        "ResultSelector":{"retry.$":"$$.State.RetryCount","state.$":"$$.State"},
        "Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":1,"BackoffRate":1.5,"MaxAttempts":2}],"End":true}}}"#;
    let (tasks, seen) = busy_twice();
    let output = run(definition, tasks, &standard(), "{}", T0);
    // Each attempt reads its retry number; the state was entered once.
    assert_eq!(
        *seen.lock().unwrap(),
        [0, 1, 2].map(|n| format!(r#"{{"retry":{n},"entered":"2024-01-01T00:00:00Z"}}"#))
    );
    assert_eq!(
        output,
        r#"{"retry":2,"state":{"Name":"T","EnteredTime":"2024-01-01T00:00:00Z","RetryCount":2}}"#
    );

    let jsonata = r#"{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task",
        "Resource":"arn:aws:states:::test:busy",
        "Arguments":{"retry":"{% $states.context.State.RetryCount %}"},
        "Output":{"result":"{% $states.result %}","state":"{% $states.context.State %}"},
        "Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":1,"MaxAttempts":2}],"End":true}}}"#;
    let (tasks, seen) = busy_twice();
    let output = run(jsonata, tasks, &standard(), "{}", T0 + 500);
    assert_eq!(*seen.lock().unwrap(), [0, 1, 2].map(|n| format!(r#"{{"retry":{n}}}"#)));
    assert_eq!(
        output,
        r#"{"result":{"retry":2},"state":{"Name":"T","EnteredTime":"2024-01-01T00:00:00.500Z","RetryCount":2}}"#
    );
}

#[test]
fn an_inline_map_s_item_selector_reads_map_item_in_both_languages() {
    let definition = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemSelector":{"ctx.$":"$$"},
        "ItemProcessor":{"StartAt":"Inner","States":{
            "Inner":{"Type":"Pass","Parameters":{"index.$":"$.ctx.Map.Item.Index","inner.$":"$$"},"End":true}}},
        "End":true}}}"#;
    let input = r#"{"items":["a",{"b":2}]}"#;
    let output = run(definition, TaskRegistry::new(), &standard(), input, T0);
    let execution = standard_execution(input, "2024-01-01T00:00:00Z");
    let inner = context(&execution, r#"{"Name":"Inner","EnteredTime":"2024-01-01T00:00:00Z"}"#);
    // The iteration's states have no `Map`: their context is the execution's.
    let iteration = |index: usize| format!(r#"{{"index":{index},"inner":{inner}}}"#);
    assert_eq!(output, format!("[{},{}]", iteration(0), iteration(1)));

    // The ItemSelector's whole `$$`: the Map state's context (a Map has a RetryCount), with
    // `Map` last.
    let definition = r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
        "ItemSelector":{"ctx.$":"$$"},
        "ItemProcessor":{"StartAt":"Inner","States":{"Inner":{"Type":"Pass","End":true}}},"End":true}}}"#;
    let output = run(definition, TaskRegistry::new(), &standard(), input, T0);
    let map_state = r#"{"Name":"M","EnteredTime":"2024-01-01T00:00:00Z","RetryCount":0}"#;
    let selected = |index: usize, value: &str| {
        format!(
            r#"{{"ctx":{{"Execution":{execution},"StateMachine":{},"State":{map_state},"Map":{{"Item":{{"Index":{index},"Value":{value},"Source":"STATE_DATA"}}}}}}}}"#,
            state_machine()
        )
    };
    assert_eq!(
        output,
        format!("[{},{}]", selected(0, r#""a""#), selected(1, r#"{"b":2}"#))
    );

    let jsonata = r#"{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map",
        "Items":"{% $states.input.items %}",
        "ItemSelector":{"map":"{% $states.context.Map %}","index":"{% $states.context.Map.Item.Index %}",
                        "value":"{% $states.context.Map.Item.Value %}","source":"{% $states.context.Map.Item.Source %}",
                        "key":"{% $exists($states.context.Map.Item.Key) %}"},
        "ItemProcessor":{"StartAt":"Inner","States":{"Inner":{"Type":"Pass","End":true}}},"End":true}}}"#;
    let output = run(jsonata, TaskRegistry::new(), &standard(), input, T0);
    assert_eq!(
        output,
        r#"[{"map":{"Item":{"Index":0,"Value":"a","Source":"STATE_DATA"}},"index":0,"value":"a","source":"STATE_DATA","key":false},{"map":{"Item":{"Index":1,"Value":{"b":2},"Source":"STATE_DATA"}},"index":1,"value":{"b":2},"source":"STATE_DATA","key":false}]"#
    );
}

/// A Distributed Map reading its items with `resource` and `reader` (its parameters), each
/// iteration's input `$$.Map.Item`.
fn distributed(resource: &str, reader: &str, selector: &str, language: &str) -> String {
    format!(
        r#"{{"QueryLanguage":"{language}","StartAt":"M","States":{{"M":{{"Type":"Map",
            "ItemReader":{{"Resource":"{resource}",{reader}}},
            "ItemSelector":{selector},
            "ItemProcessor":{{"ProcessorConfig":{{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"}},
                "StartAt":"Inner","States":{{"Inner":{{"Type":"Pass","End":true}}}}}},"End":true}}}}}}"#
    )
}

#[test]
fn a_distributed_map_s_item_source_is_what_its_item_reader_reads() {
    let mut tasks = TaskRegistry::new();
    tasks.register_json("arn:aws:states:::s3:getObject", |_| {
        Ok(serde_json::json!([{"id": 1}, {"id": 2}]))
    });
    tasks.register_json("arn:aws:states:::s3:listObjectsV2", |_| {
        Ok(serde_json::json!([{"Key": "in/a.json"}]))
    });
    let get = distributed(
        "arn:aws:states:::s3:getObject",
        r#""ReaderConfig":{"InputType":"JSON"},"Parameters":{"Bucket":"my-bucket","Key.$":"$.key"}"#,
        r#"{"item.$":"$$.Map.Item"}"#,
        "JSONPath",
    );
    let output = run(&get, tasks.clone(), &standard(), r#"{"key":"in/items.json"}"#, T0);
    assert_eq!(
        output,
        r#"[{"item":{"Index":0,"Value":{"id":1},"Source":"s3://my-bucket/in/items.json"}},{"item":{"Index":1,"Value":{"id":2},"Source":"s3://my-bucket/in/items.json"}}]"#
    );

    let list = distributed(
        "arn:aws:states:::s3:listObjectsV2",
        r#""Arguments":{"Bucket":"{% $states.input.bucket %}","Prefix":"in/"}"#,
        r#"{"item":"{% $states.context.Map.Item %}"}"#,
        "JSONata",
    );
    let output = run(&list, tasks, &standard(), r#"{"bucket":"my-bucket"}"#, T0);
    assert_eq!(
        output,
        r#"[{"item":{"Index":0,"Value":{"Key":"in/a.json"},"Source":"s3://my-bucket"}}]"#
    );
}

#[test]
fn a_callback_task_s_context_has_its_token_last() {
    let seen: Arc<Mutex<Vec<(String, TaskToken)>>> = Arc::default();
    let kept = Arc::clone(&seen);
    let mut tasks = TaskRegistry::new();
    tasks.register_async(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        move |input, token| {
            kept.lock().unwrap().push((input.to_json_string(), token));
            Err(TaskFailure::Error {
                error: "Sent".into(),
                cause: None,
            })
        },
    );
    let definition = r#"{"StartAt":"T","States":{"T":{"Type":"Task",
        "Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters":{"ctx.$":"$$"},"Catch":[{"ErrorEquals":["Sent"],"Next":"Ata"}],"End":true},
        "Ata":{"Type":"Task","QueryLanguage":"JSONata","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Arguments":{"token":"{% $states.context.Task.Token %}","task":"{% $states.context.Task %}"},
        "Catch":[{"ErrorEquals":["Sent"],"Next":"Done"}],"End":true},
        "Done":{"Type":"Succeed"}}}"#;
    run(definition, tasks, &standard(), "{}", T0);
    let seen = seen.lock().unwrap();
    let (input, token) = &seen[0];
    let execution = standard_execution("{}", "2024-01-01T00:00:00Z");
    assert_eq!(
        *input,
        format!(
            r#"{{"ctx":{{"Execution":{execution},"StateMachine":{},"State":{{"Name":"T","EnteredTime":"2024-01-01T00:00:00Z","RetryCount":0}},"Task":{{"Token":"{token}"}}}}}}"#,
            state_machine()
        )
    );
    let (input, token) = &seen[1];
    assert_eq!(*input, format!(r#"{{"token":"{token}","task":{{"Token":"{token}"}}}}"#));
}

#[test]
fn each_execution_on_a_machine_reports_its_own_name_and_start() {
    let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true,
        "Parameters":{"id.$":"$$.Execution.Id","start.$":"$$.Execution.StartTime"}}}}"#;
    let second = ExecutionInfo {
        name: "run-2".into(),
        ..express()
    };
    let output = run(definition, TaskRegistry::new(), &second, "{}", T0 + 60_010);
    assert_eq!(
        output,
        format!(
            r#"{{"id":"arn:aws:states:us-east-1:123456789012:express:Orders:run-2:{EXPRESS_ID}","start":"2024-01-01T00:01:00.010Z"}}"#
        )
    );
}
