//! The command-line examples of `README.md` and `docs/*.md`, run against the `quickstep` binary
//! built for the tests, so that the docs show what the program does. (The Rust examples of the
//! same pages run as doctests: see the end of `src/lib.rs`.)
//!
//! The conventions a page follows:
//!
//! - A ` ```sh ` block is run. Each of its command lines (a line ending in `\` continues on the
//!   next; blank lines and `#` comment lines are skipped) must start with `quickstep ` or
//!   `cargo run --release -- `; either prefix runs the test build of the binary with the rest
//!   of the line as its arguments (quoted as a POSIX shell quotes them), in the repository's
//!   root. A command must exit with status 0, unless its line ends in a comment
//!   `# exit status N`.
//! - The block that follows a run block (blank lines apart) must be a ` ```text ` block: the
//!   expected output, an excerpt. Each of its non-blank lines other than `...` must occur,
//!   trimmed, within a line of what the block's commands printed (stdout, then stderr, command
//!   after command), in the same order; `...` within a line stands for any text.
//! - A ` ```sh not-run ` block is not run: commands that take long (benchmarks, the load
//!   generator), build or install (`cargo test`, `cargo build`), or that need something
//!   outside the repository.
//!
//! Relative links between the pages (`[text](docs/cli.md)`) must name files that exist.

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BINARY: &str = env!("CARGO_BIN_EXE_quickstep");

/// The pages: the README and every Markdown file under `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![Path::new(ROOT).join("README.md")];
    let mut dirs = vec![Path::new(ROOT).join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs/ is readable") {
            let path = entry.expect("a docs/ entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// A fenced code block: its info string (`sh`, `sh not-run`, `text`, ...), its lines and the
/// line of the page it starts on.
struct Block {
    info: String,
    lines: Vec<String>,
    line: usize,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match current.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    current = Some(Block {
                        info: info.trim().to_string(),
                        lines: Vec::new(),
                        line: n + 1,
                    });
                }
            }
            Some(mut block) => {
                if trimmed.starts_with("```") {
                    blocks.push(block);
                } else {
                    block.lines.push(line.to_string());
                    current = Some(block);
                }
            }
        }
    }
    blocks
}

/// A command line split into words as a POSIX shell would (single and double quotes,
/// backslash escapes), and the exit status a trailing `# exit status N` comment expects.
fn split(line: &str) -> (Vec<String>, i32) {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let mut comment = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            word.push(chars.next().unwrap())
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '#' if !in_word => {
                comment = chars.collect();
                break;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    let status = comment
        .trim()
        .strip_prefix("exit status ")
        .map(|n| n.trim().parse().expect("`# exit status N` names a number"))
        .unwrap_or(0);
    (words, status)
}

/// The block's command lines, continuations joined, with the page line each starts on.
fn commands(block: &Block) -> Vec<(usize, String)> {
    let mut commands = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in block.lines.iter().enumerate() {
        let text = line.trim();
        let (start, mut joined) = match pending.take() {
            Some((start, so_far)) => (start, so_far + " "),
            None if text.is_empty() || text.starts_with('#') => continue,
            None => (block.line + 1 + i, String::new()),
        };
        match text.strip_suffix('\\') {
            Some(part) => {
                joined.push_str(part.trim());
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(text);
                commands.push((start, joined));
            }
        }
    }
    commands.extend(pending);
    commands
}

/// Runs one run block and checks it against its expected output; returns the problems.
fn check_block(page: &str, block: &Block, expected: Option<&Block>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(expected) = expected.filter(|e| e.info == "text") else {
        return vec![format!(
            "{page}:{}: a ```sh block must be followed by a ```text block of its expected output (or be marked ```sh not-run)",
            block.line
        )];
    };
    let mut printed = Vec::new();
    for (line, command) in commands(block) {
        let rest = command
            .strip_prefix("quickstep ")
            .or_else(|| command.strip_prefix("cargo run --release -- "));
        let Some(rest) = rest else {
            problems.push(format!(
                "{page}:{line}: `{command}` is not a quickstep command: mark the block ```sh not-run"
            ));
            continue;
        };
        let (args, status) = split(rest);
        let output = Command::new(BINARY)
            .args(&args)
            .current_dir(ROOT)
            .output()
            .unwrap_or_else(|e| panic!("{page}:{line}: cannot run {BINARY}: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.code() != Some(status) {
            problems.push(format!(
                "{page}:{line}: `{command}` exited with {:?}, the page expects {status}\nstdout:\n{stdout}\nstderr:\n{stderr}",
                output.status.code()
            ));
        }
        printed.extend(stdout.lines().map(str::to_string));
        printed.extend(stderr.lines().map(str::to_string));
    }
    let mut at = 0;
    for want in expected
        .lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && *l != "...")
    {
        match printed[at..].iter().position(|got| shows(got, want)) {
            Some(i) => at += i + 1,
            None => {
                problems.push(format!(
                    "{page}:{}: expected output line `{want}` not found (in order) in what the commands printed:\n{}",
                    expected.line,
                    printed.join("\n")
                ));
                break;
            }
        }
    }
    problems
}

/// Whether the printed line `got` shows the expected line `want`: `want`'s parts between
/// `...` elisions occur in `got` in order.
fn shows(got: &str, want: &str) -> bool {
    let mut rest = got;
    for part in want.split("...").map(str::trim).filter(|p| !p.is_empty()) {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[test]
fn command_line_examples_print_what_the_docs_show() {
    let mut problems = Vec::new();
    let mut run = 0;
    for path in pages() {
        let page = path.strip_prefix(ROOT).unwrap_or(&path).display().to_string();
        let text = std::fs::read_to_string(&path).expect("a readable page");
        let blocks = blocks(&text);
        for (i, block) in blocks.iter().enumerate() {
            let mut info = block.info.split_whitespace();
            if info.next() != Some("sh") {
                continue;
            }
            match info.next() {
                None => {
                    run += 1;
                    problems.extend(check_block(&page, block, blocks.get(i + 1)));
                }
                Some("not-run") => {}
                Some(other) => problems.push(format!("{page}:{}: unknown ```sh marker `{other}`", block.line)),
            }
        }
    }
    assert!(
        run >= 10,
        "only {run} command-line examples found: are the pages there?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn relative_links_name_files_that_exist() {
    let mut problems = Vec::new();
    for path in pages() {
        let text = std::fs::read_to_string(&path).expect("a readable page");
        let dir = path.parent().expect("a page is in a folder");
        let mut in_code = false;
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            if in_code {
                continue;
            }
            let mut rest = line;
            while let Some(start) = rest.find("](") {
                let after = &rest[start + 2..];
                let Some(end) = after.find(')') else { break };
                let target = &after[..end];
                rest = &after[end..];
                let file = target.split('#').next().unwrap_or("");
                if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                    continue;
                }
                if !dir.join(file).exists() {
                    problems.push(format!(
                        "{}:{}: link to {file}, which does not exist",
                        path.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn command_lines_split_as_a_shell_splits_them() {
    assert_eq!(
        split(r#"run a.json --input '{"a": 1}'   # exit status 1"#),
        (
            vec![
                "run".to_string(),
                "a.json".into(),
                "--input".into(),
                r#"{"a": 1}"#.into()
            ],
            1
        )
    );
    assert_eq!(
        split(r#"run "x y.json" --input "{\"a\": 1}""#),
        (
            vec![
                "run".to_string(),
                "x y.json".into(),
                "--input".into(),
                r#"{"a": 1}"#.into()
            ],
            0
        )
    );
    assert!(shows(
        r#"  "output": "{\"a\":1,\"b\":2}""#,
        r#""output": "{\"a\":1, ... \"b\":2}""#
    ));
    assert!(!shows("b then a", "a ... b"));
    let block = Block {
        info: "sh".into(),
        lines: vec![
            "# a comment".into(),
            "quickstep run a \\".into(),
            "   --virtual-time".into(),
        ],
        line: 10,
    };
    assert_eq!(
        commands(&block),
        vec![(12, "quickstep run a --virtual-time".to_string())]
    );
}
