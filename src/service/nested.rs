//! Nested workflows in `quickstep serve` (cargo feature `integrations`): the
//! [`Executions`] that `states:startExecution` Tasks start children through, the server's
//! own state machines. A child is started as `StartExecution` starts one (a Standard child is
//! journaled and listed like any other); `.sync` waits for its end by reading the journal,
//! on the async runtime, never on a worker. A Standard parent's call is journaled as every
//! integration's is: after a restart it is made again, finds the child it had started (by
//! the same name and input) and goes on waiting. A child still running when its parent has
//! ended (stopped, timed out, failed) is stopped, as Step Functions stops it.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::api::Service;
use super::integrations::states::{ApiFailure, ChildExecution, Executions, Pending, StartChild};
use super::protocol::ApiError;

/// How often a `.sync` parent first looks at its child, and at most.
const FIRST_LOOK: Duration = Duration::from_millis(20);
const LAST_LOOK: Duration = Duration::from_millis(500);

/// The server's state machines, for nested executions.
#[derive(Default)]
pub struct ServiceExecutions {
    /// The service (held weakly: it holds these integrations), given once it exists.
    service: Arc<OnceLock<Weak<Service>>>,
}

impl ServiceExecutions {
    /// Nested executions of the machines of the service given later with
    /// [`serve`](Self::serve) (the Standard engine resumes journaled calls as the service
    /// is made: they wait for it).
    pub fn new() -> ServiceExecutions {
        ServiceExecutions::default()
    }

    /// The service whose machines the children run.
    pub fn serve(&self, service: &Arc<Service>) {
        let _ = self.service.set(Arc::downgrade(service));
    }

    /// The service, once given and while it lives.
    fn service(&self) -> impl std::future::Future<Output = Result<Arc<Service>, ApiFailure>> + Send + 'static {
        let cell = self.service.clone();
        async move {
            let mut look = FIRST_LOOK;
            let service = loop {
                match cell.get() {
                    Some(service) => break service,
                    None => tokio::time::sleep(look).await,
                }
                look = (look * 2).min(LAST_LOOK);
            };
            service.upgrade().ok_or_else(|| ApiFailure {
                code: "ServiceUnavailable".into(),
                message: "The server is shutting down".into(),
            })
        }
    }
}

/// An API error as a nested call reports it.
fn failure(e: ApiError) -> ApiFailure {
    ApiFailure {
        code: e.code.to_string(),
        message: e.message,
    }
}

impl Executions for ServiceExecutions {
    fn start(&self, child: StartChild, wait: bool) -> Pending<Result<ChildExecution, ApiFailure>> {
        let service = self.service();
        Box::pin(async move {
            let service = service.await?;
            let started = service.start_child(&child, wait).await.map_err(failure)?;
            if !wait || started.status != "RUNNING" {
                return Ok(started);
            }
            let mut look = FIRST_LOOK;
            loop {
                tokio::time::sleep(look).await;
                look = (look * 2).min(LAST_LOOK);
                let execution = service.child(&started.arn).map_err(failure)?;
                if execution.status != "RUNNING" {
                    return Ok(execution);
                }
                if let Some(token) = child.parent_token {
                    if !service.parent_runs(token) {
                        // The parent no longer waits: stop the child, as Step Functions does.
                        let _ = service
                            .call("StopExecution", &json!({"executionArn": started.arn}), None)
                            .await;
                        return Ok(execution);
                    }
                }
            }
        })
    }

    fn send_task(
        &self,
        token: String,
        outcome: Result<String, (Option<String>, Option<String>)>,
    ) -> Pending<Result<(), ApiFailure>> {
        let service = self.service();
        Box::pin(async move {
            let service = service.await?;
            let (operation, mut body) = match outcome {
                Ok(output) => ("SendTaskSuccess", json!({"output": output})),
                Err((error, cause)) => ("SendTaskFailure", json!({"error": error, "cause": cause})),
            };
            body["taskToken"] = Json::String(token);
            if let Some(members) = body.as_object_mut() {
                members.retain(|_, v| !v.is_null());
            }
            service.call(operation, &body, None).await.map(|_| ()).map_err(failure)
        })
    }
}
