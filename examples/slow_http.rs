//! 10,000 executions, each calling (HTTP Task, `http:invoke`) a local endpoint that answers
//! after one second: they all finish in a few seconds of wall time on a runtime of two
//! workers, which stay idle while the calls are in flight (a worker never waits on I/O: the
//! calls run on the integrations' async runtime and complete the tasks through the runtime's
//! task completer). The endpoint is a child process (this program with `serve`), so that each
//! process holds one end of the 10,000 connections.
//! `cargo run --release --example slow_http [-- COUNT]`

use std::io::BufRead;
use std::time::{Duration, Instant};

use quickstep::runtime::{Completion, Runtime};
use quickstep::service::integrations::{Call, Integrations};
use quickstep::{Machine, TaskRegistry};

fn cpu_seconds() -> f64 {
    // utime + stime of this process, from /proc (Linux); 0 elsewhere.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The slow endpoint: every request is answered `{"ok":true}` one second after it came.
fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        let listener = socket.listen(16_384).expect("listen");
        println!("{}", listener.local_addr().unwrap().port());
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let mut head = Vec::new();
                loop {
                    let Ok(n) = stream.read(&mut buffer).await else { return };
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buffer[..n]);
                    if head.windows(4).any(|w| w == b"\r\n\r\n") {
                        head.clear();
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";
                        if stream.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("serve") {
        return serve();
    }
    let count: usize = first.and_then(|c| c.parse().ok()).unwrap_or(10_000);
    let mut server = std::process::Command::new(std::env::current_exe().expect("this program"))
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the endpoint starts");
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the endpoint's port");
    let port: u16 = line.trim().parse().expect("a port");

    let resource = "arn:aws:states:::http:invoke";
    let integrations = Integrations::new().expect("the integrations' runtime");
    let mut tasks = TaskRegistry::new();
    tasks.register_handler(resource, integrations.handler(Call::parse(resource).unwrap()));
    let definition = format!(
        r#"{{"StartAt": "Call", "States": {{"Call": {{"Type": "Task", "Resource": "{resource}",
            "Parameters": {{"ApiEndpoint": "http://127.0.0.1:{port}/slow", "Method": "GET"}},
            "TimeoutSeconds": 60, "OutputPath": "$.ResponseBody", "End": true}}}}}}"#
    );
    let machine = Machine::new(&definition, tasks).expect("valid definition");
    let runtime = Runtime::builder().threads(2).queue_capacity(count).build(machine);
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    for _ in 0..count {
        runtime.submit("{}", Completion::Ignore);
    }
    let submitted = start.elapsed();
    let report = runtime.shutdown();
    println!(
        "{count} executions calling an endpoint that answers after 1 s, on 2 workers: submitted in {:.3} s, \
         all ended after {:.3} s of wall time, {:.2} s of CPU (workers, calls and all); {} succeeded, {} failed",
        submitted.as_secs_f64(),
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu_start,
        report.succeeded,
        report.failed
    );
    let _ = server.kill();
    let _ = server.wait();
}
