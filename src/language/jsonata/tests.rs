//! Unit tests of the JSONata engine.

use super::*;
use crate::value::parse;

fn run(expr: &str, input: &str) -> String {
    run_with(expr, input, &Limits::default())
}

/// Evaluates `expr` (against `input` JSON if not empty) under `limits`: the result's JSON
/// text, `undefined`, or the error as `CODE: message`.
pub(super) fn run_with(expr: &str, input: &str, limits: &Limits) -> String {
    let e = Expression::parse(expr).unwrap_or_else(|err| panic!("{expr}: {err}"));
    let arena = Arena::new();
    let input = if input.is_empty() {
        None
    } else {
        Some(parse(&arena, input).unwrap())
    };
    match e.evaluate(&arena, input, &NoBindings, limits) {
        Ok(Evaluated::Value(v)) => v.to_json_string(),
        Ok(Evaluated::Undefined) => "undefined".into(),
        Ok(Evaluated::Function) => "function".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn arithmetic_prints_integers() {
    assert_eq!(run("1+1", ""), "2");
    assert_eq!(run("1/4", ""), "0.25");
}

#[test]
fn paths_and_predicates() {
    let doc = r#"{"a":[{"b":1},{"b":2},{"b":3}]}"#;
    assert_eq!(run("a.b", doc), "[1,2,3]");
    assert_eq!(run("a[b>1].b", doc), "[2,3]");
    assert_eq!(run("a[0].b", doc), "1");
    assert_eq!(run("$sum(a.b)", doc), "6");
    // A path's last step yields its own array, even an empty one; an empty array before
    // the last step ends the path.
    assert_eq!(run("items", r#"{"items":[]}"#), "[]");
    assert_eq!(run("$.items", r#"{"items":[]}"#), "[]");
    assert_eq!(run("items.x", r#"{"items":[]}"#), "undefined");
}

#[test]
fn errors_render_like_jsonata_js() {
    assert_eq!(run("$foo()", "{}"), "T1006: Attempted to invoke a non-function");
    assert!(Expression::parse("(").is_err());
}

#[test]
fn expression_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Expression>();
}

#[test]
fn step_functions_extras() {
    assert_eq!(run("$partition([0,1,2,3], 3)", ""), "[[0,1,2],[3]]");
    assert_eq!(run("$partition([0], 5)", ""), "[[0]]");
    assert_eq!(run("$range(0, 10, 3)", ""), "[0,3,6,9]");
    assert_eq!(run("$range(1, 9, 9)", ""), "1");
    assert_eq!(run("$range(5, 1, -2)", ""), "[5,3,1]");
    assert_eq!(run("$hash('hello', 'MD5')", ""), "\"5d41402abc4b2a76b9719d911017c592\"");
    assert_eq!(
        run("$hash('hello', 'SHA-1')", ""),
        "\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\""
    );
    assert_eq!(
        run("$hash('hello', 'SHA-256')", ""),
        "\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\""
    );
    assert_eq!(run("$parse('-0')", ""), "0");
    assert_eq!(run("$parse('{\"a\":[1,2.5]}')", ""), r#"{"a":[1,2.5]}"#);
    assert_eq!(run("$random(7) = $random(7)", ""), "true");
    assert_eq!(run("$random() < 1", ""), "true");
    let uuid = run("$uuid()", "");
    assert_eq!(uuid.len(), 38, "{uuid}");
    assert_eq!(&uuid[15..16], "4");
}

#[test]
fn numbers_follow_javascript() {
    assert_eq!(run("$string(1/3)", ""), "\"0.333333333333333\"");
    assert_eq!(run("$string(1e21)", ""), "\"1e+21\"");
    assert_eq!(run("$string(0.0000001)", ""), "\"1e-7\"");
    assert_eq!(run("1.5 * 2", ""), "3");
    assert_eq!(run("0.1 + 0.2", ""), "0.30000000000000004");
    assert_eq!(run("2 & ''", ""), "\"2\"");
    assert_eq!(run("$formatNumber(1234.5678, '#,##0.00')", ""), "\"1,234.57\"");
    assert_eq!(run("$formatBase(255, 16)", ""), "\"ff\"");
    assert_eq!(run("$formatInteger(1999, 'I')", ""), "\"MCMXCIX\"");
    assert_eq!(run("$fromMillis(0)", ""), "\"1970-01-01T00:00:00.000Z\"");
    assert_eq!(run("$toMillis('1970-01-02T00:00:00Z')", ""), "86400000");
}

#[test]
fn sequences_and_arrays() {
    let doc = r#"{"a":[{"b":[1,2]},{"b":[3]}],"c":[[1,2],[3]]}"#;
    assert_eq!(run("a.b", doc), "[1,2,3]");
    assert_eq!(run("a[0].b", doc), "[1,2]");
    assert_eq!(run("a.b[0]", doc), "[1,3]");
    assert_eq!(run("a[1].b[]", doc), "[3]");
    assert_eq!(run("c[0]", doc), "[1,2]");
    assert_eq!(run("$", "[1,2]"), "[1,2]");
    assert_eq!(run("$[0]", "[1,2]"), "1");
    assert_eq!(run("nothing", doc), "undefined");
}

#[test]
fn functions_and_closures() {
    assert_eq!(run("($f := function($x){$x * 2}; $map([1,2,3], $f))", ""), "[2,4,6]");
    assert_eq!(
        run("($add := function($a,$b){$a+$b}; $inc := $add(?, 1); $inc(41))", ""),
        "42"
    );
    assert_eq!(run("[1,2,3] ~> $sum()", ""), "6");
    assert_eq!(run("$reduce([1,2,3,4], function($a,$b){$a+$b})", ""), "10");
    assert_eq!(run("function($x){$x}", ""), "function");
    assert_eq!(run("$f := function($n){$n <= 1 ? 1 : $n * $f($n - 1)}", ""), "function");
}

#[test]
fn objects_grouping_and_transform() {
    let doc = r#"{"items":[{"k":"a","v":1},{"k":"b","v":2},{"k":"a","v":3}]}"#;
    assert_eq!(run("items{k: $sum(v)}", doc), r#"{"a":4,"b":2}"#);
    assert_eq!(run("items^(>v).v", doc), "[3,2,1]");
    assert!(run("$ ~> |items|{'w': v * 10}, ['v']|", doc).contains("\"w\":30"));
    assert_eq!(run("{'x': undefinedThing, 'y': 1}", doc), r#"{"y":1}"#);
}

#[test]
fn errors_have_codes_positions_and_messages() {
    let e = Expression::parse("1 +").unwrap_err();
    assert_eq!(e.code, "S0207");
    let e = Expression::parse("\"abc").unwrap_err();
    assert_eq!(e.code, "S0101");
    assert_eq!(
        run("'a' + 1", ""),
        "T2001: The left side of the \"+\" operator must evaluate to a number"
    );
    assert_eq!(
        run("$sum('a')", ""),
        "T0412: Argument 1 of function \"sum\" must be an array of \"numbers\""
    );
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "$",
        "$$",
        "..",
        "a.",
        ".a",
        "a[",
        "a{",
        "a^(",
        "|",
        "||",
        "|a|",
        "function",
        "function(",
        "function($x)",
        "function($x){",
        "λ($x)<n:n>{$x}",
        "/",
        "/a",
        "//",
        "\"\\u12\"",
        "`abc",
        "/* x",
        "1..",
        "?",
        "a ? ",
        ":=",
        "$x :=",
        "@",
        "#",
        "a@",
        "a#",
        "%",
        "%.a",
        "**",
        "*.*",
        "a~>",
        "~>",
        "$f(?",
        "1e400",
        "[1..",
        "a[]]",
        "{'a':}",
        "{'a' 1}",
        "$string(",
        "a.b.c[0][1]{}",
        "\u{0}",
        "😀",
        "$😀",
        "'😀'",
    ];
    for s in samples {
        std::panic::catch_unwind(|| {
            if let Ok(e) = Expression::parse(s) {
                let arena = Arena::new();
                let _ = e.evaluate(&arena, None, &NoBindings, &Limits::default());
            }
        })
        .unwrap_or_else(|_| panic!("panicked on {s:?}"));
    }
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    // runs on the default 2 MiB test thread stack
    let out = run("($f := function($n){$n = 0 ? 0 : 1 + $f($n - 1)}; $f(100000))", "");
    assert!(out.starts_with("U1001"), "{out}");
    let err = Expression::parse(&"(".repeat(10000)).unwrap_err();
    assert_eq!(err.code, "S0201");
}

#[test]
fn time_limit_stops_infinite_loops() {
    let e = Expression::parse("($f := function(){$f()}; $f())").unwrap();
    let arena = Arena::new();
    let limits = Limits {
        time_limit: Some(std::time::Duration::from_millis(50)),
        ..Limits::default()
    };
    let err = e.evaluate(&arena, None, &NoBindings, &limits).unwrap_err();
    assert_eq!(err.code, "U1001");
}

#[test]
fn bindings_are_visible() {
    let e = Expression::parse("$states.input.x + $v").unwrap();
    let arena = Arena::new();
    let states = parse(&arena, r#"{"input":{"x":40}}"#).unwrap();
    let bindings: &[(&str, crate::value::Value)] = &[("states", states), ("v", crate::value::Value::int(2))];
    match e.evaluate(&arena, None, &bindings, &Limits::default()).unwrap() {
        Evaluated::Value(v) => assert_eq!(v.to_json_string(), "42"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn random_token_soup_never_panics() {
    const TOKENS: &[&str] = &[
        "a",
        "b",
        "$",
        "$$",
        "$x",
        "$f",
        ".",
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        ",",
        ";",
        ":",
        "?",
        "??",
        "?:",
        "+",
        "-",
        "*",
        "/",
        "%",
        "=",
        "!=",
        "<",
        ">",
        "<=",
        ">=",
        "&",
        "and",
        "or",
        "in",
        "..",
        ":=",
        "~>",
        "^(",
        "@",
        "#",
        "|",
        "1",
        "0",
        "2.5",
        "-1",
        "'s'",
        "\"t\"",
        "true",
        "null",
        "function($x){",
        "}",
        "$sum(",
        "$string(",
        "$map(",
        "$filter(",
        "/a+/",
        "$split(",
        "$replace(",
        "$match(",
        "$formatNumber(",
        "$fromMillis(",
        "$toMillis(",
        "**",
        "*",
        "%.",
        "$lookup(",
        "$sort(",
        "$reduce(",
        "$keys(",
        "$each(",
        "$sift(",
        "$zip(",
        "$formatInteger(",
        "$parseInteger(",
        "$pad(",
        "$substring(",
        "$eval(",
        "[]",
        "{}",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let arena_input = r#"{"a":[{"b":1,"c":"x"},{"b":[2,3],"c":null}],"b":{"d":true}}"#;
    let rounds: usize = std::env::var("JSONATA_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3000);
    for _ in 0..rounds {
        let n = (next() % 8) as usize + 1;
        let text: String = (0..n)
            .map(|_| TOKENS[(next() % TOKENS.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ");
        let result = std::panic::catch_unwind(|| {
            if let Ok(e) = Expression::parse(&text) {
                let arena = Arena::new();
                let input = parse(&arena, arena_input).unwrap();
                let limits = Limits {
                    time_limit: Some(std::time::Duration::from_millis(200)),
                    ..Limits::default()
                };
                let _ = e.evaluate(&arena, Some(input), &NoBindings, &limits);
            }
        });
        assert!(result.is_ok(), "panicked on {text:?}");
    }
}

#[test]
fn step_functions_conformance_expressions() {
    assert_eq!(run(r#"$contains("hello$world", /^hello\$/)"#, ""), "true");
    assert_eq!(run(r#"$contains('hello$world', /^hello\ /)"#, ""), "false");
    assert_eq!(run("$number('2')", ""), "2");
    assert_eq!(run("[1, 'two', 3]", ""), r#"[1,"two",3]"#);
    assert_eq!(run("[]", ""), "[]");
    assert_eq!(run("[0]", ""), "[0]");
    assert_eq!(run("{'foo': 'bar'}", ""), r#"{"foo":"bar"}"#);
    assert_eq!(run("$fn := function($x){$x}", ""), "function");
    assert_eq!(
        run("$merge([$.part1, $.part2])", r#"{"part1":{"a":1},"part2":{"b":2}}"#),
        r#"{"a":1,"b":2}"#
    );
    assert_eq!(run("$.value >= 20 and $.value < 30", r#"{"value":25}"#), "true");
}

#[test]
fn javascript_regex_escapes() {
    assert_eq!(run(r#"$split("a/b/c", /\//)"#, ""), r#"["a","b","c"]"#);
    assert_eq!(run(r#"$replace("a-b", /\-/, "+")"#, ""), r#""a+b""#);
    assert_eq!(run(r#"$match("ab12", /\d+/).match"#, ""), r#""12""#);
    assert_eq!(run(r#"$contains("ABC", /b/i)"#, ""), "true");
}

#[test]
fn random_pictures_never_panic() {
    const PIECES: &[&str] = &[
        "#", "0", "9", ",", ".", "e", "%", "\u{2030}", ";", "-", "a", "A", "i", "I", "w", "W", "Ww", "[", "]", "Y",
        "M", "D", "d", "F", "H", "h", "m", "s", "f", "Z", "z", "P", "x", "X", "W", "n", "N", "o", "t", "c", "*", "1",
        "01", "0001", " ", ":", "[[", "]]", "#0", "\u{0661}", "\u{ff10}",
    ];
    const FUNCS: &[&str] = &[
        "$formatNumber({n}, '{p}')",
        "$formatInteger({n}, '{p}')",
        "$parseInteger('{p}', '{p}')",
        "$fromMillis({n}, '{p}')",
        "$fromMillis({n}, '{p}', '{p}')",
        "$toMillis('{p}', '{p}')",
        "$toMillis('{p}')",
        "$pad('{p}', {n}, '{p}')",
        "$substring('{p}', {n}, {n})",
        "$formatBase({n}, {n})",
        "$round({n}, {n})",
        "$split('{p}', '{p}', {n})",
        "$replace('{p}', /[a-z]*/, '$1$0$$')",
    ];
    const NUMS: &[&str] = &[
        "0",
        "-1",
        "1e300",
        "-1e300",
        "0.5",
        "1234567.891",
        "-0.000001",
        "1e21",
        "36",
        "2",
        "99999999999999999999",
        "-3.7",
        "1e-300",
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let rounds: usize = std::env::var("JSONATA_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);
    for _ in 0..rounds {
        let f = FUNCS[(next() % FUNCS.len() as u64) as usize];
        let mut text = String::new();
        let mut rest = f;
        while let Some(i) = rest.find('{') {
            text.push_str(&rest[..i]);
            let hole = &rest[i..i + 3];
            if hole == "{n}" {
                text.push_str(NUMS[(next() % NUMS.len() as u64) as usize]);
            } else {
                let n = (next() % 7) as usize;
                for _ in 0..n {
                    text.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
                }
            }
            rest = &rest[i + 3..];
        }
        text.push_str(rest);
        let result = std::panic::catch_unwind(|| {
            if let Ok(e) = Expression::parse(&text) {
                let arena = Arena::new();
                let _ = e.evaluate(&arena, None, &NoBindings, &Limits::default());
            }
        });
        assert!(result.is_ok(), "panicked on {text:?}");
    }
}

#[test]
fn direct_evaluation_matches_the_general_evaluator() {
    let docs = [
        "",
        r#"{"orderId":"o-1","n":42,"big":9007199254740993,"f":3.0,"g":2.5,"customer":{"tier":"gold","id":null},"items":[{"a":1},{"a":2}],"e":[],"o":{}}"#,
        r#"[{"a":1},{"a":2}]"#,
        r#"[]"#,
        r#""text""#,
        r#"7"#,
    ];
    let exprs = [
        "orderId",
        "customer.tier",
        "customer.id",
        "customer.missing.deeper",
        "orderId.length",
        "items",
        "items.a",
        "e",
        "e.x",
        "o",
        "$",
        "$$",
        "$.customer",
        "$$.customer.tier",
        "$states.input.x",
        "$states",
        "$v",
        "$v.k",
        "$arr",
        "$arr.k",
        "$missing",
        "$missing.x",
        "$merge",
        "$sum",
        "'s'",
        "1.5",
        "true",
        "null",
        "{'a': orderId, 'b': missing, 'c': {'d': customer.tier, 'e': 2}}",
        "{'a': items}",
        "{'a': $states.input, 'n': n, 'big': big, 'f': f}",
        "{}",
        "[]",
        "[orderId]",
        "[items]",
        "[[items], orderId, missing, 1]",
        "[e]",
        "[missing]",
        "$merge([$states.input, {'r': {'id': $states.input.x, 'step': 0}}])",
        "$merge([$, {'r': 1}])",
        "$merge([{'a': 1}, {'a': 2, 'b': 3}, {'b': $v}])",
        "$merge([$v, {'k': 2}, $states.input])",
        "$merge([{'a': items}])",
        "$merge({'a': 1})",
        "$merge([])",
        "$merge([1, 2])",
        "$merge(missing)",
        "$merge([$states.input, $v, {'x': $states.input.x}])",
        "{'big': big, 'f': f, 'g': g}",
        "$merge([$, {'z': 0}])",
    ];
    let arena = Arena::new();
    let states = parse(&arena, r#"{"input":{"x":1,"n":3.0},"context":{}}"#).unwrap();
    let v = parse(&arena, r#"{"k":1,"big":9007199254740993}"#).unwrap();
    let arr = parse(&arena, r#"[{"k":1},{"k":2}]"#).unwrap();
    let bindings: &[(&str, crate::value::Value)] = &[("states", states), ("v", v), ("arr", arr)];
    let show = |r: Result<Evaluated, JsonataError>| match r {
        Ok(Evaluated::Value(v)) => v.to_json_string(),
        Ok(Evaluated::Undefined) => "undefined".into(),
        Ok(Evaluated::Function) => "function".into(),
        Err(e) => e.to_string(),
    };
    let mut direct_count = 0;
    for text in exprs {
        let mut e = Expression::parse(text).unwrap();
        let direct = e.direct;
        direct_count += direct as usize;
        for doc in docs {
            let input = (!doc.is_empty()).then(|| parse(&arena, doc).unwrap());
            e.direct = direct;
            let fast = show(e.evaluate(&arena, input, &bindings, &Limits::default()));
            e.direct = false;
            let general = show(e.evaluate(&arena, input, &bindings, &Limits::default()));
            assert_eq!(fast, general, "{text} on {doc}");
        }
    }
    assert!(direct_count >= 30, "{direct_count}");
}

#[test]
fn merged_objects_carry_a_size_bound_that_covers_their_text() {
    let arena = Arena::new();
    let input = parse(&arena, r#"{"a":"x","n":12345678901234567890,"o":{"k":[1,2]}}"#).unwrap();
    for expr in [
        "$merge([$, {'a': 'a much longer string \\u0001'}])",
        "$merge([$, {'b': {'c': $.o}}, {'a': null}])",
        "$merge([$.o, $])",
    ] {
        let e = Expression::parse(expr).unwrap();
        let Ok(Evaluated::Value(v)) = e.evaluate(&arena, Some(input), &NoBindings, &Limits::default()) else {
            panic!("{expr}");
        };
        let text = v.to_json_string().len();
        assert!(!v.json_len_exceeds(text) && v.json_len_exceeds(text - 1), "{expr}: {v}");
    }
}
