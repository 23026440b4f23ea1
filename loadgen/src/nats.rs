//! `loadgen --nats URL`: end-to-end throughput of `quickstep worker` on NATS JetStream, or of a
//! bare consumer on the same stream for comparison.
//!
//! The run (re)creates two streams on the server, `QS_BENCH_EVENTS` (`qs.bench.events`) and
//! `QS_BENCH_RESULTS` (`qs.bench.results`, duplicate window 2 min), both on file storage;
//! publishes `--events` copies of the workload's input (pipelined JetStream publishes, counted
//! once stored); then starts the consumers: `--workers` `quickstep worker` processes (the binary
//! given by `--quickstep`, W1's task behaviours from `w1_order.resources.json`), or with `--bare`
//! as many bare consumers in this process, which do everything a worker does but run nothing:
//! `--bare publish` publishes the input back as the result (same subject, same `Nats-Msg-Id`,
//! publish acknowledged before the message is) and acks; `--bare ack` only acks. The clock
//! starts when the consumer first delivers and stops when every event is acknowledged (and, but
//! for `--bare ack`, has its result stored): executions/s is events over that time.

use std::future::IntoFuture;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, stream, Context};
use futures_util::StreamExt;
use quickstep::runtime::workloads::Workload;

const EVENTS: &str = "QS_BENCH_EVENTS";
const EVENTS_SUBJECT: &str = "qs.bench.events";
const RESULTS: &str = "QS_BENCH_RESULTS";
const RESULTS_SUBJECT: &str = "qs.bench.results";
const CONSUMER: &str = "quickstep";

/// The bare consumer's work per message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Bare {
    /// Publish a result (the input) and wait for its ack, then ack the message.
    Publish,
    /// Only ack the message.
    Ack,
}

/// What a NATS run is asked to do.
pub struct NatsRun<'a> {
    pub url: &'a str,
    pub workload: &'a Workload,
    pub dir: PathBuf,
    pub events: u64,
    pub bare: Option<Bare>,
    pub quickstep: Option<PathBuf>,
    pub workers: usize,
    pub threads: Option<usize>,
    pub batch: usize,
    pub max_ack_pending: i64,
    pub json: bool,
}

/// Runs it and prints one line.
pub fn run(r: &NatsRun<'_>) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(run_async(r))
}

async fn run_async(r: &NatsRun<'_>) -> Result<(), String> {
    let client = async_nats::connect(r.url)
        .await
        .map_err(|e| format!("{}: {e}", r.url))?;
    let js = jetstream::context::ContextBuilder::new()
        .max_ack_inflight(20_000)
        .build(client);
    for (name, subject) in [(EVENTS, EVENTS_SUBJECT), (RESULTS, RESULTS_SUBJECT)] {
        let _ = js.delete_stream(name).await;
        js.create_stream(stream::Config {
            name: name.to_string(),
            subjects: vec![subject.to_string()],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("creating stream {name}: {e}"))?;
    }
    let published = publish(&js, r.workload.input.as_bytes(), r.events).await?;
    let stream = js.get_stream(EVENTS).await.map_err(|e| e.to_string())?;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(CONSUMER.to_string()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            max_ack_pending: r.max_ack_pending,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;

    let stop = Arc::new(AtomicBool::new(false));
    let mut children: Vec<Child> = Vec::new();
    let mut bare_tasks = Vec::new();
    match r.bare {
        Some(mode) => {
            for _ in 0..r.workers {
                let (consumer, js, stop) = (consumer.clone(), js.clone(), Arc::clone(&stop));
                bare_tasks.push(tokio::spawn(bare_loop(consumer, js, mode, r.batch, stop)));
            }
        }
        None => {
            let quickstep = r
                .quickstep
                .as_ref()
                .ok_or("give --quickstep PATH (the quickstep binary to run as workers), or --bare")?;
            let definition = r.dir.join(format!("{}.asl.json", r.workload.name));
            let resources = r.dir.join(format!("{}.resources.json", r.workload.name));
            for _ in 0..r.workers {
                let mut command = Command::new(quickstep);
                command
                    .arg("worker")
                    .arg(&definition)
                    .arg("--resources")
                    .arg(&resources)
                    .args(["--nats", r.url, "--stream", EVENTS, "--consumer", CONSUMER])
                    .args(["--results", RESULTS_SUBJECT, "--batch", &r.batch.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                if let Some(threads) = r.threads {
                    command.args(["--threads", &threads.to_string()]);
                }
                children.push(command.spawn().map_err(|e| format!("{}: {e}", quickstep.display()))?);
            }
        }
    }

    // The clock runs from the first delivery to the last acknowledgement.
    let mut consumer = consumer;
    let started = Instant::now();
    let mut first: Option<Instant> = None;
    let want_results = r.bare != Some(Bare::Ack);
    let results_stream = js.get_stream(RESULTS).await.map_err(|e| e.to_string())?;
    let finished = loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let info = consumer.info().await.map_err(|e| e.to_string())?.clone();
        if first.is_none() && info.delivered.stream_sequence > 0 {
            first = Some(Instant::now());
        }
        if info.ack_floor.stream_sequence >= r.events && info.num_ack_pending == 0 {
            break Instant::now();
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!(
                "not done after 600 s: {} acknowledged",
                info.ack_floor.stream_sequence
            ));
        }
    };
    stop.store(true, Ordering::SeqCst);
    let first = first.unwrap_or(started);
    let seconds = finished.duration_since(first).as_secs_f64();
    let mut results_stream = results_stream;
    let results = results_stream.info().await.map_err(|e| e.to_string())?.state.messages;
    for child in &mut children {
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
    }
    for task in bare_tasks {
        let _ = task.await;
    }
    let sample_ok = if want_results { sample_ok(&js).await? } else { true };
    let mode = match r.bare {
        Some(Bare::Publish) => "bare-publish",
        Some(Bare::Ack) => "bare-ack",
        None => "worker",
    };
    let rate = r.events as f64 / seconds;
    let complete = !want_results || results == r.events;
    if r.json {
        println!(
            "{{\"mode\":\"{mode}\",\"workers\":{},\"events\":{},\"seconds\":{seconds:.3},\"exec_per_sec\":{rate:.0},\"published_per_sec\":{published:.0},\"results\":{results},\"ok\":{}}}",
            r.workers,
            r.events,
            complete && sample_ok
        );
    } else {
        println!(
            "nats {mode:<12} workers {} events {} in {seconds:.2} s: {rate:.0} exec/s end to end (published at {published:.0}/s before); results {results}{}",
            r.workers,
            r.events,
            if complete && sample_ok { "" } else { " WRONG" }
        );
    }
    if complete && sample_ok {
        Ok(())
    } else {
        Err("results missing or wrong".to_string())
    }
}

/// Publishes `count` copies of `input`, pipelined; returns publishes per second.
async fn publish(js: &Context, input: &[u8], count: u64) -> Result<f64, String> {
    let payload = bytes::Bytes::copy_from_slice(input);
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<
        <async_nats::jetstream::context::PublishAckFuture as IntoFuture>::IntoFuture,
    >(16_384);
    let waiter = tokio::spawn(async move {
        let mut pending = futures_util::stream::FuturesUnordered::new();
        loop {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(ack) => pending.push(ack),
                    None => break,
                },
                Some(acked) = pending.next(), if !pending.is_empty() => {
                    acked.map_err(|e| e.to_string())?;
                }
            }
        }
        while let Some(acked) = pending.next().await {
            acked.map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    });
    for _ in 0..count {
        let ack = js
            .publish(EVENTS_SUBJECT, payload.clone())
            .await
            .map_err(|e| e.to_string())?;
        if tx.send(ack.into_future()).await.is_err() {
            break;
        }
    }
    drop(tx);
    waiter.await.map_err(|e| e.to_string())??;
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// A bare consumer, pipelined as a worker is: two pull requests of `batch` outstanding; each
/// message's result published as it arrives (`--bare publish`), the message acked once that
/// publish is; until `stop`.
async fn bare_loop(consumer: PullConsumer, js: Context, mode: Bare, batch: usize, stop: Arc<AtomicBool>) {
    type Acked = std::pin::Pin<Box<dyn std::future::Future<Output = (jetstream::Message, bool)> + Send>>;
    let mut pulls = futures_util::stream::SelectAll::new();
    let mut publishing: futures_util::stream::FuturesUnordered<Acked> = futures_util::stream::FuturesUnordered::new();
    // Wakes the loop to notice `stop` (one timer for the whole run).
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        if stop.load(Ordering::Relaxed) && pulls.is_empty() && publishing.is_empty() {
            return;
        }
        if !stop.load(Ordering::Relaxed) && pulls.len() < 2 {
            if let Ok(messages) = consumer
                .batch()
                .max_messages(batch)
                .expires(Duration::from_millis(500))
                .messages()
                .await
            {
                pulls.push(messages);
                continue;
            }
        }
        tokio::select! {
            biased;
            Some(first) = publishing.next() => {
                let mut ready = vec![first];
                while let Some(Some(next)) = futures_util::FutureExt::now_or_never(publishing.next()) {
                    ready.push(next);
                }
                for (message, ok) in ready {
                    if ok {
                        let _ = message.ack().await;
                    }
                }
            }
            Some(message) = pulls.next() => {
                let Ok(message) = message else { continue };
                if mode == Bare::Ack {
                    // The messages already here too, acked back to back: the connection
                    // writes them in one go.
                    let mut ready = vec![message];
                    while let Some(Some(Ok(next))) = futures_util::FutureExt::now_or_never(pulls.next()) {
                        ready.push(next);
                    }
                    for message in ready {
                        let _ = message.ack().await;
                    }
                    continue;
                }
                let mut ready = vec![message];
                while let Some(Some(Ok(next))) = futures_util::FutureExt::now_or_never(pulls.next()) {
                    ready.push(next);
                }
                for message in ready {
                    let Ok(info) = message.info() else { continue };
                    let publish = PublishMessage::build()
                        .payload(message.payload.clone())
                        .message_id(info.stream_sequence.to_string());
                    if let Ok(ack) = js.send_publish(RESULTS_SUBJECT, publish).await {
                        publishing.push(Box::pin(async move { (message, ack.await.is_ok()) }));
                    }
                }
            }
            _ = tick.tick() => {}
        }
    }
}

/// One result in a thousand is a JSON object with the order's id and no error.
async fn sample_ok(js: &Context) -> Result<bool, String> {
    let stream = js.get_stream(RESULTS).await.map_err(|e| e.to_string())?;
    let mut ok = true;
    let mut seq = 1;
    let mut checked = 0;
    while checked < 100 {
        let Ok(message) = stream.get_raw_message(seq).await else {
            break;
        };
        let value: serde_json::Value = serde_json::from_slice(&message.payload).unwrap_or_default();
        ok &= value.get("orderId").is_some() && value.get("error").is_none();
        checked += 1;
        seq += 997;
    }
    Ok(ok && checked > 0)
}
