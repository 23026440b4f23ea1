//! What `quickstep serve` says about its executions: `GET /metrics` (the execution metrics
//! Step Functions publishes to CloudWatch, per state machine, read with a Prometheus
//! text-format parser) and the execution logs (`--log-level`, `--log-format json`).

#[path = "common/server.rs"]
mod server;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::StateMachineType;
use server::{closed, create, runtime, scratch, Server};

/// The labels a metric is keyed by: the state machine, activity, Lambda function or service
/// integration resource.
const ARN_LABELS: [&str; 4] = [
    "StateMachineArn",
    "ActivityArn",
    "LambdaFunctionArn",
    "ServiceIntegrationResourceArn",
];

/// `/metrics`, parsed: (metric name, its ARN label (one of [`ARN_LABELS`]), `le` label) ->
/// value.
fn scrape(port: u16) -> HashMap<(String, String, String), f64> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                prometheus_parse::Value::Histogram(buckets) => {
                    // Keyed by the histogram's `+Inf` count.
                    buckets.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                prometheus_parse::Value::Summary(_) => f64::NAN,
            };
            let arn = ARN_LABELS
                .iter()
                .find_map(|l| s.labels.get(l))
                .unwrap_or_default()
                .to_string();
            let le = s.labels.get("le").unwrap_or_default().to_string();
            ((s.metric, arn, le), value)
        })
        .collect()
}

#[test]
fn metrics_count_every_execution_by_outcome_and_machine() {
    let dir = scratch("server-metrics");
    let server = Server::start(&dir, &[]);
    let client = server.client();
    runtime().block_on(async {
        let choose = r#"{"StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Done"}], "Default": "Broken"},
            "Done": {"Type": "Succeed"}, "Broken": {"Type": "Fail", "Error": "Nope"}}}"#;
        let waits = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#;
        let standard = create(&client, "standard", choose, StateMachineType::Standard).await;
        let waiting = create(&client, "waiting", waits, StateMachineType::Standard).await;
        let express = create(&client, "express", choose, StateMachineType::Express).await;
        let mut arns = Vec::new();
        for ok in [true, true, true, false] {
            let started = client
                .start_execution()
                .state_machine_arn(&standard)
                .input(format!(r#"{{"ok": {ok}}}"#))
                .send()
                .await
                .unwrap();
            arns.push(started.execution_arn);
        }
        for arn in &arns {
            closed(&client, arn).await;
        }
        let parked = client
            .start_execution()
            .state_machine_arn(&waiting)
            .send()
            .await
            .unwrap();
        let stopped = client
            .start_execution()
            .state_machine_arn(&waiting)
            .send()
            .await
            .unwrap();
        client
            .stop_execution()
            .execution_arn(&stopped.execution_arn)
            .send()
            .await
            .unwrap();
        for ok in [true, false, false] {
            client
                .start_sync_execution()
                .state_machine_arn(&express)
                .input(format!(r#"{{"ok": {ok}}}"#))
                .send()
                .await
                .unwrap();
        }
        client
            .start_execution()
            .state_machine_arn(&express)
            .input(r#"{"ok": true}"#)
            .send()
            .await
            .unwrap();
        let expected = [
            ("ExecutionsStarted", &standard, 4.0),
            ("ExecutionsSucceeded", &standard, 3.0),
            ("ExecutionsFailed", &standard, 1.0),
            ("ExecutionTime", &standard, 4.0),
            ("ExecutionsStarted", &waiting, 2.0),
            ("ExecutionsAborted", &waiting, 1.0),
            ("ExecutionsSucceeded", &waiting, 0.0),
            ("ExecutionTime", &waiting, 1.0),
            ("ExecutionsStarted", &express, 4.0),
            ("ExecutionsSucceeded", &express, 2.0),
            ("ExecutionsFailed", &express, 2.0),
            ("ExecutionsTimedOut", &express, 0.0),
            ("ExecutionThrottled", &express, 0.0),
        ];
        // Endings are counted once committed: wait for the last ones.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let metrics = scrape(server.port);
            let seen: Vec<_> = expected
                .iter()
                .map(|(name, arn, _)| {
                    metrics
                        .get(&(name.to_string(), arn.to_string(), String::new()))
                        .copied()
                })
                .collect();
            let want: Vec<_> = expected.iter().map(|e| Some(e.2)).collect();
            if seen == want {
                break;
            }
            assert!(Instant::now() < deadline, "metrics {seen:?}, expected {want:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The waiting one is still running: started, not ended.
        let described = client
            .describe_execution()
            .execution_arn(&parked.execution_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(described.status, aws_sdk_sfn::types::ExecutionStatus::Running);
    });
}

/// Waits until `/metrics` has each `(name, arn, value)` of `expected` (histograms by count).
async fn wait_for_metrics(port: u16, expected: &[(&str, &str, f64)]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = scrape(port);
        let seen: Vec<_> = (expected.iter())
            .map(|(name, arn, _)| {
                metrics
                    .get(&(name.to_string(), arn.to_string(), String::new()))
                    .copied()
            })
            .collect();
        let want: Vec<_> = expected.iter().map(|e| Some(e.2)).collect();
        if seen == want {
            return;
        }
        assert!(Instant::now() < deadline, "metrics {seen:?}, expected {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn metrics_count_activities_lambda_functions_and_service_integrations() {
    let dir = scratch("server-task-metrics");
    let resources = dir.with_file_name("resources.json");
    let ok = "arn:aws:lambda:us-east-1:123456789012:function:ok";
    let bad = "arn:aws:lambda:us-east-1:123456789012:function:bad";
    let invoke = "arn:aws:states:::lambda:invoke";
    let behaviours = serde_json::json!({ ok: "identity", bad: "raise:Bad.Thing:no", invoke: "identity" });
    std::fs::write(&resources, behaviours.to_string()).unwrap();
    let server = Server::start(&dir, &["--resources", resources.to_str().unwrap()]);
    let client = server.client();
    runtime().block_on(async {
        let activity = client.create_activity().name("approve").send().await.unwrap().activity_arn;
        let definition = serde_json::json!({"StartAt": "Approve", "States": {
            "Approve": {"Type": "Task", "Resource": activity, "Next": "Fn"},
            "Fn": {"Type": "Task", "Resource": ok, "Next": "Sdk"},
            "Sdk": {"Type": "Task", "Resource": invoke, "Parameters": {"FunctionName": "ok", "Payload.$": "$"}, "End": true}}});
        let machine = create(&client, "tasks", &definition.to_string(), StateMachineType::Standard).await;
        let failing = serde_json::json!({"StartAt": "Fn", "States": {"Fn": {"Type": "Task", "Resource": bad, "End": true}}});
        let failing = create(&client, "failing", &failing.to_string(), StateMachineType::Standard).await;
        // Two executions wait on the activity: one approved, one refused.
        let mut arns = Vec::new();
        for _ in 0..2 {
            let started = client.start_execution().state_machine_arn(&machine).input("{}").send().await.unwrap();
            arns.push(started.execution_arn);
        }
        for approve in [true, false] {
            let task = client
                .get_activity_task()
                .activity_arn(&activity)
                .worker_name("worker")
                .send()
                .await
                .unwrap();
            let token = task.task_token.expect("a task for the worker");
            if approve {
                client.send_task_success().task_token(token).output(r#"{"approved": true}"#).send().await.unwrap();
            } else {
                client.send_task_failure().task_token(token).error("Refused").cause("no").send().await.unwrap();
            }
        }
        let failed = client.start_execution().state_machine_arn(&failing).send().await.unwrap();
        arns.push(failed.execution_arn);
        let mut statuses = Vec::new();
        for arn in &arns {
            statuses.push(closed(&client, arn).await.status);
        }
        use aws_sdk_sfn::types::ExecutionStatus::{Failed, Succeeded};
        assert_eq!(statuses.iter().filter(|s| **s == Succeeded).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == Failed).count(), 2, "{statuses:?}");
        let expected = [
            ("ActivitiesScheduled", activity.as_str(), 2.0),
            ("ActivitiesStarted", &activity, 2.0),
            ("ActivitiesSucceeded", &activity, 1.0),
            ("ActivitiesFailed", &activity, 1.0),
            ("ActivitiesTimedOut", &activity, 0.0),
            ("ActivitiesHeartbeatTimedOut", &activity, 0.0),
            ("ActivityScheduleTime", &activity, 2.0),
            ("ActivityRunTime", &activity, 2.0),
            ("ActivityTime", &activity, 2.0),
            ("LambdaFunctionsScheduled", ok, 1.0),
            ("LambdaFunctionsStarted", ok, 1.0),
            ("LambdaFunctionsSucceeded", ok, 1.0),
            ("LambdaFunctionsFailed", ok, 0.0),
            ("LambdaFunctionTime", ok, 1.0),
            ("LambdaFunctionsScheduled", bad, 1.0),
            ("LambdaFunctionsFailed", bad, 1.0),
            ("LambdaFunctionsSucceeded", bad, 0.0),
            ("ServiceIntegrationsScheduled", invoke, 1.0),
            ("ServiceIntegrationsStarted", invoke, 1.0),
            ("ServiceIntegrationsSucceeded", invoke, 1.0),
            ("ServiceIntegrationsFailed", invoke, 0.0),
            ("ServiceIntegrationsTimedOut", invoke, 0.0),
            ("ServiceIntegrationRunTime", invoke, 1.0),
            ("ExecutionsStarted", &machine, 2.0),
        ];
        wait_for_metrics(server.port, &expected).await;
        // The service integration metrics are not the function's: the integration's Lambda
        // function is not counted as a Lambda function.
        let metrics = scrape(server.port);
        assert!(
            !metrics.keys().any(|(name, arn, _)| name.starts_with("LambdaFunctions") && arn == invoke),
            "{metrics:?}"
        );
    });
}

#[test]
fn error_level_logs_failures_as_json_with_the_execution_arn() {
    let dir = scratch("server-logs");
    let resources = dir.with_file_name("resources.json");
    std::fs::write(
        &resources,
        r#"{"arn:aws:lambda:us-east-1:123456789012:function:charge": "raise:Card.Declined:no funds"}"#,
    )
    .unwrap();
    let server = Server::start(
        &dir,
        &[
            "--log-level",
            "ERROR",
            "--log-format",
            "json",
            "--resources",
            resources.to_str().unwrap(),
        ],
    );
    let client = server.client();
    let definition = r#"{"StartAt": "Charge", "States": {"Charge": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:charge", "End": true}}}"#;
    let (standard, express) = runtime().block_on(async {
        let standard = create(&client, "charge", definition, StateMachineType::Standard).await;
        let express = create(&client, "charge-fast", definition, StateMachineType::Express).await;
        let started = client
            .start_execution()
            .state_machine_arn(&standard)
            .send()
            .await
            .unwrap();
        closed(&client, &started.execution_arn).await;
        let fast = client
            .start_sync_execution()
            .state_machine_arn(&express)
            .send()
            .await
            .unwrap();
        (started.execution_arn, fast.execution_arn)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let records: Vec<serde_json::Value> = server
            .stderr
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        let of = |arn: &str| -> Vec<String> {
            records
                .iter()
                .filter(|r| r["fields"]["execution_arn"] == arn)
                .map(|r| {
                    format!(
                        "{} {}",
                        r["level"].as_str().unwrap_or(""),
                        r["fields"]["event_type"].as_str().unwrap_or("")
                    )
                })
                .collect()
        };
        let (standard_seen, express_seen) = (of(&standard), of(&express));
        if standard_seen.len() >= 2 && !express_seen.is_empty() {
            // ERROR keeps the failures only: the task's and the execution's, no state entered.
            assert_eq!(
                standard_seen,
                ["ERROR LambdaFunctionFailed", "ERROR ExecutionFailed"],
                "{records:?}"
            );
            assert_eq!(express_seen, ["ERROR ExecutionFailed"], "{records:?}");
            let failed = records
                .iter()
                .find(|r| {
                    r["fields"]["execution_arn"] == standard.as_str() && r["fields"]["event_type"] == "ExecutionFailed"
                })
                .unwrap();
            let details: serde_json::Value =
                serde_json::from_str(failed["fields"]["details"].as_str().unwrap()).unwrap();
            assert_eq!(details["executionFailedEventDetails"]["error"], "Card.Declined");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "standard {standard_seen:?}, express {express_seen:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
