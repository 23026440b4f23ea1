//! Runs every case of the JSONata test suite (`tests/data/jsonata-suite`) against the engine. Cases listed in
//! `tests/jsonata-suite-skip.txt` are skipped; any other failure fails the test.
//!
//! `JSONATA_CASE=group/case000` runs matching cases only and prints details.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quickstep::jsonata::{Bindings, Evaluated, Expression, Limits};
use quickstep::value::{Arena, Value};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

struct ObjectBindings<'a>(Value<'a>);

impl<'a> Bindings<'a> for ObjectBindings<'a> {
    fn lookup(&self, name: &str) -> Option<Value<'a>> {
        self.0.get(name)
    }
}

/// Inlines a case's `expr-file` as its `expr`.
fn with_expr_file(dir: &Path, mut case: serde_json::Value) -> serde_json::Value {
    if let Some(file) = case.get("expr-file").and_then(|f| f.as_str()) {
        if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
            case["expr"] = serde_json::Value::String(text);
        }
    }
    case
}

/// One case: its id and JSON.
fn load_cases(suite: &Path) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    let mut groups: Vec<_> = std::fs::read_dir(suite.join("groups"))
        .expect("suite groups directory")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    groups.sort();
    for g in groups {
        let gname = g.file_name().unwrap().to_string_lossy().to_string();
        let mut files: Vec<_> = std::fs::read_dir(&g)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let stem = f.file_stem().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&f).unwrap();
            let v: serde_json::Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                // e.g. lone UTF-16 surrogates, which Rust strings cannot hold
                Err(e) => serde_json::json!({ "unreadable": e.to_string() }),
            };
            match v {
                serde_json::Value::Array(items) => {
                    for (i, item) in items.into_iter().enumerate() {
                        out.push((format!("{gname}/{stem}[{i}]"), with_expr_file(&g, item)));
                    }
                }
                v => out.push((format!("{gname}/{stem}"), with_expr_file(&g, v))),
            }
        }
    }
    out
}

/// Runs one case: `Ok(())` if it passes, else a description of the failure.
fn run_case(case: &serde_json::Value, datasets: &BTreeMap<String, serde_json::Value>) -> Result<(), String> {
    if let Some(why) = case.get("unreadable") {
        return Err(format!("case file is not valid UTF-8 JSON: {why}"));
    }
    let expr_text = case["expr"].as_str().ok_or("no expr")?.to_string();
    let expr_text = expr_text.as_str();
    let arena = Arena::new();
    let input = if let Some(d) = case.get("data") {
        Some(Value::from_serde(&arena, d))
    } else {
        match case.get("dataset") {
            Some(serde_json::Value::String(name)) => {
                Some(Value::from_serde(&arena, datasets.get(name).ok_or("no dataset")?))
            }
            _ => None,
        }
    };
    let bindings = Value::from_serde(&arena, case.get("bindings").unwrap_or(&serde_json::Value::Null));
    let mut limits = Limits {
        max_stack_bytes: 200 << 20, // the suite runs on a 256 MiB stack
        ..Limits::default()
    };
    if let Some(d) = case.get("depth").and_then(|d| d.as_u64()) {
        limits.max_depth = d as usize;
    }
    if let Some(t) = case.get("timelimit").and_then(|d| d.as_u64()) {
        limits.time_limit = Some(Duration::from_millis(t));
    }
    let expected_code = case
        .get("code")
        .or_else(|| case.get("error").and_then(|e| e.get("code")))
        .and_then(|c| c.as_str());
    let expected_message = case
        .get("error")
        .and_then(|e| e.get("message"))
        .and_then(|c| c.as_str());
    let result = Expression::parse(expr_text).and_then(|e| {
        let e = Box::leak(Box::new(e));
        e.evaluate(&arena, input, &ObjectBindings(bindings), &limits)
            .map(|r| match r {
                Evaluated::Value(v) => Some(v.to_serde()),
                _ => None,
            })
    });
    match (result, expected_code) {
        (Err(e), Some(code)) if e.code == code => match expected_message {
            Some(m) if m != e.message => Err(format!("expected message {m:?}, got {:?}", e.message)),
            _ => Ok(()),
        },
        (Err(e), _) => Err(format!("error {e}")),
        (Ok(got), Some(code)) => Err(format!("expected error {code}, got {got:?}")),
        (Ok(got), None) => {
            if case.get("undefinedResult").is_some_and(|u| u.as_bool() == Some(true)) || case.get("result").is_none() {
                return match got {
                    None => Ok(()),
                    Some(v) => Err(format!("expected undefined, got {v}")),
                };
            }
            let expected = Value::from_serde(&arena, &case["result"]);
            let _ = expected;
            match got {
                Some(v) if same(&v, &case["result"]) => Ok(()),
                other => Err(format!(
                    "expected {}, got {}",
                    case["result"],
                    other.map(|v| v.to_string()).unwrap_or("undefined".into())
                )),
            }
        }
    }
}

/// JSON equality with numbers compared at 15 significant digits (as the suite's results were
/// recorded).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || format!("{x:.14e}") == format!("{y:.14e}")
        }
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn jsonata_suite() {
    let handle = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(run_suite)
        .unwrap();
    handle.join().unwrap();
}

fn run_suite() {
    let suite = data_dir().join("jsonata-suite");
    let mut datasets = BTreeMap::new();
    for e in std::fs::read_dir(suite.join("datasets")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        datasets.insert(name, v);
    }
    let skip_text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jsonata-suite-skip.txt"))
        .unwrap_or_default();
    let skips: Vec<&str> = skip_text
        .lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    let filter = std::env::var("JSONATA_CASE").ok();
    let cases = load_cases(&suite);
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for (id, case) in &cases {
        if let Some(f) = &filter {
            if !id.contains(f.as_str()) {
                continue;
            }
        }
        if skips.contains(&id.as_str()) {
            skipped += 1;
            continue;
        }
        let started = std::time::Instant::now();
        let r = std::panic::catch_unwind(|| run_case(case, &datasets)).unwrap_or_else(|_| Err("panicked".into()));
        let took = started.elapsed();
        if took > Duration::from_millis(300) {
            println!("SLOW {id}: {took:?}");
        }
        match r {
            Ok(()) => passed += 1,
            Err(why) => {
                failed += 1;
                failures.push(format!("{id}: {} => {why}", case["expr"]));
            }
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    assert!(failures.is_empty(), "{failed} JSONata suite cases failed");
}
