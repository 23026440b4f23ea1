//! `loadgen --endpoint URL`: drives a server speaking the Step Functions API (`quickstep
//! serve`, or any other, such as moto's) over HTTP/1.1 keep-alive connections, closed loop:
//! each connection sends its next request when the last one is answered. By default it
//! starts executions: STANDARD, `StartExecution` (acknowledged once journaled); EXPRESS,
//! `StartSyncExecution` (answered with the outcome). `--operation` loads another operation
//! instead: `CreateStateMachine` (a new machine per request), `DescribeExecution` or
//! `GetExecutionHistory` (of finished Standard executions, started first). Reports
//! requests/s, executions completed/s, latency, and the journal's transitions/s and
//! commits/s when the server publishes them at `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use quickstep::runtime::hdrhistogram::Histogram;
use quickstep::runtime::workloads::Workload;

/// What an endpoint run is asked to do.
pub struct EndpointRun<'a> {
    /// `http://host:port`.
    pub url: &'a str,
    /// The workload.
    pub workload: &'a Workload,
    /// `STANDARD` or `EXPRESS`.
    pub machine_type: &'a str,
    /// Concurrent connections.
    pub connections: usize,
    /// How long to run.
    pub seconds: f64,
    /// One JSON line instead of text.
    pub json: bool,
    /// The operation to load.
    pub operation: Operation,
}

/// The operation an endpoint run loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `StartExecution` (STANDARD) or `StartSyncExecution` (EXPRESS).
    Start,
    /// `CreateStateMachine`, a new machine per request.
    CreateStateMachine,
    /// `DescribeExecution` of finished executions.
    DescribeExecution,
    /// `GetExecutionHistory` of finished executions.
    GetExecutionHistory,
}

/// How many finished executions DescribeExecution and GetExecutionHistory read in turn.
const READ_SET: usize = 256;

/// A SigV4-shaped `Authorization` header with dummy credentials.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/states/aws4_request, \
                             SignedHeaders=host;x-amz-date;x-amz-target, Signature=00";

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(authority: &str) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| format!("{authority}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn call(sender: &mut Sender, host: &str, operation: &str, body: String) -> Result<(u16, Bytes), String> {
    let request = Request::post("/")
        .header("host", host)
        .header("x-amz-target", format!("AWSStepFunctions.{operation}"))
        .header("content-type", "application/x-amz-json-1.0")
        // Unsigned but shaped like SigV4: servers that route by the credential scope's
        // service (moto) need it; quickstep accepts any signature.
        .header("authorization", AUTHORIZATION)
        .header("x-amz-date", "20260101T000000Z")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// The server's counters from `/metrics` (empty when it has none).
async fn scrape(authority: &str, host: &str) -> Vec<(String, f64)> {
    let Ok(mut sender) = connect(authority).await else {
        return Vec::new();
    };
    let Ok(request) = Request::get("/metrics")
        .header("host", host)
        .body(Full::new(Bytes::new()))
    else {
        return Vec::new();
    };
    let Ok(response) = sender.send_request(request).await else {
        return Vec::new();
    };
    if !response.status().is_success() {
        return Vec::new();
    }
    let Ok(body) = response.into_body().collect().await else {
        return Vec::new();
    };
    String::from_utf8_lossy(&body.to_bytes())
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

fn counter(metrics: &[(String, f64)], name: &str) -> Option<f64> {
    metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

/// Runs the load and prints the report; `Err` when the server could not be driven.
pub fn run(run: &EndpointRun<'_>) -> Result<(), String> {
    let authority = run
        .url
        .strip_prefix("http://")
        .ok_or("--endpoint takes an http:// URL")?
        .trim_end_matches('/')
        .to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(drive(run, authority))
}

async fn drive(run: &EndpointRun<'_>, authority: String) -> Result<(), String> {
    let host = authority.clone();
    let mut setup = connect(&authority).await?;
    let name = format!(
        "loadgen-{}-{}-{}",
        run.workload.name,
        run.machine_type.to_lowercase(),
        std::process::id()
    );
    let create = serde_json::json!({
        "name": name,
        "definition": run.workload.definition,
        "roleArn": "arn:aws:iam::123456789012:role/loadgen",
        "type": run.machine_type,
    });
    let (status, body) = call(&mut setup, &host, "CreateStateMachine", create.to_string()).await?;
    if status != 200 {
        return Err(format!(
            "CreateStateMachine: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let created: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let machine = created["stateMachineArn"].as_str().unwrap_or_default().to_string();
    let express = run.machine_type == "EXPRESS";
    if express
        && matches!(
            run.operation,
            Operation::DescribeExecution | Operation::GetExecutionHistory
        )
    {
        return Err("DescribeExecution and GetExecutionHistory read STANDARD executions: drop --type EXPRESS".into());
    }
    let operation = match run.operation {
        Operation::Start if express => "StartSyncExecution",
        Operation::Start => "StartExecution",
        Operation::CreateStateMachine => "CreateStateMachine",
        Operation::DescribeExecution => "DescribeExecution",
        Operation::GetExecutionHistory => "GetExecutionHistory",
    };
    // The executions the read operations read, started (and, for W1, finished) first.
    let mut executions = Vec::new();
    if matches!(
        run.operation,
        Operation::DescribeExecution | Operation::GetExecutionHistory
    ) {
        let start = serde_json::json!({"stateMachineArn": machine, "input": run.workload.input}).to_string();
        for _ in 0..READ_SET {
            let (status, body) = call(&mut setup, &host, "StartExecution", start.clone()).await?;
            if status != 200 {
                return Err(format!("StartExecution: {status} {}", String::from_utf8_lossy(&body)));
            }
            let started: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            executions.push(started["executionArn"].as_str().unwrap_or_default().to_string());
        }
    }
    let start_request = serde_json::json!({"stateMachineArn": machine, "input": run.workload.input}).to_string();
    let definition = run.workload.definition.clone();
    let machine_type = run.machine_type.to_string();
    let kind = run.operation;
    // The body of a connection's n-th request.
    let body_of = Arc::new(move |connection: usize, n: u64| -> String {
        match kind {
            Operation::Start => start_request.clone(),
            Operation::CreateStateMachine => serde_json::json!({
                "name": format!("{name}-{connection}-{n}"),
                "definition": definition,
                "roleArn": "arn:aws:iam::123456789012:role/loadgen",
                "type": machine_type,
            })
            .to_string(),
            Operation::DescribeExecution | Operation::GetExecutionHistory => {
                let arn = &executions[(connection * 7919 + n as usize) % executions.len()];
                serde_json::json!({ "executionArn": arn }).to_string()
            }
        }
    });
    let starts = run.operation == Operation::Start;

    let before = scrape(&authority, &host).await;
    let requests = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3).map_err(|e| e.to_string())?));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(run.seconds);
    let mut tasks = Vec::new();
    for connection in 0..run.connections {
        let mut sender = connect(&authority).await?;
        let (authority, host, body_of, requests, failed, first_error, latency) = (
            authority.clone(),
            host.clone(),
            body_of.clone(),
            requests.clone(),
            failed.clone(),
            first_error.clone(),
            latency.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new(3).expect("3 significant digits");
            let mut n = 0;
            while Instant::now() < deadline {
                let request = body_of(connection, n);
                n += 1;
                let sent = Instant::now();
                let mut answer = call(&mut sender, &host, operation, request.clone()).await;
                if answer.is_err() && sender.is_closed() {
                    // The server closed the connection (some servers close after each
                    // response): connect again, and count the reconnection in the latency.
                    match connect(&authority).await {
                        Ok(fresh) => {
                            sender = fresh;
                            answer = call(&mut sender, &host, operation, request).await;
                        }
                        Err(e) => answer = Err(e),
                    }
                }
                let _ = local.record(sent.elapsed().as_micros() as u64);
                requests.fetch_add(1, Ordering::Relaxed);
                let ok = match &answer {
                    Ok((200, body)) => {
                        !express || {
                            let needle = b"\"status\":\"SUCCEEDED\"";
                            body.windows(needle.len()).any(|w| w == needle)
                        }
                    }
                    _ => false,
                };
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                    let broken = answer.is_err();
                    let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                    if first.is_none() {
                        *first = Some(match answer {
                            Ok((status, body)) => format!("{status} {}", String::from_utf8_lossy(&body)),
                            Err(e) => e,
                        });
                    }
                    if broken {
                        break;
                    }
                }
            }
            latency.lock().unwrap_or_else(|e| e.into_inner()).add(&local).ok();
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = scrape(&authority, &host).await;
    // Standard W1 finishes inside its start: completed = started but still running.
    let running = if express || !starts {
        0
    } else {
        let list = serde_json::json!({"stateMachineArn": machine, "statusFilter": "RUNNING", "maxResults": 1000});
        match call(&mut setup, &host, "ListExecutions", list.to_string()).await {
            Ok((200, body)) => serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["executions"].as_array().map(Vec::len))
                .unwrap_or(0) as u64,
            _ => 0,
        }
    };
    let total = requests.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    let completed = if starts {
        total.saturating_sub(failed).saturating_sub(running)
    } else {
        0
    };
    let latency = latency.lock().unwrap_or_else(|e| e.into_inner());
    let rate = |name: &str| {
        let (a, b) = (counter(&before, name)?, counter(&after, name)?);
        Some((b - a) / elapsed)
    };
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    let transitions = rate("quickstep_journal_transitions_total");
    let commits = rate("quickstep_journal_commits_total");
    let events = rate("quickstep_journal_events_total");
    if run.json {
        println!(
            "{}",
            serde_json::json!({
                "endpoint": run.url, "workload": run.workload.name, "type": run.machine_type,
                "operation": operation, "connections": run.connections, "seconds": elapsed,
                "requests": total, "failed": failed, "requests_per_sec": total as f64 / elapsed,
                "completed_per_sec": completed as f64 / elapsed,
                "p50_ms": ms(0.5), "p99_ms": ms(0.99), "max_ms": latency.max() as f64 / 1000.0,
                "journal_transitions_per_sec": transitions, "journal_commits_per_sec": commits,
                "journal_events_per_sec": events,
            })
        );
    } else {
        let or_na = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.0}"));
        println!(
            "{} {} {} x{}: {:.0} requests/s, {:.0} executions completed/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; \
             journal: {} transitions/s, {} commits/s, {} events/s; {} failed of {}",
            run.url,
            run.workload.name,
            operation,
            run.connections,
            total as f64 / elapsed,
            completed as f64 / elapsed,
            ms(0.5),
            ms(0.99),
            latency.max() as f64 / 1000.0,
            or_na(transitions),
            or_na(commits),
            or_na(events),
            failed,
            total
        );
    }
    if let Some(error) = first_error.lock().unwrap_or_else(|e| e.into_inner()).take() {
        eprintln!("loadgen: first failure: {error}");
    }
    if failed > 0 {
        return Err(format!("{failed} of {total} requests failed"));
    }
    Ok(())
}
