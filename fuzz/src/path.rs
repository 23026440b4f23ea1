//! JSONPath texts (`$`, `$$`, `$var` roots, every Jayway step) and intrinsic calls (every
//! function, nested, with literal, path and call arguments).

use crate::json::KEYS;
use crate::{json_string, G};

/// Variable names the generated definitions assign and read.
pub const VARS: &[&str] = &["i", "v", "w", "acc"];

/// Every intrinsic function with its usual number of arguments (`usize::MAX`: any).
pub const INTRINSICS: &[(&str, usize)] = &[
    ("States.Format", usize::MAX),
    ("States.StringToJson", 1),
    ("States.JsonToString", 1),
    ("States.Array", usize::MAX),
    ("States.ArrayPartition", 2),
    ("States.ArrayContains", 2),
    ("States.ArrayRange", 3),
    ("States.ArrayGetItem", 2),
    ("States.ArrayLength", 1),
    ("States.ArrayUnique", 1),
    ("States.Base64Encode", 1),
    ("States.Base64Decode", 1),
    ("States.Hash", 2),
    ("States.JsonMerge", 3),
    ("States.MathRandom", 2),
    ("States.MathAdd", 2),
    ("States.StringSplit", 2),
    ("States.UUID", 0),
];

fn key_step(g: &mut G, out: &mut String) {
    let key = g.pick(KEYS);
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric());
    match g.below(4) {
        0 | 1 if plain => {
            out.push('.');
            out.push_str(key);
        }
        2 => {
            out.push_str("['");
            out.push_str(key);
            out.push_str("']");
        }
        _ => {
            out.push_str("[\"");
            out.push_str(key);
            out.push_str("\"]");
        }
    }
}

fn filter(g: &mut G, out: &mut String) {
    out.push_str("[?(");
    for i in 0..=g.below(2) {
        if i > 0 {
            out.push_str(g.pick(&[" && ", " || "]));
        }
        out.push_str(g.pick(&["@", "@.a", "@.n", "@['x']", "@.length()", "$.n", "@.items[0]", "@.*"]));
        if g.chance(3, 4) {
            out.push_str(g.pick(&[
                " == ", " != ", " < ", " <= ", " > ", " >= ", " =~ ", " in ", " nin ", " size ", " empty ",
            ]));
            match g.below(5) {
                0 => out.push_str(&g.int().to_string()),
                1 => out.push_str(&format!("'{}'", g.pick(&["a", "", "abc", "x'y"]))),
                2 => out.push_str(g.pick(&["/a.*/", "/^[0-9]+$/i", "/(/"])),
                3 => out.push_str(g.pick(&["[1,2]", "['a','b']", "[]", "true", "null"])),
                _ => out.push_str(g.pick(&["$.n", "@.b", "$['a']"])),
            }
        }
    }
    out.push_str(")]");
}

/// A JSONPath (with a root) of up to `steps` steps.
pub fn path(g: &mut G, steps: usize) -> String {
    let mut out = match g.below(8) {
        0 => "$$".to_string(),
        1 => format!("${}", g.pick(VARS)),
        _ => "$".to_string(),
    };
    if out == "$$" && g.chance(3, 4) {
        out.push_str(g.pick(&[
            ".Execution.Input",
            ".Execution.Name",
            ".Execution.StartTime",
            ".State.Name",
            ".State.EnteredTime",
            ".State.RetryCount",
            ".StateMachine.Id",
            ".Map.Item.Value",
            ".Map.Item.Index",
            ".Task.Token",
            ".Execution",
        ]));
    }
    for _ in 0..g.below(steps + 1) {
        match g.below(24) {
            0..=5 => key_step(g, &mut out),
            6 => out.push_str(&format!("[{}]", g.int().clamp(-5, 300))),
            7 => out.push_str(g.pick(&["[*]", ".*", "[-1:]", "[:2]", "[1:3]", "[0,1]", "[::2]", "[2:1]"])),
            8 => {
                out.push_str("..");
                out.push_str(g.pick(&["a", "x", "*", "['b']", "[0]", "n"]));
            }
            9 => filter(g, &mut out),
            10 => out.push_str(g.pick(&["['a','b']", "['x','items','n']", "[\"a\",\"a\"]"])),
            11 => out.push_str(g.pick(&[".length()", ".min()", ".max()", ".sum()"])),
            12 => out.push_str(g.pick(&[
                "\\.x",
                ".a\\@b",
                ".\\u0041",
                "['a\\'b']",
                "[ 0 ]",
                "[",
                "]",
                ".",
                "..",
                "['",
            ])),
            _ => key_step(g, &mut out),
        }
    }
    out
}

/// An intrinsic argument: literal, path or a nested call.
fn argument(g: &mut G, depth: u32, out: &mut String) {
    match g.below(if depth == 0 { 4 } else { 6 }) {
        0 => out.push_str(&g.number_text()),
        1 => {
            let s = g.pick(&[
                "{}",
                "a",
                "",
                "{} and {}",
                "\\{\\}",
                "\\'",
                "a,b",
                ",",
                "SHA-256",
                "MD5",
                "SHA-1",
                "SHA-384",
                "SHA-512",
                "{\"a\":1}",
                "[1,2]",
                "aGk=",
                "\\\\",
                "x\\ny",
                "é😀",
            ]);
            out.push('\'');
            out.push_str(s);
            out.push('\'');
        }
        2 => out.push_str(g.pick(&["null", "true", "false"])),
        3 => out.push_str(&path(g, 3)),
        _ => call(g, depth - 1, out),
    }
}

/// An intrinsic call nested up to `depth` calls deep.
pub fn call(g: &mut G, depth: u32, out: &mut String) {
    let (name, arity) = g.pick(INTRINSICS);
    if g.chance(1, 30) {
        out.push_str(g.pick(&["States.Nope", "states.array", "States.Format ", "Array"]));
    } else {
        out.push_str(name);
    }
    out.push('(');
    let n = if arity == usize::MAX || g.chance(1, 10) {
        g.below(5)
    } else {
        arity
    };
    for i in 0..n {
        if i > 0 {
            out.push_str(g.pick(&[", ", ",", " ,  "]));
        }
        argument(g, depth, out);
    }
    out.push(')');
}

/// A call string as a `.$` value or a path (either).
pub fn path_or_call(g: &mut G, depth: u32) -> String {
    if g.chance(2, 5) {
        let mut out = String::new();
        call(g, depth, &mut out);
        out
    } else {
        path(g, 4)
    }
}

/// JSON string literal of `path_or_call`.
pub fn path_or_call_json(g: &mut G, depth: u32) -> String {
    json_string(&path_or_call(g, depth))
}
