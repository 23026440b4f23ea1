//! Every definition of the conformance corpus (`tests/data/conformance/cases`) is valid: it must
//! parse and validate (as STANDARD) without a single diagnostic.

use std::path::PathBuf;

use quickstep::model::MachineType;
use quickstep::validate_text;

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

#[test]
fn all_case_definitions_are_valid() {
    let dir = data_dir().join("conformance/cases");
    let entries: Vec<PathBuf> =
        quickstep::cases::collect_case_files(std::slice::from_ref(&dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!entries.is_empty(), "no cases in {}", dir.display());
    let mut failures = Vec::new();
    for path in &entries {
        let text = std::fs::read_to_string(path).expect("readable case");
        let case: serde_json::Value = serde_json::from_str(&text).expect("case is JSON");
        let definition = serde_json::to_string_pretty(&case["definition"]).expect("serializable");
        if let Err(diags) = validate_text(&definition, MachineType::Standard) {
            let list: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
            failures.push(format!("{}: {}", path.display(), list.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} definitions rejected:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
    eprintln!("{} definitions accepted", entries.len());
}
