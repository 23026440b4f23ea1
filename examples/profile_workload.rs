//! Runs one workload many times on one thread (for profilers):
//! `cargo run --release --example profile_workload -- DEFINITION INPUT [COUNT]`.

use quickstep::clock::VirtualClock;
use quickstep::value::{parse, Arena};
use quickstep::{ExecutionInfo, Machine, TaskRegistry};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(definition), Some(input)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: profile_workload DEFINITION INPUT [COUNT]");
        std::process::exit(2);
    };
    let count: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(100_000);
    let machine = Machine::new(&std::fs::read_to_string(definition).unwrap(), TaskRegistry::new()).unwrap();
    let input_text = std::fs::read_to_string(input).unwrap();
    let info = ExecutionInfo::default();
    let mut clock = VirtualClock::default();
    let mut arena = Arena::new();
    let start = std::time::Instant::now();
    let mut ok = 0;
    for _ in 0..count {
        arena.reset();
        let input = parse(&arena, &input_text).unwrap();
        ok += machine.run_in(&arena, input, &info, &mut clock, |o| o.output.is_some() as usize);
    }
    let elapsed = start.elapsed();
    println!(
        "{ok}/{count} succeeded, {:.0} ns per execution",
        elapsed.as_nanos() as f64 / count as f64
    );
}
