//! JSONata expressions from a small grammar: literals, paths (from the input and
//! `$states`), operators, conditions, blocks with bindings, lambdas, the standard library and
//! Step Functions' functions, and loops (`$reduce` over ranges, bounded recursion) that build
//! large or deep values the way hand-made extremes do.

use crate::json::KEYS;
use crate::{json_string, G};

/// Functions with their usual number of arguments.
pub const FUNCTIONS: &[(&str, usize)] = &[
    ("$string", 1),
    ("$length", 1),
    ("$substring", 3),
    ("$substringBefore", 2),
    ("$substringAfter", 2),
    ("$uppercase", 1),
    ("$lowercase", 1),
    ("$trim", 1),
    ("$pad", 3),
    ("$contains", 2),
    ("$split", 2),
    ("$join", 2),
    ("$match", 2),
    ("$replace", 3),
    ("$base64encode", 1),
    ("$base64decode", 1),
    ("$encodeUrlComponent", 1),
    ("$decodeUrlComponent", 1),
    ("$encodeUrl", 1),
    ("$decodeUrl", 1),
    ("$number", 1),
    ("$abs", 1),
    ("$floor", 1),
    ("$ceil", 1),
    ("$round", 2),
    ("$power", 2),
    ("$sqrt", 1),
    ("$random", 0),
    ("$formatNumber", 2),
    ("$formatBase", 2),
    ("$formatInteger", 2),
    ("$parseInteger", 2),
    ("$sum", 1),
    ("$max", 1),
    ("$min", 1),
    ("$average", 1),
    ("$boolean", 1),
    ("$not", 1),
    ("$exists", 1),
    ("$count", 1),
    ("$append", 2),
    ("$sort", 1),
    ("$reverse", 1),
    ("$shuffle", 1),
    ("$distinct", 1),
    ("$zip", 2),
    ("$keys", 1),
    ("$lookup", 2),
    ("$spread", 1),
    ("$merge", 1),
    ("$sift", 2),
    ("$each", 2),
    ("$error", 1),
    ("$assert", 2),
    ("$type", 1),
    ("$single", 1),
    ("$map", 2),
    ("$filter", 2),
    ("$reduce", 3),
    ("$now", 0),
    ("$millis", 0),
    ("$fromMillis", 3),
    ("$toMillis", 2),
    ("$partition", 2),
    ("$range", 3),
    ("$hash", 2),
    ("$uuid", 0),
    ("$parse", 1),
    ("$eval", 1),
];

/// A string literal the functions find interesting.
fn string_lit(g: &mut G) -> String {
    json_string(g.pick(&[
        "",
        "a",
        "abc",
        "a,b,c",
        ",",
        "#,##0.00",
        "0.0e0",
        "w",
        "W",
        "#",
        "i",
        "I",
        "[Y0001]-[M01]-[D01]",
        "[H]:[m]",
        "+05:00",
        "SHA-256",
        "MD5",
        "2016-03-14T01:59:00Z",
        "{\"a\":[1,2]}",
        "[1,2]",
        "%",
        "%2",
        "é😀",
        "a\\b",
        "1e400",
        "x*",
        "000",
        "0",
        "-12",
        "one hundred",
        "[Y,2]",
        "[FNn]",
        "Wwww",
        "aGk=",
        "MCMXCIX",
    ]))
}

fn path_expr(g: &mut G, out: &mut String) {
    out.push_str(g.pick(&[
        "$states.input",
        "$states.input",
        "$",
        "$states.context.Execution.Input",
        "$states.result",
        "$states.errorOutput",
        "$i",
        "$v",
        "$acc",
        "$$",
        "items",
        "$states.context.Map.Item.Value",
    ]));
    for _ in 0..g.below(3) {
        match g.below(6) {
            0..=2 => {
                out.push('.');
                let k = g.pick(KEYS);
                if k.chars().all(|c| c.is_ascii_alphabetic()) && !k.is_empty() {
                    out.push_str(k);
                } else {
                    out.push('`');
                    out.push_str(k);
                    out.push('`');
                }
            }
            3 => out.push_str(&format!("[{}]", g.int().clamp(-3, 1000))),
            4 => out.push_str(g.pick(&[".*", ".**", "[]", "#$p", "@$o", "%"])),
            _ => out.push_str(g.pick(&["[$ > 1]", "[a]", "[0..1]", "^(a)", "^(>$)", "{a: $count($)}"])),
        }
    }
}

/// A loop that builds a value: `$reduce` over a range, or bounded recursion.
fn builder(g: &mut G, depth: u32, out: &mut String) {
    let n = match g.below(4) {
        0 => g.below(10),
        1 => g.pick(&[20, 30, 62, 63, 64, 100, 128, 129, 200, 1000, 10_000, 100_000]),
        _ => g.below(64),
    }
    .min(g.max_loop);
    let step = g.pick(&[
        "[$acc]",
        "[$acc, $acc]",
        "{\"a\": $acc}",
        "$acc & $acc",
        "$append($acc, $acc)",
        "$append($acc, $i)",
        "$acc + $i",
        "$acc * 2",
        "$merge([$acc, {$string($i): $i}])",
        "$string($acc)",
        "[$acc, $i]",
        "$acc ~> $append($i)",
        "$sort($append($acc, $i))",
        "$distinct($append($acc, $acc))",
        "$reverse($acc)",
        "$substring($acc & $acc, 1)",
    ]);
    match g.below(3) {
        0 | 1 => {
            out.push_str(&format!("$reduce([1..{n}], function($acc, $i){{{step}}}, "));
            expr(g, depth, out);
            out.push(')');
        }
        _ => {
            let rec = step.replace("$acc", "$f($n - 1)").replace("$i", "$n");
            out.push_str(&format!("($f := function($n){{$n <= 0 ? "));
            expr(g, depth, out);
            out.push_str(&format!(" : {rec}}}; $f({n}))"));
        }
    }
}

/// An expression nested up to `depth`.
pub fn expr(g: &mut G, depth: u32, out: &mut String) {
    let kinds = if depth == 0 { 4 } else { 17 };
    match g.below(kinds) {
        0 => out.push_str(&g.number_text()),
        1 => out.push_str(&string_lit(g)),
        2 => out.push_str(g.pick(&["true", "false", "null", "[]", "{}", "[1..3]", "$nothing"])),
        3 => path_expr(g, out),
        4 | 5 => {
            let (name, arity) = g.pick(FUNCTIONS);
            out.push_str(name);
            out.push('(');
            let n = if g.chance(1, 10) { g.below(4) } else { arity };
            for i in 0..n {
                if i > 0 {
                    out.push_str(", ");
                }
                if g.chance(1, 6) {
                    lambda(g, depth - 1, out);
                } else {
                    expr(g, depth - 1, out);
                }
            }
            out.push(')');
        }
        6 | 7 => {
            out.push('(');
            expr(g, depth - 1, out);
            out.push_str(g.pick(&[
                " + ", " - ", " * ", " / ", " % ", " & ", " = ", " != ", " < ", " <= ", " > ", " >= ", " and ", " or ",
                " in ", " ?? ", " ?: ", ".", " ~> ",
            ]));
            expr(g, depth - 1, out);
            out.push(')');
        }
        8 => {
            out.push('(');
            expr(g, depth - 1, out);
            out.push_str(" ? ");
            expr(g, depth - 1, out);
            out.push_str(" : ");
            expr(g, depth - 1, out);
            out.push(')');
        }
        9 => {
            out.push('[');
            for i in 0..g.below(4) {
                if i > 0 {
                    out.push_str(", ");
                }
                if g.chance(1, 5) {
                    out.push_str(&format!(
                        "{}..{}",
                        g.int().clamp(-5, 1_000_000),
                        g.int().clamp(-5, 1_000_000)
                    ));
                } else {
                    expr(g, depth - 1, out);
                }
            }
            out.push(']');
        }
        10 => {
            out.push('{');
            for i in 0..g.below(4) {
                if i > 0 {
                    out.push_str(", ");
                }
                if g.chance(1, 4) {
                    expr(g, depth - 1, out);
                } else {
                    out.push_str(&json_string(g.pick(KEYS)));
                }
                out.push_str(": ");
                expr(g, depth - 1, out);
            }
            out.push('}');
        }
        11 => {
            out.push('(');
            for i in 0..=g.below(3) {
                if i > 0 {
                    out.push_str("; ");
                }
                if g.bool() {
                    out.push_str(&format!("{} := ", g.pick(&["$v", "$w", "$i", "$x"])));
                }
                expr(g, depth - 1, out);
            }
            out.push(')');
        }
        12 => lambda_call(g, depth, out),
        13 => builder(g, depth - 1, out),
        14 => {
            expr(g, depth - 1, out);
            out.push('[');
            expr(g, depth - 1, out);
            out.push(']');
        }
        15 => {
            out.push_str("-");
            expr(g, depth - 1, out);
        }
        _ => {
            // transform and regex
            if g.bool() {
                out.push_str("($states.input ~> |$|{\"x\": 1}, [\"a\"]|)");
            } else {
                out.push_str("$match(");
                expr(g, depth - 1, out);
                out.push_str(&format!(
                    ", {})",
                    g.pick(&["/a+/", "/(a|b)*c/i", "/^.*$/m", "/[0-9]{2,}/", "/\\d+/"])
                ));
            }
        }
    }
}

fn lambda(g: &mut G, depth: u32, out: &mut String) {
    out.push_str(g.pick(&["function($v){", "function($v, $i){", "function($acc, $v){", "λ($v){"]));
    expr(g, depth, out);
    out.push('}');
}

fn lambda_call(g: &mut G, depth: u32, out: &mut String) {
    out.push('(');
    lambda(g, depth - 1, out);
    out.push_str(")(");
    expr(g, depth - 1, out);
    out.push(')');
}

/// A whole expression of moderate size.
pub fn expression(g: &mut G) -> String {
    let mut out = String::new();
    let depth = 1 + g.below(5) as u32;
    expr(g, depth, &mut out);
    out
}

/// `{% expr %}`.
pub fn template(g: &mut G) -> String {
    format!("{{% {} %}}", expression(g))
}
