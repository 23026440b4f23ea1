//! Task handlers: what a Task state's `Resource` does, registered by the embedding program.
//!
//! A handler takes the task's effective input (an arena [`Value`]) and returns its result or
//! a [`TaskFailure`]. [`Behaviour`] implements the case-file vocabulary (`identity`,
//! `raise:...`, `{"Return": ...}`, `{"Throw": ...}`) on the same API.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::value::{with_member, Arena, Value};

/// Why a task failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskFailure {
    /// A failure with an error name and optional cause, reported verbatim.
    Error {
        /// The error name (what Retry/Catch `ErrorEquals` match).
        error: String,
        /// The cause text.
        cause: Option<String>,
    },
    /// A Lambda function raised: Step Functions reports `error_type` as the error and a JSON
    /// cause `{"errorMessage": ..., "errorType": ..., "requestId": ..., "stackTrace": [...]}`.
    Function {
        /// The exception type, such as `Exception`.
        error_type: String,
        /// The exception message.
        error_message: String,
    },
}

impl TaskFailure {
    /// A failure with this error name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskFailure {
        TaskFailure::Error {
            error: error.into(),
            cause: Some(cause.into()),
        }
    }
}

/// What a Task state calls.
///
/// A handler answers at once through [`call`](TaskHandler::call) (the fast path), or
/// overrides [`start`](TaskHandler::start) to answer later: it takes a [`TaskToken`] from
/// the [`TaskContext`], hands it to whoever does the work, and returns
/// [`TaskReply::Pending`]. The execution then awaits the completion (delivered with the
/// token, in the shape of `.waitForTaskToken`'s `SendTaskSuccess` / `SendTaskFailure` /
/// `SendTaskHeartbeat`), and the Task's `TimeoutSeconds` / `HeartbeatSeconds` apply.
pub trait TaskHandler: Send + Sync {
    /// Runs the task on `input`. Results may borrow from `input` or be built in `arena`.
    fn call<'a>(&self, input: Value<'a>, arena: &'a Arena) -> Result<Value<'a>, TaskFailure>;

    /// Starts the task on `input`: answers now ([`TaskReply::Done`]) or promises to answer
    /// later through the token of `context` ([`TaskReply::Pending`]). The default answers
    /// now with [`call`](TaskHandler::call).
    fn start<'a>(&self, input: Value<'a>, arena: &'a Arena, context: &mut TaskContext<'_>) -> TaskReply<'a> {
        let _ = context;
        TaskReply::Done(self.call(input, arena))
    }
}

/// What [`TaskHandler::start`] answers.
#[derive(Debug)]
pub enum TaskReply<'a> {
    /// The task's result or failure, now.
    Done(Result<Value<'a>, TaskFailure>),
    /// The task completes later, through the token the handler took from its
    /// [`TaskContext`].
    Pending,
}

/// Identifies one attempt of a Task that completes later (AWS's task token): `Copy`,
/// `Send`, printable (`Display`) and parsable (`FromStr`) as text, so it can travel through
/// queues and other programs and come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskToken(NonZeroU64);

/// The text form of a task token: this prefix, then 16 hex digits (not all zero).
const TOKEN_PREFIX: &str = "quickstep-task-";

impl TaskToken {
    /// A token no other task of this process has had.
    pub(crate) fn unique() -> TaskToken {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        TaskToken(NonZeroU64::new(id).expect("fewer than 2^64 tokens are issued"))
    }

    /// The number the token stands for (unique in the process, or among the tokens of the
    /// [`TokenIssuer`] that issued it).
    pub fn id(self) -> u64 {
        self.0.get()
    }

    /// The token standing for `id` (none for 0): what a [`TokenIssuer`] hands out.
    pub fn from_id(id: u64) -> Option<TaskToken> {
        NonZeroU64::new(id).map(TaskToken)
    }
}

impl std::fmt::Display for TaskToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{TOKEN_PREFIX}{:016x}", self.0)
    }
}

impl std::str::FromStr for TaskToken {
    type Err = TaskTokenError;

    fn from_str(text: &str) -> Result<TaskToken, TaskTokenError> {
        text.strip_prefix(TOKEN_PREFIX)
            .filter(|hex| hex.len() == 16)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .and_then(NonZeroU64::new)
            .map(TaskToken)
            .ok_or_else(|| TaskTokenError::InvalidToken(text.to_string()))
    }
}

/// Why a task completion, failure or heartbeat was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskTokenError {
    /// No task awaits this token: it was never issued here, or its task already completed,
    /// failed or timed out, or its execution ended (AWS answers `TaskTimedOut` /
    /// `TaskDoesNotExist`).
    #[error("no task awaits completion with the token {0}: its task already completed, failed or timed out, its execution ended, or the token was not issued here")]
    NotAwaiting(TaskToken),
    /// The text is not a task token (AWS: `InvalidToken`).
    #[error("'{0}' is not a task token")]
    InvalidToken(String),
    /// The result sent is not JSON (AWS: `InvalidOutput`).
    #[error("the task output is not valid JSON: {0}")]
    InvalidOutput(String),
}

/// Where the tokens of an execution's tasks come from: a runtime registers each one so that
/// any thread can complete it; a lone execution just numbers them; a durable execution's
/// driver derives them from the execution, so that a replay issues the same ones
/// ([`Execution::with_token_issuer`](crate::exec::Execution::with_token_issuer)).
pub trait TokenIssuer {
    /// A new token, live until completed or retired.
    fn issue(&self) -> TaskToken;
    /// Forgets a token whose task will not be awaited after all.
    fn retire(&self, token: TaskToken);

    /// A handle that completes this issuer's tokens from any thread, when it has one (a
    /// [`Runtime`](crate::runtime::Runtime)'s issuers do).
    fn completer(&self) -> Option<crate::runtime::TaskCompleter> {
        None
    }
}

/// What a handler gets besides its input: the means to answer later.
pub struct TaskContext<'t> {
    issuer: Option<&'t dyn TokenIssuer>,
    token: Option<TaskToken>,
}

impl<'t> TaskContext<'t> {
    /// A context whose token, if not `issued` already (for a `.waitForTaskToken` Task whose
    /// definition may read it), is issued when first asked for.
    pub(crate) fn new(issuer: Option<&'t dyn TokenIssuer>, issued: Option<TaskToken>) -> TaskContext<'t> {
        TaskContext { issuer, token: issued }
    }

    /// This task attempt's token (the same one however often it is asked for). Complete the
    /// task with it and return [`TaskReply::Pending`]. A token taken by a handler that then
    /// answers at once is forgotten.
    ///
    /// For a Task whose `Resource` ends in `.waitForTaskToken`, it is the token its
    /// `Parameters` / `Arguments` read as `$$.Task.Token` / `$states.context.Task.Token`
    /// (issued before they are evaluated): a handler that finds that token's text in its input
    /// may just return [`TaskReply::Pending`], and the text, parsed with
    /// [`FromStr`](std::str::FromStr), completes the task.
    pub fn token(&mut self) -> TaskToken {
        let issuer = self.issuer;
        *self
            .token
            .get_or_insert_with(|| issuer.map_or_else(TaskToken::unique, |i| i.issue()))
    }

    /// What completes this task's token from any thread when the execution runs on a
    /// [`Runtime`](crate::runtime::Runtime) (its [`TaskCompleter`](crate::runtime::TaskCompleter));
    /// `None` when whoever drives the execution delivers completions itself.
    pub fn completer(&self) -> Option<crate::runtime::TaskCompleter> {
        self.issuer.and_then(|i| i.completer())
    }

    /// The token taken, if any.
    pub(crate) fn taken(&self) -> Option<TaskToken> {
        self.token
    }
}

/// A later task's result as the embedder sends it (`SendTaskSuccess`'s `output`): JSON
/// text, checked when sent and parsed into the execution's arena, or a `serde_json` value.
pub type TaskOutput = crate::value::JsonInput;

/// Checks that a task's output is JSON, before it is sent to its execution.
pub(crate) fn check_output(output: &TaskOutput) -> Result<(), TaskTokenError> {
    match output.text() {
        Some(text) => serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map(|_| ())
            .map_err(|e| TaskTokenError::InvalidOutput(e.to_string())),
        None => Ok(()),
    }
}

/// Adapts a closure that starts a task and completes it later.
struct LaterHandler<F>(F);

impl<F> TaskHandler for LaterHandler<F>
where
    F: Fn(Value<'_>, TaskToken) -> Result<(), TaskFailure> + Send + Sync,
{
    /// Outside an execution there is no one to complete the task: it fails.
    fn call<'a>(&self, _input: Value<'a>, _arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        Err(TaskFailure::new(
            crate::error::names::TASK_FAILED,
            "This task completes later through a task token: it runs only inside an execution.",
        ))
    }

    fn start<'a>(&self, input: Value<'a>, _arena: &'a Arena, context: &mut TaskContext<'_>) -> TaskReply<'a> {
        match (self.0)(input, context.token()) {
            Ok(()) => TaskReply::Pending,
            Err(failure) => TaskReply::Done(Err(failure)),
        }
    }
}

impl<F> TaskHandler for F
where
    F: for<'a> Fn(Value<'a>, &'a Arena) -> Result<Value<'a>, TaskFailure> + Send + Sync,
{
    fn call<'a>(&self, input: Value<'a>, arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        self(input, arena)
    }
}

/// Adapts a handler written over `serde_json::Value` (convenient, slower: it converts the
/// input and the result).
struct JsonHandler<F>(F);

impl<F> TaskHandler for JsonHandler<F>
where
    F: Fn(serde_json::Value) -> Result<serde_json::Value, TaskFailure> + Send + Sync,
{
    fn call<'a>(&self, input: Value<'a>, arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        let result = (self.0)(input.to_serde())?;
        Ok(Value::from_serde(arena, &result))
    }
}

/// Handlers by `Resource` string (or, for `arn:aws:states:::lambda:invoke`, by the function
/// named in `FunctionName`: its ARN, its name, or either with a `:qualifier`; a handler
/// registered for the `lambda:invoke` resource itself answers for the functions that have
/// none, with the whole effective input, and its result is the task's result as it is).
#[derive(Clone, Default)]
pub struct TaskRegistry {
    handlers: HashMap<String, Arc<dyn TaskHandler>>,
    /// Resources whose handler answers only Tasks with that exact `Resource`, not
    /// `lambda:invoke` calls naming it ([`register_for_resource`](Self::register_for_resource)).
    resource_only: std::collections::HashSet<String>,
}

impl std::fmt::Debug for TaskRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRegistry")
            .field("resources", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TaskRegistry {
    /// An empty registry.
    pub fn new() -> TaskRegistry {
        TaskRegistry::default()
    }

    /// Registers a closure for `resource`, replacing any earlier handler. The closure gets the
    /// task's effective input and the execution's arena, and returns the result (which may
    /// borrow from the input or be built in the arena) or a failure.
    ///
    /// ```
    /// use quickstep::{Machine, TaskRegistry, value::{Value, with_member}};
    /// let mut tasks = TaskRegistry::new();
    /// tasks.register("arn:aws:lambda:us-east-1:123456789012:function:Validate", |input, arena| {
    ///     Ok(with_member(arena, input, "validated", Value::Bool(true)))
    /// });
    /// let machine = Machine::new(
    ///     r#"{"StartAt": "V", "States": {"V": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Validate", "End": true}}}"#,
    ///     tasks,
    /// ).unwrap();
    /// let outcome = machine.run_json(r#"{"id": 7}"#).unwrap();
    /// assert_eq!(outcome.output.as_deref(), Some(r#"{"id":7,"validated":true}"#));
    /// ```
    pub fn register<F>(&mut self, resource: impl Into<String>, handler: F) -> &mut Self
    where
        F: for<'a> Fn(Value<'a>, &'a Arena) -> Result<Value<'a>, TaskFailure> + Send + Sync + 'static,
    {
        self.register_handler(resource, handler)
    }

    /// Registers any [`TaskHandler`] for `resource`, replacing any earlier one.
    pub fn register_handler<H: TaskHandler + 'static>(&mut self, resource: impl Into<String>, handler: H) -> &mut Self {
        let resource = resource.into();
        self.resource_only.remove(&resource);
        self.handlers.insert(resource, Arc::new(handler));
        self
    }

    /// Registers a handler for the Tasks whose `Resource` is `resource` (a Lambda function
    /// ARN, say) that does not answer `lambda:invoke` calls naming that function: they get
    /// the `lambda:invoke` resource's handler instead (a service integration's, which
    /// gives the whole `Invoke` result).
    pub fn register_for_resource<H: TaskHandler + 'static>(
        &mut self,
        resource: impl Into<String>,
        handler: H,
    ) -> &mut Self {
        let resource = resource.into();
        self.handlers.insert(resource.clone(), Arc::new(handler));
        self.resource_only.insert(resource);
        self
    }

    /// Registers a task that completes later, in the shape of `.waitForTaskToken`: `start`
    /// gets the task's effective input and its [`TaskToken`], hands the work (and the token)
    /// on, and returns at once; the task completes when the token is used with
    /// [`Execution::complete_task`](crate::exec::Execution::complete_task) /
    /// [`fail_task`](crate::exec::Execution::fail_task) (or the runtime's
    /// [`complete_task`](crate::runtime::Runtime::complete_task) /
    /// [`fail_task`](crate::runtime::Runtime::fail_task)), or times out. Returning an error
    /// fails the task at once.
    pub fn register_async<F>(&mut self, resource: impl Into<String>, start: F) -> &mut Self
    where
        F: Fn(Value<'_>, TaskToken) -> Result<(), TaskFailure> + Send + Sync + 'static,
    {
        self.register_handler(resource, LaterHandler(start))
    }

    /// Registers a handler written over `serde_json::Value`.
    pub fn register_json<F>(&mut self, resource: impl Into<String>, handler: F) -> &mut Self
    where
        F: Fn(serde_json::Value) -> Result<serde_json::Value, TaskFailure> + Send + Sync + 'static,
    {
        self.register_handler(resource, JsonHandler(handler))
    }

    /// Registers a case-file behaviour.
    pub fn register_behaviour(&mut self, resource: impl Into<String>, behaviour: Behaviour) -> &mut Self {
        self.register_handler(resource, behaviour)
    }

    /// The handler for `resource`: exact match, else (for Lambda ARNs or names) the same
    /// function without its qualifier, or matched by function name.
    pub fn get(&self, resource: &str) -> Option<&Arc<dyn TaskHandler>> {
        if let Some(h) = self.handlers.get(resource) {
            return Some(h);
        }
        let name = lambda_function_name(resource)?;
        self.handlers
            .iter()
            .find(|(k, _)| lambda_function_name(k) == Some(name))
            .map(|(_, h)| h)
    }

    /// The handler of the function `name` (an ARN or a name, either with a `:qualifier`) for
    /// `lambda:invoke`: as [`get`](Self::get), leaving out handlers registered
    /// [`for the resource`](Self::register_for_resource) only.
    pub fn get_function(&self, name: &str) -> Option<&Arc<dyn TaskHandler>> {
        if self.resource_only.is_empty() {
            return self.get(name);
        }
        if let Some(h) = self.handlers.get(name).filter(|_| !self.resource_only.contains(name)) {
            return Some(h);
        }
        let function = lambda_function_name(name)?;
        self.handlers
            .iter()
            .find(|(k, _)| !self.resource_only.contains(*k) && lambda_function_name(k) == Some(function))
            .map(|(_, h)| h)
    }

    /// Builds a registry from a JSON object mapping resources to behaviours.
    pub fn from_behaviours(map: &serde_json::Value) -> Result<TaskRegistry, String> {
        let obj = map
            .as_object()
            .ok_or("resources must be a JSON object from Resource to behaviour")?;
        let mut registry = TaskRegistry::new();
        for (resource, spec) in obj {
            let behaviour = Behaviour::parse(spec).map_err(|e| format!("resource '{resource}': {e}"))?;
            registry.register_behaviour(resource.clone(), behaviour);
        }
        Ok(registry)
    }
}

/// The function name of a Lambda ARN (`arn:aws:lambda:r:a:function:NAME[:qualifier]`) or a
/// bare name (`NAME[:qualifier]`).
fn lambda_function_name(resource: &str) -> Option<&str> {
    if let Some(rest) = resource.strip_prefix("arn:") {
        let mut parts = rest.split(':');
        let service = parts.nth(1)?;
        if service != "lambda" {
            return None;
        }
        let kind = parts.nth(2)?;
        if kind != "function" {
            return None;
        }
        return parts.next();
    }
    if resource.is_empty() || resource.contains('/') {
        return None;
    }
    resource.split(':').next()
}

/// A task behaviour from the case-file vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub enum Behaviour {
    /// `identity`: returns the input.
    Identity,
    /// `raise:Type[:message]`: a Lambda function raising `Type(message)`.
    Raise {
        /// The exception type.
        error_type: String,
        /// The exception message.
        message: String,
    },
    /// `{"Return": value}`: succeeds with `value`.
    Return(serde_json::Value),
    /// `{"Merge": {...}}`: returns its input object with these members set (a quickstep
    /// extension, for examples and local tests).
    Merge(serde_json::Map<String, serde_json::Value>),
    /// `{"Throw": {"Error": ..., "Cause": ...}}`: fails verbatim.
    Throw {
        /// The error name.
        error: String,
        /// The cause.
        cause: Option<String>,
    },
}

impl Behaviour {
    /// Parses a behaviour from its JSON form.
    pub fn parse(spec: &serde_json::Value) -> Result<Behaviour, String> {
        match spec {
            serde_json::Value::String(s) if s == "identity" => Ok(Behaviour::Identity),
            serde_json::Value::String(s) if s.starts_with("raise:") => {
                let rest = &s["raise:".len()..];
                let (error_type, message) = match rest.split_once(':') {
                    Some((t, m)) => (t, m),
                    None => (rest, ""),
                };
                Ok(Behaviour::Raise { error_type: error_type.to_string(), message: message.to_string() })
            }
            serde_json::Value::Object(map) if map.len() == 1 && map.contains_key("Return") => Ok(Behaviour::Return(map["Return"].clone())),
            serde_json::Value::Object(map) if map.len() == 1 && map.contains_key("Merge") => match &map["Merge"] {
                serde_json::Value::Object(fields) => Ok(Behaviour::Merge(fields.clone())),
                other => Err(format!("Merge needs an object of fields to set, not {other}")),
            },
            serde_json::Value::Object(map) if map.len() == 1 && map.contains_key("Throw") => {
                let throw = &map["Throw"];
                let error = throw.get("Error").and_then(|e| e.as_str()).ok_or("Throw needs an \"Error\" string")?;
                let cause = throw.get("Cause").and_then(|c| c.as_str()).map(str::to_string);
                Ok(Behaviour::Throw { error: error.to_string(), cause })
            }
            other => Err(format!(
                "unknown behaviour {other}: expected \"identity\", \"raise:Type[:message]\", {{\"Return\": value}}, {{\"Merge\": {{...}}}} or {{\"Throw\": {{\"Error\": ..., \"Cause\": ...}}}}"
            )),
        }
    }
}

impl TaskHandler for Behaviour {
    fn call<'a>(&self, input: Value<'a>, arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        match self {
            Behaviour::Identity => Ok(input),
            Behaviour::Raise { error_type, message } => Err(TaskFailure::Function {
                error_type: error_type.clone(),
                error_message: message.clone(),
            }),
            Behaviour::Return(value) => Ok(Value::from_serde(arena, value)),
            Behaviour::Merge(fields) => {
                let mut merged = input;
                for (key, value) in fields {
                    merged = with_member(arena, merged, arena.alloc_str(key), Value::from_serde(arena, value));
                }
                Ok(merged)
            }
            Behaviour::Throw { error, cause } => Err(TaskFailure::Error {
                error: error.clone(),
                cause: cause.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn behaviours_parse() {
        assert_eq!(Behaviour::parse(&json!("identity")).unwrap(), Behaviour::Identity);
        assert_eq!(
            Behaviour::parse(&json!("raise:Exception:Some exception was raised.")).unwrap(),
            Behaviour::Raise {
                error_type: "Exception".into(),
                message: "Some exception was raised.".into()
            }
        );
        assert_eq!(
            Behaviour::parse(&json!("raise:CustomException")).unwrap(),
            Behaviour::Raise {
                error_type: "CustomException".into(),
                message: "".into()
            }
        );
        assert_eq!(
            Behaviour::parse(&json!({"Throw": {"Error": "E", "Cause": "C"}})).unwrap(),
            Behaviour::Throw {
                error: "E".into(),
                cause: Some("C".into())
            }
        );
        assert!(Behaviour::parse(&json!(42)).is_err());
        let merge = Behaviour::parse(&json!({"Merge": {"ok": true}})).unwrap();
        let arena = Arena::new();
        let input = crate::value::parse(&arena, r#"{"id":1,"ok":false}"#).unwrap();
        assert_eq!(
            merge.call(input, &arena).unwrap().to_json_string(),
            r#"{"id":1,"ok":true}"#
        );
    }

    #[test]
    fn lambda_lookup_by_name() {
        let mut reg = TaskRegistry::new();
        reg.register_behaviour(
            "arn:aws:lambda:us-east-1:000000000000:function:identity",
            Behaviour::Identity,
        );
        assert!(reg
            .get("arn:aws:lambda:us-east-1:000000000000:function:identity")
            .is_some());
        assert!(reg.get("identity").is_some());
        assert!(reg
            .get("arn:aws:lambda:us-east-1:000000000000:function:identity:$LATEST")
            .is_some());
        assert!(reg.get("other").is_none());
    }
}
