//! The service over its journal, in process: a journal that refuses to write fails requests
//! with a 500-class error and leaves nothing half-written; history pages over events stored
//! a step at a time; the journal's counters.
#![cfg(feature = "server")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use quickstep::service::journal::{
    ActivityRecord, ActivityTask, AliasRecord, ExecutionCursor, ExecutionRecord, Journal, JournalError, MachineRecord,
    Result, Step, VersionRecord, Write,
};
use quickstep::service::{Machines, Service, ServiceConfig, SqliteJournal, TaskSources};
use serde_json::{json, Value};

/// A journal whose commits fail while `broken` is set (a full disk), reads pass through.
struct Flaky {
    inner: Arc<SqliteJournal>,
    broken: AtomicBool,
}

impl Journal for Flaky {
    fn commit(&self, writes: Vec<Write>, done: Box<dyn FnOnce(Result<()>) + Send>) {
        if self.broken.load(Ordering::SeqCst) {
            done(Err(JournalError("database or disk is full".into())));
        } else {
            self.inner.commit(writes, done);
        }
    }
    fn machine(&self, arn: &str) -> Result<Option<MachineRecord>> {
        self.inner.machine(arn)
    }
    fn machines(&self, after: Option<&str>, limit: usize) -> Result<Vec<MachineRecord>> {
        self.inner.machines(after, limit)
    }
    fn revision(&self, arn: &str, revision: i64) -> Result<Option<MachineRecord>> {
        self.inner.revision(arn, revision)
    }
    fn version(&self, arn: &str, version: i64) -> Result<Option<VersionRecord>> {
        self.inner.version(arn, version)
    }
    fn versions(&self, arn: &str, before: Option<i64>, limit: usize) -> Result<Vec<VersionRecord>> {
        self.inner.versions(arn, before, limit)
    }
    fn alias(&self, arn: &str) -> Result<Option<AliasRecord>> {
        self.inner.alias(arn)
    }
    fn aliases(&self, arn: &str) -> Result<Vec<AliasRecord>> {
        self.inner.aliases(arn)
    }
    fn tags(&self, arn: &str) -> Result<Option<Value>> {
        self.inner.tags(arn)
    }
    fn activity(&self, arn: &str) -> Result<Option<ActivityRecord>> {
        self.inner.activity(arn)
    }
    fn activities(&self, after: Option<&str>, limit: usize) -> Result<Vec<ActivityRecord>> {
        self.inner.activities(after, limit)
    }
    fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        self.inner.execution(arn)
    }
    fn execution_by_id(&self, id: i64) -> Result<Option<ExecutionRecord>> {
        self.inner.execution_by_id(id)
    }
    #[allow(clippy::too_many_arguments)]
    fn executions(
        &self,
        machine: &str,
        status: Option<&str>,
        via: Option<&str>,
        redriven: Option<bool>,
        after: Option<ExecutionCursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.inner.executions(machine, status, via, redriven, after, limit)
    }
    fn events(&self, id: i64, after: Option<u32>, limit: usize, reverse: bool) -> Result<Vec<(u32, Value)>> {
        self.inner.events(id, after, limit, reverse)
    }
    fn steps(&self, id: i64) -> Result<Vec<Step>> {
        self.inner.steps(id)
    }
    fn open_executions(&self) -> Result<Vec<(i64, String, Option<i64>)>> {
        self.inner.open_executions()
    }
    fn activity_tasks(&self) -> Result<Vec<ActivityTask>> {
        self.inner.activity_tasks()
    }
    fn ended_before(&self, stop_ms: i64, limit: usize) -> Result<Vec<i64>> {
        self.inner.ended_before(stop_ms, limit)
    }
    fn max_execution_id(&self) -> Result<i64> {
        self.inner.max_execution_id()
    }
    fn metrics(&self) -> String {
        self.inner.metrics()
    }
}

fn service(journal: Arc<dyn Journal>) -> Service {
    Service::new(ServiceConfig::default(), journal, Machines::new(TaskSources::default())).unwrap()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:loop";

/// A loop of 30 Pass states through a Choice, with a Wait of 1 s every tenth round: several
/// steps, each with its own row of events.
const LOOP: &str = r#"{
  "StartAt": "Count",
  "States": {
    "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Tenth?"},
    "Tenth?": {"Type": "Choice", "Choices": [
        {"Variable": "$.n", "NumericGreaterThanEquals": 30, "Next": "Done"},
        {"Variable": "$.n", "NumericEquals": 10, "Next": "Breathe"},
        {"Variable": "$.n", "NumericEquals": 20, "Next": "Breathe"}], "Default": "Count"},
    "Breathe": {"Type": "Wait", "Seconds": 1, "Next": "Count"},
    "Done": {"Type": "Succeed"}
  }
}"#;

#[test]
fn a_journal_that_cannot_write_fails_requests_and_keeps_nothing_half_written() {
    let flaky = Arc::new(Flaky {
        inner: SqliteJournal::open(":memory:").unwrap(),
        broken: AtomicBool::new(false),
    });
    let service = service(flaky.clone());
    block_on(async {
        let create = json!({"name": "loop", "definition": LOOP, "roleArn": "arn:aws:iam::123456789012:role/r"});
        flaky.broken.store(true, Ordering::SeqCst);
        let error = service.call("CreateStateMachine", &create, None).await.unwrap_err();
        assert_eq!((error.status, error.code), (500, "InternalFailure"));
        let described = service
            .call("DescribeStateMachine", &json!({"stateMachineArn": MACHINE}), None)
            .await
            .unwrap_err();
        assert_eq!(described.code, "StateMachineDoesNotExist");

        flaky.broken.store(false, Ordering::SeqCst);
        service.call("CreateStateMachine", &create, None).await.unwrap();
        flaky.broken.store(true, Ordering::SeqCst);
        let start = json!({"stateMachineArn": MACHINE, "name": "first", "input": "{\"n\": 0}"});
        let error = service.call("StartExecution", &start, None).await.unwrap_err();
        assert_eq!((error.status, error.code), (500, "InternalFailure"));
        let arn = "arn:aws:states:us-east-1:123456789012:execution:loop:first";
        let missing = service
            .call("DescribeExecution", &json!({"executionArn": arn}), None)
            .await
            .unwrap_err();
        assert_eq!(missing.code, "ExecutionDoesNotExist");

        // Once the journal can write again, the same start goes through.
        flaky.broken.store(false, Ordering::SeqCst);
        let started = service.call("StartExecution", &start, None).await.unwrap();
        assert_eq!(started["executionArn"], arn);
    });
}

#[test]
fn history_pages_forward_and_backward_over_steps() {
    let journal = SqliteJournal::open(":memory:").unwrap();
    let service = service(journal.clone());
    block_on(async {
        let create = json!({"name": "loop", "definition": LOOP, "roleArn": "arn:aws:iam::123456789012:role/r"});
        service.call("CreateStateMachine", &create, None).await.unwrap();
        let start = json!({"stateMachineArn": MACHINE, "name": "n", "input": "{\"n\": 0}"});
        let arn = service.call("StartExecution", &start, None).await.unwrap()["executionArn"]
            .as_str()
            .unwrap()
            .to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let described = service
                .call("DescribeExecution", &json!({"executionArn": arn}), None)
                .await
                .unwrap();
            if described["status"] == "SUCCEEDED" {
                assert_eq!(described["output"], r#"{"n":30}"#);
                break;
            }
            assert!(std::time::Instant::now() < deadline);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // Every page size gives the same events, forward and backward.
        let all = pages(&service, &arn, 1000, false).await;
        let ids: Vec<u64> = all.iter().map(|e| e["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, (1..=all.len() as u64).collect::<Vec<_>>());
        assert_eq!(all.last().unwrap()["type"], "ExecutionSucceeded");
        for size in [1, 7, 50] {
            assert_eq!(pages(&service, &arn, size, false).await, all, "pages of {size}");
            let mut backward = pages(&service, &arn, size, true).await;
            backward.reverse();
            assert_eq!(backward, all, "reversed pages of {size}");
        }
        let without = service
            .call(
                "GetExecutionHistory",
                &json!({"executionArn": arn, "includeExecutionData": false, "maxResults": 3}),
                None,
            )
            .await
            .unwrap();
        let details = &without["events"][1]["passStateEnteredEventDetails"];
        assert!(details.get("input").is_none(), "{without}");
    });
    let metrics = journal.metrics();
    assert!(metrics.contains("quickstep_journal_transitions_total 3"), "{metrics}");
}

async fn pages(service: &Service, arn: &str, size: usize, reverse: bool) -> Vec<Value> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = json!({"executionArn": arn, "maxResults": size, "reverseOrder": reverse});
        if let Some(token) = &token {
            request["nextToken"] = json!(token);
        }
        let page = service.call("GetExecutionHistory", &request, None).await.unwrap();
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["nextToken"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => return events,
        }
    }
}

/// Requests made of random members and values (a fixed seed): every one gets an answer, and
/// none of them is a server fault.
#[test]
fn random_requests_get_answers_never_faults() {
    const OPERATIONS: &[&str] = &[
        "CreateStateMachine",
        "DescribeStateMachine",
        "UpdateStateMachine",
        "DeleteStateMachine",
        "ListStateMachines",
        "StartExecution",
        "StartSyncExecution",
        "DescribeExecution",
        "ListExecutions",
        "GetExecutionHistory",
        "StopExecution",
        "DescribeStateMachineForExecution",
        "SendTaskSuccess",
        "SendTaskFailure",
        "SendTaskHeartbeat",
        "CreateActivity",
        "DescribeActivity",
        "ListActivities",
        "DeleteActivity",
        "NoSuchOperation",
    ];
    const MEMBERS: &[&str] = &[
        "name",
        "definition",
        "roleArn",
        "type",
        "stateMachineArn",
        "executionArn",
        "input",
        "output",
        "taskToken",
        "maxResults",
        "nextToken",
        "statusFilter",
        "reverseOrder",
        "includeExecutionData",
        "error",
        "cause",
        "activityArn",
        "loggingConfiguration",
        "publish",
        "versionDescription",
    ];
    let values: Vec<Value> = vec![
        json!(MACHINE),
        json!("arn:aws:states:us-east-1:123456789012:execution:loop:n"),
        json!("arn:aws:states:us-east-1:123456789012:express:loop:n:id"),
        json!("arn:aws:states:us-east-1:123456789012:activity:a"),
        json!("arn:aws:states:::"),
        json!(""),
        json!("x".repeat(300)),
        json!("quickstep-task-0000000001000001"),
        json!("quickstep-task-ffffffffffffffff"),
        json!(LOOP),
        json!(r#"{"StartAt": "X"}"#),
        json!("{"),
        json!("loop"),
        json!("a b"),
        json!("EXPRESS"),
        json!("RUNNING"),
        json!(r#"{"n": 0}"#),
        json!(-1),
        json!(1001),
        json!(7),
        json!(true),
        json!(null),
        json!([1, "a"]),
        json!({"level": "ALL", "destinations": []}),
    ];
    let service = service(SqliteJournal::open(":memory:").unwrap());
    let mut seed: u64 = 0x5EED;
    let mut next = |bound: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % bound
    };
    block_on(async {
        let mut answered = 0;
        for _ in 0..3000 {
            let operation = OPERATIONS[next(OPERATIONS.len())];
            let mut body = serde_json::Map::new();
            for _ in 0..next(6) {
                body.insert(
                    MEMBERS[next(MEMBERS.len())].to_string(),
                    values[next(values.len())].clone(),
                );
            }
            match service.call(operation, &Value::Object(body.clone()), None).await {
                Ok(_) => answered += 1,
                Err(error) => assert!(error.status < 500, "{operation} {body:?}: {error:?}"),
            }
        }
        assert!(answered > 0);
    });
}
