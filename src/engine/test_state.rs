//! TestState: one state run on its own, as the Step Functions `TestState` operation runs it.
//!
//! The definition is a single state (AWS names it `StateName`) or, with a state name, a whole
//! state machine. The state runs once on the given input, with the given variables and
//! context, its task answered by a mock (`result` or `errorOutput`) or by the registered
//! handlers. The answer is AWS's: the output, or the error and cause; the next state; the
//! status (`SUCCEEDED`, `FAILED`, `RETRIABLE` when a retrier would try again, `CAUGHT_ERROR`
//! when a catcher took the error); and at the `DEBUG` and `TRACE` levels the data after each
//! step of the state's input and output processing.
//!
//! ```
//! use quickstep::tasks::TaskRegistry;
//! use quickstep::test_state::{test_state, InspectionLevel, TestStateRequest};
//!
//! let request = TestStateRequest {
//!     definition: r#"{"Type": "Pass", "Result": {"b": 2}, "ResultPath": "$.r", "Next": "After"}"#.into(),
//!     input: Some(r#"{"a": 1}"#.into()),
//!     inspection_level: InspectionLevel::Debug,
//!     ..TestStateRequest::default()
//! };
//! let response = test_state(&request, &TaskRegistry::new()).unwrap();
//! assert_eq!(response.status.as_str(), "SUCCEEDED");
//! assert_eq!(response.output.as_deref(), Some(r#"{"a": 1, "r": {"b": 2}}"#));
//! assert_eq!(response.next_state.as_deref(), Some("After"));
//! ```

use serde_json::{json, Map, Value as Json};

use crate::choice::Lookups;
use crate::diagnostic::invalid_definition_message;
use crate::error::{names, EvalError};
use crate::exec::{
    apply_result_path, eval_number, iso_time, lambda_error_cause, lambda_invoke_result, select_path, spaced_json,
    task_seconds, wait_until_ms, ExecutionInfo,
};
use crate::limits::Limits;
use crate::machine::check_definition_value;
use crate::model::{MachineType, QueryLanguage};
use crate::payload::{JsonataExpr, NumberSpec, Payload, PayloadInput, StringSource};
use crate::program::{error_matches, CatchDef, Next, Op, PathSpec, Program, StateDef, TaskDef, TaskFlavor};
use crate::scope::{Scope, Variables};
use crate::tasks::{TaskContext, TaskFailure, TaskRegistry, TaskReply};
use crate::value::{Arena, ArenaExt, Member, Value};

/// The name AWS gives the state of a single-state definition (and `$$.State.Name`).
pub const SINGLE_STATE_NAME: &str = "StateName";

/// The message AWS gives a Map or Parallel state tested without a mock.
pub const MAP_OR_PARALLEL_WITHOUT_MOCK: &str =
    "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]";

/// How much of the state's data processing the answer shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InspectionLevel {
    /// The output, or the error and cause (the default).
    #[default]
    Info,
    /// Also `inspectionData`: the data after each processing step.
    Debug,
    /// As `Debug`, with the request and response of HTTP Tasks (none are made here).
    Trace,
}

impl InspectionLevel {
    /// `INFO`, `DEBUG` or `TRACE`.
    pub fn parse(text: &str) -> Option<InspectionLevel> {
        match text {
            "INFO" => Some(InspectionLevel::Info),
            "DEBUG" => Some(InspectionLevel::Debug),
            "TRACE" => Some(InspectionLevel::Trace),
            _ => None,
        }
    }
}

/// A mocked answer of the tested state's invocation (TestState's `mock`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MockInput {
    /// `result`: the invocation's result, as JSON text.
    pub result: Option<String>,
    /// `errorOutput`: the invocation fails with this error and cause.
    pub error_output: Option<MockError>,
    /// `fieldValidationMode`: `STRICT`, `PRESENT` or `NONE` (accepted; results are not
    /// checked against the integrated services' response shapes).
    pub field_validation_mode: Option<String>,
}

/// A mocked failure: `errorOutput`'s `error` and `cause`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MockError {
    /// `error`.
    pub error: Option<String>,
    /// `cause`.
    pub cause: Option<String>,
}

/// TestState's `stateConfiguration`: what happened before this attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateConfiguration {
    /// `retrierRetryCount`: how many retries the matching retrier has already made.
    pub retrier_retry_count: Option<u32>,
    /// `errorCausedByState`: the inner state that raised a mocked Map or Parallel error
    /// (accepted, not reported).
    pub error_caused_by_state: Option<String>,
    /// `mapIterationFailureCount`: how many of a mocked Map's iterations failed.
    pub map_iteration_failure_count: Option<u32>,
    /// `mapItemReaderData`: a Distributed Map's reader data (accepted, not used).
    pub map_item_reader_data: Option<String>,
}

/// A TestState request, with the members of AWS's `TestState`.
#[derive(Clone, Debug, PartialEq)]
pub struct TestStateRequest {
    /// `definition`: one state, or a whole state machine when `state_name` is given.
    pub definition: String,
    /// `stateName`: the state of a whole definition to test.
    pub state_name: Option<String>,
    /// `input`: the state's input as JSON text (`{}` when absent).
    pub input: Option<String>,
    /// `roleArn`: accepted (a Task without a mock needs one, as on AWS) and shown as
    /// `$$.Execution.RoleArn`.
    pub role_arn: Option<String>,
    /// `inspectionLevel`.
    pub inspection_level: InspectionLevel,
    /// `revealSecrets` (refused with a mock, as AWS refuses it).
    pub reveal_secrets: bool,
    /// `variables`: a JSON object of the variables the state sees.
    pub variables: Option<String>,
    /// `mock`.
    pub mock: Option<MockInput>,
    /// `context`: a JSON object used as the context object.
    pub context: Option<String>,
    /// `stateConfiguration`.
    pub state_configuration: Option<StateConfiguration>,
    /// The region of the ARNs in the context object.
    pub region: String,
    /// The account of the ARNs in the context object.
    pub account: String,
}

impl Default for TestStateRequest {
    fn default() -> TestStateRequest {
        let info = ExecutionInfo::default();
        TestStateRequest {
            definition: String::new(),
            state_name: None,
            input: None,
            role_arn: None,
            inspection_level: InspectionLevel::Info,
            reveal_secrets: false,
            variables: None,
            mock: None,
            context: None,
            state_configuration: None,
            region: info.region,
            account: info.account,
        }
    }
}

impl TestStateRequest {
    /// Reads the members of a TestState request body (AWS's JSON names); `Err` with a
    /// `ValidationException` for a member of the wrong type or value.
    pub fn from_json(body: &Json) -> Result<TestStateRequest, TestStateError> {
        let invalid = |member: &str| TestStateError::Validation(format!("Invalid value for member '{member}'"));
        let string = |member: &'static str| -> Result<Option<String>, TestStateError> {
            match body.get(member) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(member)),
            }
        };
        let definition = string("definition")?.ok_or_else(|| {
            TestStateError::Validation(
                "1 validation error detected: Value null at 'definition' failed to satisfy constraint: Member must not be null"
                    .into(),
            )
        })?;
        let inspection_level = match string("inspectionLevel")? {
            None => InspectionLevel::Info,
            Some(level) => InspectionLevel::parse(&level).ok_or_else(|| {
                TestStateError::Validation(format!(
                    "1 validation error detected: Value '{level}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"
                ))
            })?,
        };
        let reveal_secrets = match body.get("revealSecrets") {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            Some(_) => return Err(invalid("revealSecrets")),
        };
        let mock = match body.get("mock") {
            None | Some(Json::Null) => None,
            Some(Json::Object(m)) => Some(MockInput {
                result: match m.get("result") {
                    None | Some(Json::Null) => None,
                    Some(Json::String(s)) => Some(s.clone()),
                    Some(_) => return Err(invalid("mock.result")),
                },
                error_output: match m.get("errorOutput") {
                    None | Some(Json::Null) => None,
                    Some(Json::Object(e)) => Some(MockError {
                        error: e.get("error").and_then(Json::as_str).map(str::to_string),
                        cause: e.get("cause").and_then(Json::as_str).map(str::to_string),
                    }),
                    Some(_) => return Err(invalid("mock.errorOutput")),
                },
                field_validation_mode: match m.get("fieldValidationMode") {
                    None | Some(Json::Null) => None,
                    Some(Json::String(s)) if ["STRICT", "PRESENT", "NONE"].contains(&s.as_str()) => Some(s.clone()),
                    Some(other) => {
                        return Err(TestStateError::Validation(format!(
                            "1 validation error detected: Value '{}' at 'mock.fieldValidationMode' failed to satisfy constraint: Member must satisfy enum value set: [STRICT, PRESENT, NONE]",
                            other.as_str().unwrap_or_default()
                        )))
                    }
                },
            }),
            Some(_) => return Err(invalid("mock")),
        };
        let count = |c: &Map<String, Json>, member: &'static str| -> Result<Option<u32>, TestStateError> {
            match c.get(member) {
                None | Some(Json::Null) => Ok(None),
                Some(n) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| invalid(member)),
            }
        };
        let state_configuration = match body.get("stateConfiguration") {
            None | Some(Json::Null) => None,
            Some(Json::Object(c)) => Some(StateConfiguration {
                retrier_retry_count: count(c, "retrierRetryCount")?,
                error_caused_by_state: c.get("errorCausedByState").and_then(Json::as_str).map(str::to_string),
                map_iteration_failure_count: count(c, "mapIterationFailureCount")?,
                map_item_reader_data: c.get("mapItemReaderData").and_then(Json::as_str).map(str::to_string),
            }),
            Some(_) => return Err(invalid("stateConfiguration")),
        };
        Ok(TestStateRequest {
            definition,
            state_name: string("stateName")?,
            input: string("input")?,
            role_arn: string("roleArn")?,
            inspection_level,
            reveal_secrets,
            variables: string("variables")?,
            mock,
            context: string("context")?,
            state_configuration,
            ..TestStateRequest::default()
        })
    }
}

/// Why TestState refused a request: AWS's error names and messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TestStateError {
    /// `ValidationException`: the request's members do not fit together.
    #[error("{0}")]
    Validation(String),
    /// `InvalidDefinition`: the definition is not valid, or names a state TestState cannot run.
    #[error("{0}")]
    InvalidDefinition(String),
    /// `InvalidExecutionInput`: the input is not JSON.
    #[error("{0}")]
    InvalidExecutionInput(String),
}

impl TestStateError {
    /// AWS's error name (`ValidationException`, `InvalidDefinition`, `InvalidExecutionInput`).
    pub fn name(&self) -> &'static str {
        match self {
            TestStateError::Validation(_) => "ValidationException",
            TestStateError::InvalidDefinition(_) => "InvalidDefinition",
            TestStateError::InvalidExecutionInput(_) => "InvalidExecutionInput",
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            TestStateError::Validation(m)
            | TestStateError::InvalidDefinition(m)
            | TestStateError::InvalidExecutionInput(m) => m,
        }
    }
}

/// How the tested state ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestStatus {
    /// It produced its output.
    Succeeded,
    /// It failed, and no retrier or catcher took the error.
    Failed,
    /// It failed, and a retrier would try it again.
    Retriable,
    /// It failed, and a catcher took the error.
    CaughtError,
}

impl TestStatus {
    /// `SUCCEEDED`, `FAILED`, `RETRIABLE` or `CAUGHT_ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Succeeded => "SUCCEEDED",
            TestStatus::Failed => "FAILED",
            TestStatus::Retriable => "RETRIABLE",
            TestStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

/// TestState's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct TestStateResponse {
    /// `status`.
    pub status: TestStatus,
    /// `output` (JSON text): the state's output, or a catcher's.
    pub output: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `cause`.
    pub cause: Option<String>,
    /// `nextState`.
    pub next_state: Option<String>,
    /// `inspectionData` (at `DEBUG` and `TRACE`): its members as AWS sends them, data as
    /// JSON text, `errorDetails` as an object, Map's numbers as numbers.
    pub inspection_data: Option<Map<String, Json>>,
}

impl TestStateResponse {
    /// The response body in AWS's shape (members absent when empty).
    pub fn to_json(&self) -> Json {
        let mut out = Map::new();
        if let Some(output) = &self.output {
            out.insert("output".into(), Json::String(output.clone()));
        }
        if let Some(error) = &self.error {
            out.insert("error".into(), Json::String(error.clone()));
        }
        if let Some(cause) = &self.cause {
            out.insert("cause".into(), Json::String(cause.clone()));
        }
        if let Some(data) = &self.inspection_data {
            out.insert("inspectionData".into(), Json::Object(data.clone()));
        }
        if let Some(next) = &self.next_state {
            out.insert("nextState".into(), Json::String(next.clone()));
        }
        out.insert("status".into(), Json::String(self.status.as_str().into()));
        Json::Object(out)
    }
}

/// Runs the state of `request` once, its task (when it has no mock) answered by the handlers
/// of `tasks`, as [`Machine`](crate::Machine) executions bind them.
pub fn test_state(request: &TestStateRequest, tasks: &TaskRegistry) -> Result<TestStateResponse, TestStateError> {
    let (definition, state_name) = whole_definition(request)?;
    // Map and Parallel need a mock: checked on the state as written, before the rest.
    if let Some(state) = definition
        .get("States")
        .and_then(|s| s.get(&state_name))
        .filter(|_| request.state_name.is_none())
    {
        check_state_type(state.get("Type").and_then(Json::as_str), request)?;
    }
    let (_, program) = check_definition_value(&definition, MachineType::Standard)
        .map_err(|e| TestStateError::InvalidDefinition(invalid_definition_message(&e.diagnostics)))?;
    let state = program
        .states
        .iter()
        .find(|s| s.name == state_name)
        .ok_or_else(|| TestStateError::Validation("State not found in definition".into()))?;
    check_state_type(Some(state.type_name), request)?;
    check_request(request, state)?;

    let arena = Arena::new();
    let input_text = request.input.as_deref().unwrap_or("{}");
    let input: Json = serde_json::from_str(input_text)
        .map_err(|e| TestStateError::InvalidExecutionInput(format!("Invalid State Machine Execution Input: '{e}'")))?;
    let input = Value::from_serde(&arena, &input);
    let variables = match &request.variables {
        None => &[][..],
        Some(text) => match serde_json::from_str::<Json>(text) {
            Ok(vars @ Json::Object(_)) => Value::from_serde(&arena, &vars).as_object().unwrap_or_default(),
            _ => {
                return Err(TestStateError::Validation(
                    "Variables must be a valid JSON object".into(),
                ))
            }
        },
    };
    let context = match &request.context {
        Some(text) => Value::from_serde(&arena, &given_context(text, state)?),
        None => synthetic_context(&arena, request, state, input),
    };
    let mock_result = request.mock.as_ref().and_then(|m| m.result.as_deref()).map(|text| {
        // checked by `check_request`
        let json: Json = serde_json::from_str(text).unwrap_or(Json::Null);
        Value::from_serde(&arena, &json)
    });
    let mut run = Run {
        arena: &arena,
        program: &program,
        state,
        request,
        tasks,
        input,
        context,
        variables: Variables {
            local: variables,
            outer: None,
        },
        data: Map::new(),
        error_details: Map::new(),
        mock_result,
        limits: Limits::default_ref(),
    };
    Ok(run.run())
}

/// The definition as a whole state machine, and the name of the state to test: a single
/// state becomes `StateName`, beside `Succeed` states standing for the states it names.
fn whole_definition(request: &TestStateRequest) -> Result<(Json, String), TestStateError> {
    let parsed: Result<Json, _> = serde_json::from_str(&request.definition);
    let not_json = |text: &str| {
        let diagnostics = crate::parse::parse_definition(text).err().unwrap_or_default();
        TestStateError::InvalidDefinition(invalid_definition_message(&diagnostics))
    };
    if let Some(name) = &request.state_name {
        let bound = match name.chars().count() {
            0 => Some("greater than or equal to 1"),
            81.. => Some("less than or equal to 80"),
            _ => None,
        };
        if let Some(bound) = bound {
            return Err(TestStateError::Validation(format!(
                "1 validation error detected: Value '{name}' at 'stateName' failed to satisfy constraint: Member must have length {bound}"
            )));
        }
        return match parsed {
            Ok(definition) => Ok((definition, name.clone())),
            Err(_) => Err(not_json(&request.definition)),
        };
    }
    let state = parsed.map_err(|_| not_json(&request.definition))?;
    let mut states = Map::new();
    states.insert(SINGLE_STATE_NAME.into(), state.clone());
    for target in transition_targets(&state) {
        if target != SINGLE_STATE_NAME {
            states.entry(target).or_insert_with(|| json!({"Type": "Succeed"}));
        }
    }
    Ok((
        json!({"StartAt": SINGLE_STATE_NAME, "States": Json::Object(states)}),
        SINGLE_STATE_NAME.into(),
    ))
}

/// The states a single state's `Next`, `Default`, Choice rules and catchers name.
fn transition_targets(state: &Json) -> Vec<String> {
    let mut targets = Vec::new();
    let mut add = |v: Option<&Json>| {
        if let Some(Json::String(s)) = v {
            targets.push(s.clone());
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for list in ["Choices", "Catch"] {
        if let Some(Json::Array(items)) = state.get(list) {
            for item in items {
                add(item.get("Next"));
            }
        }
    }
    targets
}

/// The state types that take a mock, and those that need one.
fn check_state_type(type_name: Option<&str>, request: &TestStateRequest) -> Result<(), TestStateError> {
    match (type_name, &request.mock) {
        (Some("Map" | "Parallel"), None) => Err(TestStateError::InvalidDefinition(MAP_OR_PARALLEL_WITHOUT_MOCK.into())),
        (Some(t @ ("Pass" | "Fail" | "Succeed")), Some(_)) => Err(TestStateError::Validation(format!(
            "State type '{t}' is not supported when a mock is specified"
        ))),
        _ => Ok(()),
    }
}

/// The request's members against the state: AWS's `ValidationException`s.
fn check_request(request: &TestStateRequest, state: &StateDef) -> Result<(), TestStateError> {
    let failure_count = request
        .state_configuration
        .as_ref()
        .and_then(|c| c.map_iteration_failure_count);
    let Some(mock) = &request.mock else {
        if failure_count.is_some() {
            return Err(TestStateError::Validation(
                "TestState does not support MapIterationFailureCount when a mock is not specified.".into(),
            ));
        }
        if let Op::Task(task) = &state.op {
            if request.role_arn.is_none() {
                return Err(TestStateError::Validation(
                    "RoleArn must be specified when testing a Task state".into(),
                ));
            }
            // An activity or a task that answers later (`.sync`, `.waitForTaskToken`) cannot
            // answer within TestState: AWS tests them only with a mock.
            if task.flavor == TaskFlavor::Activity || answers_later(task.resource_name) {
                return Err(TestStateError::Validation(format!(
                    "TestState does not support the resource '{}' without a mock",
                    task.resource_name
                )));
            }
        }
        return Ok(());
    };
    if request.reveal_secrets {
        return Err(TestStateError::Validation(
            "TestState does not support RevealSecrets when a mock is specified.".into(),
        ));
    }
    let result = match (&mock.result, &mock.error_output) {
        (Some(result), None) => result,
        (None, Some(_)) => return Ok(()),
        _ => {
            return Err(TestStateError::Validation(
                "A test mock should have only one of the following fields: [result, errorOutput].".into(),
            ))
        }
    };
    let result: Json = serde_json::from_str(result)
        .map_err(|_| TestStateError::Validation("Mocked result must be valid JSON".into()))?;
    match &state.op {
        Op::Map(map) if map.writer.is_some() && !result.is_object() => Err(TestStateError::Validation(
            "Mocked result must be a JSON object.".into(),
        )),
        Op::Map(map) if map.writer.is_none() && !result.is_array() => {
            Err(TestStateError::Validation("Mocked result must be an array.".into()))
        }
        Op::Map(_) => match (failure_count, result.as_array()) {
            (Some(count), Some(items)) if count as usize > items.len() => Err(TestStateError::Validation(
                "Map iteration failure count must be less than or equal to the number of Map iterations".into(),
            )),
            _ => Ok(()),
        },
        Op::Parallel { branches } => match result.as_array() {
            None => Err(TestStateError::Validation("Mocked result must be an array.".into())),
            Some(items) if items.len() != branches.len() => Err(TestStateError::Validation(
                "Mocked result must contain the same number of items as number of Parallel branches.".into(),
            )),
            Some(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The members a given context object may have, and those of its `Execution`, `State` and
/// `StateMachine`.
const CONTEXT_MEMBERS: [(&str, &[&str]); 4] = [
    (
        "Execution",
        &["Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount"],
    ),
    ("State", &["EnteredTime", "Name", "RetryCount"]),
    ("StateMachine", &["Id", "Name"]),
    ("Task", &["Token"]),
];

/// A given context object (`context`), checked as AWS checks it (recorded messages).
fn given_context(text: &str, state: &StateDef) -> Result<Json, TestStateError> {
    let invalid = |why: String| TestStateError::Validation(format!("Invalid Context object provided: {why}"));
    let Ok(Json::Object(context)) = serde_json::from_str::<Json>(text) else {
        return Err(invalid("Context object must be a valid JSON object".into()));
    };
    for (name, value) in &context {
        if name == "Map" {
            return Err(invalid(
                "'Map' field is not supported when mocking a Context object".into(),
            ));
        }
        let Some((_, fields)) = CONTEXT_MEMBERS.iter().find(|(member, _)| member == name) else {
            return Err(invalid(format!("Field '{name}' is not allowed")));
        };
        let Json::Object(members) = value else {
            return Err(invalid(format!("{name} must be an object")));
        };
        for (field, v) in members {
            if !fields.contains(&field.as_str()) {
                return Err(invalid(format!("Field '{field}' is not allowed")));
            }
            let string = !matches!(field.as_str(), "Input" | "RedriveCount" | "RetryCount");
            if string && !v.is_string() {
                return Err(invalid(format!("{name}.{field} must be a string")));
            }
        }
    }
    let takes_token = matches!(&state.op, Op::Task(task) if answers_later(task.resource_name));
    if context.contains_key("Task") && !takes_token {
        return Err(invalid(
            "Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern".into(),
        ));
    }
    Ok(Json::Object(context))
}

/// Whether a Task resource names an integration that answers later: `.sync` (`.sync:2`) or
/// `.waitForTaskToken`.
fn answers_later(resource: &str) -> bool {
    resource.ends_with(".sync") || resource.contains(".sync:") || resource.ends_with(".waitForTaskToken")
}

/// The context object of a state run by TestState, with no `context` given: an Express-style
/// execution of a generated state machine.
fn synthetic_context<'a>(
    arena: &'a Arena,
    request: &TestStateRequest,
    state: &StateDef,
    input: Value<'a>,
) -> Value<'a> {
    let (machine, execution) = ("TestStateMachine", "TestStateExecution");
    let now = iso_time(chrono::Utc::now().timestamp_millis());
    let prefix = format!("arn:aws:states:{}:{}", request.region, request.account);
    let role = match &request.role_arn {
        Some(role) => arena.string(role),
        None => Value::Null,
    };
    let execution = arena.object(&[
        ("Id", arena.string(&format!("{prefix}:express:{machine}:{execution}"))),
        ("Input", input),
        ("Name", Value::String(execution)),
        ("RoleArn", role),
        ("StartTime", arena.string(&now)),
    ]);
    let state_machine = arena.object(&[
        ("Id", arena.string(&format!("{prefix}:stateMachine:{machine}"))),
        ("Name", Value::String(machine)),
    ]);
    let mut members = vec![
        ("Name", Value::String(SINGLE_STATE_NAME)),
        ("EnteredTime", arena.string(&now)),
    ];
    if matches!(state.op, Op::Task(_) | Op::Parallel { .. } | Op::Map(_)) {
        let retries = request
            .state_configuration
            .as_ref()
            .and_then(|c| c.retrier_retry_count)
            .unwrap_or(0);
        members.push(("RetryCount", Value::int(retries as i64)));
    }
    arena.object(&[
        ("Execution", execution),
        ("StateMachine", state_machine),
        ("State", arena.object(&members)),
    ])
}

/// A failure of the tested state: error and cause.
struct Failure {
    error: Option<String>,
    cause: Option<String>,
}

/// One run of the tested state.
struct Run<'a, 'r> {
    arena: &'a Arena,
    program: &'a Program,
    state: &'a StateDef,
    request: &'r TestStateRequest,
    tasks: &'r TaskRegistry,
    input: Value<'a>,
    context: Value<'a>,
    variables: Variables<'a>,
    /// `inspectionData` so far.
    data: Map<String, Json>,
    /// `inspectionData.errorDetails` so far.
    error_details: Map<String, Json>,
    /// The mocked result, read.
    mock_result: Option<Value<'a>>,
    limits: &'static Limits,
}

impl<'a> Run<'a, '_> {
    /// Runs the state and builds the answer.
    fn run(&mut self) -> TestStateResponse {
        self.note("input", self.input);
        let (status, output, failure, next) = match self.attempt() {
            Ok((output, next)) => (TestStatus::Succeeded, Some(output), None, next),
            Err(failure) => match self.recover(&failure) {
                Recovery::Retriable => (TestStatus::Retriable, None, Some(failure), None),
                Recovery::Caught(output, next) => (TestStatus::CaughtError, Some(output), Some(failure), Some(next)),
                Recovery::Failed(failure) => (TestStatus::Failed, None, Some(failure), None),
            },
        };
        if !self.variables.local.is_empty() {
            let vars = self.arena.object(self.variables.local);
            self.note("variables", vars);
        }
        if !self.error_details.is_empty() {
            self.data.insert(
                "errorDetails".into(),
                Json::Object(std::mem::take(&mut self.error_details)),
            );
        }
        let (error, cause) = match failure {
            Some(f) => (f.error, f.cause),
            None => (None, None),
        };
        TestStateResponse {
            status,
            output: output.map(|o| self.text_of(o)),
            error,
            cause,
            next_state: next.map(str::to_string),
            inspection_data: (self.request.inspection_level != InspectionLevel::Info)
                .then(|| std::mem::take(&mut self.data)),
        }
    }

    /// Records `value` as inspection member `name`.
    fn note(&mut self, name: &str, value: Value<'a>) {
        let text = self.text_of(value);
        self.data.insert(name.into(), Json::String(text));
    }

    /// `value` as JSON text as TestState writes it: `", "` between items and `": "` after
    /// keys (recorded: `"[\"CHARIZARD\", \"PIKACHU\"]"`, `"[1, 4, 9]"`).
    fn text_of(&self, value: Value<'a>) -> String {
        spaced_json(&value.to_json_string())
    }

    /// Whether the state is in JSONPath.
    fn jsonpath(&self) -> bool {
        self.state.language == QueryLanguage::JsonPath
    }

    /// What a payload reads: `$` is `input` (JSONPath); `$states` holds the raw input, the
    /// context and `extra` (JSONata).
    fn payload_input(&self, input: Value<'a>, extra: Option<Member<'a>>) -> PayloadInput<'a> {
        let states = if self.jsonpath() {
            Value::Null
        } else {
            let (raw, context) = (("input", self.input), ("context", self.context));
            match extra {
                Some(extra) => self.arena.object(&[raw, context, extra]),
                None => self.arena.object(&[raw, context]),
            }
        };
        PayloadInput {
            scope: Scope {
                input,
                context: self.context,
                variables: self.variables,
            },
            states,
            limits: self.limits,
        }
    }

    /// An evaluation error as the state's failure (as an execution reports it, the state
    /// entered at the event #2).
    fn failure(&self, e: EvalError) -> Failure {
        let e = e.into_data();
        let cause = if e.bare {
            e.message
        } else {
            format!(
                "An error occurred while executing the state '{}' (entered at the event id #2). {}",
                self.state.name, e.message
            )
        };
        Failure {
            error: Some(e.error.into_owned()),
            cause: Some(cause),
        }
    }

    /// A payload's value, its error as the state's failure.
    fn eval(&self, payload: &'a Payload, input: &PayloadInput<'a>) -> Result<Value<'a>, Failure> {
        payload.eval(self.arena, input).map_err(|e| self.failure(e))
    }

    /// `InputPath` or `OutputPath` `spec` on `value`, its error as the state's failure.
    fn path(&self, spec: &'a PathSpec, value: Value<'a>) -> Result<Value<'a>, Failure> {
        let scope = Scope {
            input: value,
            context: self.context,
            variables: self.variables,
        };
        select_path(self.arena, spec, &scope).map_err(|e| self.failure(e))
    }

    /// The state's work: its output and the state it goes to next.
    fn attempt(&mut self) -> Result<(Value<'a>, Option<&'a str>), Failure> {
        let state = self.state;
        let raw = self.input;
        let jsonpath = self.jsonpath();
        let single = self.request.state_name.is_none();
        let after_input_path = if jsonpath {
            self.path(&state.input_path, raw)?
        } else {
            raw
        };
        let next = match state.next {
            Next::State(id) => Some(self.program.state(id).name),
            Next::End => None,
        };
        match &state.op {
            Op::Pass { result } => {
                let effective = self.effective(after_input_path)?;
                let value = result.unwrap_or(effective);
                if jsonpath && next.is_none() {
                    if result.is_some() {
                        self.note("result", value);
                    } else {
                        self.note("afterInputPath", after_input_path);
                        self.note("afterParameters", effective);
                    }
                    self.note("afterResultSelector", value);
                }
                let output = self.process(value, None)?;
                Ok((output, next))
            }
            Op::Task(task) => {
                let effective = self.effective(after_input_path)?;
                self.note_effective(after_input_path, effective);
                // Its deadlines do not apply (the answer comes at once), but they fail as in
                // an execution.
                let input = self.payload_input(raw, None);
                let env = input.jsonata_env();
                for spec in [&task.timeout, &task.heartbeat] {
                    task_seconds(self.arena, spec.as_ref(), &input, &env).map_err(|e| self.failure(e))?;
                }
                let result = self.invoke(task, effective)?;
                self.note("result", result);
                let output = self.process(result, Some(result))?;
                Ok((output, next))
            }
            Op::Parallel { .. } | Op::Map(_) => {
                if let Op::Map(map) = &state.op {
                    if jsonpath {
                        self.note("afterInputPath", after_input_path);
                        self.items(map, after_input_path)?;
                    }
                    self.map_numbers(map, after_input_path)?;
                }
                let result = self.mocked()?;
                self.map_failures(result, after_input_path)?;
                let output = self.process(result, Some(result))?;
                Ok((output, next))
            }
            Op::Choice {
                rules,
                decision,
                default,
            } => {
                if jsonpath && single {
                    self.note("afterInputPath", after_input_path);
                }
                let scope = Scope {
                    input: after_input_path,
                    context: self.context,
                    variables: self.variables,
                };
                let arena = self.arena;
                let env = self.payload_input(raw, None).jsonata_env();
                let mut jsonata = |e: &'a JsonataExpr| e.eval(arena, &env, "Condition");
                let mut lookups = Lookups::new(arena, &scope, &mut jsonata, decision);
                let chosen = decision
                    .decide(&mut lookups)
                    .map_err(|e| self.failure(e))?
                    .map(|rule| &rules[rule]);
                let target = match (chosen, default) {
                    (Some(rule), _) => rule.next,
                    (None, Some(default)) => *default,
                    (None, None) => {
                        return Err(self.failure(EvalError::new(
                            names::NO_CHOICE_MATCHED,
                            "No Choice rule matched and no Default was specified.",
                        )))
                    }
                };
                let output = if jsonpath {
                    self.path(&state.output_path, after_input_path)?
                } else {
                    match chosen.and_then(|r| r.output.as_ref()).or(state.output.as_ref()) {
                        Some(p) => self.eval(p, &self.payload_input(raw, None))?,
                        None => raw,
                    }
                };
                let assign = match chosen {
                    Some(rule) => rule.assign.as_ref(),
                    None => state.assign.as_ref(),
                };
                self.assign(assign, after_input_path, None)?;
                Ok((output, Some(self.program.state(target).name)))
            }
            Op::Wait(wait) => {
                if jsonpath && single {
                    self.note("afterInputPath", after_input_path);
                }
                // TestState does not wait, but the wait's fields fail as they would.
                let now_ms = chrono::Utc::now().timestamp_millis();
                wait_until_ms(self.arena, wait, &self.payload_input(after_input_path, None), now_ms)
                    .map_err(|e| self.failure(e))?;
                let output = self.passed_on(after_input_path)?;
                self.assign(state.assign.as_ref(), after_input_path, None)?;
                Ok((output, next))
            }
            Op::Succeed => {
                if jsonpath && single {
                    self.note("afterInputPath", after_input_path);
                }
                let output = self.passed_on(after_input_path)?;
                Ok((output, None))
            }
            Op::Fail { error, cause } => {
                if jsonpath && single {
                    self.note("afterInputPath", after_input_path);
                }
                let error = self.fail_field(error.as_ref())?;
                let cause = self.fail_field(cause.as_ref())?;
                Err(Failure { error, cause })
            }
        }
    }

    /// The output of a state that passes its input on (Wait, Succeed): `OutputPath` of the
    /// input after `InputPath` (JSONPath), or `Output` (JSONata; the input when absent).
    fn passed_on(&self, after_input_path: Value<'a>) -> Result<Value<'a>, Failure> {
        if self.jsonpath() {
            return self.path(&self.state.output_path, after_input_path);
        }
        match &self.state.output {
            Some(p) => self.eval(p, &self.payload_input(self.input, None)),
            None => Ok(self.input),
        }
    }

    /// `Parameters` (JSONPath) or `Arguments` (JSONata) on the input after `InputPath`.
    fn effective(&self, after_input_path: Value<'a>) -> Result<Value<'a>, Failure> {
        match &self.state.parameters {
            Some(p) => self.eval(p, &self.payload_input(after_input_path, None)),
            None => Ok(after_input_path),
        }
    }

    /// Records a Task's input after `InputPath` and `Parameters`, or after `Arguments`.
    fn note_effective(&mut self, after_input_path: Value<'a>, effective: Value<'a>) {
        if self.jsonpath() {
            self.note("afterInputPath", after_input_path);
            self.note("afterParameters", effective);
        } else if self.state.parameters.is_some() {
            self.note("afterArguments", effective);
        }
    }

    /// A Fail state's `Error` or `Cause`.
    fn fail_field(&self, source: Option<&'a StringSource>) -> Result<Option<String>, Failure> {
        let Some(source) = source else {
            return Ok(None);
        };
        let input = self.payload_input(self.input, None);
        let value = match source {
            StringSource::Literal(s) => return Ok(Some((*s).to_string())),
            StringSource::Path(p, _) => p.eval(self.arena, &input.scope),
            StringSource::Jsonata(e, field) => e.eval(self.arena, &input.jsonata_env(), field),
        }
        .map_err(|e| self.failure(e))?;
        Ok(Some(match value {
            Value::String(s) => s.to_string(),
            other => other.to_json_string(),
        }))
    }

    /// The state's output from its `result`: ResultSelector, ResultPath and OutputPath
    /// (JSONPath, each noted), or Output (JSONata); then `Assign`. `task_result` is the
    /// `$states.result` of Task, Parallel and Map states.
    fn process(&mut self, result: Value<'a>, task_result: Option<Value<'a>>) -> Result<Value<'a>, Failure> {
        let state = self.state;
        let selected = match (&state.result_selector, self.jsonpath()) {
            (Some(p), true) => self.eval(p, &self.payload_input(result, None))?,
            _ => result,
        };
        if self.jsonpath() && task_result.is_some() {
            self.note("afterResultSelector", selected);
        }
        self.finish(result, selected, task_result)
    }

    /// ResultPath and OutputPath (JSONPath) or Output (JSONata), then Assign.
    fn finish(
        &mut self,
        result: Value<'a>,
        selected: Value<'a>,
        task_result: Option<Value<'a>>,
    ) -> Result<Value<'a>, Failure> {
        let state = self.state;
        let raw = self.input;
        let extra = task_result.map(|r| ("result", r));
        let output = if self.jsonpath() {
            let merged =
                apply_result_path(self.arena, &state.result_path, raw, selected).map_err(|e| self.failure(e))?;
            if self.data.contains_key("afterResultSelector") {
                self.note("afterResultPath", merged);
            }
            self.path(&state.output_path, merged)?
        } else {
            match (&state.output, &state.op) {
                (Some(p), _) => self.eval(p, &self.payload_input(raw, extra))?,
                (None, Op::Pass { .. }) => raw,
                (None, _) => result,
            }
        };
        self.assign(state.assign.as_ref(), result, extra)?;
        Ok(output)
    }

    /// Runs `Assign` against the variables the state started with, and keeps the new ones.
    fn assign(
        &mut self,
        assign: Option<&'a Payload>,
        jsonpath_input: Value<'a>,
        extra: Option<Member<'a>>,
    ) -> Result<(), Failure> {
        let Some(assign) = assign else {
            return Ok(());
        };
        let assigned = self.eval(assign, &self.payload_input(jsonpath_input, extra))?;
        let Some(members) = assigned.as_object() else {
            return Ok(());
        };
        let mut merged: Vec<Member<'a>> = self
            .variables
            .local
            .iter()
            .filter(|(k, _)| !members.iter().any(|(n, _)| n == k))
            .copied()
            .collect();
        merged.extend(members.iter().copied());
        self.variables.local = self.arena.alloc_slice_copy(&merged);
        Ok(())
    }

    /// The mocked result (`mock.result`), or the mocked failure.
    fn mocked(&self) -> Result<Value<'a>, Failure> {
        let mock = self
            .request
            .mock
            .as_ref()
            .expect("a Map or Parallel state is tested with a mock");
        if let Some(e) = &mock.error_output {
            return Err(Failure {
                error: e.error.clone(),
                cause: e.cause.clone(),
            });
        }
        Ok(self.mock_result.unwrap_or(Value::Null))
    }

    /// The Task's result: the mock's, or its handler's.
    fn invoke(&self, task: &'a TaskDef, effective: Value<'a>) -> Result<Value<'a>, Failure> {
        if self.request.mock.is_some() {
            return self.mocked();
        }
        let arena = self.arena;
        let (handler, input, called) = match task.flavor {
            TaskFlavor::LambdaInvoke => {
                let function = effective.get("FunctionName").and_then(|f| f.as_str());
                (
                    function
                        .and_then(|f| self.tasks.get(f))
                        .or_else(|| self.tasks.get(task.resource_name)),
                    effective.get("Payload").unwrap_or(Value::EMPTY_OBJECT),
                    function.unwrap_or(task.resource_name),
                )
            }
            _ => (self.tasks.get(task.resource_name), effective, task.resource_name),
        };
        let Some(handler) = handler else {
            return Err(Failure {
                error: Some(names::RUNTIME.into()),
                cause: Some(format!("No handler is registered for the resource '{called}'.")),
            });
        };
        let mut context = TaskContext::new(None, None);
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.start(input, arena, &mut context)
        }));
        let answer = match reply {
            Ok(TaskReply::Done(answer)) => answer,
            Ok(TaskReply::Pending) => Err(TaskFailure::new(
                names::TASK_FAILED,
                "The task handler answered later, which TestState cannot wait for.",
            )),
            Err(panic) => Err(TaskFailure::new(
                names::TASK_FAILED,
                format!("The task handler panicked: {}", crate::error::panic_message(&*panic)),
            )),
        };
        match answer {
            Ok(value) if task.flavor == TaskFlavor::LambdaInvoke => Ok(lambda_invoke_result(arena, value)),
            Ok(value) => Ok(value),
            Err(TaskFailure::Error { error, cause }) => Err(Failure {
                error: Some(error),
                cause,
            }),
            Err(TaskFailure::Function {
                error_type,
                error_message,
            }) => {
                let cause = lambda_error_cause(&error_type, &error_message, task.flavor == TaskFlavor::LambdaInvoke);
                Err(Failure {
                    error: Some(error_type),
                    cause: Some(cause),
                })
            }
        }
    }

    /// A JSONPath Map's items (`ItemsPath` on its input), noted; AWS's failure when they are
    /// not an array.
    fn items(&mut self, map: &'a crate::program::MapDef, after_input_path: Value<'a>) -> Result<(), Failure> {
        let items = self.path(&map.items_path, after_input_path)?;
        if !matches!(items, Value::Array(..)) {
            let path = match &map.items_path {
                PathSpec::Path(p) => p.text().replacen("$$", "$", 1),
                _ => "$".to_string(),
            };
            return Err(Failure {
                error: Some(names::RUNTIME.into()),
                cause: Some(format!("Reference path \"{path}\" must point to array.")),
            });
        }
        self.note("afterItemsPath", items);
        Ok(())
    }

    /// A Map's `MaxConcurrency`, `ToleratedFailureCount` and `ToleratedFailurePercentage`,
    /// evaluated and noted.
    fn map_numbers(&mut self, map: &'a crate::program::MapDef, input: Value<'a>) -> Result<(), Failure> {
        let fields = [
            ("maxConcurrency", &map.max_concurrency, true),
            ("toleratedFailureCount", &map.tolerated_failure_count, true),
            ("toleratedFailurePercentage", &map.tolerated_failure_percentage, false),
        ];
        for (name, spec, integer) in fields {
            let n = match spec {
                Some(spec) => self.number(spec, input, integer)?,
                // recorded: a Map without MaxConcurrency shows 0
                None if name == "maxConcurrency" => 0.0,
                None => continue,
            };
            let value = if integer { json!(n as i64) } else { json!(n) };
            self.data.insert(name.into(), value);
        }
        Ok(())
    }

    /// A number field's value.
    fn number(&self, spec: &'a NumberSpec, input: Value<'a>, integer: bool) -> Result<f64, Failure> {
        let input = self.payload_input(input, None);
        eval_number(self.arena, spec, &input.scope, &input.jsonata_env(), integer).map_err(|e| self.failure(e))
    }

    /// A mocked Map with `stateConfiguration.mapIterationFailureCount`: fails with
    /// `States.ExceedToleratedFailureThreshold` when more iterations failed than it tolerates.
    fn map_failures(&self, result: Value<'a>, input: Value<'a>) -> Result<(), Failure> {
        let Op::Map(map) = &self.state.op else {
            return Ok(());
        };
        let failed = self
            .request
            .state_configuration
            .as_ref()
            .and_then(|c| c.map_iteration_failure_count)
            .unwrap_or(0);
        if failed == 0 {
            return Ok(());
        }
        let total = result.as_array().map_or(0, |items| items.len()).max(1);
        let count = match &map.tolerated_failure_count {
            Some(spec) => Some(self.number(spec, input, true)?),
            None => None,
        };
        let percentage = match &map.tolerated_failure_percentage {
            Some(spec) => Some(self.number(spec, input, false)?),
            None => None,
        };
        // recorded: without a tolerance, failed iterations fail nothing
        let exceeded = match (count, percentage) {
            (None, None) => false,
            (count, percentage) => {
                count.is_none_or(|c| failed as f64 > c)
                    && percentage.is_none_or(|p| failed as f64 * 100.0 / total as f64 > p)
            }
        };
        if exceeded {
            return Err(Failure {
                error: Some(names::EXCEED_TOLERATED_FAILURE_THRESHOLD.into()),
                cause: Some("The specified tolerated failure threshold was exceeded".into()),
            });
        }
        Ok(())
    }

    /// What the state's retriers and catchers make of `failure`.
    fn recover(&mut self, failure: &Failure) -> Recovery<'a> {
        let state = self.state;
        let Some(error) = failure.error.as_deref() else {
            return Recovery::Failed(Failure {
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            });
        };
        if !matches!(state.op, Op::Task(_) | Op::Parallel { .. } | Op::Map(_)) {
            return Recovery::Failed(Failure {
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            });
        }
        if let Some(i) = state.retry.iter().position(|r| error_matches(&r.error_equals, error)) {
            let retrier = &state.retry[i];
            self.error_details.insert("retryIndex".into(), json!(i));
            let count = self
                .request
                .state_configuration
                .as_ref()
                .and_then(|c| c.retrier_retry_count)
                .unwrap_or(0);
            if count < retrier.max_attempts {
                let mut delay = retrier.interval_seconds * retrier.backoff_rate.powi(count as i32);
                if let Some(max) = retrier.max_delay_seconds {
                    delay = delay.min(max);
                }
                self.error_details
                    .insert("retryBackoffIntervalSeconds".into(), json!(delay as i64));
                return Recovery::Retriable;
            }
        }
        if let Some((j, catcher)) = state
            .catch
            .iter()
            .enumerate()
            .find(|(_, c)| error_matches(&c.error_equals, error))
        {
            self.error_details.insert("catchIndex".into(), json!(j));
            return match self.catch(catcher, failure) {
                Ok(output) => Recovery::Caught(output, self.program.state(catcher.next).name),
                Err(f) => Recovery::Failed(f),
            };
        }
        Recovery::Failed(Failure {
            error: failure.error.clone(),
            cause: failure.cause.clone(),
        })
    }

    /// A catcher's output from the error output.
    fn catch(&mut self, catcher: &'a CatchDef, failure: &Failure) -> Result<Value<'a>, Failure> {
        let a = self.arena;
        let mut members: Vec<Member<'a>> = Vec::new();
        if let Some(error) = &failure.error {
            members.push(("Error", a.string(error)));
        }
        if let Some(cause) = &failure.cause {
            members.push(("Cause", a.string(cause)));
        }
        let error_output = a.object(&members);
        let extra = Some(("errorOutput", error_output));
        let output = if self.jsonpath() {
            apply_result_path(a, &catcher.result_path, self.input, error_output).map_err(|e| self.failure(e))?
        } else {
            match &catcher.output {
                Some(p) => self.eval(p, &self.payload_input(self.input, extra))?,
                None => error_output,
            }
        };
        self.assign(catcher.assign.as_ref(), error_output, extra)?;
        Ok(output)
    }
}

/// What retriers and catchers made of a failure.
enum Recovery<'a> {
    /// A retrier would try again.
    Retriable,
    /// A catcher took it: its output and next state.
    Caught(Value<'a>, &'a str),
    /// Nothing took it (or the catcher's own processing failed).
    Failed(Failure),
}
