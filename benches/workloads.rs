//! W1-W6 on one thread (the fast path: input parsed once, output read in place), and in the
//! same group W1 written by hand on serde_json, with no interpreter, so the report shows
//! quickstep's ratio to it. `w1_text` and `w1_handwritten_text` take JSON text in and give
//! JSON text out.
//!
//! `cargo bench --bench workloads`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quickstep::runtime::workloads::{default_dir, handwritten_w1, handwritten_w1_text, Workload, NAMES};
use quickstep::runtime::Runtime;
use quickstep::value::Arena;
use serde_json::Value as Json;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn workloads(c: &mut Criterion) {
    let mut group = c.benchmark_group("workloads");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    let dir = default_dir();
    for name in NAMES {
        let workload = Workload::load(name, &dir).expect("workload files");
        let runtime = Runtime::builder()
            .threads(1)
            .build(workload.machine().expect("compiles"));
        let arena = Arena::new();
        let input = quickstep::value::parse(&arena, &workload.input).expect("input");
        assert!(runtime.run_with(input, |raw| raw
            .output
            .is_some_and(|o| workload.output_ok(&o.to_json_string()))));
        group.bench_function(name, |b| {
            b.iter(|| runtime.run_with(black_box(input), |raw| black_box(raw.output.is_some())))
        });
        if name == "w1_order" {
            let mut out = Vec::with_capacity(1024);
            group.bench_function("w1_text", |b| {
                b.iter(|| {
                    runtime.run_text_with(black_box(&workload.input), |raw| {
                        out.clear();
                        raw.write_output(&mut out);
                    })
                })
            });
            let parsed: Json = serde_json::from_str(&workload.input).expect("input");
            assert!(workload.output_ok(&handwritten_w1(&parsed).to_string()));
            group.bench_function("w1_handwritten_serde", |b| {
                b.iter(|| handwritten_w1(black_box(&parsed)))
            });
            group.bench_function("w1_handwritten_text", |b| {
                b.iter(|| handwritten_w1_text(black_box(&workload.input), &mut out))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);
