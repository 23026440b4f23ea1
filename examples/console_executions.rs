//! Times the requests the console's executions list makes against a journal of many
//! executions: `cargo run --release --example console_executions -- [COUNT]` (100,000 by
//! default). It starts COUNT Standard executions through the API (one in a hundred fails),
//! waits for them to end, serves the API over HTTP on a free port, then times
//! ListStateMachines, DescribeStateMachine and ListExecutions (maxResults 50: the first page,
//! the next one, each status filter, and a page deep in the list), as the page sends them.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quickstep::service::{Machines, Service, ServiceConfig, SqliteJournal, TaskSources};
use serde_json::{json, Value as Json};

const DEFINITION: &str = r#"{"StartAt": "Check", "States": {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "Fail"}], "Default": "Done"},
    "Fail": {"Type": "Fail", "Error": "Failed", "Cause": "one in a hundred"},
    "Done": {"Type": "Pass", "End": true}}}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::args().nth(1).map_or(Ok(100_000), |n| n.parse())?;
    let dir = std::env::temp_dir().join(format!("quickstep-console-executions-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("journal.db");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let journal = SqliteJournal::open(db.to_str().ok_or("path")?)?;
    let machines = Machines::new(TaskSources::default());
    let service = Arc::new(Service::new(ServiceConfig::default(), journal, machines)?);

    let created = runtime.block_on(direct(
        &service,
        "CreateStateMachine",
        json!({"name": "many", "definition": DEFINITION, "roleArn": "arn:aws:iam::123456789012:role/r"}),
    ))?;
    let arn = created["stateMachineArn"].as_str().ok_or("no ARN")?.to_string();

    let started = Instant::now();
    runtime.block_on(async {
        for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
            let calls = chunk.iter().map(|&i| {
                let service = service.clone();
                let request = json!({"stateMachineArn": arn, "input": json!({"fail": i % 100 == 0}).to_string()});
                tokio::spawn(async move { direct(&service, "StartExecution", request).await })
            });
            for call in calls.collect::<Vec<_>>() {
                call.await??;
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    // Until none is running.
    loop {
        let running = runtime.block_on(direct(
            &service,
            "ListExecutions",
            json!({"stateMachineArn": arn, "statusFilter": "RUNNING", "maxResults": 1}),
        ))?;
        if running["executions"].as_array().is_none_or(Vec::is_empty) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "{count} executions started and ended in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let port = listener.local_addr()?.port();
    runtime.spawn(quickstep::service::http::serve(
        listener,
        service.clone(),
        std::future::pending(),
    ));

    let first = call(
        port,
        "ListExecutions",
        &json!({"stateMachineArn": arn, "maxResults": 50}),
    )?;
    let token = first["nextToken"].as_str().ok_or("no next page")?.to_string();
    // A page deep in the list: 1,000 pages of 50 in.
    let mut deep = token.clone();
    for _ in 0..(count / 50).min(1000).saturating_sub(2) {
        let page = call(
            port,
            "ListExecutions",
            &json!({"stateMachineArn": arn, "maxResults": 50, "nextToken": deep}),
        )?;
        match page["nextToken"].as_str() {
            Some(next) => deep = next.to_string(),
            None => break,
        }
    }
    let requests = [
        ("ListStateMachines", json!({"maxResults": 25})),
        ("DescribeStateMachine", json!({"stateMachineArn": arn})),
        ("ListExecutions", json!({"stateMachineArn": arn, "maxResults": 50})),
        (
            "ListExecutions",
            json!({"stateMachineArn": arn, "maxResults": 50, "nextToken": token}),
        ),
        (
            "ListExecutions",
            json!({"stateMachineArn": arn, "maxResults": 50, "nextToken": deep}),
        ),
        (
            "ListExecutions",
            json!({"stateMachineArn": arn, "maxResults": 50, "statusFilter": "SUCCEEDED"}),
        ),
        (
            "ListExecutions",
            json!({"stateMachineArn": arn, "maxResults": 50, "statusFilter": "FAILED"}),
        ),
        (
            "ListExecutions",
            json!({"stateMachineArn": arn, "maxResults": 50, "statusFilter": "RUNNING"}),
        ),
        (
            "ListExecutions",
            json!({"stateMachineArn": arn, "maxResults": 50, "statusFilter": "ABORTED"}),
        ),
    ];
    println!(
        "{:<22} {:<42} {:>6} {:>10} {:>10}",
        "operation", "request", "items", "median ms", "max ms"
    );
    for (operation, body) in requests {
        let mut times = Vec::new();
        let mut items = 0;
        for _ in 0..50 {
            let start = Instant::now();
            let answer = call(port, operation, &body)?;
            times.push(start.elapsed());
            items = answer["executions"]
                .as_array()
                .or(answer["stateMachines"].as_array())
                .map_or(1, Vec::len);
        }
        times.sort();
        let shown: String = body
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| *k != "stateMachineArn")
                    .map(|(k, v)| {
                        if k == "nextToken" {
                            format!("{k}=...")
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        println!(
            "{operation:<22} {shown:<42} {items:>6} {:>10.2} {:>10.2}",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One API call in process; the error as its JSON body.
async fn direct(service: &Service, operation: &str, body: Json) -> Result<Json, String> {
    service
        .call(operation, &body, None)
        .await
        .map_err(|e| format!("{operation}: {}", e.body()))
}

/// One API call over HTTP/1.1, as the console's script sends it.
fn call(port: u16, operation: &str, body: &Json) -> Result<Json, Box<dyn std::error::Error>> {
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AWSStepFunctions.{operation}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no body")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("{operation}: {head}\n{body}").into());
    }
    Ok(serde_json::from_str(body)?)
}
