//! AWS's recorded answers to bad (and some good) definitions, `shared/conformance/invalid`:
//! CreateStateMachine and TestState cases must give AWS's first error (code, message,
//! location); ValidateStateMachineDefinition cases must give exactly AWS's diagnostics.

use std::path::PathBuf;

use quickstep::machine::check_definition;
use quickstep::model::MachineType;
use quickstep::Diagnostic;
use serde_json::Value as Json;

/// Cases that cannot pass yet, with the reason. When one starts to pass, this test fails
/// and asks for it to be removed from the list.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

fn shared_dir() -> PathBuf {
    std::env::var_os("QUICKSTEP_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")))
}

/// Matches `actual` against `expected`, where each masked token in `expected` stands for
/// any text.
fn matches_masked(expected: &str, actual: &str, tokens: &[String]) -> bool {
    let mut pieces = vec![expected.to_string()];
    for t in tokens {
        pieces = pieces
            .iter()
            .flat_map(|p| p.split(t.as_str()).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    if pieces.len() == 1 {
        return expected == actual;
    }
    let mut rest = actual;
    for (i, piece) in pieces.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(piece.as_str()) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i + 1 == pieces.len() {
            return rest.ends_with(piece.as_str());
        } else {
            match rest.find(piece.as_str()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
    }
    true
}

fn show(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("{d:?}"))
        .collect::<Vec<_>>()
        .join("\n    ")
}

/// Runs one case; `Ok(None)` if it passed, `Ok(Some(reason))` if skipped, `Err` on mismatch.
fn run_case(case: &Json) -> Result<Option<String>, String> {
    let name = case["name"].as_str().unwrap_or("?");
    let expected = &case["expected"];
    let api = expected["api"].as_str().unwrap_or("");
    if api == "TestState" && expected.get("parsed").is_none() {
        return Ok(Some(format!(
            "TestState-only rule, not a definition rule: {}",
            expected["message"].as_str().unwrap_or("")
        )));
    }
    let mut definition = case["definition"].clone();
    // A TestState single-state definition: AWS reports it as the state `StateName`.
    if api == "TestState" && definition.get("Type").is_some() {
        definition = serde_json::json!({"StartAt": "StateName", "States": {"StateName": definition}});
    }
    let text = match &definition {
        Json::String(s) => s.clone(),
        other => serde_json::to_string(other).expect("serializable"),
    };
    let ty = match case["type"].as_str() {
        Some("EXPRESS") => MachineType::Express,
        _ => MachineType::Standard,
    };
    // The whole pipeline: parse, validate, then compile (paths, templates, intrinsics).
    let diags = match check_definition(&text, ty) {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics,
    };
    if api == "ValidateStateMachineDefinition" {
        let want = expected["diagnostics"].as_array().cloned().unwrap_or_default();
        let same = want.len() == diags.len()
            && want.iter().zip(&diags).all(|(w, d)| {
                w["severity"].as_str() == Some(d.severity.as_str())
                    && w["code"].as_str() == Some(d.code)
                    && w["message"].as_str() == Some(d.message.as_str())
                    && w["location"].as_str() == d.location.as_deref()
            });
        if !same {
            return Err(format!(
                "{name}: expected {}\n    got {}",
                serde_json::to_string(&want).unwrap_or_default(),
                show(&diags)
            ));
        }
        return Ok(None);
    }
    let parsed = &expected["parsed"];
    let tokens: Vec<String> = expected["masked_tokens"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let first = diags
        .first()
        .ok_or_else(|| format!("{name}: no diagnostic, expected {parsed}"))?;
    let ok = parsed["code"].as_str() == Some(first.code)
        && matches_masked(parsed["message"].as_str().unwrap_or(""), &first.message, &tokens)
        && parsed["location"].as_str() == first.location.as_deref();
    if !ok {
        return Err(format!("{name}: expected {parsed}\n    got {}", show(&diags)));
    }
    // The whole CreateStateMachine message, when only this error is reported.
    if diags.len() == 1 {
        if let Some(message) = expected["message"].as_str() {
            let ours = quickstep::diagnostic::invalid_definition_message(&diags);
            if !matches_masked(message, &ours, &tokens) {
                return Err(format!("{name}: message {message:?}\n    got {ours:?}"));
            }
        }
    }
    Ok(None)
}

#[test]
fn invalid_definitions_match_aws() {
    let dir = shared_dir().join("conformance/invalid");
    let paths: Vec<PathBuf> =
        quickstep::cases::collect_case_files(std::slice::from_ref(&dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!paths.is_empty(), "no cases in {}", dir.display());
    let (mut passed, mut skipped, mut xfailed) = (0, 0, 0);
    let mut failures = Vec::new();
    for path in &paths {
        let case: Json = serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("case is JSON");
        let name = case["name"].as_str().unwrap_or("?").to_string();
        let xfail = EXPECTED_FAILURES.iter().find(|(n, _)| *n == name);
        match (run_case(&case), xfail) {
            (Ok(Some(reason)), _) => {
                skipped += 1;
                eprintln!("skipped {name}: {reason}");
            }
            (Ok(None), None) => passed += 1,
            (Ok(None), Some(_)) => failures.push(format!("{name} now passes: remove it from EXPECTED_FAILURES")),
            (Err(e), Some((_, reason))) => {
                xfailed += 1;
                eprintln!("expected failure {name} ({reason}):\n    {e}");
            }
            (Err(e), None) => failures.push(e),
        }
    }
    eprintln!(
        "{passed} matched, {skipped} skipped, {xfailed} expected failures, {} failed, of {}",
        failures.len(),
        paths.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
