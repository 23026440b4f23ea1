//! JSONata expressions compiled and evaluated against a generated input with `$states`-like
//! and variable bindings, under small limits (depth, time, stack). Structured inputs come
//! from the grammar in `quickstep_fuzz::jsonata` (loops that build values included); text
//! inputs are expressions as written.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use quickstep::jsonata::{Evaluated, Expression, Limits};
use quickstep::value::{Arena, Value};
use quickstep_fuzz::{json, Mode, G};

const INPUT: &str = r#"{"a":{"b":[1,2,{"a":"x"}]},"items":[3,1,2,3,"3",{"a":2},null,[1,[2]]],"n":3,"s":"a,b,c","ts":"2016-03-14T01:59:00Z","x":{"a":1,"y":"é😀"}}"#;

fuzz_target!(|data: &[u8]| quickstep_fuzz::on_worker_stack(|| run(data)));

fn run(data: &[u8]) {
    let arena = Arena::new();
    let (text, input) = match quickstep_fuzz::mode(data, 4096) {
        None => return,
        Some(Mode::Raw(text)) => (
            text.to_string(),
            quickstep::value::parse(&arena, INPUT).expect("fixed input"),
        ),
        Some(Mode::Structured(bytes)) => {
            let mut g = G::new(bytes);
            let text = quickstep_fuzz::jsonata::expression(&mut g);
            let input = if g.chance(1, 4) {
                json::extreme(&mut g, &arena)
            } else {
                Value::from_serde(&arena, &json::input(&mut g))
            };
            (text, input)
        }
    };
    quickstep_fuzz::show("expression", &text);
    quickstep_fuzz::show("input", &format!("{} bytes at most", input.bound_u64()));
    let Ok(expr) = Expression::parse(&text) else {
        return;
    };
    // $states, built around the input without copying it
    let fixed = Value::from_serde(
        &arena,
        &serde_json::json!({"result": [1, {"a": 2}], "errorOutput": {"Error": "E", "Cause": "C"},
                            "Map": {"Item": {"Value": 1, "Index": 0}}}),
    );
    let execution = Value::object(arena.alloc_slice_copy(&[("Input", input), ("Name", Value::String("e"))]));
    let context = Value::object(arena.alloc_slice_copy(&[
        ("Execution", execution),
        ("Map", fixed.get("Map").unwrap_or(Value::Null)),
    ]));
    let states = Value::object(arena.alloc_slice_copy(&[
        ("input", input),
        ("result", fixed.get("result").unwrap_or(Value::Null)),
        ("errorOutput", fixed.get("errorOutput").unwrap_or(Value::Null)),
        ("context", context),
    ]));
    let bindings: &[(&str, Value)] = &[
        ("states", states),
        ("v", input),
        ("i", Value::int(3)),
        ("acc", Value::EMPTY_OBJECT),
    ];
    let limits = Limits {
        max_depth: 200,
        time_limit: Some(Duration::from_millis(200)),
        max_stack_bytes: 256 * 1024,
        max_memory_bytes: 64 << 20,
        ..Limits::DEFAULT
    };
    if let Ok(Evaluated::Value(v)) = expr.evaluate(&arena, Some(input), &bindings, &limits) {
        let _ = v.json_len_exceeds(256 * 1024);
    }
}
