//! The operations of the Step Functions API: each reads its request's members as the model
//! constrains them, does its work on the journal and the engines, and answers in AWS's shape.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::clock::{Clock, SystemClock};
use crate::machine::check_definition;
use crate::model::MachineType;
use crate::tasks::TaskToken;

use super::express::Express;
use super::journal::{ActivityRecord, ExecutionRecord, Journal, JournalError, MachineRecord, VersionRecord, Write};
use super::logs::ExecutionLog;
use super::machines::{execution_info, Machines};
use super::metrics::ExecutionMetrics;
use super::protocol::{check_name, page_key, page_token, partition_of, timestamp, ApiError, Arn, Members};
use super::standard::{Delivery, Standard, StandardConfig, StartRequest, Taken};
use super::tags::{default_encryption, merge_tags, read_encryption, read_tags, Configuration};
use super::versions::{machine_missing, qualifiers, Runnable, Target};
use crate::runtime::Completion;

/// The largest input, output or task result: 256 KiB of UTF-8.
const DATA_LIMIT: usize = 262_144;

/// The server's settings.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// The region in ARNs.
    pub region: String,
    /// The account in ARNs.
    pub account: String,
    /// How long `GetActivityTask` waits for a task.
    pub activity_poll: Duration,
    /// How many threads apply Standard executions' steps.
    pub standard_shards: usize,
    /// How many worker threads each Express machine's runtime has.
    pub express_threads: usize,
    /// How long finished Standard executions are kept.
    pub retention: Duration,
    /// Which execution events are logged (`tracing`, target `quickstep::execution`).
    pub log: ExecutionLog,
}

impl Default for ServiceConfig {
    fn default() -> ServiceConfig {
        ServiceConfig {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            activity_poll: Duration::from_secs(55),
            standard_shards: 2,
            express_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            retention: Duration::from_secs(90 * 24 * 3600),
            log: ExecutionLog::default(),
        }
    }
}

/// The Step Functions API over a journal.
pub struct Service {
    pub(super) config: ServiceConfig,
    pub(super) journal: Arc<dyn Journal>,
    machines: Arc<Machines>,
    standard: Standard,
    pub(super) express: Express,
    /// State machines as last read or written, by ARN (read on every start).
    records: RwLock<HashMap<String, Arc<MachineRecord>>>,
    /// Held by the operations that read a machine's versions or aliases and then change them
    /// (publishing, aliases), so that two of them never interleave.
    pub(super) admin: tokio::sync::Mutex<()>,
    /// `RedriveExecution` client tokens: (execution ARN, token) -> (when seen, redrive time).
    redrive_tokens: std::sync::Mutex<HashMap<(String, String), (i64, i64)>>,
    /// Where the map runs seen run, and their settings changed by `UpdateMapRun`.
    pub(super) map_runs: super::map_runs::MapRuns,
    /// Execution counts and times by state machine (`/metrics`).
    executions: Arc<ExecutionMetrics>,
    /// Where asynchronous Express executions go instead of the runtime, when set.
    #[cfg(feature = "nats")]
    handoff: Option<super::handoff::NatsHandoff>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("config", &self.config).finish()
    }
}

pub(super) fn internal(e: JournalError) -> ApiError {
    ApiError::internal(e.to_string())
}

/// How long after it closed an execution can be redriven: 14 days.
const REDRIVE_WINDOW_MS: i64 = 14 * 24 * 3600 * 1000;

/// The most history events an execution can have and still be redriven (room for
/// `ExecutionRedriven` and one more under the 25,000 limit).
const REDRIVE_MAX_EVENTS: u32 = 24_998;

/// Why an execution cannot be redriven now, or `None` when it can.
fn not_redrivable(record: &ExecutionRecord, now_ms: i64) -> Option<String> {
    match record.progress.status.as_str() {
        "FAILED" | "TIMED_OUT" | "ABORTED" => {}
        status => return Some(format!("Execution is {status} and cannot be redriven")),
    }
    if record
        .progress
        .stop_ms
        .is_some_and(|stop| now_ms - stop > REDRIVE_WINDOW_MS)
    {
        return Some("Execution can only be redriven within 14 days of its closing".into());
    }
    if record.progress.events > REDRIVE_MAX_EVENTS {
        return Some(format!(
            "Execution has {} history events and cannot be redriven",
            record.progress.events
        ));
    }
    None
}

/// How long a `RedriveExecution` client token replays its first answer.
const CLIENT_TOKEN_MS: i64 = 15 * 60 * 1000;

/// Waits for an engine's reply.
async fn reply<T: Send + 'static>(
    start: impl FnOnce(Box<dyn FnOnce(Result<T, ApiError>) + Send>),
) -> Result<T, ApiError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    start(Box::new(move |result| {
        let _ = sender.send(result);
    }));
    receiver
        .await
        .unwrap_or_else(|_| Err(ApiError::internal("the engine dropped the request")))
}

impl Service {
    /// The service on `journal`, binding tasks as `machines` does: the Standard engine
    /// resumes every execution the journal has running.
    pub fn new(config: ServiceConfig, journal: Arc<dyn Journal>, machines: Machines) -> Result<Service, JournalError> {
        let machines = Arc::new(machines);
        let executions = Arc::new(ExecutionMetrics::default());
        let standard = Standard::start(
            journal.clone(),
            machines.clone(),
            StandardConfig {
                shards: config.standard_shards,
                region: config.region.clone(),
                account: config.account.clone(),
                retention: config.retention,
                metrics: executions.clone(),
                log: config.log,
            },
        )?;
        let express = Express::new(
            machines.clone(),
            config.express_threads,
            config.region.clone(),
            config.account.clone(),
        );
        Ok(Service {
            config,
            journal,
            machines,
            standard,
            express,
            records: RwLock::default(),
            admin: tokio::sync::Mutex::new(()),
            redrive_tokens: std::sync::Mutex::default(),
            map_runs: Default::default(),
            executions,
            #[cfg(feature = "nats")]
            handoff: None,
        })
    }

    /// This service with its asynchronous Express executions handed to NATS JetStream
    /// (see [`super::handoff`]) instead of run here.
    #[cfg(feature = "nats")]
    pub fn with_nats_handoff(mut self, handoff: super::handoff::NatsHandoff) -> Service {
        self.handoff = Some(handoff);
        self
    }

    /// Remembers (or, with `None`, forgets) the machine of `arn`.
    pub(super) fn remember(&self, arn: &str, record: Option<Arc<MachineRecord>>) {
        let mut records = self.records.write().unwrap_or_else(|e| e.into_inner());
        match record {
            Some(record) => records.insert(arn.to_string(), record),
            None => records.remove(arn),
        };
    }

    /// The server's metrics in Prometheus' text format: executions by state machine, then
    /// the journal's counters.
    pub fn metrics(&self) -> String {
        self.executions.render() + &self.journal.metrics()
    }

    /// Runs one operation on its request body.
    pub async fn call(&self, operation: &str, body: &Json, trace_header: Option<&str>) -> Result<Json, ApiError> {
        let members = Members::of(body)?;
        match operation {
            "CreateStateMachine" => self.create_state_machine(members).await,
            "DescribeStateMachine" => self.describe_state_machine(members),
            "UpdateStateMachine" => self.update_state_machine(members).await,
            "DeleteStateMachine" => self.delete_state_machine(members).await,
            "ListStateMachines" => self.list_state_machines(members),
            "StartExecution" => self.start_execution(members, trace_header, false).await,
            "StartSyncExecution" => self.start_execution(members, trace_header, true).await,
            "DescribeExecution" => self.describe_execution(members),
            "ListExecutions" => self.list_executions(members),
            "GetExecutionHistory" => self.get_execution_history(members),
            "StopExecution" => self.stop_execution(members).await,
            "DescribeStateMachineForExecution" => self.describe_state_machine_for_execution(members),
            "SendTaskSuccess" => self.send_task(members, "success").await,
            "SendTaskFailure" => self.send_task(members, "failure").await,
            "SendTaskHeartbeat" => self.send_task(members, "heartbeat").await,
            "CreateActivity" => self.create_activity(members).await,
            "DescribeActivity" => self.describe_activity(members),
            "ListActivities" => self.list_activities(members),
            "DeleteActivity" => self.delete_activity(members).await,
            "GetActivityTask" => self.get_activity_task(members).await,
            "TestState" => super::test_state::call(
                members,
                body,
                &self.config.region,
                &self.config.account,
                self.machines.resources(),
            ),
            "ValidateStateMachineDefinition" => self.validate_state_machine_definition(members),
            "PublishStateMachineVersion" => self.publish_state_machine_version(members).await,
            "ListStateMachineVersions" => self.list_state_machine_versions(members),
            "DeleteStateMachineVersion" => self.delete_state_machine_version(members).await,
            "CreateStateMachineAlias" => self.create_state_machine_alias(members).await,
            "DescribeStateMachineAlias" => self.describe_state_machine_alias(members),
            "UpdateStateMachineAlias" => self.update_state_machine_alias(members).await,
            "DeleteStateMachineAlias" => self.delete_state_machine_alias(members).await,
            "ListStateMachineAliases" => self.list_state_machine_aliases(members),
            "TagResource" => self.tag_resource(members).await,
            "UntagResource" => self.untag_resource(members).await,
            "ListTagsForResource" => self.list_tags_for_resource(members),
            "RedriveExecution" => self.redrive_execution(members).await,
            "DescribeMapRun" => self.describe_map_run(members),
            "ListMapRuns" => self.list_map_runs(members),
            "UpdateMapRun" => self.update_map_run(members),
            other => Err(ApiError::unknown_operation(other)),
        }
    }

    pub(super) async fn commit(&self, writes: Vec<Write>) -> Result<(), ApiError> {
        let journal = self.journal.clone();
        reply(move |done| {
            journal.commit(
                writes,
                Box::new(move |result| done(result.map_err(|e| ApiError::internal(e.to_string())))),
            )
        })
        .await
    }

    pub(super) fn arn(&self, resource_type: &str, name: &str) -> String {
        format!(
            "arn:{}:states:{}:{}:{resource_type}:{name}",
            partition_of(&self.config.region),
            self.config.region,
            self.config.account
        )
    }

    /// The machine an ARN names (unqualified), or `StateMachineDoesNotExist`.
    pub(super) fn machine(&self, arn: &str) -> Result<Arc<MachineRecord>, ApiError> {
        if let Some(record) = self.records.read().unwrap_or_else(|e| e.into_inner()).get(arn) {
            return Ok(record.clone());
        }
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "stateMachine" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        let missing = || {
            ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{arn}'"),
            )
        };
        if parsed.parts.len() != 1 {
            return Err(missing());
        }
        let record = Arc::new(self.journal.machine(arn).map_err(internal)?.ok_or_else(missing)?);
        self.remember(arn, Some(record.clone()));
        Ok(record)
    }

    /// The Standard execution an ARN names, or AWS's error for it.
    pub(super) fn execution(&self, arn: &str) -> Result<ExecutionRecord, ApiError> {
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "execution" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        self.journal
            .execution(arn)
            .map_err(internal)?
            .ok_or_else(|| ApiError::new("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'")))
    }

    fn check_definition(&self, definition: &str, machine_type: &str) -> Result<(), ApiError> {
        let ty = if machine_type == "EXPRESS" {
            MachineType::Express
        } else {
            MachineType::Standard
        };
        check_definition(definition, ty)
            .map(|_| ())
            .map_err(|e| ApiError::new("InvalidDefinition", e.to_string()))
    }

    /// `ValidateStateMachineDefinition`: the diagnostics CreateStateMachine would give (and,
    /// with `severity` WARNING, the warnings too), in AWS's result shape.
    fn validate_state_machine_definition(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        // An empty definition gets a diagnostic, not a validation error (recorded).
        let definition = m.string("definition", true, 0, 1_048_576)?;
        let machine_type = m.enumeration("type", &["STANDARD", "EXPRESS"], "STANDARD, EXPRESS")?;
        let severity = m.enumeration("severity", &["ERROR", "WARNING"], "ERROR, WARNING")?;
        let limit = match m.integer("maxResults", 0, 100)? {
            None | Some(0) => 100,
            Some(n) => n.clamp(1, 100) as usize,
        };
        m.finish()?;
        let ty = if machine_type == Some("EXPRESS") {
            MachineType::Express
        } else {
            MachineType::Standard
        };
        let mut diagnostics = crate::machine::definition_diagnostics(definition.unwrap_or(""), ty);
        if severity != Some("WARNING") {
            diagnostics.retain(|d| d.severity == crate::diagnostic::Severity::Error);
        }
        let failed = diagnostics
            .iter()
            .any(|d| d.severity == crate::diagnostic::Severity::Error);
        let truncated = diagnostics.len() > limit;
        let items: Vec<Json> = diagnostics
            .iter()
            .take(limit)
            .map(|d| {
                let mut item = json!({"severity": d.severity.as_str(), "code": d.code, "message": d.message});
                if let Some(location) = &d.location {
                    item["location"] = json!(location);
                }
                item
            })
            .collect();
        Ok(json!({"result": if failed { "FAIL" } else { "OK" }, "diagnostics": items, "truncated": truncated}))
    }

    async fn create_state_machine(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let name = m.string("name", true, 1, 80)?;
        let definition = m.string("definition", true, 1, 1_048_576)?;
        let role_arn = m.string("roleArn", true, 1, 256)?;
        let machine_type = m.enumeration("type", &["STANDARD", "EXPRESS"], "STANDARD, EXPRESS")?;
        let publish = m.boolean("publish")?.unwrap_or(false);
        let version_description = m.string("versionDescription", false, 0, 256)?;
        let configuration = Configuration::read(&mut m)?;
        let tags = read_tags(&mut m)?;
        m.finish()?;
        let (name, definition, role_arn) = (name.unwrap_or(""), definition.unwrap_or(""), role_arn.unwrap_or(""));
        let machine_type = machine_type.unwrap_or("STANDARD");
        if version_description.is_some() && !publish {
            return Err(ApiError::new(
                "ValidationException",
                "Version description can only be set when publish is true",
            ));
        }
        check_name(name)?;
        self.check_definition(definition, machine_type)?;
        let now = SystemClock.now_ms();
        let mut record = MachineRecord {
            arn: self.arn("stateMachine", name),
            name: name.to_string(),
            machine_type: machine_type.to_string(),
            definition: definition.to_string(),
            role_arn: role_arn.to_string(),
            creation_ms: now,
            update_ms: now,
            revision: 0,
            revision_id: None,
            logging: json!(null),
            tracing: json!(null),
            encryption: json!(null),
            latest_version: 0,
        };
        configuration.apply(&mut record);
        let tags = tags.map(|tags| merge_tags(&record.arn, json!([]), &tags)).transpose()?;
        if let Some(existing) = self.journal.machine(&record.arn).map_err(internal)? {
            let same = existing.definition == record.definition
                && existing.machine_type == record.machine_type
                && existing.logging == record.logging
                && existing.tracing == record.tracing
                && existing.encryption == record.encryption;
            if !same {
                return Err(ApiError::new(
                    "StateMachineAlreadyExists",
                    format!("State Machine Already Exists: '{}'", existing.arn),
                ));
            }
            let mut out = json!({"stateMachineArn": existing.arn, "creationDate": timestamp(existing.creation_ms)});
            if publish {
                let version = self.publish(&existing.arn, None, version_description).await?;
                out["stateMachineVersionArn"] = json!(version.arn());
            }
            return Ok(out);
        }
        let mut writes = Vec::new();
        let mut out = json!({"stateMachineArn": record.arn, "creationDate": timestamp(record.creation_ms)});
        if publish {
            record.latest_version = 1;
            let version = VersionRecord {
                machine_arn: record.arn.clone(),
                version: 1,
                revision: record.revision,
                description: version_description.map(str::to_string),
                creation_ms: now,
            };
            out["stateMachineVersionArn"] = json!(version.arn());
            writes.push(Write::PutVersion(version));
        }
        writes.insert(0, Write::PutMachine(Box::new(record.clone())));
        if let Some(tags) = tags {
            writes.push(Write::PutTags(record.arn.clone(), tags));
        }
        self.commit(writes).await?;
        self.remember(&record.arn, None);
        Ok(out)
    }

    fn describe_state_machine(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineArn", true, 1, 256)?;
        m.included_data()?;
        m.finish()?;
        let arn = arn.unwrap_or("");
        let (record, version) = match self.target(arn)? {
            (machine, Target::Machine) => (machine, None),
            (_, Target::Version(version)) => (self.revision_of(&version)?, Some(version)),
            // An alias is described by DescribeStateMachineAlias.
            (_, Target::Alias(_)) => return Err(machine_missing(arn)),
        };
        let mut out = json!({
            "stateMachineArn": record.arn,
            "name": record.name,
            "status": "ACTIVE",
            "definition": record.definition,
            "roleArn": record.role_arn,
            "type": record.machine_type,
            "creationDate": timestamp(record.creation_ms),
            "loggingConfiguration": record.logging,
            "tracingConfiguration": record.tracing,
            "encryptionConfiguration": record.encryption,
        });
        if let Some(revision_id) = &record.revision_id {
            out["revisionId"] = json!(revision_id);
        }
        if let Some(version) = version {
            out["stateMachineArn"] = json!(version.arn());
            out["creationDate"] = timestamp(version.creation_ms);
            if let Some(description) = &version.description {
                out["description"] = json!(description);
            }
        }
        Ok(out)
    }

    async fn update_state_machine(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineArn", true, 1, 256)?;
        let definition = m.string("definition", false, 1, 1_048_576)?;
        let role_arn = m.string("roleArn", false, 1, 256)?;
        let publish = m.boolean("publish")?.unwrap_or(false);
        let version_description = m.string("versionDescription", false, 0, 256)?;
        let configuration = Configuration::read(&mut m)?;
        m.finish()?;
        let _admin = self.admin.lock().await;
        let mut record = (*self.machine(arn.unwrap_or(""))?).clone();
        if definition.is_none() && role_arn.is_none() && configuration.is_empty() {
            return Err(ApiError::new(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        if version_description.is_some() && !publish {
            return Err(ApiError::new(
                "ValidationException",
                "Version description can only be set when publish is true",
            ));
        }
        if let Some(definition) = definition {
            self.check_definition(definition, &record.machine_type)?;
        }
        let mut updated = record.clone();
        if let Some(definition) = definition {
            updated.definition = definition.to_string();
        }
        if let Some(role_arn) = role_arn {
            updated.role_arn = role_arn.to_string();
        }
        configuration.apply(&mut updated);
        let now = SystemClock.now_ms();
        if updated != record {
            updated.revision += 1;
            updated.revision_id = Some(crate::intrinsics::uuid_v4_string());
            updated.update_ms = now;
            self.commit(vec![Write::PutMachine(Box::new(updated.clone()))]).await?;
            self.remember(&updated.arn, None);
            self.machines.forget(&updated.arn);
            self.express.forget(&updated.arn);
            record = updated;
        }
        let mut out = json!({"updateDate": timestamp(record.update_ms.max(record.creation_ms))});
        if let Some(revision_id) = &record.revision_id {
            out["revisionId"] = json!(revision_id);
        }
        if publish {
            let version = self.publish_locked(&record, version_description).await?;
            out["stateMachineVersionArn"] = json!(version.arn());
        }
        Ok(out)
    }

    async fn delete_state_machine(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineArn", true, 1, 256)?;
        m.finish()?;
        let arn = arn.unwrap_or("");
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "stateMachine" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        if parsed.parts.len() == 1 && self.journal.machine(arn).map_err(internal)?.is_some() {
            let _admin = self.admin.lock().await;
            self.commit(vec![Write::DeleteMachine(arn.to_string())]).await?;
            self.remember(arn, None);
            self.express.forget(arn);
        }
        Ok(json!({}))
    }

    fn list_state_machines(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let limit = m.max_results()?;
        let token = m.string("nextToken", false, 1, 1024)?;
        m.finish()?;
        let after = token.map(|t| page_key("ListStateMachines", t)).transpose()?;
        let mut page = self.journal.machines(after.as_deref(), limit + 1).map_err(internal)?;
        let more = page.len() > limit;
        page.truncate(limit);
        let items: Vec<Json> = page
            .iter()
            .map(|r| {
                json!({"stateMachineArn": r.arn, "name": r.name, "type": r.machine_type,
                       "creationDate": timestamp(r.creation_ms)})
            })
            .collect();
        let mut out = json!({ "stateMachines": items });
        if let (true, Some(last)) = (more, page.last()) {
            out["nextToken"] = json!(page_token("ListStateMachines", &last.name));
        }
        Ok(out)
    }

    async fn start_execution(&self, mut m: Members<'_>, trace: Option<&str>, sync: bool) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineArn", true, 1, 256)?;
        let name = m.string("name", false, 1, 80)?;
        let input = m.data("input", false, DATA_LIMIT)?;
        let trace_member = m.string("traceHeader", false, 0, 256)?;
        if sync {
            m.included_data()?;
        }
        m.finish()?;
        let arn = arn.unwrap_or("");
        let (arn, test_case) = match arn.split_once('#') {
            Some((arn, case)) => (arn, Some(case.to_string())),
            None => (arn, None),
        };
        let Runnable {
            machine,
            version_arn,
            alias_arn,
        } = self.runnable(arn)?;
        if let Some(case) = &test_case {
            // As LocalStack refuses a test case the mock configuration does not have.
            if self.machines.get(&machine, Some(case)).is_err() {
                return Err(ApiError::new(
                    "InvalidName",
                    format!(
                        "Invalid mock test case name '{case}' for state machine '{}'.Either the test case is not defined or the mock configuration file could not be loaded. See logs for details.",
                        machine.name
                    ),
                ));
            }
        }
        let name = match name {
            Some(name) => {
                check_name(name)?;
                name.to_string()
            }
            None => crate::intrinsics::uuid_v4_string(),
        };
        let input = input.unwrap_or("{}");
        if input.is_empty() {
            return Err(ApiError::new(
                "InvalidExecutionInput",
                "Invalid State Machine Execution Input: 'Invalid execution input.'",
            ));
        }
        let express = machine.machine_type == "EXPRESS";
        // StartSyncExecution's input is checked as the runtime parses it.
        if !(express && sync) {
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(input) {
                return Err(ApiError::new(
                    "InvalidExecutionInput",
                    format!("Invalid State Machine Execution Input: '{e}'"),
                ));
            }
        }
        let trace_header = trace.or(trace_member).map(str::to_string);
        if sync && !express {
            return Err(ApiError::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        if express {
            let express_id = crate::intrinsics::uuid_v4_string();
            let express_arn = format!(
                "{}:{name}:{express_id}",
                machine.arn.replacen(":stateMachine:", ":express:", 1),
            );
            let start_ms = SystemClock.now_ms();
            #[cfg(feature = "nats")]
            if let (false, Some(handoff)) = (sync, &self.handoff) {
                handoff.publish(&machine.name, &name, input).await?;
                self.executions.started(&machine.arn);
                return Ok(json!({"executionArn": express_arn, "startDate": timestamp(start_ms)}));
            }
            if !sync {
                let (metrics, machine_arn) = (self.executions.clone(), machine.arn.clone());
                let (log, execution_arn) = (self.config.log, express_arn.clone());
                let done = Completion::callback(move |completed| {
                    if let Ok(outcome) = completed.result {
                        metrics.ended(&machine_arn, outcome.status, SystemClock.now_ms() - start_ms);
                        log.ended(
                            &execution_arn,
                            outcome.status,
                            outcome.error.as_deref(),
                            outcome.cause.as_deref(),
                        );
                    }
                });
                self.executions.started(&machine.arn);
                self.express
                    .start(&machine, test_case.as_deref(), &name, input.to_string(), done)
                    .await?;
                return Ok(json!({"executionArn": express_arn, "startDate": timestamp(start_ms)}));
            }
            let outcome = self
                .express
                .run(&machine, test_case.as_deref(), &name, &express_id, input.to_string())
                .await?;
            let stop_ms = SystemClock.now_ms();
            self.executions.started(&machine.arn);
            self.executions.ended(&machine.arn, outcome.status, stop_ms - start_ms);
            self.config.log.ended(
                &express_arn,
                outcome.status,
                outcome.error.as_deref(),
                outcome.cause.as_deref(),
            );
            let info = execution_info(
                &machine,
                &name,
                &self.config.region,
                &self.config.account,
                Some(express_id),
            );
            let mut out = outcome.sync_response(&info, input, start_ms, stop_ms);
            if let Some(trace) = trace_header {
                out["traceHeader"] = json!(trace);
            }
            return Ok(out);
        }
        let request = StartRequest {
            machine,
            name,
            input: input.to_string(),
            trace_header,
            test_case,
            version_arn,
            alias_arn,
        };
        let started = reply(|done| self.standard.start_execution(request, done)).await?;
        Ok(json!({"executionArn": started.arn, "startDate": timestamp(started.start_ms)}))
    }

    /// Starts a nested execution as `StartExecution` does; with `wait`, an EXPRESS child
    /// runs to its end as `StartSyncExecution` runs it (its description is final). A name
    /// that exists already with the same input, for a durable parent's call made again
    /// after a restart, is the child that call started.
    #[cfg(feature = "integrations")]
    pub(super) async fn start_child(
        &self,
        child: &super::integrations::states::StartChild,
        wait: bool,
    ) -> Result<super::integrations::states::ChildExecution, ApiError> {
        let body = json!({"stateMachineArn": child.state_machine_arn, "name": child.name, "input": child.input});
        let express = self
            .runnable(&child.state_machine_arn)
            .is_ok_and(|r| r.machine.machine_type == "EXPRESS");
        let ms = |value: &Json| (value.as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
        let text = |value: &Json| value.as_str().map(str::to_string);
        if express && wait {
            let out = self.call("StartSyncExecution", &body, None).await?;
            return Ok(super::integrations::states::ChildExecution {
                arn: text(&out["executionArn"]).unwrap_or_default(),
                state_machine_arn: text(&out["stateMachineArn"]).unwrap_or_default(),
                name: text(&out["name"]).unwrap_or_default(),
                status: text(&out["status"]).unwrap_or_default(),
                start_ms: ms(&out["startDate"]),
                stop_ms: Some(ms(&out["stopDate"])),
                input: child.input.clone(),
                output: text(&out["output"]),
                error: text(&out["error"]),
                cause: text(&out["cause"]),
                redrive: None,
            });
        }
        match self.call("StartExecution", &body, None).await {
            Ok(out) if express => Ok(super::integrations::states::ChildExecution {
                arn: text(&out["executionArn"]).unwrap_or_default(),
                state_machine_arn: child.state_machine_arn.clone(),
                name: child.name.clone(),
                status: "RUNNING".into(),
                start_ms: ms(&out["startDate"]),
                stop_ms: None,
                input: child.input.clone(),
                output: None,
                error: None,
                cause: None,
                redrive: None,
            }),
            Ok(out) => self.child(out["executionArn"].as_str().unwrap_or_default()),
            Err(e) if e.code == "ExecutionAlreadyExists" && child.parent_token.is_some() => {
                let arn = super::standard::execution_arn(&child.state_machine_arn, &child.name);
                match self.execution(&arn) {
                    Ok(record) if record.input == child.input => self.child(&arn),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// A Standard execution as a nested call describes it.
    #[cfg(feature = "integrations")]
    pub(super) fn child(&self, arn: &str) -> Result<super::integrations::states::ChildExecution, ApiError> {
        let record = self.execution(arn)?;
        let redrive = match not_redrivable(&record, SystemClock.now_ms()) {
            None => (record.redrive_count as i64, "REDRIVABLE".to_string(), None),
            Some(reason) => (record.redrive_count as i64, "NOT_REDRIVABLE".to_string(), Some(reason)),
        };
        let progress = record.progress;
        Ok(super::integrations::states::ChildExecution {
            arn: record.arn,
            state_machine_arn: record.machine_arn,
            name: record.name,
            status: progress.status,
            start_ms: record.start_ms,
            stop_ms: progress.stop_ms,
            input: record.input,
            output: progress.output,
            error: progress.error,
            cause: progress.cause,
            redrive: Some(redrive),
        })
    }

    /// Whether the Standard execution that a task token belongs to is still running (a
    /// journal that cannot answer counts as running).
    #[cfg(feature = "integrations")]
    pub(super) fn parent_runs(&self, token: u64) -> bool {
        match self.journal.execution_by_id(super::standard::execution_of_token(token)) {
            Ok(Some(record)) => record.progress.status == "RUNNING",
            Ok(None) => false,
            Err(_) => true,
        }
    }

    fn describe_execution(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("executionArn", true, 1, 256)?;
        m.included_data()?;
        m.finish()?;
        let record = self.execution(arn.unwrap_or(""))?;
        let mut out = json!({
            "executionArn": record.arn,
            "stateMachineArn": record.machine_arn,
            "name": record.name,
            "status": record.progress.status,
            "startDate": timestamp(record.start_ms),
            "input": record.input,
            "inputDetails": {"included": true},
            "redriveCount": record.redrive_count,
        });
        let members = out.as_object_mut().expect("an object");
        if let Some(stop) = record.progress.stop_ms {
            members.insert("stopDate".into(), timestamp(stop));
        }
        if let Some(output) = &record.progress.output {
            members.insert("output".into(), json!(output));
            members.insert("outputDetails".into(), json!({"included": true}));
        }
        if let Some(error) = &record.progress.error {
            members.insert("error".into(), json!(error));
        }
        if let Some(cause) = &record.progress.cause {
            members.insert("cause".into(), json!(cause));
        }
        if let Some(trace) = &record.trace_header {
            members.insert("traceHeader".into(), json!(trace));
        }
        qualifiers(&record, members);
        if let Some(redrive_ms) = record.redrive_ms {
            members.insert("redriveDate".into(), timestamp(redrive_ms));
        }
        match not_redrivable(&record, SystemClock.now_ms()) {
            None => {
                members.insert("redriveStatus".into(), json!("REDRIVABLE"));
            }
            Some(reason) => {
                members.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
                members.insert("redriveStatusReason".into(), json!(reason));
            }
        }
        Ok(out)
    }

    /// `RedriveExecution`: a failed, timed-out or aborted Standard execution runs again from
    /// the top-level state that did not succeed. A `clientToken` seen in the last 15 minutes
    /// for the execution answers as it did then.
    async fn redrive_execution(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("executionArn", true, 1, 256)?;
        let token = m.string("clientToken", false, 1, 64)?;
        if let Some(token) = token {
            if !token.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
                m.pattern_violation("clientToken", token, "[!-~]+");
            }
        }
        m.finish()?;
        let record = self.execution(arn.unwrap_or(""))?;
        let now = SystemClock.now_ms();
        let key = token.map(|t| (record.arn.clone(), t.to_string()));
        if let Some(key) = &key {
            let mut tokens = self.redrive_tokens.lock().unwrap_or_else(|e| e.into_inner());
            tokens.retain(|_, (seen, _)| now - *seen < CLIENT_TOKEN_MS);
            if let Some((_, redrive_ms)) = tokens.get(key) {
                return Ok(json!({ "redriveDate": timestamp(*redrive_ms) }));
            }
        }
        if let Some(reason) = not_redrivable(&record, now) {
            return Err(ApiError::new("ExecutionNotRedrivable", reason));
        }
        let redrive_ms = reply(|done| self.standard.redrive(record.id, done)).await?;
        if let Some(key) = key {
            let mut tokens = self.redrive_tokens.lock().unwrap_or_else(|e| e.into_inner());
            tokens.insert(key, (now, redrive_ms));
        }
        Ok(json!({ "redriveDate": timestamp(redrive_ms) }))
    }

    fn list_executions(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("stateMachineArn", false, 1, 256)?;
        let map_run = m.string("mapRunArn", false, 1, 2000)?;
        let status = m.enumeration(
            "statusFilter",
            &[
                "RUNNING",
                "SUCCEEDED",
                "FAILED",
                "TIMED_OUT",
                "ABORTED",
                "PENDING_REDRIVE",
            ],
            "SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING",
        )?;
        let limit = m.max_results()?;
        let token = m.string("nextToken", false, 1, 3096)?;
        let redrive_filter = m.enumeration("redriveFilter", &["REDRIVEN", "NOT_REDRIVEN"], "REDRIVEN, NOT_REDRIVEN")?;
        m.finish()?;
        let arn = match (arn, map_run) {
            (Some(arn), None) => arn,
            (None, Some(map_run)) => {
                Arn::parse(map_run)?;
                return Err(ApiError::new(
                    "ResourceNotFound",
                    format!("Resource not found: '{map_run}'"),
                ));
            }
            _ => {
                return Err(ApiError::new(
                    "ValidationException",
                    "Exactly one of stateMachineArn and mapRunArn must be given",
                ))
            }
        };
        let (machine, via) = match self.target(arn)? {
            (machine, Target::Machine) => (machine, None),
            (machine, _) => (machine, Some(arn)),
        };
        if machine.machine_type == "EXPRESS" {
            return Err(ApiError::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let scope = format!(
            "ListExecutions {arn} {} {}",
            status.unwrap_or(""),
            redrive_filter.unwrap_or("")
        );
        let after = match token {
            Some(token) => {
                let key = page_key(&scope, token)?;
                let (ms, id) = key.split_once(':').ok_or_else(ApiError::invalid_token)?;
                Some((
                    ms.parse().map_err(|_| ApiError::invalid_token())?,
                    id.parse().map_err(|_| ApiError::invalid_token())?,
                ))
            }
            None => None,
        };
        let mut page = self
            .journal
            .executions(
                &machine.arn,
                status,
                via,
                redrive_filter.map(|f| f == "REDRIVEN"),
                after,
                limit + 1,
            )
            .map_err(internal)?;
        let more = page.len() > limit;
        page.truncate(limit);
        let items: Vec<Json> = page
            .iter()
            .map(|e| {
                let mut item = json!({"executionArn": e.arn, "stateMachineArn": e.machine_arn, "name": e.name,
                                      "status": e.progress.status, "startDate": timestamp(e.start_ms), "redriveCount": e.redrive_count});
                if let Some(stop) = e.progress.stop_ms {
                    item["stopDate"] = timestamp(stop);
                }
                if let Some(redrive_ms) = e.redrive_ms {
                    item["redriveDate"] = timestamp(redrive_ms);
                }
                if let Json::Object(members) = &mut item {
                    qualifiers(e, members);
                }
                item
            })
            .collect();
        let mut out = json!({ "executions": items });
        if let (true, Some(last)) = (more, page.last()) {
            out["nextToken"] = json!(page_token(&scope, &format!("{}:{}", last.start_ms, last.id)));
        }
        Ok(out)
    }

    fn get_execution_history(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("executionArn", true, 1, 256)?;
        let limit = m.max_results()?;
        let reverse = m.boolean("reverseOrder")?.unwrap_or(false);
        let token = m.string("nextToken", false, 1, 1024)?;
        let include_data = m.boolean("includeExecutionData")?.unwrap_or(true);
        m.finish()?;
        let record = self.execution(arn.unwrap_or(""))?;
        let scope = format!("GetExecutionHistory {} {reverse}", record.arn);
        let after = match token {
            Some(token) => Some(
                page_key(&scope, token)?
                    .parse::<u32>()
                    .map_err(|_| ApiError::invalid_token())?,
            ),
            None => None,
        };
        let mut page = self
            .journal
            .events(record.id, after, limit + 1, reverse)
            .map_err(internal)?;
        let more = page.len() > limit;
        page.truncate(limit);
        let next = page.last().map(|(id, _)| *id);
        let events: Vec<Json> = page
            .into_iter()
            .map(|(_, mut event)| {
                if !include_data {
                    crate::history::strip_execution_data(&mut event);
                }
                event
            })
            .collect();
        let mut out = json!({ "events": events });
        if let (true, Some(last)) = (more, next) {
            out["nextToken"] = json!(page_token(&scope, &last.to_string()));
        }
        Ok(out)
    }

    async fn stop_execution(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("executionArn", true, 1, 256)?;
        let error = m.string("error", false, 0, 256)?.map(str::to_string);
        let cause = m.string("cause", false, 0, 32_768)?.map(str::to_string);
        m.finish()?;
        let record = self.execution(arn.unwrap_or(""))?;
        let stop_ms = reply(|done| self.standard.stop(record.id, error, cause, done)).await?;
        Ok(json!({ "stopDate": timestamp(stop_ms) }))
    }

    fn describe_state_machine_for_execution(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("executionArn", true, 1, 256)?;
        m.included_data()?;
        m.finish()?;
        let record = self.execution(arn.unwrap_or(""))?;
        let machine = self
            .journal
            .revision(&record.machine_arn, record.revision)
            .map_err(internal)?
            .ok_or_else(|| ApiError::internal("the execution's definition is missing"))?;
        let mut out = json!({
            "stateMachineArn": machine.arn,
            "name": machine.name,
            "definition": machine.definition,
            "roleArn": machine.role_arn,
            "updateDate": timestamp(machine.update_ms),
            "loggingConfiguration": machine.logging,
            "tracingConfiguration": machine.tracing,
            "encryptionConfiguration": machine.encryption,
        });
        if let Some(revision_id) = &machine.revision_id {
            out["revisionId"] = json!(revision_id);
        }
        Ok(out)
    }

    async fn send_task(&self, mut m: Members<'_>, what: &str) -> Result<Json, ApiError> {
        let token = m.string("taskToken", true, 1, 2048)?;
        let delivery = match what {
            "success" => {
                let output = m.data("output", true, DATA_LIMIT)?;
                m.finish()?;
                let output = output.unwrap_or("");
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(output) {
                    return Err(ApiError::new("InvalidOutput", format!("Invalid Output: '{e}'")));
                }
                Delivery::Succeed(output.to_string())
            }
            "failure" => {
                let error = m.string("error", false, 0, 256)?.map(str::to_string);
                let cause = m.string("cause", false, 0, 32_768)?.map(str::to_string);
                m.finish()?;
                Delivery::Fail(error, cause)
            }
            _ => {
                m.finish()?;
                Delivery::Heartbeat
            }
        };
        let token: TaskToken = token.unwrap_or("").parse().map_err(|_| ApiError::invalid_token())?;
        reply(|done| self.standard.deliver(token.id(), delivery, done)).await?;
        Ok(json!({}))
    }

    async fn create_activity(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let name = m.string("name", true, 1, 80)?;
        let tags = read_tags(&mut m)?;
        let encryption = read_encryption(&mut m)?;
        m.finish()?;
        let name = name.unwrap_or("");
        check_name(name)?;
        let arn = self.arn("activity", name);
        if let Some(existing) = self.journal.activity(&arn).map_err(internal)? {
            return Ok(json!({"activityArn": existing.arn, "creationDate": timestamp(existing.creation_ms)}));
        }
        let tags = tags.map(|tags| merge_tags(&arn, json!([]), &tags)).transpose()?;
        let record = ActivityRecord {
            arn: arn.clone(),
            name: name.to_string(),
            creation_ms: SystemClock.now_ms(),
            encryption: encryption.unwrap_or_else(default_encryption),
        };
        let creation_ms = record.creation_ms;
        let mut writes = vec![Write::PutActivity(record)];
        if let Some(tags) = tags {
            writes.push(Write::PutTags(arn.clone(), tags));
        }
        self.commit(writes).await?;
        Ok(json!({"activityArn": arn, "creationDate": timestamp(creation_ms)}))
    }

    pub(super) fn activity(&self, arn: &str) -> Result<ActivityRecord, ApiError> {
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "activity" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        self.journal
            .activity(arn)
            .map_err(internal)?
            .ok_or_else(|| ApiError::new("ActivityDoesNotExist", format!("Activity Does Not Exist: '{arn}'")))
    }

    fn describe_activity(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("activityArn", true, 1, 256)?;
        m.finish()?;
        let record = self.activity(arn.unwrap_or(""))?;
        Ok(
            json!({"activityArn": record.arn, "name": record.name, "creationDate": timestamp(record.creation_ms),
                  "encryptionConfiguration": record.encryption}),
        )
    }

    fn list_activities(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let limit = m.max_results()?;
        let token = m.string("nextToken", false, 1, 1024)?;
        m.finish()?;
        let after = token.map(|t| page_key("ListActivities", t)).transpose()?;
        let mut page = self.journal.activities(after.as_deref(), limit + 1).map_err(internal)?;
        let more = page.len() > limit;
        page.truncate(limit);
        let items: Vec<Json> = page
            .iter()
            .map(|a| json!({"activityArn": a.arn, "name": a.name, "creationDate": timestamp(a.creation_ms)}))
            .collect();
        let mut out = json!({ "activities": items });
        if let (true, Some(last)) = (more, page.last()) {
            out["nextToken"] = json!(page_token("ListActivities", &last.name));
        }
        Ok(out)
    }

    async fn delete_activity(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("activityArn", true, 1, 256)?;
        m.finish()?;
        let arn = arn.unwrap_or("");
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "activity" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        self.commit(vec![Write::DeleteActivity(arn.to_string())]).await?;
        Ok(json!({}))
    }

    async fn get_activity_task(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("activityArn", true, 1, 256)?;
        let worker = m.string("workerName", false, 1, 80)?.map(str::to_string);
        m.finish()?;
        let record = self.activity(arn.unwrap_or(""))?;
        let deadline = tokio::time::Instant::now() + self.config.activity_poll;
        loop {
            let task = match self.standard.activities.take(&record.arn) {
                Taken::Task(task) => task,
                Taken::Wait(receiver) => match tokio::time::timeout_at(deadline, receiver).await {
                    Ok(Ok(task)) => task,
                    Ok(Err(_)) => continue,
                    Err(_) => return Ok(json!({})),
                },
                Taken::TooManyWorkers => {
                    return Err(ApiError::new(
                        "ActivityWorkerLimitExceeded",
                        "The maximum number of workers concurrently polling for activity tasks has been reached.",
                    ))
                }
            };
            // A task taken before a restart is handed out again as it is: its worker may
            // never have received it.
            if !task.started {
                let started = reply(|done| {
                    self.standard
                        .deliver(task.token, Delivery::ActivityStarted(worker.clone()), done)
                })
                .await;
                match started {
                    Ok(()) => {}
                    // The task timed out or its execution ended while it waited: the next one.
                    Err(e) if e.status == 400 => continue,
                    Err(e) => return Err(e),
                }
            }
            let token = TaskToken::from_id(task.token).map_or_else(String::new, |t| t.to_string());
            return Ok(json!({"taskToken": token, "input": task.input}));
        }
    }
}
