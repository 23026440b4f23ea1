//! JSONPath strings and intrinsic call strings, compiled and evaluated against a generated
//! input, context object and variables. Structured inputs generate the path or call
//! (`quickstep_fuzz::path`) and evaluate a call in a loop that feeds its result back as `$v`
//! (the way a Choice back-edge does), until the value passes the payload limit; text inputs
//! are tried as both a path and a call.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quickstep::consts::Constants;
use quickstep::intrinsics::Intrinsic;
use quickstep::path::Path;
use quickstep::scope::{Scope, Variables};
use quickstep::value::{Arena, Value};
use quickstep_fuzz::{json, path, Mode, G};

const INPUT: &str = r#"{"a":{"b":[1,2,{"a":"x"}]},"items":[3,1,2,3,"3",{"a":2},null,[1,[2]]],"n":3,"s":"a,b,c","ts":"2016-03-14T01:59:00Z","x":{"a":1,"y":"é😀"},"":0,"a.b":true}"#;

fn check<'a>(arena: &'a Arena, text: &str, scope: &Scope<'a>, rounds: usize) {
    if let Ok(p) = Path::parse(text) {
        let _ = p.text();
        let _ = p.is_definite();
        if let Ok(v) = p.eval(arena, scope) {
            let _ = v.json_len_exceeds(1 << 20);
        }
        let _ = p.eval_opt(arena, scope);
        if matches!(p.root(), quickstep::path::Root::Input) {
            // as a ResultPath
            let _ = p.set(arena, scope.input, Value::int(7));
        }
    }
    if Intrinsic::is_call(text) || rounds > 0 {
        let mut consts = Constants::new();
        if let Ok(call) = Intrinsic::parse(text, &mut consts) {
            let mut scope = *scope;
            for i in 0..rounds.max(1) {
                let Ok(v) = call.eval(arena, &scope) else { break };
                if v.json_len_exceeds(256 * 1024) {
                    break;
                }
                let local = arena.alloc_slice_copy(&[("i", Value::int(i as i64)), ("v", v)]);
                let vars = arena.alloc(Variables { local, outer: None });
                scope.variables = Variables {
                    local: &[],
                    outer: Some(vars),
                };
            }
        }
    }
}

fuzz_target!(|data: &[u8]| quickstep_fuzz::on_worker_stack(|| run(data)));

fn run(data: &[u8]) {
    let arena = Arena::new();
    match quickstep_fuzz::mode(data, 4096) {
        None => {}
        Some(Mode::Raw(text)) => {
            let input = quickstep::value::parse(&arena, INPUT).expect("fixed input");
            let vars = arena.alloc_slice_copy(&[("v", input), ("i", Value::int(2))]);
            let scope = Scope {
                input,
                context: input,
                variables: Variables {
                    local: vars,
                    outer: None,
                },
            };
            check(&arena, text, &scope, 0);
        }
        Some(Mode::Structured(bytes)) => {
            let mut g = G::new(bytes);
            let input = Value::from_serde(&arena, &json::input(&mut g));
            let v = if g.chance(1, 4) {
                json::extreme(&mut g, &arena)
            } else {
                Value::from_serde(&arena, &json::value(&mut g, 3))
            };
            // In an execution no value nested past the engine's depth ceiling reaches a path or
            // an intrinsic (the interpreter refuses it at the state that built it, and the readers
            // stop at 128 levels): deeper extremes test nothing the engine can meet.
            if v.depth() > quickstep::limits::MAX_VALUE_DEPTH_CEILING {
                return;
            }
            let w = Value::from_serde(&arena, &json::value(&mut g, 2));
            let context = Value::from_serde(
                &arena,
                &serde_json::json!({"Execution": {"Input": input.to_serde(), "Name": "e"}, "State": {"Name": "S", "RetryCount": 0},
                                    "Map": {"Item": {"Value": w.to_serde(), "Index": 1}}}),
            );
            let vars = arena.alloc_slice_copy(&[("v", v), ("w", w), ("i", Value::int(g.int())), ("acc", input)]);
            let scope = Scope {
                input,
                context,
                variables: Variables {
                    local: vars,
                    outer: None,
                },
            };
            let (text, rounds) = if g.bool() {
                (path::path(&mut g, 6), 0)
            } else {
                let mut text = String::new();
                let depth = 1 + g.below(4) as u32;
                path::call(&mut g, depth, &mut text);
                (text, g.below(24))
            };
            quickstep_fuzz::show("path or call", &text);
            quickstep_fuzz::show("input", &input.to_json_string());
            quickstep_fuzz::show(
                "$v",
                &format!(
                    "{} bytes at most; array of {:?}, object of {:?}, string of {:?}; first item {}",
                    v.bound_u64(),
                    v.as_array().map(|a| a.len()),
                    v.as_object().map(|m| m.len()),
                    v.as_str().map(|s| s.len()),
                    v.as_array()
                        .and_then(|a| a.first())
                        .map(|x| x.to_json_string())
                        .unwrap_or_default()
                        .chars()
                        .take(300)
                        .collect::<String>()
                ),
            );
            quickstep_fuzz::show("rounds", &rounds.to_string());
            check(&arena, &text, &scope, rounds);
        }
    }
}
