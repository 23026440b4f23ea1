//! Unit tests of the JSONata engine.

use super::*;
use crate::value::parse;

fn run(expr: &str, input: &str) -> String {
    let e = Expression::parse(expr).unwrap_or_else(|err| panic!("{expr}: {err}"));
    let arena = Arena::new();
    let input = if input.is_empty() {
        None
    } else {
        Some(parse(&arena, input).unwrap())
    };
    match e.evaluate(&arena, input, &NoBindings, &Limits::default()) {
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
