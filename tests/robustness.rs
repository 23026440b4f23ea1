//! No input makes the parser, the validator or the location mapper panic, and every
//! location a diagnostic gives names a place in the definition text.
//!
//! The inputs are the corpus definitions with deterministic mutations (fields removed, values
//! replaced by values of every JSON type), deeply nested texts and arbitrary byte soup.
//!
//! Executions too: the recorded cases with their strings edited (paths, intrinsic calls,
//! JSONata expressions, timestamps) and their inputs' values replaced, run with the cases'
//! task behaviours, each end with exactly one well-formed outcome.

use std::path::PathBuf;

use quickstep::cases::Case;
use quickstep::diagnostic::line_col;
use quickstep::machine::check_definition_value;
use quickstep::model::MachineType;
use quickstep::tasks::TaskRegistry;
use quickstep::{validate_text, ExecutionInfo, Machine, Status, VirtualClock};
use serde_json::{json, Value as Json};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn replacements() -> Vec<Json> {
    vec![
        Json::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("x"),
        json!("{% 1 %}"),
        json!("$.a"),
        json!([]),
        json!({}),
        json!([{}]),
        json!({"StartAt": "x", "States": {}}),
        json!("arn:aws:states:::dynamodb:query"),
    ]
}

/// Counts the object members and array elements of a value (the places a mutation can hit).
fn count_slots(v: &Json) -> usize {
    match v {
        Json::Object(m) => m.len() + m.values().map(count_slots).sum::<usize>(),
        Json::Array(a) => a.len() + a.iter().map(count_slots).sum::<usize>(),
        _ => 0,
    }
}

/// Applies `f` to the `target`-th slot (depth-first); returns true once applied.
fn mutate(v: &mut Json, target: &mut usize, f: &mut dyn FnMut(&mut Json, Option<&str>)) -> bool {
    match v {
        Json::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if *target == 0 {
                    f(v, Some(&k));
                    return true;
                }
                *target -= 1;
                if let Some(child) = v.get_mut(&k) {
                    if mutate(child, target, f) {
                        return true;
                    }
                }
            }
            false
        }
        Json::Array(a) => {
            for child in a.iter_mut() {
                if *target == 0 {
                    *child = Json::Null;
                    return true;
                }
                *target -= 1;
                if mutate(child, target, f) {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

fn check(text: &str) {
    for ty in [MachineType::Standard, MachineType::Express] {
        if let Err(diags) = validate_text(text, ty) {
            assert!(!diags.is_empty());
            for d in &diags {
                let _ = d.to_string();
                if let Some(loc) = d.location.as_deref() {
                    assert!(
                        line_col(text, loc).is_some(),
                        "location {loc} of {d} not found in {text}"
                    );
                }
            }
        }
    }
}

#[test]
fn mutated_corpus_definitions_never_panic() {
    let dir = data_dir().join("conformance/cases");
    let paths: Vec<PathBuf> =
        quickstep::cases::collect_case_files(std::slice::from_ref(&dir)).unwrap_or_else(|e| panic!("{e}"));
    let values = replacements();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    for path in paths.iter().step_by(3) {
        let case: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let definition = &case["definition"];
        let slots = count_slots(definition);
        for _ in 0..12 {
            let mut def = definition.clone();
            let mut target = rng.below(slots);
            let choice = rng.below(values.len() + 1);
            mutate(&mut def, &mut target, &mut |obj, key| {
                if let (Some(key), Json::Object(m)) = (key, obj) {
                    if choice == values.len() {
                        m.shift_remove(key);
                    } else if let Some(slot) = m.get_mut(key) {
                        *slot = values[choice].clone();
                    }
                }
            });
            check(&serde_json::to_string_pretty(&def).unwrap());
            runs += 1;
        }
    }
    assert!(runs > 1000);
}

#[test]
fn odd_texts_never_panic() {
    let mut texts: Vec<String> = vec![
        "[".repeat(100_000),
        "{\"a\":".repeat(50_000),
        format!(
            "{{\"StartAt\":\"N\",\"States\":{{\"N\":{{\"Type\":\"Choice\",\"Choices\":[{}{{\"Variable\":\"$.a\",\"IsNull\":true}}{}],\"Default\":\"N\"}}}}}}",
            "{\"Not\":".repeat(60),
            "}".repeat(60)
        ),
        "\u{0}\u{1}\u{7f}".to_string(),
        "{\"StartAt\":\"é\",\"States\":{\"é\":{\"Type\":\"Succeed\"}}}".to_string(),
        "{\"StartAt\":1,\"States\":[]}".to_string(),
        "{\"StartAt\":\"A\",\"States\":{\"A\":1,\"B\":[],\"C\":{}}}".to_string(),
    ];
    let mut rng = Rng(42);
    let alphabet: Vec<char> = "{}[]:,\"\\ aeS1-.%$tnrul\n".chars().collect();
    for _ in 0..2000 {
        let len = rng.below(60);
        texts.push((0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect());
    }
    for text in &texts {
        check(text);
        for loc in [
            "/",
            "/States",
            "/States/A/Choices[0]/Next",
            "/a[9999999999999999999999]",
        ] {
            let _ = line_col(text, loc);
        }
    }
}

#[test]
fn deeply_nested_blocks_are_bounded() {
    // A Parallel nested far deeper than any real definition, built as a value (no JSON
    // text depth limit applies).
    let mut v = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    for _ in 0..200 {
        v = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [v], "End": true}}});
    }
    let result = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || quickstep::parse_definition_value(&v).map(|_| ()))
        .unwrap()
        .join()
        .expect("no panic or stack overflow");
    let diags = result.unwrap_err();
    assert_eq!(diags[0].code, "TOO_DEEPLY_NESTED");
}

/// `text` with one edit at a place `rng` picks: a character removed, doubled, or a syntax
/// character inserted, or the text cut short there.
fn edit_string(text: &str, rng: &mut Rng) -> String {
    const INSERTS: &[char] = &[
        '(', ')', '[', ']', '{', '}', '$', '.', '\'', '"', ',', '*', '?', '@', '0', '-', ' ', '%',
    ];
    let mut chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return "$".to_string();
    }
    let at = rng.below(chars.len());
    match rng.below(4) {
        0 => {
            chars.remove(at);
        }
        1 => chars.insert(at, chars[at]),
        2 => chars.insert(at, INSERTS[rng.below(INSERTS.len())]),
        _ => chars.truncate(at),
    }
    chars.into_iter().collect()
}

/// The `target`-th string value (not key) of `v`, depth-first, replaced by `f` of it.
fn edit_nth_string(v: &mut Json, target: &mut usize, f: &mut dyn FnMut(&str) -> String) -> bool {
    match v {
        Json::String(text) => {
            if *target == 0 {
                *text = f(text);
                return true;
            }
            *target -= 1;
            false
        }
        Json::Object(m) => m.values_mut().any(|child| edit_nth_string(child, target, f)),
        Json::Array(a) => a.iter_mut().any(|child| edit_nth_string(child, target, f)),
        _ => false,
    }
}

fn count_strings(v: &Json) -> usize {
    match v {
        Json::String(_) => 1,
        Json::Object(m) => m.values().map(count_strings).sum(),
        Json::Array(a) => a.iter().map(count_strings).sum(),
        _ => 0,
    }
}

/// Replaces a member's or an element's value in `v` (a place `rng` picks), or `v` itself
/// when it has none, by `value`.
fn replace_a_value(v: &mut Json, value: Json, rng: &mut Rng) {
    let slots = count_slots(v);
    let mut target = rng.below(slots);
    let replaced = slots > 0
        && mutate(v, &mut target, &mut |obj, key| {
            if let (Some(key), Json::Object(m)) = (key, obj) {
                m.insert(key.to_string(), value.clone());
            }
        });
    if !replaced {
        *v = value;
    }
}

/// Runs `definition` on `input` with `case`'s task behaviours: `None` when the definition is
/// rejected, else the outcome's status, checked to be well formed (an output that is JSON
/// exactly when it succeeded, and no error then).
fn run_mutated(case: &Case, definition: &Json, input: &Json) -> Option<Status> {
    let registry = match &case.resources {
        Some(resources) => TaskRegistry::from_behaviours(resources).expect("the case's behaviours"),
        None => TaskRegistry::new(),
    };
    let (_, program) = check_definition_value(definition, MachineType::Standard).ok()?;
    let machine = Machine::from_program(std::sync::Arc::new(program), registry);
    let outcome = machine
        .run_json_with(
            &input.to_string(),
            &ExecutionInfo::default(),
            &mut VirtualClock::default(),
        )
        .expect("serde_json's text parses");
    match outcome.status {
        Status::Succeeded => {
            let output = outcome.output.as_deref().expect("a success has an output");
            serde_json::from_str::<Json>(output).expect("the output is JSON");
            assert!(outcome.error.is_none());
        }
        // a Fail state may name no error and no cause
        _ => assert!(outcome.output.is_none(), "{outcome:?}"),
    }
    Some(outcome.status)
}

#[test]
fn mutated_cases_run_to_exactly_one_outcome() {
    let dir = data_dir().join("conformance/cases");
    let paths: Vec<PathBuf> =
        quickstep::cases::collect_case_files(std::slice::from_ref(&dir)).unwrap_or_else(|e| panic!("{e}"));
    let values = replacements();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut runs, mut failed, mut rejected) = (0, 0, 0);
    for path in &paths {
        let Ok(case) = Case::load(path) else { continue };
        // by turns: the definition edited, the input, both
        for round in 0..9 {
            let kind = round % 3;
            let mut definition = case.definition.clone();
            let mut input = case.input.clone();
            if kind != 1 && rng.below(2) == 0 {
                let mut target = rng.below(count_strings(&definition));
                let mut edits = Rng(rng.next());
                edit_nth_string(&mut definition, &mut target, &mut |text| edit_string(text, &mut edits));
            } else if kind != 1 {
                replace_a_value(&mut definition, values[rng.below(values.len())].clone(), &mut rng);
            }
            if kind != 0 {
                replace_a_value(&mut input, values[rng.below(values.len())].clone(), &mut rng);
            }
            let status = std::panic::catch_unwind(|| run_mutated(&case, &definition, &input))
                .unwrap_or_else(|_| panic!("{} panicked\n  definition {definition}\n  input {input}", case.name));
            match status {
                None => rejected += 1,
                Some(Status::Succeeded) => runs += 1,
                Some(_) => {
                    runs += 1;
                    failed += 1;
                }
            }
        }
    }
    eprintln!("{runs} runs, {failed} failed, {rejected} rejected");
    // The mutations reach all three ends: rejected, succeeded and failed.
    assert!(
        runs > 1000 && failed > 100 && rejected > 100,
        "{runs} runs, {failed} failed, {rejected} rejected"
    );
}
