//! Distributed Map: its map run (`MapRunStarted`, then `MapRunSucceeded` or `MapRunFailed`),
//! its `ItemReader` and `ResultWriter` on S3, and AWS's layout of the results it writes.
//!
//! The reader and the writer call task handlers: the one registered for their own resource
//! (`arn:aws:states:::s3:getObject`, ...), which returns the items or the state's result
//! itself; or else S3's object actions ([`S3_GET_OBJECT`], [`S3_LIST_OBJECTS_V2`],
//! [`S3_PUT_OBJECT`], which the `integrations` feature binds), the objects' contents being
//! read and written here. Each call is awaited as a Task's answer is: a handler that answers
//! later parks the Map's frame (a [`Phase::MapIo`]) until the answer is delivered with its
//! token, so that no thread waits on S3.

use std::borrow::Cow;

use serde_json::{json, Map as JsonMap, Value as Json};

use crate::error::names;
use crate::history::{EventData, EventDetail};
use crate::program::*;
use crate::tasks::{TaskContext, TaskFailure, TaskReply, TaskToken};
use crate::value::{with_member, Arena, ArenaExt, Value};

use super::task::AwaitedTask;
use super::{iso_time, Execution, Failure, Flow, Link, Phase};

/// The most items a reader reads (`MaxItems` above it reads this many).
const MAX_ITEMS: f64 = 100_000_000.0;

/// A Distributed Map's call to S3 (or to its reader's or writer's handler) in flight.
#[derive(Debug)]
pub(super) struct MapIo<'a> {
    /// The call's token and deadline.
    pub(super) awaited: AwaitedTask,
    /// Its answer has come (it waits in `task_answers`).
    pub(super) answered: bool,
    /// What the answer goes on with.
    pub(super) stage: IoStage<'a>,
}

/// What a Distributed Map's call is part of.
#[derive(Clone, Copy, Debug)]
pub(super) enum IoStage<'a> {
    /// Reading the items.
    Read(Reading<'a>),
    /// Writing the results.
    Write(Writing<'a>),
}

/// A Distributed Map reading its items.
#[derive(Clone, Copy, Debug)]
pub(super) struct Reading<'a> {
    raw_input: Value<'a>,
    after_input_path: Value<'a>,
    context: Value<'a>,
    /// The reader's evaluated `Parameters` / `Arguments`.
    parameters: Value<'a>,
    /// `MaxItems` (0: all).
    max_items: usize,
    /// `$$.Map.Item.Source`.
    item_source: Option<&'a str>,
    /// The map run's ARN.
    map_run: &'a str,
    /// How the items are being read.
    by: ReadBy<'a>,
}

/// How a Distributed Map reads its items.
#[derive(Clone, Copy, Debug)]
enum ReadBy<'a> {
    /// The handler of the reader's resource: it answers the items.
    Handler,
    /// `GetObject` of the object, whose text holds the items.
    Object,
    /// `ListObjectsV2`, one page at a time: the objects listed so far.
    Listing(&'a [Value<'a>]),
    /// An S3 inventory: its data files (`(bucket, key)`), the next to read, its columns and
    /// the items read so far.
    Inventory {
        files: &'a [(&'a str, &'a str)],
        next: usize,
        columns: &'a [&'a str],
        items: &'a [Value<'a>],
    },
}

/// A Distributed Map writing its results.
#[derive(Clone, Copy, Debug)]
pub(super) struct Writing<'a> {
    /// The `PutObject` requests left (the result files, then the manifest); empty when the
    /// writer's handler was called.
    puts: &'a [Value<'a>],
    /// The state's result once everything is written (the writer's details), or `Null` for
    /// the writer handler's answer.
    output: Value<'a>,
}

/// What calling a reader's or writer's handler gave.
enum IoReply<'a> {
    /// An answer now.
    Now(Result<Value<'a>, Failure>),
    /// An answer later, for this token.
    Later(TaskToken),
}

impl<'a> Execution<'a> {
    /// The ARN of a map run of `map` (`arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID`).
    pub(super) fn map_run_arn(&self, map: &MapDef) -> &'a str {
        let info = self.info;
        let id = crate::intrinsics::uuid_v4(self.arena);
        let arn = format!(
            "arn:aws:states:{}:{}:mapRun:{}/{}:{id}",
            info.region, info.account, info.state_machine_name, map.label
        );
        self.arena.alloc_str(&arn)
    }

    /// Records `MapRunStarted` for the map run `arn`.
    pub(super) fn map_run_started(&mut self, state: &'a StateDef, arn: &'a str) {
        self.record("MapRunStarted", Some(state.name), EventData::None, Link::Chain, |_| {
            EventDetail::MapRun { arn }
        });
    }

    /// Ends a map run with `failure`: `MapRunFailed`, then the state fails with it.
    pub(super) fn map_run_failed(&mut self, top: usize, failure: Failure) -> Result<Flow, Failure> {
        let state = self.program.state(self.frames[top].state);
        let data = EventData::Failure {
            error: failure.error.as_deref(),
            cause: failure.cause.as_deref(),
        };
        self.record("MapRunFailed", Some(state.name), data, Link::Chain, |_| {
            EventDetail::None
        });
        Err(failure)
    }

    /// Starts a Distributed Map with an `ItemReader`: `MapStateStarted` (of no items yet),
    /// `MapRunStarted`, and the first call of the reading.
    pub(super) fn start_reading(
        &mut self,
        top: usize,
        map: &'a MapDef,
        reader: &'a ExternalStep,
        raw_input: Value<'a>,
        after_input_path: Value<'a>,
        context: Value<'a>,
    ) -> Result<Flow, Failure> {
        let state = self.program.state(self.frames[top].state);
        let input = self.payload_input(top, after_input_path, context, None);
        let parameters = match &reader.parameters {
            Some(p) => self.eval_payload(top, p, &input)?,
            None => Value::EMPTY_OBJECT,
        };
        let max_items = match &map.reader_config.max_items {
            Some(spec) => {
                let env = input.jsonata_env();
                Some(
                    self.number(spec, &input.scope, &env, true)
                        .map_err(|e| self.eval_failure(top, e))?,
                )
            }
            None => None,
        };
        self.record(
            "MapStateStarted",
            Some(state.name),
            EventData::None,
            Link::Chain,
            |_| EventDetail::MapStarted { length: 0 },
        );
        let map_run = self.map_run_arn(map);
        self.map_run_started(state, map_run);
        if max_items.is_some_and(|n| n < 0.0) {
            return self.map_run_failed(top, reader_failure("field MaxItems must be positive".into()));
        }
        let item_source = if self.program.uses_context {
            reader_source(self.arena, reader.resource, parameters)
        } else {
            None
        };
        let handled = self.registry.get(reader.resource).is_some();
        let (by, resource, request) = if handled {
            (ReadBy::Handler, reader.resource, parameters)
        } else if reader.resource.ends_with(":listObjectsV2") {
            (ReadBy::Listing(&[]), S3_LIST_OBJECTS_V2, parameters)
        } else if reader.resource.ends_with(":getObject") {
            (ReadBy::Object, S3_GET_OBJECT, parameters)
        } else {
            let cause = format!(
                "The ItemReader's resource '{}' is not one that S3 answers",
                reader.resource
            );
            return self.map_run_failed(top, reader_failure(cause));
        };
        let reading = Reading {
            raw_input,
            after_input_path,
            context,
            parameters,
            max_items: max_items.map_or(0, |n| n.min(MAX_ITEMS) as usize),
            item_source,
            map_run,
            by,
        };
        self.io_send(top, IoStage::Read(reading), resource, request)
    }

    /// Completes a Distributed Map whose children have finished with `results`: writes them
    /// with its `ResultWriter`, if it has one, and ends the map run.
    pub(super) fn finish_map_run(
        &mut self,
        top: usize,
        map: &'a MapDef,
        map_run: &'a str,
        results: Value<'a>,
        layout: ResultLayout<'a>,
    ) -> Result<Flow, Failure> {
        let Some(writer) = &map.writer else {
            return self.map_run_succeeded(top, results);
        };
        let stage = |puts, output| IoStage::Write(Writing { puts, output });
        if self.registry.get(writer.resource).is_some() {
            return self.io_send(top, stage(&[], Value::Null), writer.resource, results);
        }
        let parameters = match &writer.parameters {
            Some(p) => {
                let context = self.context(top);
                let input = self.payload_input(top, layout.input, context, None);
                self.eval_payload(top, p, &input)?
            }
            None => Value::EMPTY_OBJECT,
        };
        let (puts, output) = match self.result_files(map_run, parameters, results, &layout) {
            Ok(files) => files,
            Err(cause) => return self.map_run_failed(top, writer_failure(cause)),
        };
        let (first, rest) = puts.split_first().expect("the manifest is always written");
        self.io_send(top, stage(rest, output), S3_PUT_OBJECT, *first)
    }

    /// `MapRunSucceeded`, then the state completes with `output`.
    fn map_run_succeeded(&mut self, top: usize, output: Value<'a>) -> Result<Flow, Failure> {
        let state = self.program.state(self.frames[top].state);
        self.record(
            "MapRunSucceeded",
            Some(state.name),
            EventData::None,
            Link::Chain,
            |_| EventDetail::None,
        );
        self.fanout_succeeded(top, state, output)
    }

    /// Calls the handler of `resource` with `request` for `stage`, and goes on with its answer
    /// now, or parks the frame until it comes.
    fn io_send(&mut self, top: usize, stage: IoStage<'a>, resource: &str, request: Value<'a>) -> Result<Flow, Failure> {
        match self.call_io(resource, request, stage) {
            IoReply::Now(answer) => self.io_answered(top, stage, answer),
            IoReply::Later(token) => {
                let io = MapIo {
                    awaited: self.awaited_task(token, None, None),
                    answered: false,
                    stage,
                };
                self.frames[top].phase = Phase::MapIo(self.arena.alloc(io));
                Ok(Flow::Continue)
            }
        }
    }

    /// The step of a frame whose Distributed Map awaits a call: on with its answer once it
    /// has come; else on waiting, until the call times out.
    pub(super) fn map_io_step(&mut self, top: usize) -> Result<Flow, Failure> {
        let Phase::MapIo(io) = &self.frames[top].phase else {
            unreachable!("map_io_step on a frame awaiting a call")
        };
        let (token, deadline_ms, answered, stage) = (io.awaited.token, io.awaited.deadline_ms(), io.answered, io.stage);
        if !answered && deadline_ms > self.now_ms {
            return Ok(Flow::AwaitTask(token, deadline_ms));
        }
        self.frames[top].phase = Phase::Attempt;
        let answer = match answered {
            true => self.take_answer(token).expect("an answered call's answer"),
            false => {
                if let Some(issuer) = self.tokens {
                    issuer.retire(token);
                }
                Err(Failure::new(
                    Some(Cow::Borrowed(names::TIMEOUT)),
                    Some("The call to S3 timed out.".into()),
                ))
            }
        };
        self.io_answered(top, stage, answer)
    }

    /// Goes on with the answer of a call made for `stage`: the next call, or the items read
    /// (the iterations start), or the results written (the state completes).
    fn io_answered(
        &mut self,
        top: usize,
        stage: IoStage<'a>,
        answer: Result<Value<'a>, Failure>,
    ) -> Result<Flow, Failure> {
        match stage {
            IoStage::Write(writing) => {
                let answer = match answer {
                    Ok(answer) => answer,
                    Err(failure) => return self.map_run_failed(top, writer_failure(failure_text(&failure))),
                };
                match writing.puts.split_first() {
                    Some((next, rest)) => {
                        let stage = IoStage::Write(Writing { puts: rest, ..writing });
                        self.io_send(top, stage, S3_PUT_OBJECT, *next)
                    }
                    // The writer's handler answered the state's result.
                    None if writing.output.is_null() => self.map_run_succeeded(top, answer),
                    None => self.map_run_succeeded(top, writing.output),
                }
            }
            IoStage::Read(reading) => {
                let answer = match answer {
                    Ok(answer) => answer,
                    Err(failure) => return self.map_run_failed(top, reader_failure(failure_text(&failure))),
                };
                match self.read_answer(top, reading, answer) {
                    Ok(Read::More(reading, resource, request)) => {
                        self.io_send(top, IoStage::Read(*reading), resource, request)
                    }
                    Ok(Read::Items(mut items)) => {
                        if reading.max_items > 0 && items.len() > reading.max_items {
                            items = &items[..reading.max_items];
                        }
                        self.start_read_items(top, reading, items)
                    }
                    Err(cause) => self.map_run_failed(top, reader_failure(cause)),
                }
            }
        }
    }

    /// The iterations of a Distributed Map start over the items its reader read.
    fn start_read_items(&mut self, top: usize, reading: Reading<'a>, items: &'a [Value<'a>]) -> Result<Flow, Failure> {
        let state = self.program.state(self.frames[top].state);
        let Op::Map(map) = &state.op else {
            unreachable!("a map run's frame runs a Map state")
        };
        let mut fanout = self
            .start_map(
                top,
                map,
                reading.raw_input,
                reading.after_input_path,
                reading.context,
                Some(items),
            )
            .map_err(|e| self.eval_failure(top, e))?;
        fanout.item_source = reading.item_source;
        fanout.map_run = Some(reading.map_run);
        self.frames[top].phase = Phase::Map(self.arena.alloc(fanout));
        self.schedule(top)
    }

    /// Reads an answer of the reading `reading`: the items, or the next call to make.
    fn read_answer(&self, top: usize, reading: Reading<'a>, answer: Value<'a>) -> Result<Read<'a>, String> {
        let a = self.arena;
        let state = self.program.state(self.frames[top].state);
        let Op::Map(map) = &state.op else {
            unreachable!("a map run's frame runs a Map state")
        };
        let config = &map.reader_config;
        let from_serde = |items: Vec<Json>| -> &'a [Value<'a>] {
            a.alloc_slice_fill_iter(items.iter().map(|item| Value::from_serde(a, item)))
        };
        match reading.by {
            ReadBy::Handler => match answer {
                Value::Array(items, _) => Ok(Read::Items(items)),
                other => Err(format!(
                    "The ItemReader's resource returned {}, not the array of items",
                    other.type_name()
                )),
            },
            ReadBy::Object => {
                let body = body_text(answer)?;
                match config.input_type {
                    Some(InputType::Manifest) => {
                        let (files, columns) = inventory_files(&body)?;
                        let files = a.alloc_slice_fill_iter(
                            files
                                .iter()
                                .map(|(bucket, key)| (a.alloc_str(bucket) as &str, a.alloc_str(key) as &str)),
                        );
                        let columns = a.alloc_slice_fill_iter(columns.iter().map(|c| a.alloc_str(c) as &str));
                        let by = ReadBy::Inventory {
                            files,
                            next: 0,
                            columns,
                            items: &[],
                        };
                        self.next_inventory_file(Reading { by, ..reading })
                    }
                    input_type => Ok(Read::Items(from_serde(parse_items(input_type, config, &body)?))),
                }
            }
            ReadBy::Listing(listed) => {
                let page = listed_objects(&answer.to_serde());
                let listed = match page.is_empty() {
                    true => listed,
                    false => concat(a, listed, from_serde(page)),
                };
                let full = reading.max_items > 0 && listed.len() >= reading.max_items;
                match (answer.get("NextContinuationToken"), answer.get("IsTruncated")) {
                    (Some(token @ Value::String(_)), Some(Value::Bool(true))) if !full => {
                        let request = with_member(a, reading.parameters, "ContinuationToken", token);
                        let by = ReadBy::Listing(listed);
                        Ok(Read::More(
                            Box::new(Reading { by, ..reading }),
                            S3_LIST_OBJECTS_V2,
                            request,
                        ))
                    }
                    _ => Ok(Read::Items(listed)),
                }
            }
            ReadBy::Inventory {
                files,
                next,
                columns,
                items,
            } => {
                let body = body_text(answer)?;
                let rows = csv_rows(&body, b',')?;
                let read = rows.iter().map(|row| {
                    let members: JsonMap<String, Json> = columns
                        .iter()
                        .enumerate()
                        .map(|(i, column)| {
                            (
                                column.to_string(),
                                Json::String(row.get(i).cloned().unwrap_or_default()),
                            )
                        })
                        .collect();
                    Json::Object(members)
                });
                let items = concat(a, items, from_serde(read.collect()));
                let by = ReadBy::Inventory {
                    files,
                    next: next + 1,
                    columns,
                    items,
                };
                self.next_inventory_file(Reading { by, ..reading })
            }
        }
    }

    /// The next data file of an inventory to read, or the items once all are read.
    fn next_inventory_file(&self, reading: Reading<'a>) -> Result<Read<'a>, String> {
        let ReadBy::Inventory { files, next, items, .. } = reading.by else {
            unreachable!("reading an inventory")
        };
        let full = reading.max_items > 0 && items.len() >= reading.max_items;
        match files.get(next) {
            Some((bucket, key)) if !full => {
                let a = self.arena;
                let request = a.object(&[("Bucket", Value::String(bucket)), ("Key", Value::String(key))]);
                Ok(Read::More(Box::new(reading), S3_GET_OBJECT, request))
            }
            _ => Ok(Read::Items(items)),
        }
    }

    /// Calls the handler of `resource` with `request` (for `stage`, which names it when it
    /// is missing).
    fn call_io(&mut self, resource: &str, request: Value<'a>, stage: IoStage<'a>) -> IoReply<'a> {
        let Some(handler) = self.registry.get(resource) else {
            let (what, error) = match stage {
                IoStage::Read(_) => ("ItemReader", names::ITEM_READER_FAILED),
                IoStage::Write(_) => ("ResultWriter", names::RESULT_WRITER_FAILED),
            };
            let cause = format!(
                "The {what} calls S3 ('{resource}'), which needs the S3 integration (the `integrations` feature) or a task behaviour for that resource (quickstep run --resources, or TaskRegistry::register)"
            );
            return IoReply::Now(Err(Failure::new(Some(Cow::Borrowed(error)), Some(cause))));
        };
        let arena = self.arena;
        let mut context = TaskContext::new(self.tokens, None);
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handler.start(request, arena, &mut context)
        }));
        let result = match reply {
            Ok(TaskReply::Done(result)) => result,
            Ok(TaskReply::Pending) => match context.taken() {
                Some(token) => return IoReply::Later(token),
                None => Err(TaskFailure::new(
                    names::TASK_FAILED,
                    "The task handler answered later without taking a task token.",
                )),
            },
            Err(panic) => Err(TaskFailure::new(
                names::TASK_FAILED,
                format!("The task handler panicked: {}", crate::error::panic_message(&*panic)),
            )),
        };
        if let (Some(token), Some(issuer)) = (context.taken(), self.tokens) {
            issuer.retire(token);
        }
        IoReply::Now(result.map_err(|failure| match failure {
            TaskFailure::Error { error, cause } => Failure::new(Some(Cow::Owned(error)), cause),
            TaskFailure::Function {
                error_type,
                error_message,
            } => Failure::new(Some(Cow::Owned(error_type)), Some(error_message)),
        }))
    }

    /// The `PutObject` requests of a map run's results, as AWS lays them out under
    /// `PREFIX/MAP_RUN_ID/`: `SUCCEEDED_0.json` and `FAILED_0.json` (when there are such
    /// results), then `manifest.json` listing them; and the state's result, the writer's
    /// details.
    fn result_files(
        &self,
        map_run: &'a str,
        parameters: Value<'a>,
        results: Value<'a>,
        layout: &ResultLayout<'a>,
    ) -> Result<(&'a [Value<'a>], Value<'a>), String> {
        let a = self.arena;
        let Some(Value::String(bucket)) = parameters.get("Bucket") else {
            return Err("The ResultWriter's Parameters must give the Bucket to write to".into());
        };
        let prefix = match parameters.get("Prefix") {
            Some(Value::String(p)) if !p.is_empty() && !p.ends_with('/') => format!("{p}/"),
            Some(Value::String(p)) => p.to_string(),
            _ => String::new(),
        };
        let id = map_run.rsplit(':').next().unwrap_or_default();
        let info = self.info;
        let label = map_run
            .rsplit_once(':')
            .and_then(|(head, _)| head.rsplit_once('/'))
            .map_or("", |(_, label)| label);
        let machine = format!(
            "arn:aws:states:{}:{}:stateMachine:{}/{label}",
            info.region, info.account, info.state_machine_name
        );
        let (start, stop) = (iso_time(layout.started_ms), iso_time(self.now_ms));
        let (mut succeeded, mut failed) = (Vec::new(), Vec::new());
        for (index, output) in results.as_array().unwrap_or_default().iter().enumerate() {
            let name = crate::intrinsics::uuid_v4(a);
            let input = layout
                .inputs
                .get(index)
                .copied()
                .filter(|v| !v.is_null())
                .or_else(|| layout.items.get(index).copied())
                .unwrap_or(Value::Null);
            let mut entry = JsonMap::new();
            entry.insert(
                "ExecutionArn".into(),
                json!(format!(
                    "arn:aws:states:{}:{}:execution:{}/{label}:{name}",
                    info.region, info.account, info.state_machine_name
                )),
            );
            entry.insert("Input".into(), json!(input.to_json_string()));
            entry.insert("InputDetails".into(), json!({"Included": true}));
            entry.insert("Name".into(), json!(name));
            let is_failed = layout.failed.get(index).copied().unwrap_or(false);
            if is_failed {
                for member in ["Error", "Cause"] {
                    if let Some(Value::String(text)) = output.get(member) {
                        entry.insert(member.into(), json!(text));
                    }
                }
            } else {
                entry.insert("Output".into(), json!(output.to_json_string()));
                entry.insert("OutputDetails".into(), json!({"Included": true}));
            }
            entry.insert("RedriveCount".into(), json!(0));
            if is_failed {
                entry.insert("RedriveStatus".into(), json!("REDRIVABLE"));
            } else {
                entry.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
                entry.insert(
                    "RedriveStatusReason".into(),
                    json!("Execution is SUCCEEDED and cannot be redriven"),
                );
            }
            entry.insert("StartDate".into(), json!(start));
            entry.insert("StateMachineArn".into(), json!(machine));
            entry.insert("Status".into(), json!(if is_failed { "FAILED" } else { "SUCCEEDED" }));
            entry.insert("StopDate".into(), json!(stop));
            match is_failed {
                true => failed.push(Json::Object(entry)),
                false => succeeded.push(Json::Object(entry)),
            }
        }
        let mut puts = Vec::new();
        let mut listed = JsonMap::new();
        for (status, entries) in [("FAILED", failed), ("PENDING", Vec::new()), ("SUCCEEDED", succeeded)] {
            let mut files = Vec::new();
            if !entries.is_empty() {
                let key = format!("{prefix}{id}/{status}_0.json");
                let body = Json::Array(entries);
                files.push(json!({"Key": key, "Size": body.to_string().len()}));
                puts.push(json!({"Bucket": bucket, "Key": key, "Body": body}));
            }
            listed.insert(status.into(), Json::Array(files));
        }
        let manifest_key = format!("{prefix}{id}/manifest.json");
        let manifest = json!({"DestinationBucket": bucket, "MapRunArn": map_run, "ResultFiles": listed});
        puts.push(json!({"Bucket": bucket, "Key": manifest_key, "Body": manifest}));
        let puts = a.alloc_slice_fill_iter(puts.iter().map(|put| Value::from_serde(a, put)));
        let output = json!({"MapRunArn": map_run, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}});
        Ok((puts, Value::from_serde(a, &output)))
    }
}

/// What a map run's children were given and how they ended, for the files its
/// `ResultWriter` writes.
pub(super) struct ResultLayout<'a> {
    /// The state's effective input (what the writer's `Parameters` read).
    pub(super) input: Value<'a>,
    /// The items (or batches).
    pub(super) items: &'a [Value<'a>],
    /// Each child's input when it differs from its item (`ItemSelector`); `Null` otherwise.
    pub(super) inputs: &'a [Value<'a>],
    /// Which children failed (tolerated failures).
    pub(super) failed: &'a [bool],
    /// When the map run started (epoch ms).
    pub(super) started_ms: i64,
}

/// What an answer of a reading gives.
enum Read<'a> {
    /// Another call: the reading, the resource and the request.
    More(Box<Reading<'a>>, &'static str, Value<'a>),
    /// All the items.
    Items(&'a [Value<'a>]),
}

/// `first` then `second`, in `arena`.
fn concat<'a>(arena: &'a Arena, first: &'a [Value<'a>], second: &'a [Value<'a>]) -> &'a [Value<'a>] {
    let all: Vec<Value<'a>> = first.iter().chain(second).copied().collect();
    arena.alloc_slice_copy(&all)
}

/// `States.ItemReaderFailed` with `cause`.
fn reader_failure(cause: String) -> Failure {
    Failure::new(Some(Cow::Borrowed(names::ITEM_READER_FAILED)), Some(cause))
}

/// `States.ResultWriterFailed` with `cause`.
fn writer_failure(cause: String) -> Failure {
    Failure::new(Some(Cow::Borrowed(names::RESULT_WRITER_FAILED)), Some(cause))
}

/// A failed call's cause (its error name when it has no cause).
fn failure_text(failure: &Failure) -> String {
    match (&failure.error, &failure.cause) {
        (_, Some(cause)) if !cause.is_empty() => cause.clone(),
        (Some(error), _) => error.to_string(),
        _ => "The call failed.".into(),
    }
}

/// The text of an object `GetObject` read (its `Body`; a handler may answer the text alone).
fn body_text(answer: Value<'_>) -> Result<String, String> {
    match answer.get("Body").unwrap_or(answer) {
        Value::String(text) => Ok(text.to_string()),
        other => Err(format!("The object read has no text body (got {})", other.type_name())),
    }
}

/// The objects of a `ListObjectsV2` page as a Distributed Map's items: `Etag`, `Key`,
/// `LastModified` (epoch seconds), `Size` and `StorageClass`.
fn listed_objects(page: &Json) -> Vec<Json> {
    let Some(Json::Array(contents)) = page.get("Contents") else {
        return Vec::new();
    };
    contents
        .iter()
        .map(|object| {
            let mut item = JsonMap::new();
            if let Some(etag) = object.get("ETag") {
                item.insert("Etag".into(), etag.clone());
            }
            if let Some(key) = object.get("Key") {
                item.insert("Key".into(), key.clone());
            }
            if let Some(Json::String(modified)) = object.get("LastModified") {
                let seconds = crate::timestamp::parse_rfc3339(modified).map(|t| t.epoch_seconds());
                item.insert(
                    "LastModified".into(),
                    seconds.map_or(Json::String(modified.clone()), Json::from),
                );
            }
            if let Some(size) = object.get("Size") {
                item.insert("Size".into(), size.clone());
            }
            if let Some(class) = object.get("StorageClass") {
                item.insert("StorageClass".into(), class.clone());
            }
            Json::Object(item)
        })
        .collect()
}

/// The items of an object's text in the reader's `InputType` (JSON when not given).
pub(crate) fn parse_items(
    input_type: Option<InputType>,
    config: &ReaderConfig,
    text: &str,
) -> Result<Vec<Json>, String> {
    match input_type.unwrap_or(InputType::Json) {
        InputType::Json => match serde_json::from_str::<Json>(text) {
            Ok(Json::Array(items)) => Ok(items),
            Ok(_) => Err("Attempting to map over non-iterable node.".into()),
            Err(e) => Err(format!("The object is not valid JSON: {e}")),
        },
        InputType::Jsonl => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| {
                serde_json::from_str(line).map_err(|e| format!("Line {} of the object is not valid JSON: {e}", n + 1))
            })
            .collect(),
        InputType::Csv => {
            let mut rows = csv_rows(text, config.csv_delimiter.unwrap_or(b','))?.into_iter();
            let headers = match config.csv_headers_given {
                true => config.csv_headers.clone(),
                false => rows.next().unwrap_or_default(),
            };
            let mut unique: Vec<&String> = headers.iter().collect();
            unique.sort();
            unique.dedup();
            if unique.len() < headers.len() {
                return Err("CSV headers cannot contain duplicates.".into());
            }
            // The members in the order AWS gives them: names that are not all letters
            // first, then the others, each by name.
            let mut order: Vec<usize> = (0..headers.len()).collect();
            order.sort_by(|&x, &y| {
                let key = |h: &String| (!h.is_empty() && h.chars().all(char::is_alphabetic), h.clone());
                key(&headers[x]).cmp(&key(&headers[y]))
            });
            Ok(rows
                .map(|row| {
                    let members: JsonMap<String, Json> = order
                        .iter()
                        .map(|&i| {
                            (
                                headers[i].clone(),
                                Json::String(row.get(i).cloned().unwrap_or_default()),
                            )
                        })
                        .collect();
                    Json::Object(members)
                })
                .collect())
        }
        InputType::Manifest => Err("A manifest lists the files that hold the items".into()),
    }
}

/// An inventory's data files (bucket, key) and its columns.
type Inventory = (Vec<(String, String)>, Vec<String>);

/// The data files (bucket, key) and the columns of an S3 inventory's `manifest.json`.
fn inventory_files(text: &str) -> Result<Inventory, String> {
    let manifest: Json = serde_json::from_str(text).map_err(|e| format!("The manifest is not valid JSON: {e}"))?;
    if manifest.get("fileFormat").and_then(Json::as_str) != Some("CSV") {
        return Err("The manifest's fileFormat must be CSV".into());
    }
    let bucket = manifest
        .get("destinationBucket")
        .and_then(Json::as_str)
        .map(|b| b.rsplit(":::").next().unwrap_or(b).to_string())
        .ok_or("The manifest has no destinationBucket")?;
    let columns = manifest
        .get("fileSchema")
        .and_then(Json::as_str)
        .ok_or("The manifest has no fileSchema")?
        .split(',')
        .map(|c| c.trim().to_string())
        .collect();
    let mut files = Vec::new();
    for file in manifest.get("files").and_then(Json::as_array).into_iter().flatten() {
        let key = file
            .get("key")
            .and_then(Json::as_str)
            .ok_or("A file of the manifest has no key")?;
        if key.ends_with(".gz") {
            return Err(format!(
                "The inventory file '{key}' is compressed: quickstep reads uncompressed CSV inventory files only"
            ));
        }
        files.push((bucket.clone(), key.to_string()));
    }
    Ok((files, columns))
}

/// The rows of CSV text (RFC 4180: fields in double quotes may hold delimiters, line breaks
/// and doubled quotes); empty lines are skipped.
pub(crate) fn csv_rows(text: &str, delimiter: u8) -> Result<Vec<Vec<String>>, String> {
    let delimiter = delimiter as char;
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut line_has_content = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                line_has_content = true;
            }
            c if c == delimiter => {
                row.push(std::mem::take(&mut field));
                line_has_content = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if line_has_content || !field.is_empty() {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                line_has_content = false;
            }
            c => {
                field.push(c);
                line_has_content = true;
            }
        }
    }
    if quoted {
        return Err("The CSV text ends inside a quoted field".into());
    }
    if line_has_content || !field.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// `$$.Map.Item.Source` of a Map whose `ItemReader` calls `resource` with `parameters`:
/// `s3://BUCKET` for a listing (`s3:listObjectsV2`), `s3://BUCKET/KEY` for an object read;
/// `None` when the parameters name no bucket (or no key, for an object read).
fn reader_source<'a>(arena: &'a Arena, resource: &str, parameters: Value<'a>) -> Option<&'a str> {
    let member = |name: &str| match parameters.get(name) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let bucket = member("Bucket")?;
    if resource.ends_with(":listObjectsV2") {
        return Some(bumpalo::format!(in arena, "s3://{}", bucket).into_bump_str());
    }
    let key = member("Key")?;
    Some(bumpalo::format!(in arena, "s3://{}/{}", bucket, key).into_bump_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(given: Option<&[&str]>) -> ReaderConfig {
        ReaderConfig {
            input_type: Some(InputType::Csv),
            csv_headers_given: given.is_some(),
            csv_headers: given.unwrap_or_default().iter().map(|h| h.to_string()).collect(),
            ..ReaderConfig::default()
        }
    }

    #[test]
    fn csv_rows_follow_aws_recorded_shapes() {
        // LocalStack's recording of AWS: extra fields dropped, missing ones "", members
        // ordered with the names that are not all letters first.
        let text = "H1,\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n";
        let items = parse_items(Some(InputType::Csv), &config(None), text).unwrap();
        assert_eq!(
            Json::Array(items).to_string(),
            r#"[{"":"Value5","H1":"Value4"},{"":"","H1":""},{"":"1","H1":"true"},{"":"None","H1":"Null"},{"":"","H1":"   "}]"#
        );
        let text = "0,True,{}\nValue4,Value5,Value6\n";
        let items = parse_items(Some(InputType::Csv), &config(None), text).unwrap();
        assert_eq!(
            Json::Array(items).to_string(),
            r#"[{"0":"Value4","{}":"Value6","True":"Value5"}]"#
        );
        let items = parse_items(Some(InputType::Csv), &config(Some(&["H1"])), "a,b\nc,d\n").unwrap();
        assert_eq!(Json::Array(items).to_string(), r#"[{"H1":"a"},{"H1":"c"}]"#);
        let duplicate = parse_items(Some(InputType::Csv), &config(Some(&["a", "a"])), "1,2\n");
        assert_eq!(duplicate.unwrap_err(), "CSV headers cannot contain duplicates.");
    }

    #[test]
    fn csv_quotes_and_delimiters() {
        let rows = csv_rows("a|\"b|c\"|\"say \"\"hi\"\"\"\r\nx|\"multi\nline\"|\n", b'|').unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b|c".into(), "say \"hi\"".into()],
                vec!["x".into(), "multi\nline".into(), "".into()],
            ]
        );
        assert!(csv_rows("\"open", b',').is_err());
    }

    #[test]
    fn json_and_json_lines() {
        let config = ReaderConfig::default();
        assert_eq!(
            parse_items(Some(InputType::Json), &config, r#"{"a":1}"#).unwrap_err(),
            "Attempting to map over non-iterable node."
        );
        assert_eq!(parse_items(None, &config, "[1,2]").unwrap(), vec![json!(1), json!(2)]);
        assert_eq!(
            parse_items(Some(InputType::Jsonl), &config, "{\"a\":1}\n\n[2]\n").unwrap(),
            vec![json!({"a": 1}), json!([2])]
        );
        assert!(parse_items(Some(InputType::Jsonl), &config, "{\"a\":1}\nnope\n")
            .unwrap_err()
            .starts_with("Line 2 "));
    }

    #[test]
    fn inventory_manifests() {
        let manifest = r#"{"sourceBucket":"src","destinationBucket":"arn:aws:s3:::inv","fileFormat":"CSV",
            "fileSchema":"Bucket, Key, Size","files":[{"key":"data/1.csv","size":10,"MD5checksum":"x"}]}"#;
        let (files, columns) = inventory_files(manifest).unwrap();
        assert_eq!(files, vec![("inv".to_string(), "data/1.csv".to_string())]);
        assert_eq!(columns, vec!["Bucket", "Key", "Size"]);
        assert!(inventory_files(&manifest.replace("1.csv", "1.csv.gz"))
            .unwrap_err()
            .contains("compressed"));
    }

    #[test]
    fn listed_objects_are_items() {
        let page = json!({"Contents": [{"ETag": "\"e\"", "Key": "k", "LastModified": "2024-01-02T03:04:05.000Z",
            "Size": 3, "StorageClass": "STANDARD"}]});
        assert_eq!(
            Json::Array(listed_objects(&page)).to_string(),
            r#"[{"Etag":"\"e\"","Key":"k","LastModified":1704164645,"Size":3,"StorageClass":"STANDARD"}]"#
        );
    }
}
