//! Helpers the command-line tests share: running the `quickstep` binary and writing scratch
//! files.

#![allow(dead_code)] // each test file uses its own part

use std::path::PathBuf;
use std::process::Command;

/// Exit status, standard output and standard error of `quickstep args...`, run in the
/// crate's folder.
pub fn quickstep_apart(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quickstep"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// Exit status, and standard output followed by standard error.
pub fn quickstep(args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = quickstep_apart(args);
    (code, stdout + &stderr)
}

/// Writes `text` to `file` in a folder of the temporary directory named after `folder` and
/// this process; returns the file's path.
pub fn scratch(folder: &str, file: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{folder}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// The response `quickstep args...` prints, after checking that it exits with status `code`.
pub fn response_of(args: &[&str], code: i32) -> serde_json::Value {
    let (status, stdout, stderr) = quickstep_apart(args);
    assert_eq!(status, code, "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not a response ({e}): {stdout}{stderr}"))
}
