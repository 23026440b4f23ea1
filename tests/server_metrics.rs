//! What `quickstep serve` says about its executions: `GET /metrics` (the execution metrics
//! Step Functions publishes to CloudWatch, per state machine, read with a Prometheus
//! text-format parser) and the execution logs (`--log-level`, `--log-format json`).

#[path = "common/server.rs"]
mod server;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::StateMachineType;
use server::{closed, create, runtime, scratch, Server};

/// `/metrics`, parsed: (metric name, StateMachineArn label, `le` label) -> value.
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
            let arn = s.labels.get("StateMachineArn").unwrap_or_default().to_string();
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
