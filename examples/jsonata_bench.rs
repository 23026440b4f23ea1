use quickstep::jsonata::{Bindings, Evaluated, Expression, Limits};
use quickstep::value::{parse, Arena, Value};
use std::time::Instant;

// Measures evaluation time of typical Step Functions expressions:
// `cargo run --release --example jsonata_bench [expression]`.

struct B<'a>(Value<'a>);
impl<'a> Bindings<'a> for B<'a> {
    fn lookup(&self, name: &str) -> Option<Value<'a>> {
        if name == "states" {
            Some(self.0)
        } else {
            None
        }
    }
}

fn main() {
    let exprs = [
        "1",
        "$states",
        "$states.input",
        "$states.input.order.id",
        "$states.input.items[price > 10].name",
        "$sum($states.input.items.price)",
        "{'id': $states.input.order.id, 'n': $count($states.input.items), 'up': $uppercase($states.input.order.customer)}",
        "$states.input.items.{'name': name, 'total': price * qty}",
        "$map($states.input.items, function($i){ $i.price * 2 })",
        "$string($states.input.order.id) & '-' & $states.input.order.customer",
    ];
    let text = r#"{"input":{"order":{"id":123,"customer":"acme"},"items":[{"name":"a","price":5,"qty":2},{"name":"b","price":15,"qty":1},{"name":"c","price":25.5,"qty":3}]}}"#;
    let input_arena = Arena::new();
    let states = parse(&input_arena, text).unwrap();
    let mut arena = Arena::new();
    let limits = Limits::default();
    let only = std::env::args().nth(1);
    for e in exprs {
        if let Some(o) = &only {
            if o != e {
                continue;
            }
        }
        let ex = Expression::parse(e).unwrap();
        let n = 500_000;
        let mut len = 0;
        let t = Instant::now();
        for _ in 0..n {
            arena.reset();
            let r = ex.evaluate(&arena, None, &B(states), &limits).unwrap();
            if let Evaluated::Value(_) = r {
                len += 1;
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        println!("{ns:8.0} ns  {e}  ({len})");
    }
}
