//! Service integrations (cargo feature `integrations`): Task states that call AWS services,
//! or any AWS-compatible endpoint (LocalStack, moto's server), as Step Functions does, with
//! AWS's parameters, results and error names.
//!
//! - [`lambda`]: `lambda:invoke` and a Lambda function ARN as `Resource`;
//! - [`sqs`], [`sns`], [`dynamodb`], [`events`]: `sqs:sendMessage`, `sns:publish`,
//!   `dynamodb:getItem|putItem|updateItem|deleteItem`, `events:putEvents`;
//! - [`sdk`]: `aws-sdk:SERVICE:ACTION` for the services quickstep knows the protocol of
//!   ([`s3`]: the object actions of S3);
//! - [`http_task`]: the HTTP Task (`http:invoke`);
//! - [`states`]: `states:startExecution` (request-response, `.sync`, `.sync:2`,
//!   `.waitForTaskToken`) and `aws-sdk:sfn:startExecution`: nested executions that quickstep
//!   runs itself, through the [`states::Executions`] given with
//!   [`Integrations::set_executions`] ([`local::LocalMachines`]: machines of this process);
//! - [`aws`]: credentials, region and endpoints from the standard AWS chain, SigV4, and the
//!   services' error shapes.
//!
//! No worker waits on I/O: a Task's handler starts the call on an async (tokio) runtime and
//! answers [`TaskReply::Pending`]; the call's result completes the task through the path
//! every task that answers later takes (a runtime's [`TaskCompleter`], the durable Standard
//! driver's deliveries, or [`Integrations::answers`] for a driver of its own). The Task's
//! `TimeoutSeconds` and `HeartbeatSeconds` apply as to any such task: a call still running
//! when the task times out is let finish, and its answer is refused.

pub mod aws;
pub mod dynamodb;
pub mod events;
pub mod http_task;
pub mod lambda;
pub mod local;
pub mod s3;
pub mod sdk;
pub mod sns;
pub mod sqs;
pub mod states;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use serde_json::{Map, Value as Json};

use crate::runtime::TaskCompleter;
use crate::tasks::{TaskContext, TaskFailure, TaskHandler, TaskReply, TaskToken};
use crate::value::{Arena, Value};

use aws::Aws;

/// What a Task state's `Resource` asks a service to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The operation.
    pub kind: CallKind,
    /// `.waitForTaskToken`: the call hands the token on, and the task waits for
    /// `SendTaskSuccess` / `SendTaskFailure` with it.
    pub wait_for_token: bool,
}

/// The operations quickstep calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `arn:aws:states:::lambda:invoke`.
    LambdaInvoke,
    /// A Lambda function ARN as `Resource` (the result is the payload alone).
    LambdaFunction(String),
    /// `arn:aws:states:::sqs:sendMessage`.
    SqsSendMessage,
    /// `arn:aws:states:::sns:publish`.
    SnsPublish,
    /// `arn:aws:states:::dynamodb:ACTION` (getItem, putItem, updateItem, deleteItem).
    DynamoDb(&'static str),
    /// `arn:aws:states:::events:putEvents`.
    PutEvents,
    /// `arn:aws:states:::aws-sdk:SERVICE:ACTION`.
    Sdk {
        /// The service.
        service: &'static sdk::SdkService,
        /// The action, as written (camelCase).
        action: String,
    },
    /// `arn:aws:states:::http:invoke`.
    Http,
    /// `arn:aws:states:::states:startExecution[.sync|.sync:2]`.
    StartExecution(states::Pattern),
}

impl Call {
    /// The call a `Resource` names, when quickstep can make it (`None` for activities,
    /// unsupported services and actions, and patterns the service does not have).
    pub fn parse(resource: &str) -> Option<Call> {
        let mut fields = resource.splitn(6, ':');
        if fields.next()? != "arn" {
            return None;
        }
        let _partition = fields.next()?;
        let service = fields.next()?;
        let (_region, _account) = (fields.next()?, fields.next()?);
        let rest = fields.next()?;
        if service == "lambda" {
            return rest.starts_with("function:").then(|| Call {
                kind: CallKind::LambdaFunction(resource.to_string()),
                wait_for_token: false,
            });
        }
        if service != "states" || !_region.is_empty() || !_account.is_empty() {
            return None;
        }
        let (name, option) = match rest.split_once('.') {
            Some((name, option)) => (name, Some(option)),
            None => (rest, None),
        };
        if name == "states:startExecution" {
            let (pattern, wait_for_token) = match option {
                None => (states::Pattern::RequestResponse, false),
                Some("waitForTaskToken") => (states::Pattern::RequestResponse, true),
                Some("sync") => (states::Pattern::Sync, false),
                Some("sync:2") => (states::Pattern::Sync2, false),
                Some(_) => return None,
            };
            return Some(Call {
                kind: CallKind::StartExecution(pattern),
                wait_for_token,
            });
        }
        let wait_for_token = match option {
            None => false,
            Some("waitForTaskToken") => true,
            Some(_) => return None,
        };
        let kind = match name {
            "lambda:invoke" => CallKind::LambdaInvoke,
            "sqs:sendMessage" => CallKind::SqsSendMessage,
            "sns:publish" => CallKind::SnsPublish,
            "events:putEvents" => CallKind::PutEvents,
            "dynamodb:getItem" => CallKind::DynamoDb("GetItem"),
            "dynamodb:putItem" => CallKind::DynamoDb("PutItem"),
            "dynamodb:updateItem" => CallKind::DynamoDb("UpdateItem"),
            "dynamodb:deleteItem" => CallKind::DynamoDb("DeleteItem"),
            "http:invoke" => CallKind::Http,
            _ => {
                let (service, action) = name.strip_prefix("aws-sdk:")?.split_once(':')?;
                let service = sdk::SdkService::find(service)?;
                if !service.supports(action) {
                    return None;
                }
                CallKind::Sdk {
                    service,
                    action: action.to_string(),
                }
            }
        };
        // Only these have a callback pattern; DynamoDB and the HTTP Task have none.
        if wait_for_token && matches!(kind, CallKind::DynamoDb(_) | CallKind::Http) {
            return None;
        }
        Some(Call { kind, wait_for_token })
    }
}

/// A call's answer for a driver that delivers completions itself ([`Integrations::answers`]).
#[derive(Debug)]
pub struct Answered {
    /// The task's token.
    pub token: TaskToken,
    /// Its result, or its failure.
    pub result: Result<Json, TaskFailure>,
}

struct Inner {
    /// The runtime the calls run on: the server's, or (`runtime`) one of their own.
    handle: tokio::runtime::Handle,
    runtime: Option<tokio::runtime::Runtime>,
    aws: tokio::sync::OnceCell<Aws>,
    http: aws_smithy_http_client::Connector,
    answers: (
        crossbeam_channel::Sender<Answered>,
        crossbeam_channel::Receiver<Answered>,
    ),
    in_flight: AtomicUsize,
    /// The state machines nested executions start ([`Integrations::set_executions`]).
    executions: OnceLock<Weak<dyn states::Executions>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A runtime may not be dropped inside an async context: let it go in the background.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The service integrations of a process: the async runtime their calls run on, the AWS
/// configuration (loaded on first use), and the HTTP connections. Cheap to clone.
#[derive(Clone)]
pub struct Integrations {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Integrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integrations")
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl Integrations {
    /// Integrations with a small runtime of their own (two I/O threads): for programs with
    /// no tokio runtime, such as `quickstep run`.
    pub fn new() -> std::io::Result<Integrations> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("quickstep-integrations")
            .enable_all()
            .build()?;
        Ok(Integrations::with_tokio(runtime.handle().clone(), Some(runtime)))
    }

    /// Integrations whose calls run on `handle`'s runtime (the server's).
    pub fn on(handle: tokio::runtime::Handle) -> Integrations {
        Integrations::with_tokio(handle, None)
    }

    fn with_tokio(handle: tokio::runtime::Handle, runtime: Option<tokio::runtime::Runtime>) -> Integrations {
        Integrations {
            inner: Arc::new(Inner {
                handle,
                runtime,
                aws: tokio::sync::OnceCell::new(),
                http: aws::connector(),
                answers: crossbeam_channel::unbounded(),
                in_flight: AtomicUsize::new(0),
                executions: OnceLock::new(),
            }),
        }
    }

    /// How many calls are running.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    /// The answers of calls whose task had no [`TaskCompleter`] (an execution driven by its
    /// caller, such as `quickstep run`'s): the driver completes or fails the tasks with them.
    pub fn answers(&self) -> &crossbeam_channel::Receiver<Answered> {
        &self.inner.answers.1
    }

    /// Runs the nested executions of `states:startExecution` (and `aws-sdk:sfn`'s
    /// `startExecution`, `sendTaskSuccess` and `sendTaskFailure`) with `executions`, which
    /// the caller keeps alive (it is held weakly: it may hold machines whose tasks hold
    /// these integrations). Without it, every state machine a nested execution names does
    /// not exist. Only the first call counts.
    pub fn set_executions(&self, executions: &Arc<dyn states::Executions>) {
        let _ = self.inner.executions.set(Arc::downgrade(executions));
    }

    /// How many nested executions run in this process ([`states::Executions::running`]):
    /// they may answer tasks (`aws-sdk:sfn:sendTaskSuccess`).
    pub fn children_running(&self) -> usize {
        self.executions().map_or(0, |e| e.running())
    }

    /// The nested executions' runner, when one is set and alive.
    fn executions(&self) -> Option<Arc<dyn states::Executions>> {
        self.inner.executions.get().and_then(Weak::upgrade)
    }

    /// The AWS configuration, loaded on first use.
    async fn aws(&self) -> &Aws {
        self.inner.aws.get_or_init(Aws::load).await
    }

    /// A handler for the Task states whose resource is `call`.
    pub fn handler(&self, call: Call) -> IntegrationTask {
        IntegrationTask {
            call,
            integrations: self.clone(),
        }
    }

    /// Starts `call` on `input` (the task's effective input) and hands its result to `done`
    /// on the async runtime (for a `.waitForTaskToken` call, only a failure: its success
    /// just means the token, in its parameters, was handed on). `durable` is the task's
    /// token when its execution is journaled (its call is made again after a restart).
    pub fn start(
        &self,
        call: Call,
        input: Json,
        durable: Option<u64>,
        done: impl FnOnce(Result<Json, TaskFailure>) + Send + 'static,
    ) {
        let integrations = self.clone();
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        self.inner.handle.spawn(async move {
            let result = integrations.call(&call, input, durable).await;
            integrations.inner.in_flight.fetch_sub(1, Ordering::AcqRel);
            match result {
                Ok(_) if call.wait_for_token => {}
                result => done(result),
            }
        });
    }

    /// Makes one call (`durable`: as [`start`](Self::start)).
    async fn call(&self, call: &Call, input: Json, durable: Option<u64>) -> Result<Json, TaskFailure> {
        if let CallKind::LambdaFunction(arn) = &call.kind {
            // The effective input is the payload, any JSON value.
            return lambda::invoke_function(self.aws().await, arn, input).await;
        }
        let Json::Object(params) = input else {
            return Err(TaskFailure::new(
                crate::error::names::RUNTIME,
                format!("The task's parameters must be a JSON object, not {input}"),
            ));
        };
        match &call.kind {
            CallKind::Http => http_task::invoke(&self.inner.http, self.aws().await.region(), &params).await,
            CallKind::LambdaInvoke => lambda::invoke(self.aws().await, &params).await,
            CallKind::LambdaFunction(arn) => lambda::invoke_function(self.aws().await, arn, Json::Object(params)).await,
            CallKind::SqsSendMessage => sqs::send_message(self.aws().await, &params).await,
            CallKind::SnsPublish => sns::publish(self.aws().await, &params).await,
            CallKind::DynamoDb(action) => dynamodb::call(self.aws().await, action, &params).await,
            CallKind::PutEvents => events::put_events(self.aws().await, &params).await,
            CallKind::StartExecution(pattern) => {
                let executions = self.executions().unwrap_or_else(|| Arc::new(states::NoMachines));
                states::start_execution(executions.as_ref(), *pattern, &params, durable).await
            }
            CallKind::Sdk { service, action } => match (service.name, action.as_str(), self.executions()) {
                ("sfn", "startExecution", Some(executions)) => {
                    states::start_execution(executions.as_ref(), states::Pattern::Sdk, &params, durable).await
                }
                ("sfn", "sendTaskSuccess" | "sendTaskFailure", Some(executions)) => {
                    states::send_task(executions.as_ref(), action == "sendTaskSuccess", &params).await
                }
                _ => sdk::call(self.aws().await, service, action, params).await,
            },
        }
    }
}

/// A Task state's handler that calls a service ([`Integrations::handler`]).
pub struct IntegrationTask {
    call: Call,
    integrations: Integrations,
}

impl TaskHandler for IntegrationTask {
    /// Outside an execution nothing can take the answer: it fails.
    fn call<'a>(&self, _input: Value<'a>, _arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        Err(TaskFailure::new(
            crate::error::names::TASK_FAILED,
            "A service integration completes later, through its task token: it runs only inside an execution.",
        ))
    }

    fn start<'a>(&self, input: Value<'a>, _arena: &'a Arena, context: &mut TaskContext<'_>) -> TaskReply<'a> {
        let token = context.token();
        let completer = context.completer();
        let answers = self.integrations.inner.answers.0.clone();
        self.integrations
            .start(self.call.clone(), input.to_serde(), None, move |result| {
                deliver(completer.as_ref(), &answers, token, result)
            });
        TaskReply::Pending
    }
}

/// Hands a call's result to whoever awaits `token`: the runtime's completer, else the
/// driver's channel. A refusal means the task no longer waits (it timed out, or its
/// execution ended): the answer is dropped, as AWS drops it.
fn deliver(
    completer: Option<&TaskCompleter>,
    answers: &crossbeam_channel::Sender<Answered>,
    token: TaskToken,
    result: Result<Json, TaskFailure>,
) {
    match completer {
        Some(completer) => {
            let _ = match result {
                Ok(output) => completer.complete(token, output),
                Err(TaskFailure::Error { error, cause }) => completer.fail(token, error, cause.unwrap_or_default()),
                Err(TaskFailure::Function {
                    error_type,
                    error_message,
                }) => completer.fail(token, error_type, error_message),
            };
        }
        None => {
            let _ = answers.send(Answered { token, result });
        }
    }
}

/// Binds every resource of `resources` that no handler of `registry` answers and that
/// quickstep can call to a handler of `integrations`; returns how many it bound.
pub fn bind<'r>(
    integrations: &Integrations,
    registry: &mut crate::tasks::TaskRegistry,
    resources: impl IntoIterator<Item = &'r str>,
) -> usize {
    let mut bound = 0;
    for resource in resources {
        if registry.get(resource).is_some() {
            continue;
        }
        if let Some(call) = Call::parse(resource) {
            // A function ARN's handler gives the payload alone: not for `lambda:invoke`.
            registry.register_for_resource(resource, integrations.handler(call));
            bound += 1;
        }
    }
    bound
}

/// `result` with its members ordered by name, as Step Functions' results
/// of the optimized integrations are ordered (`Attributes`, ..., `SdkHttpMetadata`,
/// `SdkResponseMetadata`, `StatusCode`).
pub(crate) fn sorted(result: Map<String, Json>) -> Json {
    let mut members: Vec<(String, Json)> = result.into_iter().collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    Json::Object(members.into_iter().collect())
}

/// A member given as a non-string JSON value where the service takes a string: its JSON
/// text, as Step Functions sends it (`MessageBody`, `Message`, `Detail`).
pub(crate) fn as_text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The region named by an ARN (`arn:aws:sns:eu-west-1:...`), if it names one.
pub(crate) fn arn_region(arn: &str) -> Option<&str> {
    let region = arn.strip_prefix("arn:")?.split(':').nth(2)?;
    (!region.is_empty()).then_some(region)
}

/// A parameter error, as Step Functions reports parameters a service cannot take.
pub(crate) fn bad_parameters(text: impl Into<String>) -> TaskFailure {
    TaskFailure::new(crate::error::names::RUNTIME, text.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse() {
        let call = Call::parse("arn:aws:states:::sqs:sendMessage.waitForTaskToken").unwrap();
        assert_eq!(call.kind, CallKind::SqsSendMessage);
        assert!(call.wait_for_token);
        assert_eq!(
            Call::parse("arn:aws:states:::dynamodb:putItem").unwrap().kind,
            CallKind::DynamoDb("PutItem")
        );
        assert_eq!(
            Call::parse("arn:aws:lambda:us-east-1:123456789012:function:f")
                .unwrap()
                .kind,
            CallKind::LambdaFunction("arn:aws:lambda:us-east-1:123456789012:function:f".into())
        );
        assert!(Call::parse("arn:aws:states:::dynamodb:query").is_none());
        assert!(Call::parse("arn:aws:states:::dynamodb:getItem.waitForTaskToken").is_none());
        assert!(Call::parse("arn:aws:states:::sqs:sendMessage.sync").is_none());
        let nested = Call::parse("arn:aws:states:::states:startExecution.sync:2").unwrap();
        assert_eq!(nested.kind, CallKind::StartExecution(states::Pattern::Sync2));
        assert!(!nested.wait_for_token);
        let callback = Call::parse("arn:aws:states:::states:startExecution.waitForTaskToken").unwrap();
        assert_eq!(
            callback.kind,
            CallKind::StartExecution(states::Pattern::RequestResponse)
        );
        assert!(callback.wait_for_token);
        assert!(Call::parse("arn:aws:states:::states:startExecution.sync:3").is_none());
        assert!(Call::parse("arn:aws:states:us-east-1:123456789012:activity:a").is_none());
        assert!(Call::parse("arn:aws:states:::aws-sdk:dynamodb:query").is_some());
        assert!(Call::parse("arn:aws:states:::aws-sdk:nosuchservice:doIt").is_none());
        assert!(Call::parse("not an arn").is_none());
    }
}
