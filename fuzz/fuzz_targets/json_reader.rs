//! quickstep's JSON reader against serde_json: the same texts accepted and rejected, the same
//! value (printed by quickstep's writer, against serde_json read into quickstep's value, as
//! the reader's own test `agrees_with_serde_json_on_every_conformance_file` compares), the
//! text-keeping reader giving that value too, and the writer's output from kept text equal
//! to its output without it. Structured inputs are JSON texts written every way the grammar
//! allows (`quickstep_fuzz::json::text`); any other bytes are read as they are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quickstep::value::{parse, parse_keeping_text, Arena, Value, ValueSeed};
use quickstep_fuzz::{json, G};
use serde::de::DeserializeSeed;

fuzz_target!(|data: &[u8]| {
    if data.len() > 256 * 1024 {
        return;
    }
    let generated;
    let text: &str = match data.first() {
        // bytes from 0xF5 on never begin UTF-8: structured
        Some(b) if *b >= 0xF5 => {
            let mut g = G::new(&data[1..]);
            let mut out = String::new();
            json::text(&mut g, &mut out, 6);
            generated = out;
            &generated
        }
        _ => match std::str::from_utf8(data) {
            Ok(text) => text,
            Err(_) => return,
        },
    };
    quickstep_fuzz::show("text", text);
    let arena = Arena::new();
    let ours = parse(&arena, text);
    let reference = {
        let mut de = serde_json::Deserializer::from_str(text);
        ValueSeed { arena: &arena }
            .deserialize(&mut de)
            .and_then(|v| de.end().map(|_| v))
    };
    let plain = serde_json::from_str::<serde_json::Value>(text);
    assert_eq!(
        ours.is_ok(),
        plain.is_ok(),
        "accept/reject differ from serde_json on {text:?}: {ours:?} / {plain:?}"
    );
    assert_eq!(
        ours.is_ok(),
        reference.is_ok(),
        "accept/reject differ from the reference on {text:?}"
    );
    let (Ok(ours), Ok(reference)) = (ours, reference) else {
        return;
    };
    let written = ours.to_json_string();
    assert_eq!(written, reference.to_json_string(), "values differ on {text:?}");
    // the value, as serde_json::Value (numbers as serde_json reads them within f64)
    let plain = plain.expect("accepted");
    assert!(
        same(&ours, &plain),
        "value differs from serde_json::Value on {text:?}: {written}"
    );
    // the writer writes JSON that reads back as the same value
    let again = parse(&arena, arena.alloc_str(&written)).expect("the writer writes JSON");
    assert_eq!(
        again.to_json_string(),
        written,
        "written text does not read back on {text:?}"
    );
    let (kept, source) = parse_keeping_text(&arena, text).expect("accepted");
    assert_eq!(
        kept.to_json_string(),
        written,
        "the text-keeping reader differs on {text:?}"
    );
    let mut out = Vec::new();
    kept.write_json_from(source, &mut out);
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        written,
        "kept text written otherwise on {text:?}"
    );
});

/// The same JSON value: numbers equal as f64 (and as i64 when both are integers that fit),
/// members the same by key (duplicates: the last wins in both), arrays element by element.
fn same(ours: &Value<'_>, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (ours, theirs) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Number(a), J::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) if a.is_integral() => x == y,
            _ => b.as_f64().is_some_and(|y| a.as_f64() == y),
        },
        (Value::String(a), J::String(b)) => *a == b,
        (Value::Array(a, _), J::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Value::Object(a, _), J::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(*k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}
