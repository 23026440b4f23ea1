//! `quickstep worker`: Express executions fed by a NATS JetStream consumer (cargo feature
//! `nats`).
//!
//! Every worker pulls from one durable consumer of one stream (created when missing, with
//! explicit acks), so a fleet of workers on many machines shares the stream's messages. Each
//! message's payload is the input of one Express execution, run on the runtime's thread pool
//! ([`Runtime::submit_named`]); the execution's name is the message's `Nats-Msg-Id` header, else its
//! stream sequence. The outcome ([`event_outcome`]) is published with JetStream to the results
//! subject with `Nats-Msg-Id` = the execution name (a results stream with a duplicate window then
//! drops the outcome of a message run twice), and the message is acknowledged only once that
//! publish is acknowledged: a worker that dies loses nothing, since JetStream delivers again what
//! was not acknowledged.
//!
//! A message *fails* when it cannot produce an outcome: its payload is not JSON text, or its
//! outcome could not be published. A failed execution (status FAILED, TIMED_OUT or ABORTED) does
//! not fail its message: its `{"error", "cause"}` outcome is a result like any other (the
//! definition's `Retry` and `Catch` are where executions are retried). A failed message is
//! negatively acknowledged (delivered again after a short delay) until its delivery count reaches
//! the consumer's `MaxDeliver`; then it is published to the dead-letter subject (its payload
//! unchanged, the error in `Quickstep-Error` and `Quickstep-Cause` headers) and terminated.
//!
//! Executions that outlast half the consumer's ack wait send progress acks. SIGTERM (or SIGINT)
//! stops fetching; the messages already fetched are run, published and acknowledged, and the
//! worker exits with status 0.
//!
//! The async side (the NATS connection, fetching, publishing, acknowledging) runs on one tokio
//! thread and never waits for an execution: executions report back through a channel.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::{Batch, Config as PullConfig};
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer};
use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::{self, AckKind, Context, Message};
use async_nats::HeaderMap;
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, SelectAll, StreamExt};
use futures_util::FutureExt;
use tokio::sync::mpsc;

use crate::clock::{Clock, SystemClock};
use crate::exec::{ExecutionInfo, Status};
use crate::machine::Machine;
use crate::outcome::{event_outcome, Finished, OutcomeFormat};
use crate::runtime::{Completed, Completion, Runtime};

/// `quickstep worker`'s options besides the definition's.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// The NATS server's URL (`nats://127.0.0.1:4222`; several, comma-separated, for a
    /// cluster).
    #[arg(long, value_name = "URL")]
    pub nats: String,
    /// The JetStream stream holding the events (it must exist).
    #[arg(long, value_name = "NAME")]
    pub stream: String,
    /// Only the stream's messages on this subject (wildcards allowed): the consumer's filter
    /// subject (default: every message of the stream).
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,
    /// The durable consumer every worker shares (created when missing).
    #[arg(long, value_name = "NAME", default_value = "quickstep")]
    pub consumer: String,
    /// Where outcomes are published, with JetStream (a stream must capture the subject;
    /// default: outcomes are not published, messages are acknowledged once executed).
    #[arg(long, value_name = "SUBJECT")]
    pub results: Option<String>,
    /// Where messages that failed `MaxDeliver` times are published, with JetStream (a stream
    /// must capture the subject; default: they are only terminated, and reported on stderr).
    #[arg(long, value_name = "SUBJECT")]
    pub dead_letter: Option<String>,
    /// Threads running executions (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Messages asked for in one pull request (two requests are kept outstanding).
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub batch: usize,
    /// A new consumer's MaxAckPending: messages delivered and not yet acknowledged, over all
    /// workers. It also bounds this worker's messages in hand.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub max_ack_pending: i64,
    /// A new consumer's AckWait, in seconds: a message not acknowledged in that time (and
    /// without progress acks) is delivered again.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub ack_wait: f64,
    /// A new consumer's MaxDeliver: how many times a message is delivered before it goes to
    /// the dead-letter subject (-1: without limit).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_deliver: i64,
    /// How outcomes are written.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutcomeFormat,
}

/// Why a message produced no outcome.
#[derive(Clone, Debug)]
struct Failure {
    error: &'static str,
    cause: String,
}

/// What an execution sends back to the async side.
struct Done {
    key: u64,
    result: Result<Bytes, Failure>,
}

/// A message in hand: fetched, not yet acknowledged.
struct Held {
    message: Message,
    /// The execution's name (`Nats-Msg-Id` of its outcome).
    name: String,
    /// Its delivery count.
    delivered: i64,
    /// When it was last delivered or progress-acknowledged.
    touched: Instant,
}

/// A publish whose acknowledgement is awaited.
enum Sent {
    /// The outcome of the message `key`.
    Outcome(u64),
    /// The message `key` as a dead letter, with why it failed.
    DeadLetter(u64, Failure),
}

type PublishAcked = Pin<Box<dyn Future<Output = (Sent, Result<PublishAck, PublishError>)> + Send>>;

/// Two pull requests outstanding: the server fills the next while this worker reads one.
const PULLS: usize = 2;
/// How long a pull request waits on the server for messages.
const PULL_EXPIRES: Duration = Duration::from_secs(1);

/// What the worker settled at startup.
struct Setup {
    js: Context,
    consumer: PullConsumer,
    /// The consumer's MaxDeliver (0 or less: without limit).
    max_deliver: i64,
    ack_wait: Duration,
    /// This worker's limit on messages in hand.
    in_hand: usize,
}

/// Runs the worker until SIGTERM or SIGINT; `info` gives the executions' facts (state
/// machine name, Express ARN form). Errors are startup problems (the server, stream or
/// consumer), worded for the command line.
pub fn work(machine: Machine, info: ExecutionInfo, args: WorkerArgs) -> Result<ExitCode, String> {
    if args.batch == 0 {
        return Err("--batch must be at least 1".to_string());
    }
    if !(args.ack_wait.is_finite() && args.ack_wait > 0.0) {
        return Err("--ack-wait must be a positive number of seconds".to_string());
    }
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("quickstep-nats")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the I/O thread: {e}"))?;
    io.block_on(async move {
        let setup = connect(&args).await?;
        let mut builder = Runtime::builder().queue_capacity(setup.in_hand).execution_info(info.clone());
        if let Some(threads) = args.threads {
            builder = builder.threads(threads);
        }
        let runtime = builder.build(machine);
        eprintln!(
            "quickstep worker: consuming {}/{} on {} threads (MaxAckPending {}, ack wait {} s, MaxDeliver {})",
            args.stream,
            args.consumer,
            runtime.threads(),
            setup.in_hand,
            setup.ack_wait.as_secs_f64(),
            setup.max_deliver
        );
        let counts = Worker::new(setup, &args, runtime, Arc::new(info)).run().await?;
        eprintln!(
            "quickstep worker: stopped: {} outcomes published, {} messages failed and were redelivered, {} dead letters",
            counts.outcomes, counts.retried, counts.dead
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Connects, finds the stream, gets or creates the consumer and checks the subjects outcomes
/// and dead letters go to.
async fn connect(args: &WorkerArgs) -> Result<Setup, String> {
    let client = async_nats::ConnectOptions::new()
        .name("quickstep worker")
        .connect(args.nats.as_str())
        .await
        .map_err(|e| format!("cannot connect to NATS at {}: {e}", args.nats))?;
    let in_hand_hint = usize::try_from(args.max_ack_pending).unwrap_or(0).max(1);
    let js = jetstream::context::ContextBuilder::new()
        .max_ack_inflight(in_hand_hint.max(1024))
        .build(client);
    let stream = js.get_stream(&args.stream).await.map_err(|e| {
        format!(
            "JetStream stream {:?}: {e} (create it first, for example `nats stream add {}`)",
            args.stream, args.stream
        )
    })?;
    let wanted = PullConfig {
        durable_name: Some(args.consumer.clone()),
        filter_subject: args.subject.clone().unwrap_or_default(),
        ack_policy: AckPolicy::Explicit,
        ack_wait: Duration::from_secs_f64(args.ack_wait),
        max_deliver: args.max_deliver,
        max_ack_pending: args.max_ack_pending,
        ..PullConfig::default()
    };
    let consumer: PullConsumer = stream
        .get_or_create_consumer(&args.consumer, wanted)
        .await
        .map_err(|e| format!("consumer {:?} of stream {:?}: {e}", args.consumer, args.stream))?;
    let config = &consumer.cached_info().config;
    if config.ack_policy != AckPolicy::Explicit {
        return Err(format!(
            "consumer {:?} of stream {:?} does not use explicit acks: a worker needs AckPolicy explicit",
            args.consumer, args.stream
        ));
    }
    if let Some(subject) = &args.subject {
        if &config.filter_subject != subject {
            return Err(format!(
                "consumer {:?} of stream {:?} exists with filter subject {:?}, not {subject:?}",
                args.consumer, args.stream, config.filter_subject
            ));
        }
    }
    let filter = config.filter_subject.clone();
    for (option, subject) in [("--results", &args.results), ("--dead-letter", &args.dead_letter)] {
        let Some(subject) = subject else { continue };
        let capturing = js.stream_by_subject(subject.as_str()).await.map_err(|e| {
            format!(
                "{option} {subject}: no JetStream stream captures this subject ({e}): create one, \
                 with a duplicate window, for example `nats stream add RESULTS --subjects {subject:?} --dupe-window 2m`"
            )
        })?;
        if capturing == args.stream && (filter.is_empty() || subject_matches(&filter, subject)) {
            return Err(format!(
                "{option} {subject}: the stream {:?} that the worker consumes captures this subject: \
                 give it a stream of its own, or the worker would consume its own outcomes",
                args.stream
            ));
        }
    }
    let max_ack_pending = config.max_ack_pending;
    Ok(Setup {
        max_deliver: config.max_deliver,
        ack_wait: config.ack_wait,
        in_hand: usize::try_from(max_ack_pending)
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or(in_hand_hint),
        consumer,
        js,
    })
}

/// Whether the NATS subject `subject` matches `filter` (`*` one token, `>` the rest).
fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (token, Some(s)) if token == s => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

/// What a worker did, reported when it stops.
#[derive(Default)]
struct Counts {
    outcomes: u64,
    retried: u64,
    dead: u64,
}

/// One worker's state on the async side.
struct Worker {
    js: Context,
    consumer: PullConsumer,
    results: Option<async_nats::Subject>,
    dead_letter: Option<async_nats::Subject>,
    batch: usize,
    in_hand: usize,
    max_deliver: i64,
    ack_wait: Duration,
    format: OutcomeFormat,
    info: Arc<ExecutionInfo>,
    runtime: Runtime,
    held: HashMap<u64, Held>,
    next_key: u64,
    /// Messages asked for and not yet received, over the outstanding pull requests.
    requested: usize,
    counts: Counts,
}

impl Worker {
    fn new(setup: Setup, args: &WorkerArgs, runtime: Runtime, info: Arc<ExecutionInfo>) -> Worker {
        Worker {
            js: setup.js,
            consumer: setup.consumer,
            results: args.results.as_deref().map(Into::into),
            dead_letter: args.dead_letter.as_deref().map(Into::into),
            batch: args.batch,
            in_hand: setup.in_hand,
            max_deliver: setup.max_deliver,
            ack_wait: setup.ack_wait,
            format: args.format,
            info,
            runtime,
            held: HashMap::new(),
            next_key: 0,
            requested: 0,
            counts: Counts::default(),
        }
    }

    /// The loop: pull, run, publish, acknowledge, until a signal and then until every
    /// message in hand is done.
    async fn run(mut self) -> Result<Counts, String> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        // Each pull request's stream, tagged with how many messages it asked for.
        let mut pulls: SelectAll<futures_util::stream::BoxStream<'static, Pulled>> = SelectAll::new();
        let mut publishing: FuturesUnordered<PublishAcked> = FuturesUnordered::new();
        let mut progress = tokio::time::interval((self.ack_wait / 4).max(Duration::from_millis(50)));
        progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping = false;
        let mut pull_failed_at: Option<Instant> = None;
        loop {
            if !stopping
                && pulls.len() < PULLS
                && pull_failed_at.is_none_or(|t| t.elapsed() > Duration::from_millis(200))
            {
                let room = self.in_hand.saturating_sub(self.held.len() + self.requested);
                let size = room.min(self.batch);
                if size > 0 && (size == self.batch || pulls.is_empty()) {
                    match self
                        .consumer
                        .batch()
                        .max_messages(size)
                        .expires(PULL_EXPIRES)
                        .messages()
                        .await
                    {
                        Ok(batch) => {
                            self.requested += size;
                            pulls.push(pulled(batch, size));
                            pull_failed_at = None;
                            continue;
                        }
                        Err(e) => {
                            eprintln!("quickstep worker: pull request failed: {e}");
                            pull_failed_at = Some(Instant::now());
                        }
                    }
                }
            }
            if stopping && pulls.is_empty() && self.held.is_empty() && publishing.is_empty() {
                break;
            }
            // Each branch takes everything already there, back to back: the connection then
            // writes the publishes and acks they send in one go rather than one at a time.
            tokio::select! {
                biased;
                Some(done) = done_rx.recv() => {
                    self.finished(done, &mut publishing).await;
                    while let Ok(done) = done_rx.try_recv() {
                        self.finished(done, &mut publishing).await;
                    }
                }
                Some((sent, acked)) = publishing.next() => {
                    self.acked(sent, acked, &mut publishing).await;
                    while let Some(Some((sent, acked))) = publishing.next().now_or_never() {
                        self.acked(sent, acked, &mut publishing).await;
                    }
                }
                Some(pulled) = pulls.next() => {
                    self.pulled(pulled, &done_tx).await;
                    while let Some(Some(pulled)) = pulls.next().now_or_never() {
                        self.pulled(pulled, &done_tx).await;
                    }
                }
                _ = progress.tick() => self.progress().await,
                _ = terminate.recv(), if !stopping => stopping = true,
                _ = interrupt.recv(), if !stopping => stopping = true,
                // A pull request failed: try again shortly.
                _ = tokio::time::sleep(Duration::from_millis(200)), if pull_failed_at.is_some() && !stopping => {}
            }
        }
        // The acks are queued on the connection: send them before leaving.
        let _ = self.js.client().flush().await;
        self.runtime.shutdown();
        Ok(self.counts)
    }

    /// What a pull request brought.
    async fn pulled(&mut self, pulled: Pulled, done_tx: &mpsc::UnboundedSender<Done>) {
        match pulled {
            Pulled::Message(message) => {
                self.requested = self.requested.saturating_sub(1);
                self.start(message, done_tx).await;
            }
            Pulled::Error(e) => eprintln!("quickstep worker: pulling messages: {e}"),
            Pulled::End(unfilled) => self.requested = self.requested.saturating_sub(unfilled),
        }
    }

    /// Takes a fetched message in hand and starts its execution.
    async fn start(&mut self, message: Message, done_tx: &mpsc::UnboundedSender<Done>) {
        let (name, delivered) = match message.info() {
            Ok(info) => {
                let name = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                    .map(|id| id.as_str().to_string())
                    .unwrap_or_else(|| info.stream_sequence.to_string());
                (name, info.delivered)
            }
            Err(e) => {
                eprintln!("quickstep worker: a message without JetStream metadata: {e}");
                return;
            }
        };
        let key = self.next_key;
        self.next_key += 1;
        let input = String::from_utf8(message.payload.to_vec());
        self.held.insert(
            key,
            Held {
                message,
                name: name.clone(),
                delivered,
                touched: Instant::now(),
            },
        );
        let input = match input {
            Ok(input) => input,
            Err(e) => {
                let failure = Failure {
                    error: "InvalidExecutionInput",
                    cause: format!("the message's payload is not UTF-8 text: {e}"),
                };
                let _ = done_tx.send(Done {
                    key,
                    result: Err(failure),
                });
                return;
            }
        };
        let tx = done_tx.clone();
        let format = self.format;
        let info = Arc::clone(&self.info);
        let execution_name = name.clone();
        let start_ms = SystemClock.now_ms();
        let kept_input = (format == OutcomeFormat::Full).then(|| input.clone());
        let completion = Completion::callback(move |completed: Completed| {
            let result = match completed.result {
                Ok(outcome) => Ok(match (format, outcome.output) {
                    (OutcomeFormat::Output, Some(output)) if outcome.status == Status::Succeeded => Bytes::from(output),
                    (_, output) => {
                        let outcome = crate::machine::Outcome { output, ..outcome };
                        let info = ExecutionInfo {
                            name,
                            ..(*info).clone()
                        };
                        Bytes::from(event_outcome(
                            format,
                            &Finished {
                                info: &info,
                                input: kept_input.as_deref().unwrap_or_default(),
                                start_ms,
                                stop_ms: SystemClock.now_ms(),
                                outcome: &outcome,
                            },
                        ))
                    }
                }),
                Err(e) => Err(Failure {
                    error: "InvalidExecutionInput",
                    cause: format!("the message's payload is not JSON: {e}"),
                }),
            };
            let _ = tx.send(Done { key, result });
        });
        // Never blocks: the queue holds `in_hand` executions and no more messages are in hand.
        self.runtime.submit_named(execution_name, input, completion);
    }

    /// An execution ended: publish its outcome (or, without a results subject, acknowledge
    /// its message), or handle its failure.
    async fn finished(&mut self, done: Done, publishing: &mut FuturesUnordered<PublishAcked>) {
        let Some(held) = self.held.get(&done.key) else { return };
        match (done.result, self.results.clone()) {
            (Ok(payload), Some(results)) => {
                let publish = PublishMessage::build().payload(payload).message_id(&held.name);
                match self.js.send_publish(results, publish).await {
                    Ok(ack) => publishing.push(Box::pin(async move { (Sent::Outcome(done.key), ack.await) })),
                    Err(e) => {
                        let failure = Failure {
                            error: "Quickstep.PublishFailed",
                            cause: format!("the outcome could not be published: {e}"),
                        };
                        self.failed(done.key, failure, publishing).await;
                    }
                }
            }
            (Ok(_), None) => {
                self.counts.outcomes += 1;
                self.settle(done.key, AckKind::Ack).await;
            }
            (Err(failure), _) => self.failed(done.key, failure, publishing).await,
        }
    }

    /// A publish was acknowledged (or not).
    async fn acked(
        &mut self,
        sent: Sent,
        acked: Result<PublishAck, PublishError>,
        publishing: &mut FuturesUnordered<PublishAcked>,
    ) {
        match (sent, acked) {
            (Sent::Outcome(key), Ok(_)) => {
                self.counts.outcomes += 1;
                self.settle(key, AckKind::Ack).await;
            }
            (Sent::Outcome(key), Err(e)) => {
                let failure = Failure {
                    error: "Quickstep.PublishFailed",
                    cause: format!("the outcome's publish was not acknowledged: {e}"),
                };
                self.failed(key, failure, publishing).await;
            }
            (Sent::DeadLetter(key, _), Ok(_)) => {
                self.counts.dead += 1;
                self.settle(key, AckKind::Term).await;
            }
            (Sent::DeadLetter(key, failure), Err(e)) => {
                if let Some(held) = self.held.get(&key) {
                    eprintln!(
                        "quickstep worker: message {} ({}: {}) could not be dead-lettered ({e}); it is terminated",
                        held.name, failure.error, failure.cause
                    );
                }
                self.settle(key, AckKind::Term).await;
            }
        }
    }

    /// A message failed: deliver it again later, or, at its last delivery, dead-letter it.
    async fn failed(&mut self, key: u64, failure: Failure, publishing: &mut FuturesUnordered<PublishAcked>) {
        let Some(held) = self.held.get(&key) else { return };
        let last = self.max_deliver > 0 && held.delivered >= self.max_deliver;
        if !last {
            self.counts.retried += 1;
            // A short back-off, longer at each delivery: a poison message does not spin.
            let delay = Duration::from_millis(250 * held.delivered.clamp(1, 20) as u64);
            self.settle(key, AckKind::Nak(Some(delay))).await;
            return;
        }
        let Some(dead_letter) = &self.dead_letter else {
            eprintln!(
                "quickstep worker: message {} failed {} times ({}: {}); it is terminated",
                held.name, held.delivered, failure.error, failure.cause
            );
            self.counts.dead += 1;
            self.settle(key, AckKind::Term).await;
            return;
        };
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, held.name.as_str());
        headers.insert("Quickstep-Error", failure.error);
        headers.insert("Quickstep-Cause", header_text(&failure.cause).as_str());
        headers.insert("Quickstep-Subject", held.message.subject.as_str());
        headers.insert("Quickstep-Deliveries", held.delivered.to_string().as_str());
        if let Ok(info) = held.message.info() {
            headers.insert("Quickstep-Stream", info.stream);
            headers.insert("Quickstep-Stream-Sequence", info.stream_sequence.to_string().as_str());
        }
        let publish = PublishMessage::build()
            .payload(held.message.payload.clone())
            .headers(headers);
        match self.js.send_publish(dead_letter.clone(), publish).await {
            Ok(ack) => publishing.push(Box::pin(async move { (Sent::DeadLetter(key, failure), ack.await) })),
            Err(e) => {
                eprintln!(
                    "quickstep worker: message {} ({}: {}) could not be dead-lettered ({e}); it is terminated",
                    held.name, failure.error, failure.cause
                );
                self.settle(key, AckKind::Term).await;
            }
        }
    }

    /// Acknowledges the message `key` with `kind` and lets it go.
    async fn settle(&mut self, key: u64, kind: AckKind) {
        if let Some(held) = self.held.remove(&key) {
            // An ack that cannot be sent leaves the message to JetStream, which delivers it
            // again after the ack wait.
            if let Err(e) = held.message.ack_with(kind).await {
                eprintln!("quickstep worker: acknowledging message {}: {e}", held.name);
            }
        }
    }

    /// Sends a progress ack for each message in hand for half the ack wait.
    async fn progress(&mut self) {
        let half = self.ack_wait / 2;
        for held in self.held.values_mut() {
            if held.touched.elapsed() >= half {
                held.touched = Instant::now();
                let _ = held.message.ack_with(AckKind::Progress).await;
            }
        }
    }
}

/// A cause as a header value: one line.
fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// What a pull request's stream yields.
// Nearly every item is a message: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Pulled {
    Message(Message),
    Error(String),
    /// The request ended with this many messages it asked for not delivered.
    End(usize),
}

/// A pull request's messages, then how many it did not deliver.
fn pulled(batch: Batch, asked: usize) -> futures_util::stream::BoxStream<'static, Pulled> {
    let state = (Some(batch), asked);
    futures_util::stream::unfold(state, |(batch, left)| async move {
        let mut batch = batch?;
        match batch.next().await {
            Some(Ok(message)) => Some((Pulled::Message(message), (Some(batch), left.saturating_sub(1)))),
            Some(Err(e)) => Some((Pulled::Error(e.to_string()), (Some(batch), left))),
            None => Some((Pulled::End(left), (None, 0))),
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn subjects_match_filters_token_by_token() {
        assert!(subject_matches("events.>", "events.a.b"));
        assert!(!subject_matches("events.>", "events"));
        assert!(subject_matches("events.*", "events.a"));
        assert!(!subject_matches("events.*", "events.a.b"));
        assert!(subject_matches("results", "results"));
        assert!(!subject_matches("results", "results.x"));
        assert!(!subject_matches("a.b", "a"));
    }
}
