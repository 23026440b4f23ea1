//! JSONata mode against its JSONPath twin: workload W2 (10 Pass states, each adding an object
//! built from two paths) written with Parameters/ResultPath and with JSONata `Output`. Same
//! input, same output (tests/jsonata_twin.rs); one execution per iteration on one thread,
//! input pre-parsed into the arena, arena reset between executions.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use quickstep::clock::VirtualClock;
use quickstep::value::{parse, Arena};
use quickstep::{ExecutionInfo, Machine, Status, TaskRegistry};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

fn bench_machine(
    c: &mut Criterion,
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    definition: &str,
) {
    let _ = c;
    let machine = Machine::new(definition, TaskRegistry::new()).expect("the workload compiles");
    let input_text = std::fs::read_to_string(data_dir().join("workloads/input.json")).unwrap();
    let info = ExecutionInfo::default();
    let mut clock = VirtualClock::default();
    let mut arena = Arena::new();
    group.bench_function(name, |b| {
        b.iter(|| {
            arena.reset();
            let input = parse(&arena, &input_text).unwrap();
            let status = machine.run_in(&arena, input, &info, &mut clock, |outcome| outcome.status);
            assert_eq!(status, Status::Succeeded);
        })
    });
}

fn jsonata_vs_jsonpath(c: &mut Criterion) {
    let jsonpath = std::fs::read_to_string(data_dir().join("workloads/w2_pass_chain.asl.json")).unwrap();
    let jsonata = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/w2_pass_chain_jsonata.asl.json"
    ))
    .unwrap();
    let mut group = c.benchmark_group("w2_pass_chain");
    let mut dummy = Criterion::default();
    bench_machine(&mut dummy, &mut group, "jsonpath", &jsonpath);
    bench_machine(&mut dummy, &mut group, "jsonata", &jsonata);
    group.finish();
}

criterion_group!(benches, jsonata_vs_jsonpath);
criterion_main!(benches);
