//! Runs every recorded AWS execution in `tests/data/conformance/cases` and compares the result
//! with the recording. Cases listed in `tests/conformance-known-failures.txt` (each with its
//! reason) may fail; every other case must pass, and a listed case that passes must be
//! removed from the list.

use std::collections::BTreeMap;
use std::path::PathBuf;

use quickstep::cases::{collect_case_files, Case};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

/// `name -> reason` from the known-failures file.
fn known_failures() -> BTreeMap<String, String> {
    let text = include_str!("conformance-known-failures.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, reason)) => (name.to_string(), reason.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

struct Run {
    passed: Vec<String>,
    failed: Vec<(String, String)>,
}

fn run(select: impl Fn(&Case) -> bool) -> Run {
    let files =
        collect_case_files(&[data_dir().join("conformance/cases")]).expect("the conformance corpus is readable");
    assert!(
        files.len() >= 900,
        "expected the 900+ recorded cases, found {}",
        files.len()
    );
    let mut run = Run {
        passed: Vec::new(),
        failed: Vec::new(),
    };
    for file in files {
        let case = Case::load(&file).expect("every corpus file is a case");
        if !select(&case) {
            continue;
        }
        match std::panic::catch_unwind(|| case.run()) {
            Ok(Ok(())) => run.passed.push(case.name.clone()),
            Ok(Err(diff)) => run.failed.push((case.name.clone(), diff)),
            Err(_) => run.failed.push((case.name.clone(), "panicked".into())),
        }
    }
    run
}

fn check(run: Run, what: &str) {
    let known = known_failures();
    for reason in known.values() {
        assert!(!reason.is_empty(), "every known failure needs a reason");
    }
    let unexpected: Vec<&(String, String)> = run
        .failed
        .iter()
        .filter(|(name, _)| !known.contains_key(name))
        .collect();
    let fixed: Vec<&String> = run.passed.iter().filter(|name| known.contains_key(*name)).collect();
    let total = run.passed.len() + run.failed.len();
    println!(
        "{what}: {} passed, {} failed ({} known)",
        run.passed.len(),
        run.failed.len(),
        run.failed.len() - unexpected.len()
    );
    for (name, diff) in &unexpected {
        println!("FAIL {name}\n  {diff}");
    }
    assert!(
        unexpected.is_empty(),
        "{} of {total} {what} cases failed (see above)",
        unexpected.len()
    );
    assert!(
        fixed.is_empty(),
        "these cases pass now; remove them from the known-failures list: {fixed:?}"
    );
    assert!(
        (run.failed.len() as f64) <= 0.02 * total as f64,
        "known failures must stay under 2% of the {what} cases"
    );
}

/// Every case that uses neither JSONata nor Variables.
#[test]
fn jsonpath_cases_match_aws() {
    let run = run(|case| !case.uses_jsonata_or_variables());
    assert!(run.passed.len() + run.failed.len() > 700);
    check(run, "JSONPath");
}

/// Every case that uses JSONata or Variables (`QueryLanguage: JSONata`, `Assign`, `$name`).
#[test]
fn jsonata_and_variables_cases_match_aws() {
    let run = run(|case| case.uses_jsonata_or_variables());
    assert!(run.passed.len() + run.failed.len() > 150);
    check(run, "JSONata and Variables");
}
