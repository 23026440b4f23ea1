//! AWS's recorded answers to bad (and some good) definitions, `tests/data/conformance/invalid`:
//! CreateStateMachine and TestState cases must give AWS's first error (code, message,
//! location); ValidateStateMachineDefinition cases must give exactly AWS's diagnostics.

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
    let (mut passed, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for path in &paths {
        let case = DefinitionCase::load(path).unwrap_or_else(|e| panic!("{e}"));
        match case.run() {
            Ok(None) => passed += 1,
            Ok(Some(reason)) => {
                skipped += 1;
                eprintln!("skipped {}: {reason}", case.name);
            }
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }
    eprintln!(
        "{passed} matched, {skipped} skipped, {} failed, of {}",
        failures.len(),
        paths.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(passed > 0);
}
