//! Compiled state machines for the server: each revision of each machine (with a mock test
//! case, when an execution names one) compiled once, with its Task states bound to what the
//! server gives them.
//!
//! A Task's resource is, in order: a behaviour from `--resources` (the CLI's vocabulary); a
//! mocked response of the execution's test case (`--mock-config`); an activity
//! (`arn:aws:states:REGION:ACCOUNT:activity:NAME`: the task waits for a worker's
//! `GetActivityTask` and its `SendTask*` answer); a callback (`.waitForTaskToken`: the task
//! waits for `SendTask*` with the token its parameters carry). With the `integrations`
//! feature, a resource quickstep can call (a service integration, `docs/integrations.md`)
//! calls its service: from an Express execution's handler directly, from a Standard
//! execution once the step that scheduled it is journaled (its effective input is journaled
//! with it, as an activity task's is, so a restart calls it again: at least once).
//! Anything else fails as the CLI's `run` fails it (`States.Runtime`, naming the resource).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::exec::ExecutionInfo;
use crate::machine::{check_definition, Machine};
use crate::mock::MockConfig;
use crate::model::MachineType;
use crate::tasks::{TaskContext, TaskFailure, TaskHandler, TaskRegistry, TaskReply};
use crate::validate::is_activity_arn;
use crate::value::{Arena, Value};

use super::journal::MachineRecord;

/// What the server binds Task states to besides activities and callbacks.
#[derive(Clone, Debug, Default)]
pub struct TaskSources {
    /// Behaviours by resource (`--resources`).
    pub resources: TaskRegistry,
    /// Step Functions Local's mock configuration (`--mock-config`).
    pub mocks: Option<MockConfig>,
}

thread_local! {
    /// The activity tasks (and a Standard execution's service calls) scheduled by the step
    /// running on this thread: (token, activity ARN or resource, input JSON text). The
    /// driver takes them after each step.
    static SCHEDULED: RefCell<Vec<(u64, String, String)>> = const { RefCell::new(Vec::new()) };
}

/// Takes the activity tasks scheduled on this thread since the last call.
pub(crate) fn take_scheduled() -> Vec<(u64, String, String)> {
    SCHEDULED.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

/// A Task on an activity: it waits for a worker. (Also a Standard execution's service call:
/// the driver makes it once the step is journaled.)
struct ActivityTask {
    arn: String,
}

impl TaskHandler for ActivityTask {
    fn call<'a>(&self, _input: Value<'a>, _arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        Err(TaskFailure::new(
            "States.Runtime",
            "An activity task completes later, through its task token.",
        ))
    }

    fn start<'a>(&self, input: Value<'a>, _arena: &'a Arena, context: &mut TaskContext<'_>) -> TaskReply<'a> {
        let token = context.token().id();
        let text = input.to_json_string();
        SCHEDULED.with(|s| s.borrow_mut().push((token, self.arn.clone(), text)));
        TaskReply::Pending
    }
}

/// A `.waitForTaskToken` Task: it waits for `SendTask*` with its token.
struct Callback;

impl TaskHandler for Callback {
    fn call<'a>(&self, _input: Value<'a>, _arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        Err(TaskFailure::new(
            "States.Runtime",
            "A callback task completes later, through its task token.",
        ))
    }

    fn start<'a>(&self, _input: Value<'a>, _arena: &'a Arena, context: &mut TaskContext<'_>) -> TaskReply<'a> {
        context.token();
        TaskReply::Pending
    }
}

/// The facts of an execution of `record`'s machine named `name` (with `express_id` for an
/// EXPRESS one), in the server's `region` and `account`.
pub fn execution_info(
    record: &MachineRecord,
    name: &str,
    region: &str,
    account: &str,
    express_id: Option<String>,
) -> ExecutionInfo {
    ExecutionInfo {
        name: name.to_string(),
        state_machine_name: record.name.clone(),
        role_arn: record.role_arn.clone(),
        region: region.to_string(),
        account: account.to_string(),
        express_id,
    }
}

/// The key of a compiled machine: its ARN, revision and mock test case.
type Key = (String, i64, Option<String>);

/// Compiled machines, shared by the Standard engine and the Express runtimes.
#[derive(Debug, Default)]
pub struct Machines {
    sources: TaskSources,
    /// What Wait states' waits are multiplied by (Step Functions Local's `WAIT_TIME_SCALE`).
    wait_time_scale: f64,
    compiled: Mutex<HashMap<Key, Arc<Machine>>>,
    #[cfg(feature = "integrations")]
    integrations: Option<super::integrations::Integrations>,
}

impl Machines {
    /// A cache binding tasks to `sources`.
    pub fn new(sources: TaskSources) -> Machines {
        Machines {
            sources,
            wait_time_scale: 1.0,
            compiled: Mutex::default(),
            #[cfg(feature = "integrations")]
            integrations: None,
        }
    }

    /// Multiplies every machine's Wait states' waits by `scale` (see
    /// [`Machine::with_wait_time_scale`]).
    pub fn with_wait_time_scale(mut self, scale: f64) -> Machines {
        self.wait_time_scale = scale;
        self
    }

    /// Binds the resources quickstep can call that nothing else answers to `integrations`.
    #[cfg(feature = "integrations")]
    pub fn with_integrations(mut self, integrations: super::integrations::Integrations) -> Machines {
        self.integrations = Some(integrations);
        self
    }

    /// The integrations tasks call, if any.
    #[cfg(feature = "integrations")]
    pub fn integrations(&self) -> Option<&super::integrations::Integrations> {
        self.integrations.as_ref()
    }

    /// The call a task on `resource` makes, when nothing else answers it and quickstep can
    /// make it.
    #[cfg(feature = "integrations")]
    pub fn call(&self, resource: &str) -> Option<super::integrations::Call> {
        self.integrations.as_ref()?;
        if self.sources.resources.get(resource).is_some() || is_activity_arn(resource) {
            return None;
        }
        super::integrations::Call::parse(resource)
    }

    /// Whether some Task of `machine` calls a service (its executions await the calls).
    pub fn calls_services(&self, machine: &Machine) -> bool {
        #[cfg(feature = "integrations")]
        return machine
            .program()
            .resources()
            .iter()
            .copied()
            .chain(machine.program().map_io_resources())
            .any(|r| self.call(r).is_some());
        #[cfg(not(feature = "integrations"))]
        {
            let _ = machine;
            false
        }
    }

    /// The behaviours given with `--resources`.
    pub fn resources(&self) -> &TaskRegistry {
        &self.sources.resources
    }

    /// The compiled machine of `record`'s revision, with `test_case`'s mocks.
    pub fn get(&self, record: &MachineRecord, test_case: Option<&str>) -> Result<Arc<Machine>, String> {
        let key = (record.arn.clone(), record.revision, test_case.map(str::to_string));
        if let Some(machine) = self.compiled.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(machine.clone());
        }
        let machine = Arc::new(self.compile(record, test_case)?);
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, machine.clone());
        Ok(machine)
    }

    /// Forgets the compiled revisions of a machine (deleted or updated).
    pub fn forget(&self, arn: &str) {
        self.compiled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(a, _, _), _| a != arn);
    }

    /// Binds a task that calls a service, if `resource` is one: in a Standard execution,
    /// scheduled for the driver (which calls once the step is journaled); in an Express one,
    /// called.
    fn bind_service_call(&self, registry: &mut TaskRegistry, resource: &str, ty: MachineType) -> bool {
        #[cfg(feature = "integrations")]
        {
            let (Some(call), Some(integrations)) = (self.call(resource), self.integrations.as_ref()) else {
                return false;
            };
            match ty {
                MachineType::Standard => registry.register_for_resource(
                    resource,
                    ActivityTask {
                        arn: resource.to_string(),
                    },
                ),
                MachineType::Express => registry.register_for_resource(resource, integrations.handler(call)),
            };
            true
        }
        #[cfg(not(feature = "integrations"))]
        {
            let _ = (registry, resource, ty);
            false
        }
    }

    fn compile(&self, record: &MachineRecord, test_case: Option<&str>) -> Result<Machine, String> {
        let ty = if record.machine_type == "EXPRESS" {
            MachineType::Express
        } else {
            MachineType::Standard
        };
        let (_, program) = check_definition(&record.definition, ty).map_err(|e| e.to_string())?;
        let mut registry = self.sources.resources.clone();
        // The Distributed Maps' S3 reads and writes are bound as the tasks' calls are.
        for resource in program.map_io_resources() {
            if registry.get(resource).is_none() {
                self.bind_service_call(&mut registry, resource, ty);
            }
        }
        for resource in program.resources() {
            if registry.get(resource).is_some() {
                continue;
            }
            if is_activity_arn(resource) {
                registry.register_handler(
                    *resource,
                    ActivityTask {
                        arn: resource.to_string(),
                    },
                );
            } else if !self.bind_service_call(&mut registry, resource, ty) && resource.ends_with(".waitForTaskToken") {
                registry.register_handler(*resource, Callback);
            }
        }
        let machine = Machine::from_program(Arc::new(program), registry).with_wait_time_scale(self.wait_time_scale);
        match (test_case, &self.sources.mocks) {
            (Some(case), Some(config)) => {
                let mocks = config.test_case(&record.name, case).map_err(|e| e.to_string())?;
                machine.with_mocks(&mocks).map_err(|e| e.to_string())
            }
            (Some(case), None) => Err(format!(
                "the execution names the test case '{case}', but the server has no mock configuration (--mock-config)"
            )),
            (None, _) => Ok(machine),
        }
    }
}
