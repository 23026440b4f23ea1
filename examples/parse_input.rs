//! Parses a JSON file into the arena and writes it back as JSON text, many times (for
//! profilers): `cargo run --release --example parse_input -- FILE [COUNT] [kept]`.
//! With `kept`, the text of containers written as read is kept and copied on output, as
//! the JSON text paths of the runtime do.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(args.get(1).expect("usage: parse_input FILE [COUNT]")).unwrap();
    let count: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(1_000_000);
    let keep_text = args.get(3).is_some_and(|m| m == "kept");
    let mut arena = quickstep::value::Arena::new();
    let mut out = Vec::with_capacity(4096);
    let (mut parsing, mut writing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut bytes = 0;
    for _ in 0..count {
        arena.reset();
        let start = std::time::Instant::now();
        let (v, source) = if keep_text {
            quickstep::value::parse_keeping_text(&arena, &text).unwrap()
        } else {
            (
                quickstep::value::parse(&arena, &text).unwrap(),
                quickstep::value::SourceText::NONE,
            )
        };
        let parsed = std::time::Instant::now();
        out.clear();
        v.write_json_from(source, &mut out);
        writing += parsed.elapsed();
        parsing += parsed - start;
        bytes += out.len();
    }
    println!(
        "{} bytes out, {:.0} ns per parse, {:.0} ns per write",
        bytes / count,
        parsing.as_nanos() as f64 / count as f64,
        writing.as_nanos() as f64 / count as f64
    );
}
