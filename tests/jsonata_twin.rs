//! The JSONata twin of workload W2 (benches/data) gives exactly W2's expected output, so the
//! bench that compares them compares equal work.

use std::path::PathBuf;

use quickstep::value::{parse, Arena};
use quickstep::{Machine, Status, TaskRegistry};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

#[test]
fn jsonata_twin_of_w2_matches_w2() {
    let twin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/w2_pass_chain_jsonata.asl.json"
    ))
    .unwrap();
    let input = std::fs::read_to_string(data_dir().join("workloads/input.json")).unwrap();
    let expected = std::fs::read_to_string(data_dir().join("workloads/w2_pass_chain.expected.json")).unwrap();
    let outcome = Machine::new(&twin, TaskRegistry::new())
        .unwrap()
        .run_json(&input)
        .unwrap();
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
    let arena = Arena::new();
    assert_eq!(
        parse(&arena, outcome.output.as_deref().unwrap()).unwrap(),
        parse(&arena, &expected).unwrap()
    );
}
