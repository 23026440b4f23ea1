//! The shared benchmark workloads (`tests/data/workloads`): loading a workload with its input and
//! expected output, W1's task handlers, the output check, and W1 written by hand
//! ([`handwritten_w1`]). Used by `loadgen`, the benches and the tests, so that all of them
//! measure exactly the same thing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::machine::{DefinitionError, Machine};
use crate::tasks::{TaskFailure, TaskHandler, TaskRegistry};
use crate::value::{with_member, Arena, Value};

/// The six workloads, in order.
pub const NAMES: [&str; 6] = [
    "w1_order",
    "w2_pass_chain",
    "w3_choice_heavy",
    "w4_map100",
    "w5_parallel3",
    "w6_intrinsics",
];

/// One workload: definition, input and expected output.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Its name (`w1_order`, or the file stem).
    pub name: String,
    /// The definition text.
    pub definition: String,
    /// The input (JSON text).
    pub input: String,
    /// The expected output, when a `<name>.expected.json` exists.
    pub expected: Option<serde_json::Value>,
    /// The first output text found equivalent to `expected`: later outputs that are the same
    /// text pass with one comparison instead of a parse (shared by clones).
    verified_text: Arc<OnceLock<Box<str>>>,
}

/// Where the workloads are: `$QUICKSTEP_WORKLOADS`, else `tests/data/workloads` in this crate's
/// source tree.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("QUICKSTEP_WORKLOADS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/workloads"),
    }
}

impl Workload {
    /// Loads a workload by name (`w1_order`, found in `dir`) or by the path of its
    /// `.asl.json` file. The input is `input_map100.json` for map workloads, `input.json`
    /// otherwise, from the same folder.
    pub fn load(name_or_file: &str, dir: &Path) -> Result<Workload, String> {
        let file = if name_or_file.ends_with(".json") {
            PathBuf::from(name_or_file)
        } else {
            dir.join(format!("{name_or_file}.asl.json"))
        };
        let folder = file.parent().unwrap_or(Path::new("."));
        let file_name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let name = file_name
            .strip_suffix(".asl.json")
            .or_else(|| file_name.strip_suffix(".json"))
            .unwrap_or(file_name)
            .to_string();
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let definition = read(&file)?;
        let input_file = if name.contains("map100") {
            "input_map100.json"
        } else {
            "input.json"
        };
        let input = read(&folder.join(input_file))?;
        let expected_path = folder.join(format!("{name}.expected.json"));
        let expected = match std::fs::read_to_string(&expected_path) {
            Ok(text) => Some(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", expected_path.display()))?),
            Err(_) => None,
        };
        Ok(Workload {
            name,
            definition,
            input,
            expected,
            verified_text: Arc::default(),
        })
    }

    /// Compiles the workload with [`w1_tasks`] bound.
    pub fn machine(&self) -> Result<Machine, DefinitionError> {
        Machine::new(&self.definition, w1_tasks())
    }

    /// Compiles the workload with `tasks` bound (for example [`Faults::w1_tasks`]).
    pub fn machine_with(&self, tasks: TaskRegistry) -> Result<Machine, DefinitionError> {
        Machine::new(&self.definition, tasks)
    }

    /// Whether `output` (JSON text) is the expected output (true when none is known): the
    /// same JSON as `<name>.expected.json`, member order aside. An output that is exactly the
    /// text of one verified before passes without being parsed.
    pub fn output_ok(&self, output: &str) -> bool {
        let Some(expected) = &self.expected else {
            return true;
        };
        if self.verified_text.get().is_some_and(|text| **text == *output) {
            return true;
        }
        let ok = serde_json::from_str::<serde_json::Value>(output).is_ok_and(|o| json_equivalent(&o, expected));
        if ok {
            let _ = self.verified_text.set(output.into());
        }
        ok
    }
}

/// W1's task handlers: each returns its input with one member added.
pub fn w1_tasks() -> TaskRegistry {
    w1_tasks_wrapped(|adds| adds)
}

/// W1's handlers, each passed through `wrap`.
fn w1_tasks_wrapped<H: TaskHandler + 'static>(wrap: impl Fn(Adds) -> H) -> TaskRegistry {
    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:";
    let adds = |key: &'static str, value: Value<'static>| wrap(Adds { key, value });
    let mut tasks = TaskRegistry::new();
    tasks
        .register_handler(format!("{ARN}ValidateOrder"), adds("validated", Value::Bool(true)))
        .register_handler(format!("{ARN}ProcessPayment"), adds("paymentId", Value::String("p-1")))
        .register_handler(format!("{ARN}ShipOrder"), adds("shipped", Value::Bool(true)))
        .register_handler(format!("{ARN}OutOfStock"), adds("backordered", Value::Bool(true)));
    tasks
}

/// W1 as a good engineer writes it by hand on serde_json, with no interpreter: the input
/// cloned (a handler owns its input) and edited in place, the Choice an `if`. The baseline
/// that the runtime's targets are set against; the benches and `loadgen --handwritten` run it
/// beside quickstep.
pub fn handwritten_w1(input: &serde_json::Value) -> serde_json::Value {
    let mut order = input.clone();
    if let Some(fields) = order.as_object_mut() {
        handwritten_w1_edit(fields);
    }
    order
}

/// [`handwritten_w1`] with JSON text in and out: `input` parsed, edited and written to `out`
/// (cleared first).
pub fn handwritten_w1_text(input: &str, out: &mut Vec<u8>) {
    let mut order: serde_json::Value = serde_json::from_str(input).unwrap_or(serde_json::Value::Null);
    if let Some(fields) = order.as_object_mut() {
        handwritten_w1_edit(fields);
    }
    out.clear();
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &order);
}

/// W1's four tasks and its Choice on the order's members.
fn handwritten_w1_edit(fields: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value as Json;
    fields.insert("validated".into(), Json::Bool(true));
    if fields.get("inStock") == Some(&Json::Bool(true)) {
        fields.insert("paymentId".into(), Json::String("p-1".into()));
        fields.insert("shipped".into(), Json::Bool(true));
    } else {
        fields.insert("backordered".into(), Json::Bool(true));
    }
}

/// Faulty W1 handlers, to show that faults are contained: one task call in `every`
/// misbehaves, in turn panicking, failing (error [`Faults::ERROR`]) or returning a result
/// over the 256 KiB payload limit (`States.DataLimitExceeded`). W1 has no Retry or Catch,
/// so each fault fails exactly one execution: at the end, the failed executions must equal
/// [`Faults::injected`].
#[derive(Clone, Debug)]
pub struct Faults {
    every: u64,
    calls: Arc<AtomicU64>,
    injected: Arc<AtomicU64>,
}

impl Faults {
    /// The error name of the failing fault.
    pub const ERROR: &'static str = "InjectedFault";

    /// One task call in `every` (at least 1) misbehaves.
    pub fn new(every: u64) -> Faults {
        Faults {
            every: every.max(1),
            calls: Arc::default(),
            injected: Arc::default(),
        }
    }

    /// W1's handlers with these faults.
    pub fn w1_tasks(&self) -> TaskRegistry {
        w1_tasks_wrapped(|adds| Faulty {
            adds,
            faults: self.clone(),
        })
    }

    /// The faults injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }

    /// Whether a failed execution's error is one these faults cause.
    pub fn caused(error: Option<&str>) -> bool {
        matches!(
            error,
            Some(Faults::ERROR | "States.TaskFailed" | "States.DataLimitExceeded")
        )
    }
}

/// A W1 handler that misbehaves when its [`Faults`] say so.
struct Faulty {
    adds: Adds,
    faults: Faults,
}

impl TaskHandler for Faulty {
    fn call<'a>(&self, input: Value<'a>, arena: &'a Arena) -> Result<Value<'a>, TaskFailure> {
        let call = self.faults.calls.fetch_add(1, Ordering::Relaxed);
        if call % self.faults.every != self.faults.every - 1 {
            return self.adds.call(input, arena);
        }
        self.faults.injected.fetch_add(1, Ordering::SeqCst);
        match (call / self.faults.every) % 3 {
            0 => panic!("injected fault"),
            1 => Err(TaskFailure::new(Faults::ERROR, "An injected fault.")),
            _ => {
                let oversized = arena.alloc_slice_fill_copy(300 * 1024, b'x');
                Ok(Value::String(std::str::from_utf8(oversized).unwrap_or_default()))
            }
        }
    }
}

/// JSON equality with numbers compared by value (`10` equals `10.0`) and object members in
/// any order.
pub fn json_equivalent(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equivalent(x, y)),
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equivalent(v, w)))
        }
        _ => a == b,
    }
}

/// A W1 handler: returns its input with `key: value` added.
struct Adds {
    key: &'static str,
    value: Value<'static>,
}

impl crate::tasks::TaskHandler for Adds {
    fn call<'a>(&self, input: Value<'a>, arena: &'a Arena) -> Result<Value<'a>, crate::tasks::TaskFailure> {
        Ok(with_member(arena, input, self.key, self.value))
    }
}
