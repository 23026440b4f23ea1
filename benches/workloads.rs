//! W1-W6 on one thread (the fast path: input parsed once, output read in place), and in the
//! same group W1 written by hand on serde_json, with no interpreter, so the report shows
//! quickstep's ratio to it. `w1_text` and `w1_handwritten_text` take JSON text in and give
//! JSON text out.
//!
//! `cargo bench --bench workloads`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quickstep::runtime::workloads::{default_dir, Workload, NAMES};
use quickstep::runtime::Runtime;
use quickstep::value::Arena;
use serde_json::{Map, Value as Json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// W1 as a good engineer writes it by hand: the input parsed once, cloned per execution (a
/// handler owns its input) and edited in place, the Choice an `if`.
fn w1_handwritten(input: &Json) -> Json {
    let mut order = input.clone();
    if let Some(fields) = order.as_object_mut() {
        w1_edit(fields);
    }
    order
}

fn w1_edit(fields: &mut Map<String, Json>) {
    fields.insert("validated".into(), Json::Bool(true));
    if fields.get("inStock") == Some(&Json::Bool(true)) {
        fields.insert("paymentId".into(), Json::String("p-1".into()));
        fields.insert("shipped".into(), Json::Bool(true));
    } else {
        fields.insert("backordered".into(), Json::Bool(true));
    }
}

/// The same, JSON text in and out.
fn w1_handwritten_text(input: &str, out: &mut Vec<u8>) {
    let mut order: Json = serde_json::from_str(input).unwrap_or(Json::Null);
    if let Some(fields) = order.as_object_mut() {
        w1_edit(fields);
    }
    out.clear();
    let _ = serde_json::to_writer(&mut *out, &order);
}

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
            assert!(workload.output_ok(&w1_handwritten(&parsed).to_string()));
            group.bench_function("w1_handwritten_serde", |b| {
                b.iter(|| w1_handwritten(black_box(&parsed)))
            });
            group.bench_function("w1_handwritten_text", |b| {
                b.iter(|| w1_handwritten_text(black_box(&workload.input), &mut out))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);
