//! The robustness cases of `tests/data/robustness`: definitions and inputs that once aborted,
//! exhausted or stalled quickstep. Each runs as its `cmd.sh` says, through the `quickstep`
//! binary, with at most 1 GiB of address space, and must end with the outcome its
//! `expected.json` gives (exit status, and the execution's `status`, `error`, `output` and a
//! part of its `cause`), never with an abort or a signal. A run still going after `HANG_SECONDS` is killed
//! and fails the case as a hang (this is a guard against hangs, not a speed measurement: the
//! cases take milliseconds to a second in a debug build).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

const HANG_SECONDS: u64 = 60;
const ADDRESS_SPACE_KIB: u64 = 1 << 20;

fn cases_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/robustness"))
}

/// The arguments of `cmd.sh`'s `quickstep` command line (its last line, after the program).
fn arguments(case: &Path) -> Vec<String> {
    let script = std::fs::read_to_string(case.join("cmd.sh")).unwrap();
    let line = script
        .lines()
        .rfind(|l| l.contains("QUICKSTEP"))
        .unwrap_or_else(|| panic!("{}: no quickstep command in cmd.sh", case.display()));
    let rest = line.split_once("}\"").map(|(_, rest)| rest).unwrap_or(line);
    rest.split_whitespace().map(str::to_string).collect()
}

/// Runs one case; `Err` says how it went wrong.
fn run_case(case: &Path) -> Result<(), String> {
    let expected_text = std::fs::read_to_string(case.join("expected.json"))
        .map_err(|e| format!("no expected.json ({e}): every case says how it must end"))?;
    let expected: Json = serde_json::from_str(&expected_text).map_err(|e| format!("expected.json: {e}"))?;
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_quickstep"))
        .args(arguments(case))
        .current_dir(case)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start quickstep: {e}"))?;
    // Drained while it runs: an outcome larger than a pipe's buffer (it quotes the input)
    // would otherwise block the child until the hang guard kills it.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            pipe.read_to_end(&mut text).ok();
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(HANG_SECONDS) {
            child.kill().ok();
            child.wait().ok();
            return Err(format!("still running after {HANG_SECONDS} s: killed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let stdout = String::from_utf8_lossy(&stdout);
    let stderr = String::from_utf8_lossy(&stderr);
    let Some(code) = status.code() else {
        return Err(format!("ended by a signal ({status}); stderr: {}", tail(&stderr)));
    };
    if let Some(exit) = expected.get("exit").and_then(Json::as_i64) {
        if i64::from(code) != exit {
            return Err(format!(
                "exit status {code}, expected {exit}; stderr: {}",
                tail(&stderr)
            ));
        }
    }
    if let Some(text) = expected.get("stderr_contains").and_then(Json::as_str) {
        if !stderr.contains(text) {
            return Err(format!("stderr lacks {text:?}: {}", tail(&stderr)));
        }
    }
    let outcome: Json = if expected.get("status").is_some() {
        serde_json::from_str(&stdout).map_err(|e| format!("stdout is not an outcome ({e}): {}", tail(&stdout)))?
    } else {
        Json::Null
    };
    for field in ["status", "error", "output"] {
        if let Some(want) = expected.get(field) {
            if outcome.get(field) != Some(want) {
                return Err(format!("{field} {:?}, expected {want}", outcome.get(field)));
            }
        }
    }
    if let Some(part) = expected.get("cause_contains").and_then(Json::as_str) {
        let cause = outcome.get("cause").and_then(Json::as_str).unwrap_or("");
        if !cause.contains(part) {
            return Err(format!("cause {cause:?} lacks {part:?}"));
        }
    }
    Ok(())
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(600);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

#[test]
fn every_robustness_case_ends_with_its_expected_outcome() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("cmd.sh").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "expected the 20 robustness cases, found {}",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            run_case(case).err().map(|why| format!("{name}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
