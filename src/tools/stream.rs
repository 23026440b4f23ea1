//! `quickstep stream`: newline-delimited JSON events in, one Express execution each on the
//! runtime's pool, one line per event out.
//!
//! The input is taken in blocks of lines: a regular file is mapped in memory and its lines are
//! run where they are, other inputs are read into each block's buffer. A few feeder threads
//! each take the next block and run it with [`Runtime::run_batch_with`] (the pool's fast
//! path: each worker parses the line into its arena and appends the outcome's line to a
//! buffer of its own for that block), and a writer thread writes the blocks' buffers, a few
//! large writes per block: in input order with `--ordered`, else a block as soon as it has
//! finished. With several blocks in flight, an execution that waits holds back only its own
//! block.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{IoSlice, IsTerminal, Read, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;
use crossbeam_utils::CachePadded;
use memmap2::{Advice, Mmap};

use crate::clock::{Clock, SystemClock};
use crate::exec::{ExecutionInfo, RawOutcome, Status};
use crate::intrinsics::uuid_v4_string;
use crate::machine::Outcome;
use crate::model::MachineType;
use crate::outcome::{event_outcome, failure_document, Finished, OutcomeFormat};
use crate::runtime::{Built, Runtime};

use super::cli::{bind_tasks, load_definition, state_machine_name, SourceArgs, TaskArgs, TypeArg};

/// The largest event: AWS's limit on an execution's input (256 KiB).
const MAX_EVENT_BYTES: usize = 262_144;
/// Lines per block: small enough that a waiting execution holds back few others, large
/// enough that a block's hand-offs cost nothing per line.
const BLOCK_LINES: usize = 1024;
/// Blocks in flight at once (each on its own feeder thread).
const FEEDERS: usize = 4;

/// `quickstep stream`'s options.
#[derive(Debug, Args)]
pub(crate) struct StreamArgs {
    /// The definition file (ASL JSON, or YAML: `.yaml`, `.yml`); not with `--template`.
    #[arg(required_unless_present = "template")]
    definition: Option<PathBuf>,
    #[command(flatten)]
    source: SourceArgs,
    /// The workflow type, whose rules apply (default: the template's, else EXPRESS).
    #[arg(long = "type", value_enum)]
    machine_type: Option<TypeArg>,
    /// The events: a file of newline-delimited JSON, or `-` for standard input.
    #[arg(long, value_name = "FILE", default_value = "-")]
    input: PathBuf,
    /// Where the outcomes go: a file, or `-` for standard output.
    #[arg(long, value_name = "FILE", default_value = "-")]
    output: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Write the outcomes in input order (default: each block of lines as it finishes).
    #[arg(long)]
    ordered: bool,
    /// What each outcome line holds.
    #[arg(long, value_enum, default_value = "output")]
    format: OutcomeFormat,
    #[command(flatten)]
    tasks: TaskArgs,
}

/// One line of input: its number (from 1) and where its text is in the block.
struct Line {
    number: u64,
    text: Result<Range<usize>, usize>,
}

/// One event as the pool sees it: its line number and text (or the length of a line too
/// long to keep).
struct Event<'b> {
    number: u64,
    text: Result<&'b [u8], usize>,
}

/// A block of input lines: their text, one after the other (borrowed from the mapped input
/// file, or read into a buffer of the block's own).
#[derive(Default)]
struct Block<'m> {
    index: u64,
    mapped: &'m [u8],
    read: Vec<u8>,
    lines: Vec<Line>,
}

impl Block<'_> {
    /// The text the lines' ranges point into.
    fn text(&self) -> &[u8] {
        if self.mapped.is_empty() {
            &self.read
        } else {
            self.mapped
        }
    }
}

/// Numbers the line at `range` of `text` (of which `dropped` more bytes were not kept) and
/// adds it to `lines`, unless it is blank.
fn push_line(lines: &mut Vec<Line>, number: u64, text: &[u8], range: Range<usize>, dropped: Option<usize>) {
    let length = dropped.unwrap_or(0) + range.len();
    let text = if dropped.is_some() || length > MAX_EVENT_BYTES {
        Err(length)
    } else {
        let line = &text[range.clone()];
        let end = line.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |p| p + 1);
        let Some(begin) = line[..end].iter().position(|b| !b.is_ascii_whitespace()) else {
            return;
        };
        Ok(range.start + begin..range.start + end)
    };
    lines.push(Line { number, text });
}

/// Where the lines come from: a file mapped in memory (read in place), or a reader.
enum Lines<'m, R> {
    Mapped(MappedLines<'m>),
    Read(LineReader<R>),
}

impl<'m, R: Read> Lines<'m, R> {
    /// Fills `block` with the next lines (blank ones skipped, numbers kept); `false` at the
    /// end of the input.
    fn read_block(&mut self, block: &mut Block<'m>) -> std::io::Result<bool> {
        match self {
            Lines::Mapped(lines) => {
                lines.read_block(block);
                Ok(!block.lines.is_empty())
            }
            Lines::Read(reader) => reader.read_block(block),
        }
    }
}

/// Splits a mapped input into blocks of lines without copying them.
struct MappedLines<'m> {
    data: &'m [u8],
    /// Where the next block starts.
    position: usize,
    line_number: u64,
    next_block: u64,
}

impl<'m> MappedLines<'m> {
    fn read_block(&mut self, block: &mut Block<'m>) {
        block.lines.clear();
        block.read.clear();
        block.index = self.next_block;
        self.next_block += 1;
        let start = self.position;
        let rest = &self.data[start..];
        let mut at = 0;
        while block.lines.len() < BLOCK_LINES && at < rest.len() {
            let end = memchr::memchr(b'\n', &rest[at..]).map_or(rest.len(), |p| at + p);
            self.line_number += 1;
            push_line(&mut block.lines, self.line_number, rest, at..end, None);
            at = (end + 1).min(rest.len());
        }
        self.position = start + at;
        block.mapped = &rest[..at];
    }
}

/// One event's outcome line (newline included): where it is among the block's outputs, and
/// how the event ended: `None` when it succeeded, else its error name (empty when the failure
/// had none).
struct Written {
    slot: usize,
    range: Range<usize>,
    failure: Option<String>,
}

/// The outcome lines of a block, as the workers write them: one buffer per worker, so that a
/// line costs no allocation and a block goes out in a few large writes.
struct Outputs {
    slots: Box<[CachePadded<Mutex<Vec<u8>>>]>,
}

/// Gives each thread a number, which picks its buffer in [`Outputs`].
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
}

/// Buffers larger than this are not kept for the next block (a block of very long lines).
const KEPT_OUTPUT_BYTES: usize = 8 << 20;

impl Outputs {
    fn new(slots: usize) -> Outputs {
        Outputs {
            slots: (0..slots.max(1))
                .map(|_| CachePadded::new(Mutex::new(Vec::new())))
                .collect(),
        }
    }

    /// Writes one line with `write` (the newline is added) into the calling thread's buffer.
    fn line(&self, write: impl FnOnce(&mut Vec<u8>)) -> (usize, Range<usize>) {
        let slot = SLOT.with(|s| *s) % self.slots.len();
        let mut buffer = self.slots[slot].lock().unwrap_or_else(|e| e.into_inner());
        let start = buffer.len();
        write(&mut buffer);
        buffer.push(b'\n');
        (slot, start..buffer.len())
    }

    /// The buffers, for the writer.
    fn buffers(&mut self) -> impl Iterator<Item = &mut Vec<u8>> {
        self.slots
            .iter_mut()
            .map(|s| s.get_mut().unwrap_or_else(|e| e.into_inner()))
    }

    /// Empties the buffers for the next block.
    fn clear(&mut self) {
        for buffer in self.buffers() {
            buffer.clear();
            if buffer.capacity() > KEPT_OUTPUT_BYTES {
                *buffer = Vec::new();
            }
        }
    }
}

/// A block that has run: its index, its lines' outcomes in input order, and their text.
struct Ran {
    index: u64,
    written: Vec<Written>,
    outputs: Outputs,
}

/// Reads the input in large reads and splits it into lines, keeping none of a line longer
/// than [`MAX_EVENT_BYTES`].
struct LineReader<R> {
    inner: R,
    /// Bytes read after the last line of the previous block.
    pending: Vec<u8>,
    line_number: u64,
    next_block: u64,
    ended: bool,
}

/// How much one read asks for.
const READ_BYTES: u64 = 1 << 16;

impl<R: Read> LineReader<R> {
    /// Fills `block` with the next lines (blank ones skipped, numbers kept); `false` at the
    /// end of the input.
    fn read_block(&mut self, block: &mut Block<'_>) -> std::io::Result<bool> {
        block.mapped = &[];
        block.read.clear();
        block.lines.clear();
        std::mem::swap(&mut block.read, &mut self.pending);
        block.index = self.next_block;
        self.next_block += 1;
        // The current line's start, where to look for its end, and how many bytes of it
        // were dropped already (it is too long).
        let (mut start, mut scan, mut dropped) = (0, 0, None);
        while block.lines.len() < BLOCK_LINES {
            if let Some(p) = memchr::memchr(b'\n', &block.read[scan..]) {
                let end = scan + p;
                self.line_number += 1;
                push_line(
                    &mut block.lines,
                    self.line_number,
                    &block.read,
                    start..end,
                    dropped.take(),
                );
                (start, scan) = (end + 1, end + 1);
                continue;
            }
            scan = block.read.len();
            if self.ended {
                if start < block.read.len() || dropped.is_some() {
                    self.line_number += 1;
                    let end = block.read.len();
                    push_line(
                        &mut block.lines,
                        self.line_number,
                        &block.read,
                        start..end,
                        dropped.take(),
                    );
                    start = end;
                }
                break;
            }
            if block.read.len() - start > MAX_EVENT_BYTES {
                *dropped.get_or_insert(0) += block.read.len() - start;
                block.read.truncate(start);
                scan = start;
            }
            if (&mut self.inner).take(READ_BYTES).read_to_end(&mut block.read)? == 0 {
                self.ended = true;
            }
        }
        self.pending.extend_from_slice(&block.read[start..]);
        block.read.truncate(start);
        Ok(!block.lines.is_empty())
    }
}

/// How [`run_stream`] writes its lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamOptions {
    /// Write the outcome lines in input order (else each block of lines as it finishes).
    pub ordered: bool,
    /// What each outcome line holds.
    pub format: OutcomeFormat,
    /// Show a progress line on standard error, once a second.
    pub progress: bool,
}

/// What a stream did: events that succeeded, and those that failed (not run ones
/// included) by error name (empty when the failure had none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// Events whose execution succeeded.
    pub succeeded: u64,
    /// Events whose execution failed, timed out or was not run (a bad line).
    pub failed: u64,
    /// The failed ones by error name.
    pub by_error: BTreeMap<String, u64>,
}

impl StreamSummary {
    fn count(&mut self, failure: Option<&str>) {
        match failure {
            None => self.succeeded += 1,
            Some(error) => {
                self.failed += 1;
                *self.by_error.entry(error.to_string()).or_default() += 1;
            }
        }
    }

    /// `N succeeded, M failed`, then one line per error name, the most frequent first.
    pub fn summary(&self) -> String {
        let mut text = format!("{} succeeded, {} failed", self.succeeded, self.failed);
        let mut errors: Vec<_> = self.by_error.iter().collect();
        errors.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (error, count) in errors {
            let error = if error.is_empty() { "(no error name)" } else { error };
            text.push_str(&format!("\n  {error}: {count}"));
        }
        text
    }
}

/// Runs `quickstep stream`: 0 when every event succeeded, 1 when some failed.
pub(crate) fn stream(args: StreamArgs) -> Result<ExitCode, String> {
    let asked = args.machine_type.or(Some(TypeArg::Express));
    let (source, model, program) = load_definition(args.definition.as_deref(), &args.source, asked)?;
    let express = match args.machine_type {
        Some(TypeArg::Standard) => false,
        Some(TypeArg::Express) => true,
        None => source.machine_type != Some(MachineType::Standard),
    };
    let name = state_machine_name(&source, args.source.state_machine.as_deref());
    // `bound` keeps the runtime of its tasks' service calls while the stream runs.
    let bound = bind_tasks(&model, program, &args.tasks, &name)?;
    let info = ExecutionInfo {
        name: "event".into(),
        state_machine_name: name,
        express_id: express.then(uuid_v4_string),
        ..ExecutionInfo::default()
    };
    let input = if args.input.as_os_str() == "-" {
        None
    } else {
        Some(File::open(&args.input).map_err(|e| format!("{}: {e}", args.input.display()))?)
    };
    let output: Box<dyn Write + Send> = if args.output.as_os_str() == "-" {
        standard_output()
    } else {
        Box::new(File::create(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?)
    };
    let mut builder = Runtime::builder().execution_info(info.clone());
    if let Some(threads) = args.threads {
        builder = builder.threads(threads.max(1));
    }
    if args.tasks.virtual_time {
        builder = builder.virtual_clock(SystemClock.now_ms());
    }
    let runtime = builder.build(bound.machine.clone());
    let options = StreamOptions {
        ordered: args.ordered,
        format: args.format,
        progress: std::io::stderr().is_terminal(),
    };
    let result = match input {
        Some(file) => run_stream_file(&runtime, &info, file, output, options),
        None => run_stream(&runtime, &info, std::io::stdin(), output, options),
    };
    runtime.shutdown();
    let tally = result?;
    eprintln!("{}", tally.summary());
    Ok(if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs one execution per line of newline-delimited JSON read from `input` on `runtime`'s
/// pool and writes one line per event to `output`: a succeeded execution's output, else
/// `{"error": ..., "cause": ...}` ([`failure_document`]); a line that is not an event (not UTF-8, not JSON, over
/// 256 KiB) gives `{"error": "InvalidExecutionInput", "cause": ..., "line": N}`. Blank lines
/// are skipped. Each execution is named by its line number (`$$.Execution.Name`); `info`
/// gives the rest of its ARN for [`OutcomeFormat::Full`]. Returns the counts, or the first
/// error reading the input or writing the output (the lines read before it are run and
/// written).
pub fn run_stream(
    runtime: &Runtime,
    info: &ExecutionInfo,
    input: impl Read + Send,
    output: impl Write + Send,
    options: StreamOptions,
) -> Result<StreamSummary, String> {
    let lines = Lines::Read(LineReader {
        inner: input,
        pending: Vec::new(),
        line_number: 0,
        next_block: 0,
        ended: false,
    });
    run_lines(runtime, info, lines, output, options)
}

/// Like [`run_stream`], reading the events from `file`: a regular file is mapped in memory
/// and its lines are run in place (no copy of the input), anything else is read.
///
/// The file must not be truncated or rewritten while the stream runs (as with any memory
/// map, a truncated file stops the process with `SIGBUS`).
pub fn run_stream_file(
    runtime: &Runtime,
    info: &ExecutionInfo,
    file: File,
    output: impl Write + Send,
    options: StreamOptions,
) -> Result<StreamSummary, String> {
    let regular = file.metadata().is_ok_and(|m| m.is_file() && m.len() > 0);
    // SAFETY: the map is only read, and the caller keeps the file unchanged while it is
    // mapped (documented above); the map outlives every slice of it (dropped at the end).
    let mapped = if regular {
        unsafe { Mmap::map(&file) }.ok()
    } else {
        None
    };
    match &mapped {
        Some(map) => {
            // Read once, front to back: a hint, whose failure changes nothing.
            let _ = map.advise(Advice::Sequential);
            let lines = Lines::<std::io::Empty>::Mapped(MappedLines {
                data: map,
                position: 0,
                line_number: 0,
                next_block: 0,
            });
            run_lines(runtime, info, lines, output, options)
        }
        None => run_stream(runtime, info, file, output, options),
    }
}

/// The stream's engine: feeders take blocks of lines and run them on the pool, a writer
/// writes their outcome lines.
fn run_lines<R: Read + Send>(
    runtime: &Runtime,
    info: &ExecutionInfo,
    lines: Lines<'_, R>,
    output: impl Write + Send,
    options: StreamOptions,
) -> Result<StreamSummary, String> {
    let reader = Mutex::new(lines);
    let (sender, receiver) = crossbeam_channel::bounded::<Ran>(FEEDERS * 2);
    // Output buffers go back to the feeders once written.
    let (recycle, recycled) = crossbeam_channel::unbounded::<Outputs>();
    let slots = runtime.threads() + 1;
    let context = Feed {
        runtime,
        info,
        format: options.format,
    };
    let (tally, read_error) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_blocks(receiver, recycle, output, options.ordered, options.progress));
        let feeders: Vec<_> = (0..FEEDERS)
            .map(|_| {
                let sender = sender.clone();
                let (reader, context, recycled) = (&reader, &context, &recycled);
                scope.spawn(move || -> Result<(), String> {
                    let mut block = Block::default();
                    loop {
                        let more = {
                            let mut reader = reader.lock().unwrap_or_else(|e| e.into_inner());
                            reader
                                .read_block(&mut block)
                                .map_err(|e| format!("reading the input: {e}"))?
                        };
                        if !more {
                            return Ok(());
                        }
                        let outputs = recycled.try_recv().unwrap_or_else(|_| Outputs::new(slots));
                        let written = context.run(&block, &outputs);
                        let ran = Ran {
                            index: block.index,
                            written,
                            outputs,
                        };
                        if sender.send(ran).is_err() {
                            return Ok(());
                        }
                    }
                })
            })
            .collect();
        drop(sender);
        let read_error = feeders
            .into_iter()
            .filter_map(|f| {
                f.join()
                    .unwrap_or_else(|_| Err("a feeder thread panicked".into()))
                    .err()
            })
            .next();
        let tally = writer
            .join()
            .unwrap_or_else(|_| Err("the writer thread panicked".into()));
        (tally, read_error)
    });
    let tally = tally?;
    match read_error {
        Some(error) => Err(error),
        None => Ok(tally),
    }
}

/// What a feeder needs to run a block.
struct Feed<'r> {
    runtime: &'r Runtime,
    info: &'r ExecutionInfo,
    format: OutcomeFormat,
}

impl Feed<'_> {
    /// Runs the block's events on the pool, their outcome lines written into `outputs`;
    /// where each line is, in input order.
    fn run(&self, block: &Block<'_>, outputs: &Outputs) -> Vec<Written> {
        let start_ms = SystemClock.now_ms();
        let text = block.text();
        let events: Vec<Event<'_>> = block
            .lines
            .iter()
            .map(|line| Event {
                number: line.number,
                text: line.text.clone().map(|range| &text[range]),
            })
            .collect();
        self.runtime.run_batch_with(
            &events,
            |line, arena| {
                let text = match line.text {
                    Ok(text) => text,
                    Err(length) => {
                        return Built::Reject(rejected(
                            outputs,
                            line.number,
                            "InvalidExecutionInput",
                            &format!(
                                "The event is {length} bytes; an execution's input is at most {MAX_EVENT_BYTES} bytes."
                            ),
                        ))
                    }
                };
                let Ok(text) = simdutf8::basic::from_utf8(text) else {
                    let e = std::str::from_utf8(text)
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    return Built::Reject(rejected(
                        outputs,
                        line.number,
                        "InvalidExecutionInput",
                        &format!("Invalid State Machine Execution Input: 'not UTF-8: {e}'"),
                    ));
                };
                match crate::value::parse_keeping_text(arena, text) {
                    Ok((input, source)) => {
                        let mut digits = itoa::Buffer::new();
                        Built::RunNamed(input, source, arena.alloc_str(digits.format(line.number)))
                    }
                    Err(e) => Built::Reject(rejected(
                        outputs,
                        line.number,
                        "InvalidExecutionInput",
                        &format!("Invalid State Machine Execution Input: '{e}'"),
                    )),
                }
            },
            |i, raw| {
                let failure = failure_of(&raw);
                let (slot, range) = match self.format {
                    OutcomeFormat::Output => outputs.line(|out| write_output_line(&raw, out)),
                    OutcomeFormat::Full => {
                        let line = &events[i];
                        let input = line.text.ok().and_then(|t| std::str::from_utf8(t).ok());
                        let info = ExecutionInfo {
                            name: line.number.to_string(),
                            ..self.info.clone()
                        };
                        let outcome = Outcome::from_raw(&raw);
                        let finished = Finished {
                            info: &info,
                            input: input.unwrap_or_default(),
                            start_ms,
                            stop_ms: SystemClock.now_ms(),
                            outcome: &outcome,
                        };
                        let text = event_outcome(OutcomeFormat::Full, &finished);
                        outputs.line(|out| out.extend_from_slice(text.as_bytes()))
                    }
                };
                Written { slot, range, failure }
            },
        )
    }
}

/// How an execution ended, for the tally: `None` when it succeeded.
fn failure_of(raw: &RawOutcome<'_>) -> Option<String> {
    (raw.status != Status::Succeeded).then(|| raw.error.clone().unwrap_or_default())
}

/// Appends a succeeded execution's output, or a failed one's [`failure_document`].
fn write_output_line(raw: &RawOutcome<'_>, out: &mut Vec<u8>) {
    if raw.status == Status::Succeeded {
        raw.write_output(out);
    } else {
        out.extend_from_slice(failure_document(raw.error.as_deref(), raw.cause.as_deref()).as_bytes());
    }
}

/// The line of an event that was not run: its error, a cause, and its line number.
fn rejected(outputs: &Outputs, number: u64, error: &str, cause: &str) -> Written {
    let document = serde_json::json!({"error": error, "cause": cause, "line": number});
    let (slot, range) = outputs.line(|out| out.extend_from_slice(document.to_string().as_bytes()));
    Written {
        slot,
        range,
        failure: Some(error.to_string()),
    }
}

/// Writes the blocks' lines as they come (in block order when `ordered`), with a progress
/// line on standard error when `progress`, and hands each block's buffers back through
/// `recycle`; returns the tally.
fn write_blocks(
    blocks: crossbeam_channel::Receiver<Ran>,
    recycle: crossbeam_channel::Sender<Outputs>,
    output: impl Write,
    ordered: bool,
    progress: bool,
) -> Result<StreamSummary, String> {
    let mut out = output;
    let mut tally = StreamSummary::default();
    let mut waiting: BTreeMap<u64, Ran> = BTreeMap::new();
    let mut next = 0u64;
    let started = Instant::now();
    let mut shown = Instant::now();
    let mut write = |mut ran: Ran, tally: &mut StreamSummary| -> Result<(), String> {
        write_block(&mut out, &mut ran, ordered).map_err(|e| format!("writing the output: {e}"))?;
        for written in &ran.written {
            tally.count(written.failure.as_deref());
        }
        ran.outputs.clear();
        // The feeders may all have ended: then the buffers are dropped.
        let _ = recycle.send(ran.outputs);
        Ok(())
    };
    loop {
        let ran = match blocks.recv_timeout(Duration::from_millis(500)) {
            Ok(ran) => Some(ran),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        if let Some(ran) = ran {
            if ordered {
                waiting.insert(ran.index, ran);
                while let Some(ran) = waiting.remove(&next) {
                    write(ran, &mut tally)?;
                    next += 1;
                }
            } else {
                write(ran, &mut tally)?;
            }
        }
        if progress && shown.elapsed() >= Duration::from_secs(1) {
            shown = Instant::now();
            let done = tally.succeeded + tally.failed;
            let rate = done as f64 / started.elapsed().as_secs_f64();
            eprint!("\r{done} done, {} failed, {rate:.0} events/s   ", tally.failed);
        }
    }
    for (_, ran) in std::mem::take(&mut waiting) {
        write(ran, &mut tally)?;
    }
    out.flush().map_err(|e| format!("writing the output: {e}"))?;
    if progress {
        eprint!("\r\x1b[K");
    }
    Ok(tally)
}

/// Writes a block's lines with as few system calls as the output takes: its buffers whole
/// (lines in the order the workers wrote them), or line by line in input order when
/// `ordered`, in vectored writes.
fn write_block(out: &mut impl Write, ran: &mut Ran, ordered: bool) -> std::io::Result<()> {
    let buffers: Vec<&[u8]> = ran.outputs.buffers().map(|b| &b[..]).collect();
    let mut slices: Vec<IoSlice<'_>> = if ordered {
        ran.written
            .iter()
            .map(|w| IoSlice::new(&buffers[w.slot][w.range.clone()]))
            .collect()
    } else {
        buffers
            .iter()
            .filter(|b| !b.is_empty())
            .map(|b| IoSlice::new(b))
            .collect()
    };
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Standard output as a file of its own, written without Rust's line buffering (each block
/// goes out in one vectored write).
fn standard_output() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(File::from(fd));
        }
    }
    Box::new(std::io::stdout())
}
