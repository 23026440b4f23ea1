//! Runs one workload many times on one thread, for profilers:
//! `cargo run --release --example profile_workload -- DEFINITION INPUT [COUNT] [text|textio|parsed]`.
//!
//! Tasks whose resource ends in `function:<Name>` get W1's handlers (each returns its input
//! with one field added). `text` (the default) parses the input text per execution;
//! `textio` also writes the output as JSON text;
//! `parsed` hands over a pre-parsed value.

use quickstep::clock::VirtualClock;
use quickstep::value::{parse, with_member, Arena, Value};
use quickstep::{ExecutionInfo, Machine, TaskRegistry};

fn w1_tasks() -> TaskRegistry {
    let mut tasks = TaskRegistry::new();
    let fields: [(&str, &str, Value<'static>); 4] = [
        ("ValidateOrder", "validated", Value::Bool(true)),
        ("ProcessPayment", "paymentId", Value::String("p-1")),
        ("ShipOrder", "shipped", Value::Bool(true)),
        ("OutOfStock", "backordered", Value::Bool(true)),
    ];
    for (name, key, value) in fields {
        tasks.register(
            format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            move |input, arena| Ok(with_member(arena, input, key, value)),
        );
    }
    tasks
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(definition), Some(input)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: profile_workload DEFINITION INPUT [COUNT] [text|textio|parsed]");
        std::process::exit(2);
    };
    let count: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(100_000);
    let pre_parsed = args.get(4).is_some_and(|m| m == "parsed");
    let write_output = args.get(4).is_some_and(|m| m == "textio");
    let mut out = Vec::with_capacity(4096);
    let machine = Machine::new(&std::fs::read_to_string(definition).unwrap(), w1_tasks()).unwrap();
    let input_text = std::fs::read_to_string(input).unwrap();
    let input_arena = Arena::new();
    let parsed_input = parse(&input_arena, &input_text).unwrap();
    let info = ExecutionInfo::default();
    let mut clock = VirtualClock::default();
    let mut arena = Arena::new();
    let start = std::time::Instant::now();
    let mut ok = 0;
    for _ in 0..count {
        arena.reset();
        let visit = |o: quickstep::exec::RawOutcome<'_>| {
            if write_output {
                out.clear();
                o.write_output(&mut out);
            }
            o.output.is_some() as usize
        };
        ok += if pre_parsed {
            machine.run_in(&arena, parsed_input, &info, &mut clock, visit)
        } else {
            machine
                .run_text_in(&arena, &input_text, &info, &mut clock, visit)
                .unwrap()
        };
    }
    let elapsed = start.elapsed();
    println!(
        "{ok}/{count} succeeded, {:.0} ns per execution",
        elapsed.as_nanos() as f64 / count as f64
    );
}
