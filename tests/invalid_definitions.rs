//! AWS's recorded answers to bad (and some good) definitions, `tests/data/conformance/invalid`:
//! CreateStateMachine cases must give AWS's first error (code, message, location), TestState
//! cases AWS's error and message; ValidateStateMachineDefinition cases must give exactly AWS's
//! diagnostics. None is skipped.

use std::path::PathBuf;

use quickstep::cases::DefinitionCase;

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

#[test]
fn invalid_definitions_match_aws() {
    let dir = data_dir().join("conformance/invalid");
    let paths: Vec<PathBuf> =
        quickstep::cases::collect_case_files(std::slice::from_ref(&dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!paths.is_empty(), "no cases in {}", dir.display());
    let mut passed = 0;
    let mut failures = Vec::new();
    for path in &paths {
        let case = DefinitionCase::load(path).unwrap_or_else(|e| panic!("{e}"));
        match case.run() {
            Ok(None) => passed += 1,
            Ok(Some(reason)) => failures.push(format!("{}: skipped: {reason}", case.name)),
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }
    eprintln!("{passed} matched, {} failed, of {}", failures.len(), paths.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(passed > 0);
}
