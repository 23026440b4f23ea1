//! Compiles a validated [`model::StateMachine`] into a [`Program`]: states become indices,
//! every path, template, intrinsic call, Choice rule and JSONata expression is parsed once.
//! Syntax errors in those are reported here, with the JSON Pointer of their field.

use std::collections::HashMap;

use crate::choice;
use crate::consts::Constants;
use crate::history::{state_event, task_resource_parts};
use crate::model::{self, Nullable, NumberSource, QueryLanguage, StateKind, WaitFor};
use crate::path::Path;
use crate::payload::{jsonata_inner, JsonataExpr, JsonataTemplate, NumberSpec, Payload, StringSource};
use crate::program::*;
use crate::template::{PathOrCall, Template};
use crate::timestamp::parse_timestamp;

/// An error found while compiling: an expression that does not parse, or a reference that
/// does not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// JSON Pointer of the field, such as `/States/Pass/Parameters`.
    pub location: String,
    /// What is wrong, in AWS's words where AWS is recorded.
    pub message: String,
    /// The member at fault inside the field, when there is one (`/States/Pass/Parameters/a.$`
    /// for a bad path in a payload template), in the same slash form: where a line and column
    /// should point, though AWS reports `location`.
    pub member: Option<String>,
}

/// Compiles a machine. Reports every expression error at once.
pub fn compile(machine: &model::StateMachine) -> Result<Program, Vec<CompileError>> {
    let mut c = Compiler {
        consts: Constants::new(),
        states: Vec::new(),
        graphs: Vec::new(),
        resources: Vec::new(),
        resource_ids: HashMap::new(),
        task_count: 0,
        errors: Vec::new(),
        default_language: machine.query_language.unwrap_or_default(),
    };
    c.graph(&machine.graph);
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let uses_context = reads_context(machine);
    let mut states: Vec<StateDef> = c
        .states
        .into_iter()
        .map(|s| s.expect("every reserved state id is compiled"))
        .collect();
    for state in &mut states {
        state.issues_token = uses_context
            && !state.chained
            && matches!(&state.op, Op::Task(task) if task.resource_name.ends_with(".waitForTaskToken"));
    }
    let mut graphs = c.graphs;
    for graph in &mut graphs {
        let start = &states[graph.start.0 as usize];
        graph.frameless = !uses_context && start.pure_pass && matches!(start.next, Next::End);
    }
    Ok(Program {
        states,
        graphs,
        resources: c.resources,
        task_count: c.task_count,
        timeout_seconds: machine.timeout_seconds,
        uses_context,
        consts: c.consts,
    })
}

/// Whether any field of the machine can read the context object: `$$` in a JSONPath path or
/// intrinsic, or in JSONata any use of `$states` other than `$states.input`,
/// `$states.result` and `$states.errorOutput` (`$states.context`, `$states` as a whole,
/// `$lookup($states, ...)`). The model's `Debug` text holds every string of the definition,
/// so one scan answers it; when in doubt the context is built.
fn reads_context(machine: &model::StateMachine) -> bool {
    let text = format!("{machine:?}");
    if text.contains("$$") {
        return true;
    }
    text.match_indices("$states").any(|(i, _)| {
        let rest = &text[i + "$states".len()..];
        !([".input", ".result", ".errorOutput"].iter().any(|field| {
            rest.strip_prefix(field)
                .is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        }))
    })
}

struct Compiler {
    consts: Constants,
    states: Vec<Option<StateDef>>,
    graphs: Vec<GraphDef>,
    resources: Vec<&'static str>,
    resource_ids: HashMap<&'static str, ResourceId>,
    task_count: u32,
    errors: Vec<CompileError>,
    default_language: QueryLanguage,
}

/// Names of a graph's states, for resolving `Next`, `Default` and Catch targets.
struct Names(HashMap<String, StateId>);

impl Compiler {
    fn error(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.errors.push(CompileError {
            location: location.into(),
            message: message.into(),
            member: None,
        });
    }

    fn graph(&mut self, graph: &model::Graph) -> GraphId {
        let first = self.states.len() as u32;
        let names = Names(
            graph
                .states
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), StateId(first + i as u32)))
                .collect(),
        );
        self.states.extend(graph.states.iter().map(|_| None));
        let id = GraphId(self.graphs.len() as u32);
        let start = self.resolve(&names, &graph.start_at, &format!("{}/StartAt", graph.pointer));
        self.graphs.push(GraphDef {
            start,
            frameless: false,
        });
        for (i, state) in graph.states.iter().enumerate() {
            let def = self.state(state, &names);
            self.states[first as usize + i] = Some(def);
        }
        id
    }

    fn resolve(&mut self, names: &Names, name: &str, location: &str) -> StateId {
        match names.0.get(name) {
            Some(id) => *id,
            None => {
                self.error(location, format!("Missing 'Next' target: {name}"));
                StateId(0)
            }
        }
    }

    fn state(&mut self, state: &model::State, names: &Names) -> StateDef {
        let language = state.query_language.unwrap_or(self.default_language);
        let at = |field: &str| format!("{}/{field}", state.pointer);
        let jsonpath = language == QueryLanguage::JsonPath;
        let next = match &state.transition {
            Some(model::Transition::Next(name)) => Next::State(self.resolve(names, name, &at("Next"))),
            _ => Next::End,
        };
        let parameters_field = if jsonpath {
            state.parameters.as_ref()
        } else {
            state.arguments.as_ref()
        };
        let parameters = match &state.kind {
            // A Map's Parameters is its (older) ItemSelector, not its own effective input.
            StateKind::Map(_) => None,
            _ => parameters_field.and_then(|p| {
                self.payload(
                    p,
                    language,
                    "Arguments",
                    &at(if jsonpath { "Parameters" } else { "Arguments" }),
                )
            }),
        };
        let op = self.op(state, names, language);
        let mut def = StateDef {
            name: self.consts.intern(&state.name),
            type_name: state.kind.type_name(),
            entered_event: state_event(state.kind.type_name(), true),
            exited_event: state_event(state.kind.type_name(), false),
            language,
            input_path: self.path_spec(&state.input_path, &at("InputPath")),
            parameters,
            result_selector: state
                .result_selector
                .as_ref()
                .and_then(|p| self.payload(p, language, "ResultSelector", &at("ResultSelector"))),
            result_path: self.path_spec(&state.result_path, &at("ResultPath")),
            output_path: self.path_spec(&state.output_path, &at("OutputPath")),
            output: state
                .output
                .as_ref()
                .and_then(|p| self.payload(p, QueryLanguage::Jsonata, "Output", &at("Output"))),
            assign: state
                .assign
                .as_ref()
                .and_then(|p| self.payload(p, language, "Assign", &at("Assign"))),
            next,
            retry: state.retry.iter().map(|r| self.retrier(r)).collect(),
            catch: state.catch.iter().map(|c| self.catcher(c, names, language)).collect(),
            op,
            plain_io: false,
            pure_pass: false,
            parameters_pass: false,
            plain_task: false,
            plain_choice: false,
            plain_succeed: false,
            chained: false,
            issues_token: false,
        };
        def.plain_io = language == QueryLanguage::JsonPath
            && [&def.input_path, &def.result_path, &def.output_path]
                .iter()
                .all(|spec| matches!(spec, PathSpec::Whole))
            && def.parameters.is_none()
            && def.result_selector.is_none()
            && def.assign.is_none()
            // a Pass's Result is checked against the payload limit
            && !matches!(def.op, Op::Pass { result: Some(_) });
        def.pure_pass =
            language == QueryLanguage::JsonPath && def.assign.is_none() && matches!(def.op, Op::Pass { .. });
        def.plain_task =
            def.plain_io && matches!(&def.op, Op::Task(task) if task.timeout.is_none() && task.heartbeat.is_none());
        def.plain_choice = def.plain_io
            && matches!(&def.op, Op::Choice { rules, .. } if rules.iter().all(|rule| rule.assign.is_none()));
        def.plain_succeed = language == QueryLanguage::JsonPath
            && matches!(def.input_path, PathSpec::Whole)
            && def.assign.is_none()
            && matches!(def.op, Op::Succeed);
        def.chained = def.pure_pass || def.plain_choice || def.plain_succeed || def.plain_task;
        def.parameters_pass = def.pure_pass
            && [&def.input_path, &def.output_path]
                .iter()
                .all(|spec| matches!(spec, PathSpec::Whole))
            && matches!(def.parameters, Some(Payload::Template(_)))
            && matches!(def.op, Op::Pass { result: None });
        def
    }

    fn op(&mut self, state: &model::State, names: &Names, language: QueryLanguage) -> Op {
        let at = |field: &str| format!("{}/{field}", state.pointer);
        match &state.kind {
            StateKind::Pass { result } => Op::Pass {
                result: result.as_ref().map(|r| self.consts.json(r)),
            },
            StateKind::Task(task) => {
                let resource_name = self.consts.intern(&task.resource);
                let next_id = ResourceId(self.resources.len() as u32);
                let resource = *self.resource_ids.entry(resource_name).or_insert(next_id);
                if resource == next_id {
                    self.resources.push(resource_name);
                }
                let flavor = if task.resource.starts_with("arn:aws:states:::lambda:invoke") {
                    TaskFlavor::LambdaInvoke
                } else if task.resource.starts_with("arn:aws:lambda:") {
                    TaskFlavor::LambdaArn
                } else if crate::validate::is_activity_arn(&task.resource) {
                    TaskFlavor::Activity
                } else {
                    TaskFlavor::Plain
                };
                let (resource_type, resource_action) = task_resource_parts(resource_name);
                let slot = self.task_count;
                self.task_count += 1;
                Op::Task(Box::new(TaskDef {
                    resource,
                    resource_name,
                    slot,
                    timeout: task
                        .timeout
                        .as_ref()
                        .map(|t| self.number(t, "TimeoutSeconds", &at("TimeoutSeconds"))),
                    heartbeat: task
                        .heartbeat
                        .as_ref()
                        .map(|t| self.number(t, "HeartbeatSeconds", &at("HeartbeatSeconds"))),
                    flavor,
                    resource_type,
                    resource_action,
                }))
            }
            StateKind::Choice { choices, default } => {
                let (conditions, rules): (Vec<_>, Vec<_>) = choices
                    .iter()
                    .filter_map(|rule| {
                        let mut jsonata = |text: &str| {
                            JsonataExpr::compile(text).map_err(|message| choice::ConditionError { message })
                        };
                        let condition = match choice::compile(&rule.condition, &mut self.consts, &mut jsonata) {
                            Ok(c) => c,
                            Err(e) => {
                                self.error(rule.pointer.clone(), e.message);
                                return None;
                            }
                        };
                        let def = ChoiceRuleDef {
                            next: self.resolve(names, &rule.next, &format!("{}/Next", rule.pointer)),
                            assign: rule
                                .assign
                                .as_ref()
                                .and_then(|p| self.payload(p, language, "Assign", &format!("{}/Assign", rule.pointer))),
                            output: rule.output.as_ref().and_then(|p| {
                                self.payload(p, QueryLanguage::Jsonata, "Output", &format!("{}/Output", rule.pointer))
                            }),
                        };
                        Some((condition, def))
                    })
                    .unzip();
                let default = default.as_ref().map(|d| self.resolve(names, d, &at("Default")));
                Op::Choice {
                    rules,
                    decision: choice::Decision::new(conditions),
                    default,
                }
            }
            StateKind::Wait(wait) => Op::Wait(match wait {
                WaitFor::Seconds(n) => WaitDef::Seconds(self.number(n, "Seconds", &at("Seconds"))),
                WaitFor::TimestampPath(p) => WaitDef::TimestampPath(self.path(p, &at("TimestampPath"))),
                WaitFor::Timestamp(t) if jsonata_inner(t).is_some() => {
                    match JsonataTemplate::compile(&serde_json::Value::String(t.clone()), &mut self.consts) {
                        Ok(tpl) => WaitDef::TimestampExpr(Payload::Jsonata(tpl, "Timestamp")),
                        Err(e) => {
                            self.error(at("Timestamp"), e);
                            WaitDef::Timestamp(0)
                        }
                    }
                }
                WaitFor::Timestamp(t) => match parse_timestamp(t) {
                    Some(nanos) => WaitDef::Timestamp((nanos / 1_000_000) as i64),
                    None => {
                        self.error(at("Timestamp"), "The value for the field 'Timestamp' must be a valid ISO-8601 extended offset date-time format string");
                        WaitDef::Timestamp(0)
                    }
                },
            }),
            StateKind::Succeed => Op::Succeed,
            StateKind::Fail(fail) => Op::Fail {
                error: self.string_source(
                    fail.error.as_deref(),
                    fail.error_path.as_deref(),
                    "Error",
                    "ErrorPath",
                    &state.pointer,
                ),
                cause: self.string_source(
                    fail.cause.as_deref(),
                    fail.cause_path.as_deref(),
                    "Cause",
                    "CausePath",
                    &state.pointer,
                ),
            },
            StateKind::Parallel { branches } => Op::Parallel {
                branches: branches.iter().map(|b| self.graph(b)).collect(),
            },
            StateKind::Map(map) => {
                let selector = map.item_selector.as_ref().or(state.parameters.as_ref());
                let items = map
                    .items
                    .as_ref()
                    .and_then(|i| self.payload(i, QueryLanguage::Jsonata, "Items", &at("Items")));
                let items_path = match &map.items_path {
                    Some(p) => PathSpec::Path(self.path(p, &at("ItemsPath"))),
                    None => PathSpec::Whole,
                };
                let processor = self.graph(&map.processor);
                let batcher = map.item_batcher.as_ref().map(|b| BatcherDef {
                    max_items_per_batch: b
                        .get("MaxItemsPerBatch")
                        .and_then(|v| v.as_f64())
                        .map(NumberSpec::Literal)
                        .or_else(|| {
                            b.get("MaxItemsPerBatchPath").and_then(|v| v.as_str()).map(|p| {
                                NumberSpec::Path(
                                    self.path(p, &at("ItemBatcher/MaxItemsPerBatchPath")),
                                    "MaxItemsPerBatchPath",
                                )
                            })
                        }),
                    max_input_bytes_per_batch: b
                        .get("MaxInputBytesPerBatch")
                        .and_then(|v| v.as_f64())
                        .map(NumberSpec::Literal)
                        .or_else(|| {
                            b.get("MaxInputBytesPerBatchPath").and_then(|v| v.as_str()).map(|p| {
                                NumberSpec::Path(
                                    self.path(p, &at("ItemBatcher/MaxInputBytesPerBatchPath")),
                                    "MaxInputBytesPerBatchPath",
                                )
                            })
                        }),
                    batch_input: b
                        .get("BatchInput")
                        .and_then(|bi| self.payload(bi, language, "BatchInput", &at("ItemBatcher/BatchInput"))),
                });
                let reader = map
                    .item_reader
                    .as_ref()
                    .and_then(|r| self.external_step(r, language, &at("ItemReader")));
                let writer = map
                    .result_writer
                    .as_ref()
                    .and_then(|w| self.external_step(w, language, &at("ResultWriter")));
                let reader_config = map
                    .item_reader
                    .as_ref()
                    .and_then(|r| r.get("ReaderConfig"))
                    .map(|c| self.reader_config(c, &at("ItemReader/ReaderConfig")))
                    .unwrap_or_default();
                Op::Map(Box::new(MapDef {
                    distributed: map.distributed || reader.is_some(),
                    label: self.consts.intern(map.label.as_deref().unwrap_or(&state.name)),
                    reader,
                    reader_config,
                    writer,
                    processor,
                    items_path,
                    items,
                    item_selector: selector
                        .and_then(|s| self.payload(s, language, "ItemSelector", &at("ItemSelector"))),
                    max_concurrency: map
                        .max_concurrency
                        .as_ref()
                        .map(|n| self.number(n, "MaxConcurrency", &at("MaxConcurrency"))),
                    tolerated_failure_count: map
                        .tolerated_failure_count
                        .as_ref()
                        .map(|n| self.number(n, "ToleratedFailureCount", &at("ToleratedFailureCount"))),
                    tolerated_failure_percentage: map
                        .tolerated_failure_percentage
                        .as_ref()
                        .map(|n| self.number(n, "ToleratedFailurePercentage", &at("ToleratedFailurePercentage"))),
                    batcher,
                }))
            }
        }
    }

    /// An `ItemReader`'s `ReaderConfig` (the parser has checked its fields' types and values).
    fn reader_config(&mut self, json: &serde_json::Value, location: &str) -> ReaderConfig {
        let text = |name: &str| json.get(name).and_then(|v| v.as_str());
        let input_type = text("InputType").and_then(|t| match t {
            "JSON" => Some(InputType::Json),
            "JSONL" => Some(InputType::Jsonl),
            "CSV" => Some(InputType::Csv),
            "MANIFEST" => Some(InputType::Manifest),
            _ => None,
        });
        let csv_delimiter = text("CSVDelimiter").and_then(|d| match d {
            "COMMA" => Some(b','),
            "PIPE" => Some(b'|'),
            "SEMICOLON" => Some(b';'),
            "SPACE" => Some(b' '),
            "TAB" => Some(b'\t'),
            _ => None,
        });
        let max_items = match (json.get("MaxItems"), text("MaxItemsPath")) {
            (Some(n), _) => n.as_f64().map(NumberSpec::Literal),
            (None, Some(p)) => Some(NumberSpec::Path(
                self.path(p, &format!("{location}/MaxItemsPath")),
                "MaxItemsPath",
            )),
            (None, None) => None,
        };
        ReaderConfig {
            input_type,
            csv_headers_given: text("CSVHeaderLocation") == Some("GIVEN"),
            csv_headers: json
                .get("CSVHeaders")
                .and_then(|h| h.as_array())
                .map(|h| h.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            csv_delimiter,
            max_items,
        }
    }

    /// An `ItemReader` or `ResultWriter` object (its `Resource` and its `Parameters` or
    /// `Arguments`); `None` without a `Resource` (a `ResultWriter` may only configure how
    /// results are written).
    fn external_step(
        &mut self,
        json: &serde_json::Value,
        language: QueryLanguage,
        location: &str,
    ) -> Option<ExternalStep> {
        let resource = json.get("Resource")?.as_str()?;
        let field = match language {
            QueryLanguage::JsonPath => "Parameters",
            QueryLanguage::Jsonata => "Arguments",
        };
        let parameters = json
            .get(field)
            .and_then(|p| self.payload(p, language, field, &format!("{location}/{field}")));
        Some(ExternalStep {
            resource: self.consts.intern(resource),
            parameters,
        })
    }

    fn path(&mut self, text: &str, location: &str) -> Path {
        match Path::parse(text) {
            Ok(p) => p,
            Err(e) => {
                self.error(location, e.message);
                Path::parse("$").expect("`$` is a path")
            }
        }
    }

    fn path_spec(&mut self, field: &Nullable<String>, location: &str) -> PathSpec {
        match field {
            Nullable::Absent => PathSpec::Whole,
            Nullable::Null => PathSpec::Null,
            Nullable::Value(text) => PathSpec::Path(self.path(text, location)),
        }
    }

    fn payload(
        &mut self,
        json: &serde_json::Value,
        language: QueryLanguage,
        field: &'static str,
        location: &str,
    ) -> Option<Payload> {
        let compiled = match language {
            QueryLanguage::JsonPath => match Template::compile(json, &mut self.consts) {
                Ok(template) => Ok(Payload::Template(template)),
                Err(e) => {
                    self.errors.push(CompileError {
                        location: location.to_string(),
                        member: Some(member_location(json, location, &e.pointer)),
                        message: e.message,
                    });
                    return None;
                }
            },
            QueryLanguage::Jsonata => {
                JsonataTemplate::compile(json, &mut self.consts).map(|t| Payload::Jsonata(t, field))
            }
        };
        match compiled {
            Ok(p) => Some(p),
            Err(message) => {
                self.error(location, message);
                None
            }
        }
    }

    fn number(&mut self, source: &NumberSource, field: &'static str, location: &str) -> NumberSpec {
        match source {
            NumberSource::Literal(n) => NumberSpec::Literal(*n),
            NumberSource::Path(p) => {
                let path_field: &'static str = self.consts.intern(&format!("{field}Path"));
                NumberSpec::Path(self.path(p, &format!("{location}Path")), path_field)
            }
            NumberSource::Jsonata(text) => match JsonataExpr::compile(text) {
                Ok(e) => NumberSpec::Jsonata(e, field),
                Err(message) => {
                    self.error(location, message);
                    NumberSpec::Literal(0.0)
                }
            },
        }
    }

    fn string_source(
        &mut self,
        literal: Option<&str>,
        path: Option<&str>,
        field: &'static str,
        path_field: &'static str,
        pointer: &str,
    ) -> Option<StringSource> {
        if let Some(text) = literal {
            if jsonata_inner(text).is_some() {
                return match JsonataExpr::compile(text) {
                    Ok(e) => Some(StringSource::Jsonata(e, field)),
                    Err(message) => {
                        self.error(format!("{pointer}/{field}"), message);
                        None
                    }
                };
            }
            return Some(StringSource::Literal(self.consts.intern(text)));
        }
        let text = path?;
        match PathOrCall::parse(text, &mut self.consts) {
            Ok(p) => Some(StringSource::Path(p, path_field)),
            Err(e) => {
                self.error(format!("{pointer}/{path_field}"), e.message);
                None
            }
        }
    }

    fn retrier(&mut self, r: &model::Retrier) -> RetryDef {
        RetryDef {
            error_equals: r.error_equals.iter().map(|e| self.consts.intern(e)).collect(),
            interval_seconds: r.interval_seconds,
            max_attempts: r.max_attempts,
            backoff_rate: r.backoff_rate,
            max_delay_seconds: r.max_delay_seconds,
            jitter_full: r.jitter_full,
        }
    }

    fn catcher(&mut self, c: &model::Catcher, names: &Names, language: QueryLanguage) -> CatchDef {
        let at = |field: &str| format!("{}/{field}", c.pointer);
        CatchDef {
            error_equals: c.error_equals.iter().map(|e| self.consts.intern(e)).collect(),
            next: self.resolve(names, &c.next, &at("Next")),
            result_path: self.path_spec(&c.result_path, &at("ResultPath")),
            output: c
                .output
                .as_ref()
                .and_then(|p| self.payload(p, QueryLanguage::Jsonata, "Output", &at("Output"))),
            assign: c
                .assign
                .as_ref()
                .and_then(|p| self.payload(p, language, "Assign", &at("Assign"))),
        }
    }
}

/// The slash-form location (`/States/A/Parameters/list[1]/b.$`) of the member at the JSON
/// Pointer `pointer` inside `template`, which is at `location`.
fn member_location(template: &serde_json::Value, location: &str, pointer: &str) -> String {
    let mut out = location.to_string();
    let mut node = template;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        match node {
            serde_json::Value::Array(items) => {
                let Ok(i) = token.parse::<usize>() else { break };
                out.push_str(&format!("[{i}]"));
                match items.get(i) {
                    Some(item) => node = item,
                    None => break,
                }
            }
            serde_json::Value::Object(members) => {
                out.push('/');
                out.push_str(&token);
                match members.get(&token) {
                    Some(member) => node = member,
                    None => break,
                }
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::program::GraphId;
    use crate::{Machine, TaskRegistry};

    /// The state `state` (JSON), the only state of a machine, compiled; `read` picks what
    /// the test looks at.
    fn compiled<T>(state: &str, read: impl Fn(&crate::program::StateDef) -> T) -> T {
        compiled_with(state, "", read)
    }

    /// Like [`compiled`], with more states after `P` (`others`: `, "name": {...}` ...).
    fn compiled_with<T>(state: &str, others: &str, read: impl Fn(&crate::program::StateDef) -> T) -> T {
        let definition = format!(r#"{{"StartAt": "P", "States": {{"P": {state}{others}}}}}"#);
        let machine = Machine::new(&definition, TaskRegistry::new()).unwrap();
        let program = machine.program();
        read(program.state(program.graph(GraphId(0)).start))
    }

    /// The `pure_pass` and `parameters_pass` flags of the state `state`.
    fn pass_flags(state: &str) -> (bool, bool) {
        compiled(state, |def| (def.pure_pass, def.parameters_pass))
    }

    #[test]
    fn passes_with_parameters_and_default_paths_are_marked() {
        let cases = [
            (
                r#"{"Type": "Pass", "Parameters": {"a.$": "$.x"}, "End": true}"#,
                (true, true),
            ),
            (r#"{"Type": "Pass", "End": true}"#, (true, false)),
            (
                r#"{"Type": "Pass", "Parameters": {"a.$": "$.x"}, "ResultPath": "$.r", "End": true}"#,
                (true, true),
            ),
            (
                r#"{"Type": "Pass", "Parameters": {"a.$": "$.x"}, "ResultPath": null, "End": true}"#,
                (true, true),
            ),
            (
                r#"{"Type": "Pass", "Parameters": {"a.$": "$.x"}, "InputPath": "$.i", "End": true}"#,
                (true, false),
            ),
            (
                r#"{"Type": "Pass", "Parameters": {"a.$": "$.x"}, "OutputPath": "$.a", "End": true}"#,
                (true, false),
            ),
            (
                r#"{"Type": "Pass", "Parameters": {"a": 1}, "Result": {"b": 2}, "End": true}"#,
                (true, false),
            ),
            (
                r#"{"Type": "Pass", "Parameters": {"a.$": "$.x"}, "Assign": {"v": 1}, "End": true}"#,
                (false, false),
            ),
            (
                r#"{"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"a": 1}, "End": true}"#,
                (false, false),
            ),
            (r#"{"Type": "Succeed"}"#, (false, false)),
        ];
        for (state, flags) in cases {
            assert_eq!(pass_flags(state), flags, "{state}");
        }
    }

    #[test]
    fn choices_and_succeeds_with_default_fields_are_chained() {
        let choice = |fields: &str| {
            format!(
                r#"{{"Type": "Choice", {fields} "Choices": [{{"Variable": "$.a", "IsPresent": true, "Next": "E"}}]}}"#
            )
        };
        let cases = [
            (choice(""), (true, false, true)),
            (choice(r#""Default": "E","#), (true, false, true)),
            (choice(r#""InputPath": "$.a","#), (false, false, false)),
            (choice(r#""OutputPath": "$.a","#), (false, false, false)),
            (choice(r#""Assign": {"v": 1},"#), (false, false, false)),
            (
                r#"{"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Assign": {"v": 1}, "Next": "E"}]}"#.into(),
                (false, false, false),
            ),
            (
                r#"{"Type": "Choice", "QueryLanguage": "JSONata", "Choices": [{"Condition": "{% true %}", "Next": "E"}]}"#.into(),
                (false, false, false),
            ),
            (r#"{"Type": "Succeed"}"#.into(), (false, true, true)),
            (r#"{"Type": "Succeed", "OutputPath": "$.a"}"#.into(), (false, true, true)),
            (r#"{"Type": "Succeed", "InputPath": "$.a"}"#.into(), (false, false, false)),
            (r#"{"Type": "Succeed", "QueryLanguage": "JSONata"}"#.into(), (false, false, false)),
            (r#"{"Type": "Pass", "End": true}"#.into(), (false, false, true)),
            (r#"{"Type": "Fail"}"#.into(), (false, false, false)),
        ];
        for (state, flags) in cases {
            let read = |def: &crate::program::StateDef| (def.plain_choice, def.plain_succeed, def.chained);
            let others = if state.contains("Choices") {
                r#", "E": {"Type": "Succeed"}"#
            } else {
                ""
            };
            assert_eq!(compiled_with(&state, others, read), flags, "{state}");
        }
    }

    #[test]
    fn tasks_with_default_fields_and_no_timeouts_are_plain() {
        let task = |fields: &str| {
            format!(r#"{{"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", {fields} "End": true}}"#)
        };
        let cases = [
            (task(""), true),
            (task(r#""Retry": [{"ErrorEquals": ["States.ALL"]}],"#), true),
            (task(r#""TimeoutSeconds": 5,"#), false),
            (task(r#""HeartbeatSecondsPath": "$.h","#), false),
            (task(r#""InputPath": "$.a","#), false),
            (task(r#""Parameters": {"a.$": "$.x"},"#), false),
            (task(r#""ResultPath": "$.r","#), false),
            (task(r#""ResultSelector": {"a.$": "$.x"},"#), false),
            (task(r#""QueryLanguage": "JSONata","#), false),
            (r#"{"Type": "Pass", "End": true}"#.to_string(), false),
        ];
        for (state, plain) in cases {
            assert_eq!(compiled(&state, |def| def.plain_task), plain, "{state}");
        }
    }
}
