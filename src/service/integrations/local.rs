//! Nested executions of state machines held in this process ([`LocalMachines`]): what
//! `states:startExecution` Tasks start in `quickstep run`, `stream` and `graph`
//! (`--machine NAME=FILE`), and for embedders. Each machine runs its executions on a
//! [`Runtime`] of its own (its tasks' service calls and callbacks complete there); a `.sync`
//! parent's call awaits the child's completion on the async runtime, never on a worker.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::states::{machine_does_not_exist, ApiFailure, ChildExecution, Executions, Pending, StartChild};
use crate::exec::ExecutionInfo;
use crate::machine::{Machine, Outcome};
use crate::runtime::{Completion, Runtime};
use crate::tasks::TaskToken;

/// One machine children may run.
struct Local {
    /// Its facts (name, region, account; an express id for an EXPRESS machine).
    info: ExecutionInfo,
    runtime: Option<Arc<Runtime>>,
}

/// State machines of this process that nested executions start, by ARN. Dropping it stops
/// the children still running (they end `ABORTED`).
#[derive(Default)]
pub struct LocalMachines {
    machines: HashMap<String, Local>,
    /// The ARNs of the executions started, for AWS's `ExecutionAlreadyExists`.
    started: Mutex<HashSet<String>>,
    /// How many children run.
    running: Arc<AtomicUsize>,
    /// Where the answers of tokens no machine here awaits go: the driver of an execution
    /// run outside them ([`LocalMachines::answering_through`]).
    driver: Option<super::Integrations>,
}

impl LocalMachines {
    /// No machines.
    pub fn new() -> LocalMachines {
        LocalMachines::default()
    }

    /// Adds `machine`, known as `info`'s state machine (`info.state_machine_arn()`; an
    /// EXPRESS one when `info.express_id` is set), run on a pool of `threads` workers,
    /// on a virtual clock starting at `virtual_start_ms` when given. Returns its ARN.
    pub fn add(
        &mut self,
        machine: Machine,
        info: ExecutionInfo,
        threads: usize,
        virtual_start_ms: Option<i64>,
    ) -> String {
        let mut builder = Runtime::builder().threads(threads).execution_info(info.clone());
        if let Some(start) = virtual_start_ms {
            builder = builder.virtual_clock(start);
        }
        let arn = info.state_machine_arn();
        let runtime = Some(Arc::new(builder.build(machine)));
        self.machines.insert(arn.clone(), Local { info, runtime });
        arn
    }

    /// Hands `SendTaskSuccess` / `SendTaskFailure` for tokens no machine here awaits to
    /// `integrations`' driver ([`Integrations::answers`](super::Integrations::answers)):
    /// for a parent that its caller drives, such as `quickstep run`'s.
    pub fn answering_through(mut self, integrations: super::Integrations) -> LocalMachines {
        self.driver = Some(integrations);
        self
    }

    /// The ARNs of the machines, in no order.
    pub fn arns(&self) -> impl Iterator<Item = &str> {
        self.machines.keys().map(String::as_str)
    }
}

impl Drop for LocalMachines {
    fn drop(&mut self) {
        for local in self.machines.values_mut() {
            if let Some(runtime) = local.runtime.take().and_then(|r| Arc::try_unwrap(r).ok()) {
                runtime.abort();
            }
        }
    }
}

impl Executions for LocalMachines {
    fn start(&self, child: StartChild, wait: bool) -> Pending<Result<ChildExecution, ApiFailure>> {
        let found = self.machines.get(&child.state_machine_arn);
        let checked = match found {
            None => Err(machine_does_not_exist(&child.state_machine_arn)),
            Some(local) => self.check(local, &child).map(|arn| (arn, local)),
        };
        let (arn, local) = match checked {
            Ok(found) => found,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let runtime = local
            .runtime
            .clone()
            .expect("a machine's runtime lives until it is dropped");
        let state_machine_arn = child.state_machine_arn.clone();
        let running = self.running.clone();
        Box::pin(async move {
            let start_ms = runtime.now_ms();
            let (sender, receiver) = tokio::sync::oneshot::channel();
            running.fetch_add(1, Ordering::AcqRel);
            let done = Completion::callback(move |completed| {
                running.fetch_sub(1, Ordering::AcqRel);
                let _ = sender.send(completed.result);
            });
            crate::service::express::submit(runtime.clone(), &child.name, child.input.clone(), done).await;
            let mut execution = ChildExecution {
                arn,
                state_machine_arn,
                name: child.name,
                status: "RUNNING".into(),
                start_ms,
                stop_ms: None,
                input: child.input,
                output: None,
                error: None,
                cause: None,
                redrive: None,
            };
            if !wait {
                return Ok(execution);
            }
            let outcome = match receiver.await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(e)) => return Err(invalid_input(&e.to_string())),
                Err(_) => Outcome {
                    status: crate::exec::Status::Aborted,
                    output: None,
                    error: None,
                    cause: None,
                },
            };
            execution.status = outcome.status.as_str().to_string();
            execution.stop_ms = Some(runtime.now_ms());
            execution.output = outcome.output;
            execution.error = outcome.error;
            execution.cause = outcome.cause;
            Ok(execution)
        })
    }

    fn send_task(
        &self,
        token: String,
        outcome: Result<String, (Option<String>, Option<String>)>,
    ) -> Pending<Result<(), ApiFailure>> {
        Box::pin(std::future::ready(self.deliver(&token, outcome)))
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }
}

impl LocalMachines {
    /// The ARN of `child`'s execution, once its name and input pass StartExecution's checks.
    fn check(&self, local: &Local, child: &StartChild) -> Result<String, ApiFailure> {
        crate::service::protocol::check_name(&child.name).map_err(|e| ApiFailure {
            code: e.code.to_string(),
            message: e.message,
        })?;
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&child.input) {
            return Err(invalid_input(&e.to_string()));
        }
        let arn = local.info.execution_arn_named(&child.name);
        if !self
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(arn.clone())
        {
            return Err(ApiFailure {
                code: "ExecutionAlreadyExists".into(),
                message: format!("Execution Already Exists: '{arn}'"),
            });
        }
        Ok(arn)
    }

    /// Completes or fails the task of `token` on the machine whose execution awaits it.
    fn deliver(
        &self,
        token: &str,
        outcome: Result<String, (Option<String>, Option<String>)>,
    ) -> Result<(), ApiFailure> {
        let invalid = || ApiFailure {
            code: "InvalidToken".into(),
            message: "Invalid Token: 'Invalid token'".into(),
        };
        let parsed: TaskToken = token.parse().map_err(|_| invalid())?;
        for runtime in self.machines.values().filter_map(|l| l.runtime.as_ref()) {
            let sent = match &outcome {
                Ok(output) => runtime.complete_task(parsed, output.clone()),
                Err((error, cause)) => runtime.fail_task(
                    parsed,
                    error.clone().unwrap_or_default(),
                    cause.clone().unwrap_or_default(),
                ),
            };
            match sent {
                Ok(()) => return Ok(()),
                Err(crate::tasks::TaskTokenError::InvalidOutput(e)) => {
                    return Err(ApiFailure {
                        code: "InvalidOutput".into(),
                        message: format!("Invalid Output: '{e}'"),
                    })
                }
                Err(_) => continue,
            }
        }
        let Some(driver) = &self.driver else {
            return Err(ApiFailure {
                code: "TaskDoesNotExist".into(),
                message: "Task Does Not Exist: 'Provided task does not exist anymore'".into(),
            });
        };
        let result = match outcome {
            Ok(output) => Ok(serde_json::from_str(&output).map_err(|e| ApiFailure {
                code: "InvalidOutput".into(),
                message: format!("Invalid Output: '{e}'"),
            })?),
            Err((error, cause)) => Err(crate::tasks::TaskFailure::Error {
                error: error.unwrap_or_default(),
                cause,
            }),
        };
        let _ = driver.inner.answers.0.send(super::Answered { token: parsed, result });
        Ok(())
    }
}

/// AWS's `InvalidExecutionInput`.
fn invalid_input(e: &str) -> ApiFailure {
    ApiFailure {
        code: "InvalidExecutionInput".into(),
        message: format!("Invalid State Machine Execution Input: '{e}'"),
    }
}
