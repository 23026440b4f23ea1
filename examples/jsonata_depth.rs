//! Finds how deep a non-tail recursion can go under the default limits:
//! `cargo run [--release] --example jsonata_depth`.

use quickstep::jsonata::{Expression, Limits, NoBindings};
use quickstep::value::Arena;

fn ok(n: u32) -> bool {
    let e = Expression::parse(&format!("($f := function($n){{$n = 0 ? 0 : 1 + $f($n - 1)}}; $f({n}))")).unwrap();
    let arena = Arena::new();
    e.evaluate(&arena, None, &NoBindings, &Limits::default()).is_ok()
}

fn main() {
    let (mut lo, mut hi) = (0u32, 5000u32);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    println!("deepest recursion under Limits::default(): {lo} levels");
}
