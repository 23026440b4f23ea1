//! Unit tests of the evaluation limits: the memory budget, the value depth limit, checked
//! arithmetic and the linear versions of what used to be quadratic (issue #16, the cases of
//! `tests/data/robustness`).

use std::time::{Duration, Instant};

use super::tests::run_with;
use super::*;
use crate::value::parse;

fn run(expr: &str) -> String {
    run_with(expr, "", &Limits::default())
}

const MEMORY: &str = "U1001: Memory limit exceeded";
const NESTING: &str = "U1001: Value nesting limit exceeded: a value nests more than 256 levels deep.";

/// An object nested `n` deep, built at run time (`{"a": {"a": ...}}`).
fn deep_object(n: usize) -> String {
    format!("$reduce([1..{n}], function($a, $b){{{{\"a\": $a}}}}, {{}})")
}

/// An array nested `n` deep, built at run time (`[[[...[1]...]]]`).
fn deep_array(n: usize) -> String {
    format!("$reduce([1..{n}], function($a, $b){{$zip($a)}}, [1])")
}

#[test]
fn defaults_are_documented_values() {
    let d = Limits::default();
    assert_eq!(d.max_memory_bytes, 256 << 20);
    assert_eq!(d.max_value_depth, 256);
    assert_eq!(d.max_depth, 1000);
    assert_eq!(Limits::DEFAULT.max_memory_bytes, d.max_memory_bytes);
}

#[test]
fn growing_strings_and_arrays_stop_at_the_memory_budget() {
    // M2: a string doubling in a loop
    let out = run("$reduce([1..40], function($a, $b){$a & $a}, \"x\")");
    assert!(out.starts_with(MEMORY), "{out}");
    assert!(out.contains("256 MiB"), "{out}");
    // M1: an array doubling in a tail-recursive loop
    let out = run("($f := function($s){$f([$s, $s])}; $f(1))");
    assert!(out.starts_with(MEMORY), "{out}");
    // what fits is fine
    assert_eq!(
        run("$length($reduce([1..10], function($a, $b){$a & $a}, \"x\"))"),
        "1024"
    );
}

#[test]
fn large_results_are_refused_before_they_are_allocated() {
    let limits = Limits {
        max_memory_bytes: 1 << 20,
        ..Limits::default()
    };
    let input = format!("{{\"s\": \"{}\"}}", "a".repeat(10_000));
    let cases = [
        // M3: many references to one string joined
        "$join($map([1..1000], function($v){$$.s}))",
        "$join($map([1..1000], function($v){$$.s}), \",\")",
        "$pad(\"x\", 5000000)",
        "$string($map([1..1000], function($v){$$.s}))",
        "$$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s & $$.s",
        "$replace($$.s, \"a\", $$.s)",
        "[1..1000000]",
        "$range(1, 1000000)",
        "$fromMillis(0, \"[Y,5000000]\")",
        "$uppercase($join($map([1..90], function($v){$$.s})))",
    ];
    for expr in cases {
        let e = Expression::parse(expr).unwrap_or_else(|err| panic!("{expr}: {err}"));
        let arena = Arena::new();
        let doc = parse(&arena, &input).unwrap();
        let before = arena.allocated_bytes();
        let err = e
            .evaluate(&arena, Some(doc), &NoBindings, &limits)
            .map(|_| ())
            .expect_err(expr);
        assert!(err.to_string().starts_with(MEMORY), "{expr}: {err}");
        assert!(err.message.contains("1 MiB"), "{expr}: {err}");
        // what was allocated stays within (about twice, for the arena's chunks) the budget
        let used = arena.allocated_bytes() - before;
        assert!(used <= 3 << 20, "{expr}: {used} bytes allocated");
    }
    // within the budget the same expressions work
    assert_eq!(
        run_with("$length($join($map([1..10], function($v){$$.s})))", &input, &limits),
        "100000"
    );
}

#[test]
fn a_runaway_loop_ends_by_the_memory_budget_without_a_time_limit() {
    // M6: every call leaves a frame in the arena
    let limits = Limits {
        max_memory_bytes: 8 << 20,
        ..Limits::default()
    };
    let started = Instant::now();
    let out = run_with("($f := function(){$f()}; $f())", "", &limits);
    assert!(out.starts_with(MEMORY), "{out}");
    assert!(out.contains("8 MiB"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn walks_over_deep_values_fail_past_the_value_depth() {
    // (runs on the default 2 MiB test thread stack)
    let obj = deep_object(100_000);
    let arr = deep_array(100_000);
    // S5: the result converted to JSON
    assert_eq!(run(&obj), NESTING);
    assert_eq!(run(&arr), NESTING);
    // S6: `$string`
    assert_eq!(run(&format!("$string({obj})")), NESTING);
    assert_eq!(run(&format!("$string({arr}, true)")), NESTING);
    // S7: `=` of two different deep values; a value is equal to itself at once
    assert_eq!(run(&format!("({obj}) = ({obj})")), NESTING);
    assert_eq!(run(&format!("($x := {obj}; $x = $x)")), "true");
    assert_eq!(run(&format!("($x := {arr}; $x != $x)")), "false");
    // walks of the standard library and the operators
    for expr in [
        format!("$distinct([{obj}, {obj}])"),
        format!("$count(({obj}).**)"),
        format!("$count(({arr}).*)"),
        format!("$keys([{arr}])"),
        format!("$spread({arr})"),
        format!("$type(({obj}) ~> |**|{{\"b\": 1}}|)"),
        format!("$merge([{obj}]) ~> $type()"),
        format!("$clone({obj}) ~> $type()"),
        format!("$count($lookup({arr}, \"a\"))"),
    ] {
        let out = run(&expr);
        assert!(out == NESTING || !out.starts_with("U1001"), "{expr}: {out}");
    }
    // values within the limit are fine
    assert_eq!(run(&format!("$count($keys({}))", deep_object(200))), "1");
    assert_eq!(run(&format!("$string({}) ~> $length()", deep_object(3))), "20");
    assert_eq!(run(&format!("$boolean({arr})")), "true");
    assert_eq!(
        run("$boolean($reduce([1..100000], function($a, $b){$zip($a)}, [0]))"),
        "false"
    );
    // a smaller limit applies
    let limits = Limits {
        max_value_depth: 10,
        ..Limits::default()
    };
    let out = run_with(&deep_object(11), "", &limits);
    assert!(out.contains("more than 10 levels"), "{out}");
    assert_eq!(
        run_with(&format!("$count($keys({}))", deep_object(9)), "", &limits),
        "1"
    );
}

#[test]
fn shared_values_do_not_blow_up_walks() {
    // an object holding the previous one twice: 2^60 paths, 60 objects
    let dag = "$reduce([1..60], function($a, $b){{\"l\": $a, \"r\": $a}}, {})";
    let small = Limits {
        max_memory_bytes: 16 << 20,
        ..Limits::default()
    };
    let run = |expr: &str| run_with(expr, "", &small);
    let started = Instant::now();
    let out = run(dag);
    assert!(out.starts_with(MEMORY), "{out}");
    let out = run(&format!("$string({dag})"));
    assert!(out.starts_with(MEMORY), "{out}");
    assert_eq!(run(&format!("($x := {dag}; $x = $x)")), "true");
    let out = run(&format!("$count(({dag}).**)"));
    assert!(out.starts_with(MEMORY), "{out}");
    // deep equality of two equal shared values, distinct: bounded by the time limit
    let limits = Limits {
        time_limit: Some(Duration::from_millis(200)),
        ..small
    };
    let out = run_with(&format!("({dag}) = ({dag})"), "", &limits);
    assert!(out.starts_with("U1001: Expression evaluation timeout"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn error_messages_quote_values_within_bounds() {
    let out = run(&format!("-({})", deep_object(100_000)));
    assert!(out.starts_with("D1002"), "{}", &out[..100]);
    assert!(out.ends_with("..."), "{}", &out[out.len() - 100..]);
    let out = run("-($map([1..100000], function($v){\"abcdefgh\"}))");
    assert!(out.starts_with("D1002") && out.len() < 40 << 10, "{}", out.len());
}

#[test]
fn distinct_keeps_first_occurrences_in_order() {
    assert_eq!(
        run("$distinct([1, \"1\", 1, {\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1}, [1, 2], [1, 2], [2, 1], 0, -0, null, null, true, \"1\"])"),
        "[1,\"1\",{\"a\":1,\"b\":2},[1,2],[2,1],0,null,true]"
    );
    assert_eq!(
        run("$distinct([{\"a\": [1, {\"b\": 2}]}, {\"a\": [1, {\"b\": 3}]}, {\"a\": [1, {\"b\": 2}]}])"),
        "[{\"a\":[1,{\"b\":2}]},{\"a\":[1,{\"b\":3}]}]"
    );
    assert_eq!(run("$distinct([3, 1, 3, 2, 1])"), "[3,1,2]");
    assert_eq!(run("$distinct(\"x\")"), "\"x\"");
    assert_eq!(run("$distinct([])"), "[]");
    // a sequence stays a sequence (a single item is the item)
    assert_eq!(
        run_with("$distinct(a.b)", "{\"a\":[{\"b\":1},{\"b\":1}]}", &Limits::default()),
        "1"
    );
    // H1: linear
    let started = Instant::now();
    assert_eq!(run("$count($distinct([1..100000]))"), "100000");
    assert_eq!(run("$count($distinct($map([1..100000], function($v){$v % 10})))"), "10");
    assert_eq!(
        run("$count($distinct($map([1..20000], function($v){{\"k\": $v, \"a\": [$v]}})))"),
        "20000"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn grouping_merging_and_keys_are_linear() {
    let started = Instant::now();
    // one group of 100,000 items (appended one by one: quadratic before)
    assert_eq!(run("$count([1..100000]{\"all\": $}.all)"), "100000");
    assert_eq!(run("[1..100000]{\"all\": $count($)}.all"), "100000");
    assert_eq!(
        run("($g := [1..100000]{$string($ % 3): $sum($)}; [$g.\"0\", $g.\"1\", $g.\"2\"])"),
        "[1666683333,1666716667,1666650000]"
    );
    // many keys
    assert_eq!(
        run("$count($keys($merge($map([1..20000], function($v){{$string($v): $v}}))))"),
        "20000"
    );
    assert_eq!(
        run("$count($keys($map([1..20000], function($v){{$string($v): $v}})))"),
        "20000"
    );
    assert_eq!(
        run("$count($spread($map([1..20000], function($v){{$string($v): $v}})))"),
        "20000"
    );
    assert_eq!(
        run("$merge([{\"a\": 1, \"b\": 2}, {\"b\": 3, \"c\": 4}])"),
        "{\"a\":1,\"b\":3,\"c\":4}"
    );
    // a transform matching many objects
    assert_eq!(
        run("$count(($map([1..20000], function($v){{\"v\": $v}}) ~> |$|{\"w\": 1}|).w)"),
        "20000"
    );
    // grouped tuples (group by with a binding)
    assert_eq!(
        run_with(
            "a@$x{$string($x.k): $count($x)}",
            "{\"a\":[{\"k\":1},{\"k\":2},{\"k\":1}]}",
            &Limits::default()
        ),
        "{\"1\":2,\"2\":1}"
    );
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[test]
fn arithmetic_extremes_are_errors_not_panics() {
    // S8: words, letters and numerals of Infinity and NaN
    for f in ["w", "W", "a", "A", "i", "I"] {
        for n in ["$sum([1e308, 1e308])", "-$sum([1e308, 1e308])", "0/0"] {
            let out = run(&format!("$formatInteger({n}, \"{f}\")"));
            assert!(out.starts_with("D1001: Number out of range"), "{n} {f}: {out}");
        }
    }
    let digits = "1".repeat(401);
    let out = run(&format!("$formatInteger($parseInteger(\"{digits}\", \"0\"), \"w\")"));
    assert!(out.starts_with("D1001"), "{out}");
    // huge finite values still format
    assert!(run("$formatInteger(1e308, \"w\")").contains("trillion"));
    assert_eq!(run("$formatInteger(12, \"w\")"), "\"twelve\"");
    // P2: time zone offsets
    let out = run("$fromMillis(0, \"[Y]\", \"9223372036854775807\")");
    assert!(out.starts_with("D1001"), "{out}");
    let out = run("$fromMillis(0, \"[Y]\", \"-9223372036854775808\")");
    assert!(out.starts_with("D1001"), "{out}");
    assert_eq!(
        run("$fromMillis(0, \"[H01]:[m01] [Z]\", \"-0500\")"),
        "\"19:00 -05:00\""
    );
    assert_eq!(
        run("$fromMillis(0, \"[Y]\", \"999999999\")"),
        run("$fromMillis(0, \"[Y]\", \"999999999\")")
    );
    // dates out of range
    for expr in [
        format!("$toMillis(\"{digits}\", \"[Y]\")"),
        "$toMillis(\"99999999999999999999-01-01\", \"[Y]-[M]-[D]\")".to_string(),
        "$toMillis(\"1-99999999999999999999\", \"[Y]-[d]\")".to_string(),
        "$fromMillis(8.64e15, \"[Y0001] [W] [w] [F] [X] [x]\")".to_string(),
        "$fromMillis(-8.64e15, \"[Y0001] [W] [w] [F] [X] [x]\")".to_string(),
        "$fromMillis(1e300)".to_string(),
        "$formatNumber(1e308, \"#,##0.00\")".to_string(),
        "$formatNumber(-1e308, \"0.0e0\")".to_string(),
        "$formatBase(1e308, 2)".to_string(),
        "$pad(\"x\", 1e300)".to_string(),
        "$pad(\"x\", -1e300)".to_string(),
        "$substring(\"abc\", 1e300, 1e300)".to_string(),
        "$substring(\"abc\", -1e300, -1e300)".to_string(),
        "$range(-1e308, 1e308, 1)".to_string(),
        "$range(0, 1, 1e-300)".to_string(),
        "[-1e308..1e308]".to_string(),
        "[1..10000001]".to_string(),
        "$round(1e308, 400)".to_string(),
        "$power(10, 400)".to_string(),
    ] {
        // no panic (debug builds check overflow); an error or a value
        let _ = run(&expr);
    }
    let out = run("[1..10000001]");
    assert!(out.starts_with("D2014"), "{out}");
    let out = run("$range(0, 1, 1e-300)");
    assert!(out.starts_with("D2014"), "{out}");
}

#[test]
fn format_number_pictures_with_many_digits_are_linear() {
    let started = Instant::now();
    let zeros = "0".repeat(50_000);
    assert_eq!(run(&format!("$length($formatNumber(1, \"{zeros}\"))")), "50000");
    let grouped = format!("0{}", ",000".repeat(10_000));
    assert_eq!(run(&format!("$length($formatNumber(1, \"{grouped}\"))")), "40001");
    assert_eq!(run("$formatNumber(1234567.891, \"#,##0.00\")"), "\"1,234,567.89\"");
    assert_eq!(run("$formatNumber(1234567, \"0,000\")"), "\"1,234,567\"");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn long_operator_chains_parse_or_fail_without_overflow() {
    // a chain of operators is a tree as deep as it is long (runs on a 2 MiB test thread)
    let chain = |n: usize| vec!["\"a\""; n].join(" & ");
    assert_eq!(run(&format!("$length({})", chain(200))), "200");
    for n in [500, 2_000, 20_000] {
        match Expression::parse(&chain(n)) {
            Ok(_) => assert_eq!(run(&format!("$length({})", chain(n))), n.to_string()),
            Err(err) => assert_eq!(err.code, "S0201"),
        }
    }
    let err = Expression::parse(&vec!["1"; 20_000].join("+")).unwrap_err();
    assert_eq!(err.code, "S0201");
    let err = Expression::parse(&vec!["a"; 20_000].join(".")).unwrap_err();
    assert_eq!(err.code, "S0201");
}

#[test]
fn equality_of_large_objects_is_linear() {
    let started = Instant::now();
    let build = |order: &str| format!("$merge($map({order}, function($v){{{{$string($v): $v}}}}))");
    let up = build("[1..20000]");
    let down = build("$reverse([1..20000])");
    assert_eq!(run(&format!("({up}) = ({down})")), "true");
    assert_eq!(run(&format!("({up}) = ({down} ~> |$|{{\"7\": 0}}|)")), "false");
    assert_eq!(run(&format!("$count($distinct([{up}, {down}]))")), "1");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}
