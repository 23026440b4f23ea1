//! Parses a JSON file into the arena many times (for profilers):
//! `cargo run --release --example parse_input -- FILE [COUNT]`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(args.get(1).expect("usage: parse_input FILE [COUNT]")).unwrap();
    let count: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(1_000_000);
    let mut arena = quickstep::value::Arena::new();
    let start = std::time::Instant::now();
    let mut members = 0;
    for _ in 0..count {
        arena.reset();
        let v = quickstep::value::parse(&arena, &text).unwrap();
        members += v.as_object().map_or(0, |m| m.len());
    }
    println!(
        "{members} members, {:.0} ns per parse",
        start.elapsed().as_nanos() as f64 / count as f64
    );
}
