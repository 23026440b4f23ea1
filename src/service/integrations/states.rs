//! Step Functions: `arn:aws:states:::states:startExecution` (request-response, `.sync`,
//! `.sync:2`, `.waitForTaskToken`) and `arn:aws:states:::aws-sdk:sfn:startExecution`:
//! nested executions of state machines quickstep runs itself, through an [`Executions`]
//! (the server's own machines in `quickstep serve`, the `--machine NAME=FILE` ones in the
//! command line), no AWS needed.
//!
//! Results are AWS's: the request-response result is StartExecution's answer with the
//! optimized integrations' envelope; `.sync` gives the child's DescribeExecution in
//! PascalCase (`Input` and `Output` as JSON text, JSON values with `.sync:2`); a child that
//! fails, times out or is aborted fails the task with `States.TaskFailed` and that
//! description (with the child's `Error` and `Cause`, without `Output`) as its JSON cause.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value as Json};

use super::aws::{Reply, Service, ServiceError};
use super::bad_parameters;
use crate::tasks::TaskFailure;

/// Step Functions, as the integrations name its errors (`StepFunctions.…Exception` for the
/// optimized integration, `Sfn.…Exception` for `aws-sdk:sfn`).
pub const SERVICE: Service = Service {
    signing_name: "states",
    sdk_id: "SFN",
    local_variable: Some("STEP_FUNCTIONS_ENDPOINT"),
    v1_prefix: "StepFunctions",
    v1_service: "AWSStepFunctions",
    v1_base: "AWSStepFunctionsException",
    v2_prefix: "Sfn",
    modeled: Some(&[
        "ExecutionAlreadyExists",
        "ExecutionDoesNotExist",
        "ExecutionLimitExceeded",
        "InvalidArn",
        "InvalidExecutionInput",
        "InvalidName",
        "InvalidToken",
        "InvalidOutput",
        "KmsAccessDeniedException",
        "KmsInvalidStateException",
        "KmsThrottlingException",
        "StateMachineDeleting",
        "StateMachineDoesNotExist",
        "TaskDoesNotExist",
        "TaskTimedOut",
        "ValidationException",
    ]),
};

/// How a `startExecution` Task waits for its child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `states:startExecution` (and `.waitForTaskToken`): the child's ARN and start date.
    RequestResponse,
    /// `.sync`: the child's description, `Input` and `Output` as JSON text.
    Sync,
    /// `.sync:2`: the child's description, `Input` and `Output` as JSON values.
    Sync2,
    /// `aws-sdk:sfn:startExecution`: the SDK's answer (`StartDate` as ISO text, no envelope).
    Sdk,
}

/// A child execution to start.
#[derive(Clone, Debug)]
pub struct StartChild {
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// The execution's name.
    pub name: String,
    /// Its input, JSON text (checked by the [`Executions`]).
    pub input: String,
    /// The parent task's token when the parent is a durable (journaled) execution, whose
    /// call is made again after a restart.
    pub parent_token: Option<u64>,
}

/// A child execution as DescribeExecution gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildExecution {
    /// Its ARN.
    pub arn: String,
    /// Its state machine's ARN.
    pub state_machine_arn: String,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// When it started (epoch milliseconds).
    pub start_ms: i64,
    /// When it ended.
    pub stop_ms: Option<i64>,
    /// Its input (JSON text).
    pub input: String,
    /// Its output (JSON text), when it succeeded.
    pub output: Option<String>,
    /// Its error, when it failed with one.
    pub error: Option<String>,
    /// Its cause, when it failed with one.
    pub cause: Option<String>,
    /// `RedriveCount`, `RedriveStatus` and `RedriveStatusReason`, for an execution that
    /// has them (a Standard one).
    pub redrive: Option<(i64, String, Option<String>)>,
}

/// An error the Step Functions API answers (`StateMachineDoesNotExist`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    /// The error code (`StateMachineDoesNotExist`).
    pub code: String,
    /// The message (`State Machine Does Not Exist: '<arn>'`).
    pub message: String,
}

/// A future the [`Executions`] answer with.
pub type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The state machines a nested execution may start, and how their executions run.
pub trait Executions: Send + Sync {
    /// Starts `child`; with `wait`, answers once it has ended (its final description),
    /// else once it has started (its ARN and start date, status `RUNNING`). A child still
    /// running when the parent task's execution ends is stopped, as Step Functions stops it.
    fn start(&self, child: StartChild, wait: bool) -> Pending<Result<ChildExecution, ApiFailure>>;

    /// `SendTaskSuccess` (`output` given) or `SendTaskFailure` (`error`, `cause`) with a
    /// token's text, for `aws-sdk:sfn:sendTaskSuccess` / `sendTaskFailure`.
    fn send_task(
        &self,
        token: String,
        outcome: Result<String, (Option<String>, Option<String>)>,
    ) -> Pending<Result<(), ApiFailure>>;

    /// How many children run here now (that may yet answer a task of this process).
    fn running(&self) -> usize {
        0
    }
}

/// The [`Executions`] of integrations that know no state machine: every one named does
/// not exist, and no task token is known.
pub struct NoMachines;

impl Executions for NoMachines {
    fn start(&self, child: StartChild, _wait: bool) -> Pending<Result<ChildExecution, ApiFailure>> {
        Box::pin(std::future::ready(Err(machine_does_not_exist(
            &child.state_machine_arn,
        ))))
    }

    fn send_task(
        &self,
        _token: String,
        _outcome: Result<String, (Option<String>, Option<String>)>,
    ) -> Pending<Result<(), ApiFailure>> {
        Box::pin(std::future::ready(Err(ApiFailure {
            code: "InvalidToken".into(),
            message: "Invalid Token: 'Invalid token'".into(),
        })))
    }
}

/// AWS's `StateMachineDoesNotExist` for `arn`.
pub fn machine_does_not_exist(arn: &str) -> ApiFailure {
    ApiFailure {
        code: "StateMachineDoesNotExist".into(),
        message: format!("State Machine Does Not Exist: '{arn}'"),
    }
}

/// The members of `StartExecution` Step Functions passes on.
const PARAMETERS: &[&str] = &["StateMachineArn", "Input", "Name", "TraceHeader"];

/// Starts a child as `pattern` says, on `params` (the task's effective input).
pub async fn start_execution(
    executions: &dyn Executions,
    pattern: Pattern,
    params: &Map<String, Json>,
    parent_token: Option<u64>,
) -> Result<Json, TaskFailure> {
    let fail = |e: ApiFailure| api_failure(e, pattern == Pattern::Sdk);
    let child = child_of(params, parent_token)?;
    let wait = matches!(pattern, Pattern::Sync | Pattern::Sync2);
    let execution = executions.start(child, wait).await.map_err(fail)?;
    match pattern {
        Pattern::RequestResponse => Ok(started(&execution)),
        Pattern::Sdk => {
            let mut result = Map::new();
            result.insert("ExecutionArn".into(), Json::String(execution.arn));
            result.insert(
                "StartDate".into(),
                super::sdk::iso_time(execution.start_ms as f64 / 1000.0),
            );
            Ok(Json::Object(result))
        }
        Pattern::Sync | Pattern::Sync2 => {
            let values = pattern == Pattern::Sync2;
            if execution.status == "SUCCEEDED" {
                Ok(describe(&execution, values))
            } else {
                Err(TaskFailure::new(
                    crate::error::names::TASK_FAILED,
                    describe(&execution, false).to_string(),
                ))
            }
        }
    }
}

/// `aws-sdk:sfn:sendTaskSuccess` / `sendTaskFailure`: the SDK's (empty) answer.
pub async fn send_task(
    executions: &dyn Executions,
    success: bool,
    params: &Map<String, Json>,
) -> Result<Json, TaskFailure> {
    let text = |name: &str| params.get(name).map(super::as_text);
    let Some(token) = text("TaskToken") else {
        return Err(bad_parameters("The field 'TaskToken' is required"));
    };
    let outcome = match success {
        true => Ok(text("Output").unwrap_or_default()),
        false => Err((text("Error"), text("Cause"))),
    };
    executions
        .send_task(token, outcome)
        .await
        .map_err(|e| api_failure(e, true))?;
    Ok(Json::Object(Map::new()))
}

/// The child `params` describe: `StateMachineArn`, `Input` (an object or array as its
/// compact JSON text, a string as it is, none or null as `{}`) and `Name` (when missing, a
/// fresh UUID: for a durable parent, one derived from its task's token, so that a call made
/// again after a restart names the same child).
fn child_of(params: &Map<String, Json>, parent_token: Option<u64>) -> Result<StartChild, TaskFailure> {
    if let Some(unknown) = params.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(bad_parameters(format!(
            "The field '{unknown}' is not supported by Step Functions for states:startExecution"
        )));
    }
    let state_machine_arn = match params.get("StateMachineArn") {
        Some(Json::String(arn)) => arn.clone(),
        _ => {
            return Err(bad_parameters(
                "The field 'StateMachineArn' is required and must be a string",
            ))
        }
    };
    let input = match params.get("Input") {
        None | Some(Json::Null) => "{}".to_string(),
        Some(value) => super::as_text(value),
    };
    let name = match params.get("Name") {
        None | Some(Json::Null) => match parent_token {
            Some(token) => name_from_token(token),
            None => crate::intrinsics::uuid_v4_string(),
        },
        Some(Json::String(name)) => name.clone(),
        Some(other) => {
            return Err(bad_parameters(format!(
                "The field 'Name' must be a string, not {other}"
            )))
        }
    };
    Ok(StartChild {
        state_machine_arn,
        name,
        input,
        parent_token,
    })
}

/// A UUID-shaped name derived from a task token (SplitMix64 of it, twice).
fn name_from_token(token: u64) -> String {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (high, low) = (mix(token), mix(token ^ 0x5555_5555_5555_5555));
    let high = (high & !0xF000) | 0x4000;
    let low = (low & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

/// The request-response result: `ExecutionArn` and `StartDate` (epoch milliseconds), with
/// the envelope of StartExecution's HTTP answer.
fn started(execution: &ChildExecution) -> Json {
    let body = serde_json::json!({
        "executionArn": execution.arn,
        "startDate": execution.start_ms as f64 / 1000.0,
    })
    .to_string();
    let request_id = crate::intrinsics::uuid_v4_string();
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let reply = Reply {
        status: 200,
        headers: vec![
            ("x-amzn-RequestId".into(), request_id),
            ("connection".into(), "keep-alive".into()),
            ("Content-Length".into(), body.len().to_string()),
            ("Date".into(), date),
            ("Content-Type".into(), "application/x-amz-json-1.0".into()),
        ],
        body: body.into_bytes(),
    };
    let mut result = Map::new();
    result.insert("ExecutionArn".into(), Json::String(execution.arn.clone()));
    result.insert("StartDate".into(), Json::from(execution.start_ms));
    reply.with_metadata(result)
}

/// The child's description as `.sync` gives it: DescribeExecution's members in PascalCase,
/// in order of name; `Input` and `Output` as JSON values when `values` (`.sync:2`).
pub fn describe(execution: &ChildExecution, values: bool) -> Json {
    let data = |text: &str| match values {
        true => serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_string())),
        false => Json::String(text.to_string()),
    };
    let included = || serde_json::json!({"Included": true});
    let mut members = Map::new();
    members.insert("ExecutionArn".into(), Json::String(execution.arn.clone()));
    members.insert("Input".into(), data(&execution.input));
    members.insert("InputDetails".into(), included());
    members.insert("Name".into(), Json::String(execution.name.clone()));
    if let Some(output) = &execution.output {
        members.insert("Output".into(), data(output));
        members.insert("OutputDetails".into(), included());
    }
    if let Some(error) = &execution.error {
        members.insert("Error".into(), Json::String(error.clone()));
    }
    if let Some(cause) = &execution.cause {
        members.insert("Cause".into(), Json::String(cause.clone()));
    }
    if let Some((count, status, reason)) = &execution.redrive {
        members.insert("RedriveCount".into(), Json::from(*count));
        members.insert("RedriveStatus".into(), Json::String(status.clone()));
        if let Some(reason) = reason {
            members.insert("RedriveStatusReason".into(), Json::String(reason.clone()));
        }
    }
    members.insert("StartDate".into(), Json::from(execution.start_ms));
    members.insert(
        "StateMachineArn".into(),
        Json::String(execution.state_machine_arn.clone()),
    );
    members.insert("Status".into(), Json::String(execution.status.clone()));
    if let Some(stop) = execution.stop_ms {
        members.insert("StopDate".into(), Json::from(stop));
    }
    super::sorted(members)
}

/// An API error as the integration reports it: `StepFunctions.<Code>Exception` and the
/// Java SDK v1 cause, or (`sdk`) `Sfn.<Code>Exception` and the SDK v2 cause.
fn api_failure(e: ApiFailure, sdk: bool) -> TaskFailure {
    let error = ServiceError {
        wire_code: e.code.clone(),
        shape: e.code,
        message: e.message,
        status: 400,
        request_id: crate::intrinsics::uuid_v4_string(),
        extended_request_id: None,
    };
    match sdk {
        true => error.sdk(&SERVICE),
        false => error.optimized(&SERVICE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A failure's error and cause.
    fn parts(failure: TaskFailure) -> (String, String) {
        match failure {
            TaskFailure::Error { error, cause } => (error, cause.unwrap_or_default()),
            TaskFailure::Function {
                error_type,
                error_message,
            } => (error_type, error_message),
        }
    }

    fn child(status: &str) -> ChildExecution {
        ChildExecution {
            arn: "arn:aws:states:us-east-1:123456789012:execution:Child:run".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:Child".into(),
            name: "run".into(),
            status: status.into(),
            start_ms: 1_745_486_528_077,
            stop_ms: Some(1_745_486_528_078),
            input: "{}".into(),
            output: (status == "SUCCEEDED").then(|| r#"{"Arg1":"argument1"}"#.into()),
            error: (status == "FAILED").then(|| "SomeFailure".into()),
            cause: (status == "FAILED").then(|| "This state machines raises a 'SomeFailure' failure.".into()),
            redrive: None,
        }
    }

    #[test]
    fn descriptions_as_sync_and_sync2_give_them() {
        let text = describe(&child("SUCCEEDED"), false);
        assert_eq!(
            text.to_string(),
            r#"{"ExecutionArn":"arn:aws:states:us-east-1:123456789012:execution:Child:run","Input":"{}","InputDetails":{"Included":true},"Name":"run","Output":"{\"Arg1\":\"argument1\"}","OutputDetails":{"Included":true},"StartDate":1745486528077,"StateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:Child","Status":"SUCCEEDED","StopDate":1745486528078}"#
        );
        let values = describe(&child("SUCCEEDED"), true);
        assert_eq!(values["Input"], json!({}));
        assert_eq!(values["Output"], json!({"Arg1": "argument1"}));
        let failed = describe(&child("FAILED"), false);
        let keys: Vec<&String> = failed.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "Cause",
                "Error",
                "ExecutionArn",
                "Input",
                "InputDetails",
                "Name",
                "StartDate",
                "StateMachineArn",
                "Status",
                "StopDate"
            ]
        );
    }

    #[test]
    fn parameters_become_a_child() {
        let params = json!({"StateMachineArn": "arn:x", "Input": {"a": [1, 2]}, "Name": "n"});
        let child = child_of(params.as_object().unwrap(), Some(7)).unwrap();
        assert_eq!((child.input.as_str(), child.name.as_str()), (r#"{"a":[1,2]}"#, "n"));
        let params = json!({"StateMachineArn": "arn:x", "Input": "\"text\""});
        let child = child_of(params.as_object().unwrap(), Some(7)).unwrap();
        assert_eq!(child.input, "\"text\"");
        assert_eq!(child.name, name_from_token(7));
        assert_ne!(name_from_token(7), name_from_token(8));
        assert_eq!(name_from_token(7).len(), 36);
        let missing = parts(child_of(json!({"Input": {}}).as_object().unwrap(), Some(7)).unwrap_err());
        assert_eq!(missing.0, crate::error::names::RUNTIME);
        let unknown =
            parts(child_of(json!({"StateMachineArn": "a", "Foo": 1}).as_object().unwrap(), Some(7)).unwrap_err());
        assert!(unknown.1.contains("'Foo'"), "{}", unknown.1);
    }

    #[test]
    fn api_errors_as_the_integrations_name_them() {
        let e = ApiFailure {
            code: "StateMachineDoesNotExist".into(),
            message: "State Machine Does Not Exist: 'arn:x'".into(),
        };
        let (error, cause) = parts(api_failure(e.clone(), false));
        assert_eq!(error, "StepFunctions.StateMachineDoesNotExistException");
        assert!(
            cause.starts_with("State Machine Does Not Exist: 'arn:x' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: "),
            "{cause}"
        );
        assert!(cause.ends_with("; Proxy: null)"));
        assert_eq!(parts(api_failure(e, true)).0, "Sfn.StateMachineDoesNotExistException");
    }
}
