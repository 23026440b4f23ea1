//! `quickstep worker` against a real nats-server (Debian's `nats-server` package; `.ci/run`
//! installs it), started by each test with JetStream on file storage in a scratch folder, on a
//! free loopback port. A missing `nats-server` fails the tests.
//!
//! Every test publishes events with its own async-nats client, runs `quickstep worker`
//! processes and reads the results stream back: each event must have exactly one outcome,
//! named after the event, with the right content.

#![cfg(feature = "nats")]

#[path = "common/server.rs"]
mod sfn;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream, Context};
use futures_util::StreamExt;

/// Doubles `$.n` and says its execution's name (the message's); an input with `"fail": true` ends in a Fail state (a failed execution is an
/// outcome, not a failed message).
const DEFINITION: &str = r#"{
  "StartAt": "Check",
  "States": {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "IsPresent": true, "Next": "Fail"}], "Default": "Double"},
    "Double": {"Type": "Pass", "Parameters": {"n.$": "$.n", "doubled.$": "States.MathAdd($.n, $.n)", "name.$": "$$.Execution.Name"}, "End": true},
    "Fail": {"Type": "Fail", "Error": "Order.Rejected", "Cause": "asked to fail"}
  }
}"#;

/// A nats-server with JetStream, stopped (SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
    store: PathBuf,
}

impl Server {
    /// Starts a server storing in a fresh folder.
    fn start(name: &str) -> Server {
        let store = std::env::temp_dir().join(format!("quickstep-nats-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&store);
        std::fs::create_dir_all(&store).unwrap();
        let port = free_port();
        Server::start_on(port, store)
    }

    /// Starts a server on `port` storing in `store` (which may hold an earlier server's data).
    fn start_on(port: u16, store: PathBuf) -> Server {
        let child = Command::new("nats-server")
            .args(["-js", "-sd"])
            .arg(&store)
            .args(["-p", &port.to_string(), "-a", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start nats-server ({e}): these tests need it on PATH \
                     (Debian: `apt-get install nats-server`; .ci/run installs it)"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on port {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port, store }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and starts it again on the same port and store.
    fn restart(mut self) -> Server {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = self.port;
        let store = std::mem::take(&mut self.store);
        drop(self);
        Server::start_on(port, store)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.store.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.store);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// A `quickstep worker` process, killed (SIGKILL) when dropped.
struct Worker(Child);

impl Worker {
    fn start(url: &str, extra: &[&str]) -> Worker {
        Worker::start_with(&scratch_definition(), url, extra)
    }

    /// A worker of the definition in `definition`.
    fn start_with(definition: &std::path::Path, url: &str, extra: &[&str]) -> Worker {
        let child = Command::new(env!("CARGO_BIN_EXE_quickstep"))
            .arg("worker")
            .arg(definition)
            .args([
                "--nats",
                url,
                "--stream",
                "EVENTS",
                "--results",
                "results",
                "--dead-letter",
                "dead",
            ])
            .args([
                "--threads",
                "1",
                "--ack-wait",
                "2",
                "--max-deliver",
                "3",
                "--batch",
                "200",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("the quickstep binary runs");
        Worker(child)
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    /// Sends SIGTERM and waits (at most `within`) for the exit status.
    fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.pid()]).status().unwrap();
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the worker did not exit within {within:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// [`DEFINITION`] in a file (written once per test process).
fn scratch_definition() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("quickstep-nats-def-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("Doubler.asl.json");
        std::fs::write(&path, DEFINITION).unwrap();
        path
    })
    .clone()
}

async fn client(url: &str) -> Context {
    let client = async_nats::connect(url)
        .await
        .expect("the test connects to nats-server");
    jetstream::new(client)
}

/// EVENTS (`events.>`), RESULTS (`results`, duplicate window 2 min) and DEAD (`dead`), on file
/// storage.
async fn create_streams(js: &Context) {
    for (name, subject) in [("EVENTS", "events.>"), ("RESULTS", "results"), ("DEAD", "dead")] {
        js.create_stream(stream::Config {
            name: name.to_string(),
            subjects: vec![subject.to_string()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("creating stream {name}: {e}"));
    }
}

/// Publishes `{"n": i}` for `i` in `range`, even ones with `Nats-Msg-Id: e-i`, odd ones
/// without (their execution is named after their stream sequence). Returns each event's
/// expected execution name and `n`.
async fn publish_events(js: &Context, range: std::ops::Range<u64>) -> HashMap<String, u64> {
    let mut expected = HashMap::new();
    let events: Vec<u64> = range.clone().collect();
    // Acks awaited a thousand at a time: the client holds at most 5,000 unacknowledged.
    for chunk in events.chunks(1_000) {
        let mut acks = Vec::new();
        for &i in chunk {
            let payload = format!(r#"{{"n": {i}}}"#).into_bytes().into();
            let publish = jetstream::message::PublishMessage::build().payload(payload);
            let publish = if i % 2 == 0 {
                publish.message_id(format!("e-{i}"))
            } else {
                publish
            };
            acks.push((i, js.send_publish(format!("events.{}", i % 4), publish).await.unwrap()));
        }
        for (i, ack) in acks {
            let ack = ack.await.expect("the event is stored");
            let name = if i % 2 == 0 {
                format!("e-{i}")
            } else {
                ack.sequence.to_string()
            };
            expected.insert(name, i);
        }
    }
    assert_eq!(expected.len(), range.count());
    expected
}

/// How many messages the stream `name` holds.
async fn count(js: &Context, name: &str) -> u64 {
    let mut stream = js.get_stream(name).await.unwrap();
    stream.info().await.unwrap().state.messages
}

/// Waits until the stream `name` holds at least `n` messages.
async fn wait_for(js: &Context, name: &str, n: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let have = count(js, name).await;
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stream {name} holds {have} messages, not {n}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every message of the stream `name`: its `Nats-Msg-Id` (or "") and payload, in order.
async fn read_all(js: &Context, name: &str) -> Vec<(String, Vec<u8>, async_nats::HeaderMap)> {
    let total = count(js, name).await as usize;
    let stream = js.get_stream(name).await.unwrap();
    let reader = stream
        .create_consumer(consumer::pull::Config {
            ack_policy: consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        let mut batch = reader
            .fetch()
            .max_messages(total - out.len())
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .unwrap();
        while let Some(message) = batch.next().await {
            let message = message.unwrap();
            let headers = message.headers.clone().unwrap_or_default();
            let id = headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(|v| v.as_str().to_string())
                .unwrap_or_default();
            out.push((id, message.payload.to_vec(), headers));
        }
    }
    out
}

/// Checks that RESULTS holds exactly one outcome for each expected event, with the event's
/// `n` doubled, and that the consumer has nothing left pending.
async fn check_results(js: &Context, expected: &HashMap<String, u64>) {
    let results = read_all(js, "RESULTS").await;
    let mut seen = HashSet::new();
    for (id, payload, _) in &results {
        assert!(seen.insert(id.clone()), "two outcomes named {id:?} in RESULTS");
        let n = *expected
            .get(id)
            .unwrap_or_else(|| panic!("an outcome named {id:?}, which is no event's name"));
        let outcome: serde_json::Value = serde_json::from_slice(payload).unwrap();
        assert_eq!(
            outcome,
            serde_json::json!({"n": n, "doubled": 2 * n, "name": id}),
            "outcome of {id}"
        );
    }
    assert_eq!(results.len(), expected.len(), "one outcome per event");
    // Messages whose outcome was stored but whose ack was lost (a killed worker, a restarted
    // server) are delivered again after the ack wait: wait for them to be settled.
    let mut consumer: consumer::PullConsumer = js
        .get_stream("EVENTS")
        .await
        .unwrap()
        .get_consumer("quickstep")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = consumer.info().await.unwrap().clone();
        if (info.num_pending, info.num_ack_pending) == (0, 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "15 s after the last outcome, {} events never delivered and {} not acknowledged",
            info.num_pending,
            info.num_ack_pending
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Their second outcomes were dropped as duplicates.
    assert_eq!(
        count(js, "RESULTS").await,
        expected.len() as u64,
        "one outcome per event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_one_killed_mid_batch_every_event_has_exactly_one_outcome() {
    let server = Server::start("kill");
    let js = client(&server.url()).await;
    create_streams(&js).await;
    let expected = publish_events(&js, 0..20_000).await;
    let survivor = Worker::start(&server.url(), &[]);
    let victim = Worker::start(&server.url(), &[]);
    wait_for(&js, "RESULTS", 4_000, Duration::from_secs(20)).await;
    // SIGKILL: whatever it held, unacknowledged, JetStream delivers again after the ack wait.
    drop(victim);
    assert!(
        count(&js, "RESULTS").await < 20_000,
        "the workers finished before one was killed: publish more events"
    );
    wait_for(&js, "RESULTS", 20_000, Duration::from_secs(30)).await;
    // Redelivered messages have had time to come back and be dropped as duplicates.
    tokio::time::sleep(Duration::from_millis(300)).await;
    check_results(&js, &expected).await;
    drop(survivor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_go_to_the_dead_letter_subject_after_max_deliver() {
    let server = Server::start("poison");
    let js = client(&server.url()).await;
    create_streams(&js).await;
    let poison: [&[u8]; 3] = [b"not json", b"{\"n\": ", &[0xff, 0xfe, b'{', b'}']];
    for (i, payload) in poison.iter().enumerate() {
        let publish = jetstream::message::PublishMessage::build()
            .payload(payload.to_vec().into())
            .message_id(format!("poison-{i}"));
        js.send_publish("events.poison", publish).await.unwrap().await.unwrap();
    }
    let mut expected = publish_events(&js, 0..10).await;
    // A failed execution is an outcome like any other.
    js.send_publish(
        "events.fail",
        jetstream::message::PublishMessage::build()
            .payload(r#"{"fail": true}"#.into())
            .message_id("rejected"),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let worker = Worker::start(&server.url(), &[]);
    wait_for(&js, "DEAD", 3, Duration::from_secs(20)).await;
    wait_for(&js, "RESULTS", 11, Duration::from_secs(20)).await;
    let status = worker.terminate(Duration::from_secs(10));
    assert!(status.success(), "the worker exits with 0 after SIGTERM: {status}");

    let dead = read_all(&js, "DEAD").await;
    assert_eq!(dead.len(), 3);
    for (i, payload) in poison.iter().enumerate() {
        let (_, body, headers) = dead
            .iter()
            .find(|(id, _, _)| *id == format!("poison-{i}"))
            .unwrap_or_else(|| panic!("poison-{i} is not in DEAD"));
        assert_eq!(body.as_slice(), *payload, "the dead letter keeps the payload");
        let header = |name: &str| headers.get(name).map(|v| v.as_str().to_string());
        assert_eq!(header("Quickstep-Error").as_deref(), Some("InvalidExecutionInput"));
        assert_eq!(
            header("Quickstep-Deliveries").as_deref(),
            Some("3"),
            "dead after MaxDeliver"
        );
        assert_eq!(header("Quickstep-Subject").as_deref(), Some("events.poison"));
        assert_eq!(header("Quickstep-Stream").as_deref(), Some("EVENTS"));
        let cause = header("Quickstep-Cause").unwrap_or_default();
        let expected_cause = if i == 2 { "not UTF-8" } else { "not JSON" };
        assert!(cause.contains(expected_cause), "poison-{i}: {cause}");
    }

    let results = read_all(&js, "RESULTS").await;
    let (_, rejected, _) = results
        .iter()
        .find(|(id, _, _)| id == "rejected")
        .expect("the failed execution's outcome is in RESULTS");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(rejected).unwrap(),
        serde_json::json!({"error": "Order.Rejected", "cause": "asked to fail"})
    );
    let results: Vec<_> = results.into_iter().filter(|(id, _, _)| id != "rejected").collect();
    assert_eq!(results.len(), 10);
    for (id, payload, _) in results {
        let n = expected
            .remove(&id)
            .unwrap_or_else(|| panic!("unexpected outcome {id}"));
        let outcome: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(outcome["doubled"], 2 * n);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_nats_server_loses_nothing_acknowledged() {
    let server = Server::start("restart");
    let url = server.url();
    let js = client(&url).await;
    create_streams(&js).await;
    let expected = publish_events(&js, 0..10_000).await;
    let worker = Worker::start(&url, &[]);
    wait_for(&js, "RESULTS", 2_000, Duration::from_secs(20)).await;
    let server = server.restart();
    // The test's client and the worker reconnect by themselves.
    let js = client(&url).await;
    assert!(count(&js, "EVENTS").await == 10_000, "the events survived the restart");
    wait_for(&js, "RESULTS", 10_000, Duration::from_secs(40)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    check_results(&js, &expected).await;
    drop(worker);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_messages_in_hand_and_exits_zero() {
    let server = Server::start("term");
    let js = client(&server.url()).await;
    create_streams(&js).await;
    let expected = publish_events(&js, 0..20_000).await;
    let worker = Worker::start(&server.url(), &[]);
    wait_for(&js, "RESULTS", 1_000, Duration::from_secs(20)).await;
    let status = worker.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // Nothing it fetched is left unacknowledged, and each acknowledged event has its outcome.
    let mut consumer: consumer::PullConsumer = js
        .get_stream("EVENTS")
        .await
        .unwrap()
        .get_consumer("quickstep")
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    assert_eq!(info.num_ack_pending, 0, "messages left in hand after SIGTERM");
    let done = count(&js, "RESULTS").await;
    assert!(
        done < 20_000,
        "the worker finished everything before SIGTERM: publish more events"
    );
    assert_eq!(done, 20_000 - info.num_pending, "every delivered event has its outcome");
    // A second worker takes the rest.
    let worker = Worker::start(&server.url(), &[]);
    wait_for(&js, "RESULTS", 20_000, Duration::from_secs(20)).await;
    check_results(&js, &expected).await;
    drop(worker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_longer_than_the_ack_wait_is_delivered_once_thanks_to_progress_acks() {
    let server = Server::start("progress");
    let js = client(&server.url()).await;
    create_streams(&js).await;
    // 3 s of Wait against an ack wait of 2 s.
    let definition = std::env::temp_dir().join(format!("quickstep-nats-slow-{}.asl.json", std::process::id()));
    std::fs::write(
        &definition,
        r#"{"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 3, "End": true}}}"#,
    )
    .unwrap();
    js.send_publish(
        "events.slow",
        jetstream::message::PublishMessage::build()
            .payload(r#"{"slow": true}"#.into())
            .message_id("slow"),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let worker = Worker::start_with(&definition, &server.url(), &["--format", "full"]);
    wait_for(&js, "RESULTS", 1, Duration::from_secs(15)).await;
    let status = worker.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let mut consumer: consumer::PullConsumer = js
        .get_stream("EVENTS")
        .await
        .unwrap()
        .get_consumer("quickstep")
        .await
        .unwrap();
    let info = consumer.info().await.unwrap().clone();
    assert_eq!(
        info.delivered.consumer_sequence, 1,
        "delivered once, not again after the ack wait"
    );
    assert_eq!(info.num_ack_pending, 0);
    // --format full: StartSyncExecution's response, named after the message.
    let results = read_all(&js, "RESULTS").await;
    assert_eq!(results.len(), 1);
    let (id, payload, _) = &results[0];
    assert_eq!(id, "slow");
    let response: serde_json::Value = serde_json::from_slice(payload).unwrap();
    assert_eq!(response["name"], "slow");
    assert_eq!(response["status"], "SUCCEEDED");
    assert_eq!(response["input"], r#"{"slow": true}"#);
    assert_eq!(response["output"], r#"{"slow":true}"#);
    let arn = response["executionArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:express:") && arn.contains(":slow:"),
        "{arn}"
    );
    let took = response["stopDate"].as_f64().unwrap() - response["startDate"].as_f64().unwrap();
    // (the runtime reads its own clock: a few milliseconds apart from the worker's)
    assert!(took > 2.9, "the Wait took {took} s");
    let _ = std::fs::remove_file(definition);
}

#[test]
fn startup_problems_are_refused_with_exit_status_2() {
    let server = Server::start("nostream");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let js = client(&server.url()).await;
        create_streams(&js).await;
    });
    let definition = scratch_definition();
    let run = |results: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_quickstep"))
            .arg("worker")
            .arg(&definition)
            .args(["--nats", &server.url(), "--stream", "EVENTS", "--results", results])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, stderr) = run("nowhere");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--results nowhere: no JetStream stream captures this subject"),
        "{stderr}"
    );
    let (code, stderr) = run("events.results");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("would consume its own outcomes"), "{stderr}");
    let unreachable = Command::new(env!("CARGO_BIN_EXE_quickstep"))
        .arg("worker")
        .arg(&definition)
        .args([
            "--nats",
            &format!("nats://127.0.0.1:{}", free_port()),
            "--stream",
            "EVENTS",
        ])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unreachable.stderr).contains("cannot connect to NATS at nats://127.0.0.1:"),
        "{}",
        String::from_utf8_lossy(&unreachable.stderr)
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_quickstep"))
        .arg("worker")
        .arg(&definition)
        .args(["--nats", &server.url(), "--stream", "NOPE"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("JetStream stream \"NOPE\""),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_hands_asynchronous_express_executions_to_the_workers() {
    let nats = Server::start("handoff");
    let js = client(&nats.url()).await;
    create_streams(&js).await;
    let serve = sfn::Server::start(
        &sfn::scratch("nats-handoff"),
        &["--nats", &nats.url(), "--nats-subject-prefix", "events"],
    );
    let sdk = serve.client();
    let definition = std::fs::read_to_string(scratch_definition()).unwrap();
    let machine = sfn::create(
        &sdk,
        "doubler",
        &definition,
        aws_sdk_sfn::types::StateMachineType::Express,
    )
    .await;
    let _worker = Worker::start(&nats.url(), &[]);
    let mut expected = HashMap::new();
    for n in 0..50u64 {
        let name = format!("h-{n}");
        let started = sdk
            .start_execution()
            .state_machine_arn(&machine)
            .name(&name)
            .input(format!(r#"{{"n": {n}}}"#))
            .send()
            .await
            .unwrap();
        assert!(started.execution_arn.contains(&format!(":express:doubler:{name}:")));
        expected.insert(name, n);
    }
    // The same name again, within the stream's duplicate window: nothing more runs.
    sdk.start_execution()
        .state_machine_arn(&machine)
        .name("h-0")
        .input(r#"{"n": 0}"#)
        .send()
        .await
        .unwrap();
    wait_for(&js, "RESULTS", 50, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    check_results(&js, &expected).await;
}
