//! Express executions through the server: each Express machine revision gets a
//! [`Runtime`] (created on its first execution), which runs them
//! as it runs any in-process execution. Nothing is journaled: an asynchronous Express start
//! is at most once, as on AWS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::clock::SystemClock;
use crate::machine::Outcome;
use crate::runtime::{Completion, Runtime};

use super::journal::MachineRecord;
use super::machines::{execution_info, Machines};
use super::protocol::ApiError;

/// Each machine revision's runtime, and whether its executions may wait.
/// Runtimes by machine ARN, revision and mock test case.
type Runtimes = HashMap<(String, i64, Option<String>), (Arc<Runtime>, bool)>;

/// The runtimes of the Express machines.
pub struct Express {
    machines: Arc<Machines>,
    runtimes: Mutex<Runtimes>,
    threads: usize,
    region: String,
    account: String,
}

impl std::fmt::Debug for Express {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Express").field("threads", &self.threads).finish()
    }
}

impl Express {
    /// Runtimes of `threads` workers each, for `machines`.
    pub fn new(machines: Arc<Machines>, threads: usize, region: String, account: String) -> Express {
        Express {
            machines,
            runtimes: Mutex::default(),
            threads,
            region,
            account,
        }
    }

    /// The runtime of `record`'s revision (with the mocks of `test_case`), and whether its
    /// executions may wait (on time or on a service call).
    fn runtime(&self, record: &MachineRecord, test_case: Option<&str>) -> Result<(Arc<Runtime>, bool), ApiError> {
        let key = (record.arn.clone(), record.revision, test_case.map(str::to_string));
        let mut runtimes = self.runtimes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(runtime) = runtimes.get(&key) {
            return Ok(runtime.clone());
        }
        let machine = self.machines.get(record, test_case).map_err(ApiError::internal)?;
        let express_id = Some(crate::intrinsics::uuid_v4_string());
        let info = execution_info(record, &record.name, &self.region, &self.account, express_id);
        let runtime = Arc::new(
            Runtime::builder()
                .threads(self.threads)
                .execution_info(info)
                .build((*machine).clone()),
        );
        let waits = machine.program().can_wait() || self.machines.calls_services(&machine);
        runtimes.retain(|(arn, revision, _), _| arn != &record.arn || *revision == record.revision);
        runtimes.insert(key, (runtime.clone(), waits));
        Ok((runtime, waits))
    }

    /// Runs an execution to its end (`StartSyncExecution`), with the mocks of `test_case`: on the calling thread when it
    /// cannot wait (no Wait state, no Retry, no Task calling a service), so that a short
    /// execution costs no hop between threads; otherwise on the runtime's pool.
    ///
    /// The execution has its own `name`; on the calling thread also the `id` that ends its
    /// ARN in the context object (on the pool, the runtime's).
    pub async fn run(
        &self,
        record: &MachineRecord,
        test_case: Option<&str>,
        name: &str,
        id: &str,
        input: String,
    ) -> Result<Outcome, ApiError> {
        let (runtime, waits) = self.runtime(record, test_case)?;
        if !waits {
            let info = execution_info(record, name, &self.region, &self.account, Some(id.to_string()));
            return runtime
                .machine()
                .run_json_with(&input, &info, &mut SystemClock)
                .map_err(|e| {
                    ApiError::new(
                        "InvalidExecutionInput",
                        format!("Invalid State Machine Execution Input: '{e}'"),
                    )
                });
        }
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let done = Completion::callback(move |completed| {
            let _ = sender.send(completed.result);
        });
        submit(runtime, name, input, done).await;
        match receiver.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => Err(ApiError::new(
                "InvalidExecutionInput",
                format!("Invalid State Machine Execution Input: '{e}'"),
            )),
            Err(_) => Err(ApiError::internal("the execution was dropped")),
        }
    }

    /// Starts an execution named `name` (`StartExecution` of an Express machine), with the
    /// mocks of `test_case`; its outcome goes to `done`.
    pub async fn start(
        &self,
        record: &MachineRecord,
        test_case: Option<&str>,
        name: &str,
        input: String,
        done: Completion,
    ) -> Result<(), ApiError> {
        let (runtime, _) = self.runtime(record, test_case)?;
        submit(runtime, name, input, done).await;
        Ok(())
    }

    /// Drops the runtimes of a machine (deleted or updated).
    pub fn forget(&self, arn: &str) {
        self.runtimes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(a, _, _), _| a != arn);
    }
}

/// Submits without blocking the async worker: when the runtime's queue is full, the wait
/// for room happens on a blocking thread.
pub(crate) async fn submit(runtime: Arc<Runtime>, name: &str, input: String, done: Completion) {
    if let Err(full) = runtime.try_submit_named(name, input, done) {
        let _ = tokio::task::spawn_blocking(move || {
            runtime.submit_named(full.name.unwrap_or_default(), full.input, full.done);
        })
        .await;
    }
}
