//! JSON values (execution inputs, Result/literal values) and JSON texts written in every way
//! the grammar allows (for the reader).

use serde_json::{json, Map, Value as Json};

use crate::G;

/// Keys the other generators' paths and expressions ask for, so that they find something.
pub const KEYS: &[&str] = &["a", "b", "items", "x", "n", "s", "ts", "k", "", "a.b", "Payload", "0"];

/// Interesting strings: timestamps, intrinsic-looking text, escapes, non-ASCII, paths.
pub const STRINGS: &[&str] = &[
    "",
    "a",
    "abc",
    "2016-03-14T01:59:00Z",
    "2016-03-14T01:59:00.123+05:30",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "1970-01-01T00:00:00.000Z",
    "{}",
    "{\"a\":[1,2]}",
    "[1,2,3]",
    "$.a",
    "{% 1 %}",
    "States.Array(1)",
    "a,b,,c",
    "héllo wörld",
    "😀中",
    "\u{0}\u{1f}\"\\/",
    "aGVsbG8=",
    "===",
    "1e400",
    "-0",
    "null",
    "true",
    " x ",
    "a*b?c",
    "\\{}\\'",
];

/// A JSON value with depth at most `depth`.
pub fn value(g: &mut G, depth: u32) -> Json {
    let kinds = if depth == 0 { 5 } else { 8 };
    match g.below(kinds) {
        0 => [Json::Null, json!(true), json!(false)][g.below(3)].clone(),
        1 | 2 => serde_json::from_str(&g.number_text()).unwrap_or(json!(1)),
        3 => Json::String(g.pick(STRINGS).to_string()),
        4 => {
            if g.chance(1, 4) {
                Json::String(g.string(24))
            } else {
                json!(g.below(10))
            }
        }
        5 | 6 => {
            let mut m = Map::new();
            for _ in 0..g.below(5) {
                let k = if g.chance(1, 8) {
                    g.string(6)
                } else {
                    g.pick(KEYS).to_string()
                };
                m.insert(k, value(g, depth - 1));
            }
            Json::Object(m)
        }
        _ => {
            let n = if g.chance(1, 16) { g.below(200) } else { g.below(5) };
            Json::Array((0..n).map(|_| value(g, depth - 1)).collect())
        }
    }
}

/// An object input with the keys the generators use (each maybe present).
pub fn input(g: &mut G) -> Json {
    if g.chance(1, 6) {
        return value(g, 3);
    }
    let mut m = Map::new();
    for k in KEYS {
        if g.chance(1, 2) {
            let v = match *k {
                "items" => Json::Array((0..g.below(6)).map(|_| value(g, 2)).collect()),
                "ts" => Json::String(g.pick(&STRINGS[3..8]).to_string()),
                "n" => serde_json::from_str(&g.number_text()).unwrap_or(json!(3)),
                _ => value(g, 2),
            };
            m.insert(k.to_string(), v);
        }
    }
    Json::Object(m)
}

/// JSON text with whitespace, escapes, numbers spelled in every way, duplicate keys and
/// nesting up to `depth` (beyond serde_json's 128 when asked). Sometimes slightly broken.
pub fn text(g: &mut G, out: &mut String, depth: u32) {
    let ws = |g: &mut G, out: &mut String| {
        if g.chance(1, 4) {
            out.push_str(g.pick(&[" ", "\n", "\t", "\r\n  ", "  "]));
        }
    };
    ws(g, out);
    let kinds = if depth == 0 { 4 } else { 7 };
    match g.below(kinds) {
        0 => out.push_str(g.pick(&["null", "true", "false"])),
        1 => out.push_str(&g.number_text()),
        2 | 3 => string_text(g, out),
        4 if g.chance(1, 6) => {
            // a deep run of the same container
            let n = g.pick(&[100usize, 126, 127, 128, 129, 200, 1000]);
            let (open, close) = if g.bool() { ("[", "]") } else { ("{\"a\":", "}") };
            out.push_str(&open.repeat(n));
            out.push_str(&g.number_text());
            out.push_str(&close.repeat(n));
        }
        4 | 5 => {
            out.push('[');
            for i in 0..g.below(5) {
                if i > 0 {
                    out.push(',');
                }
                text(g, out, depth - 1);
            }
            ws(g, out);
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..g.below(5) {
                if i > 0 {
                    out.push(',');
                }
                ws(g, out);
                if g.chance(1, 3) {
                    string_text(g, out);
                } else {
                    out.push_str(g.pick(&["\"a\"", "\"b\"", "\"a\"", "\"k\\u00e9\"", "\"\"", "\"\\ud83d\\ude00\""]));
                }
                ws(g, out);
                out.push(':');
                text(g, out, depth - 1);
            }
            ws(g, out);
            out.push('}');
        }
    }
    ws(g, out);
    if g.chance(1, 40) {
        // a small corruption
        let pos = g.below(out.len() + 1);
        if out.is_char_boundary(pos) {
            out.insert_str(
                pos,
                g.pick(&[",", "]", "}", "\"", "\\", "0", "-", ".", "e", " ", "\u{0}", "\u{7f}"]),
            );
        }
    }
}

fn string_text(g: &mut G, out: &mut String) {
    out.push('"');
    for _ in 0..g.below(8) {
        out.push_str(g.pick(&[
            "a",
            "key",
            "é",
            "中",
            "😀",
            "\\\"",
            "\\\\",
            "\\/",
            "\\b",
            "\\f",
            "\\n",
            "\\r",
            "\\t",
            "\\u0041",
            "\\u00e9",
            "\\u001f",
            "\\u001F",
            "\\u0000",
            "\\ud83d\\ude00",
            "\\uD83D\\uDE00",
            "\\ud800",
            "\\udc00",
            "\\ud800\\u0041",
            " ",
            "\u{7f}",
            "\u{80}",
            "\u{2028}",
            "0123456789abcdef",
        ]));
    }
    out.push('"');
}

/// A value of the shapes hand-made extremes have, built directly in `arena`: long arrays
/// (up to 2^17 items, distinct or repeated), deep nesting (around the readers' 128 levels and
/// far beyond), long strings (up to 1 MiB), objects with many keys, extreme numbers.
pub fn extreme<'a>(g: &mut G, arena: &'a quickstep::value::Arena) -> quickstep::value::Value<'a> {
    use quickstep::value::Value;
    let n = 1usize << g.below(18);
    match g.below(7) {
        0 => Value::array(arena.alloc_slice_fill_iter((0..n).map(|i| Value::int(i as i64)))),
        1 => {
            let s: &str = arena.alloc_str(&"ab,".repeat(1 + g.below(1 << 12)));
            Value::array(arena.alloc_slice_fill_iter((0..n).map(|_| Value::String(s))))
        }
        2 => {
            let depth = g.pick(&[100usize, 127, 128, 129, 500, 1000, 5000, 20000]);
            let mut v = Value::int(1);
            for _ in 0..depth {
                v = if g.chance(1, 4) {
                    Value::object(arena.alloc_slice_copy(&[("a", v)]))
                } else {
                    Value::array(arena.alloc_slice_copy(&[v]))
                };
            }
            v
        }
        3 => Value::object(
            arena.alloc_slice_fill_iter((0..n).map(|i| (&*arena.alloc_str(&format!("k{i}")), Value::int(i as i64)))),
        ),
        4 => Value::String(arena.alloc_str(&"x{}é\"".repeat(n.min(1 << 18)))),
        5 => Value::array(arena.alloc_slice_fill_iter((0..n.min(1 << 10)).map(|i| match i % 6 {
            0 => Value::int(i64::MAX),
            1 => Value::int(i64::MIN),
            2 => Value::float(1e308),
            3 => Value::float(-5e-324),
            4 => Value::float(-0.0),
            _ => Value::float(4.5e15 + 0.5),
        }))),
        _ => {
            // an array of the same nested object: wide and deep at once
            let inner = extreme_small(g, arena);
            Value::array(arena.alloc_slice_fill_iter((0..n.min(1 << 12)).map(|_| inner)))
        }
    }
}

fn extreme_small<'a>(g: &mut G, arena: &'a quickstep::value::Arena) -> quickstep::value::Value<'a> {
    use quickstep::value::Value;
    let mut v = Value::String("leaf");
    for i in 0..g.below(40) {
        let k: &str = arena.alloc_str(&format!("k{}", i % 3));
        v = Value::object(arena.alloc_slice_copy(&[(k, v), ("n", Value::int(i as i64))]));
    }
    v
}
