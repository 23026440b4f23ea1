//! Definition diagnostics in the form AWS Step Functions reports them
//! (`ValidateStateMachineDefinition` diagnostics, `CreateStateMachine` `InvalidDefinition`
//! messages), and a mapping from their locations to line and column in the definition text.

use std::fmt;

/// The diagnostic codes AWS uses (API reference, `ValidateStateMachineDefinitionDiagnostic`).
pub mod codes {
    /// The text is not JSON.
    pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
    /// A schema rule failed: missing, unknown or ill-typed fields, bad values.
    pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    /// A `Next`/`Default`/`StartAt` names no state of its block, or a state is unreachable.
    pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    /// The workflow has no terminal state.
    pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
    /// The same state name appears more than once in the machine.
    pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    /// A state name breaks the naming rules (such as its length).
    pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
    /// A Task `Resource` is not a recognised resource.
    pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
    /// States nest too deeply.
    pub const TOO_DEEPLY_NESTED: &str = "TOO_DEEPLY_NESTED";
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The definition cannot be created.
    Error,
    /// Worth a look; the definition is still accepted.
    Warning,
}

impl Severity {
    /// `ERROR` or `WARNING`, as the API prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        }
    }
}

/// One problem found in a definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// AWS's code, such as [`codes::SCHEMA_VALIDATION_FAILED`].
    pub code: &'static str,
    /// AWS's message text (without the location).
    pub message: String,
    /// Where, as AWS prints it: a slash path from the definition root (`/`, `/States/X`,
    /// `/States/X/Field`, array members as `Choices[0]`), or for not-JSON text Jackson's
    /// `[Source: ...; line: L, column: C]`. `None` where AWS gives no location.
    pub location: Option<String>,
    /// A more precise place than `location` for a line and column, in the same form: the
    /// member at fault inside a payload template, which AWS reports at the template itself.
    pub position: Option<String>,
}

impl Diagnostic {
    /// An error diagnostic.
    pub fn error(code: &'static str, message: impl Into<String>, location: Option<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location,
            position: None,
        }
    }

    /// Where a line and column should point: [`Diagnostic::position`], else the location.
    pub fn place(&self) -> Option<&str> {
        self.position.as_deref().or(self.location.as_deref())
    }

    /// A `SCHEMA_VALIDATION_FAILED` error at a model pointer (`""` is printed as `/`).
    pub fn schema(message: impl Into<String>, pointer: &str) -> Self {
        Diagnostic::error(codes::SCHEMA_VALIDATION_FAILED, message, Some(location_of(pointer)))
    }
}

/// The location string for a model pointer: `""` (the root) becomes `/`.
pub fn location_of(pointer: &str) -> String {
    if pointer.is_empty() {
        "/".to_string()
    } else {
        pointer.to_string()
    }
}

impl fmt::Display for Diagnostic {
    /// AWS's form: `CODE: message at location` (`at null` without a location).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} at {}",
            self.code,
            self.message,
            self.location.as_deref().unwrap_or("null")
        )
    }
}

/// The message of CreateStateMachine's `InvalidDefinition` error for these diagnostics:
/// `Invalid State Machine Definition: '<d1>, <d2>'` (errors only).
pub fn invalid_definition_message(diagnostics: &[Diagnostic]) -> String {
    let parts: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    format!("Invalid State Machine Definition: '{}'", parts.join(", "))
}

/// Maps a diagnostic location (`/States/X/Choices[0]/Next`) to the 1-based line and column
/// (in characters) of the place it names in `text`: the key of the last member named, the
/// start of an array element, or the start of the document for `/`.
///
/// A Jackson location (`[Source: ...; line: L, column: C]`, for text that is not JSON) gives
/// its own line and column.
///
/// Never panics; returns `None` when the location does not name a place in the text (for
/// example a text that is not JSON up to that point). Names holding `/` or `[` are matched
/// against the keys actually present, longest first.
pub fn line_col(text: &str, location: &str) -> Option<(usize, usize)> {
    if location.starts_with("[Source:") {
        let tail = &location[location.rfind("; line: ")? + "; line: ".len()..];
        let (line, column) = tail.strip_suffix(']')?.split_once(", column: ")?;
        return Some((line.parse().ok()?, column.parse().ok()?));
    }
    let mut sc = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    sc.ws();
    let rest = location.strip_prefix('/')?;
    let offset = sc.find(rest)?;
    Some(offset_to_line_col(text, offset))
}

/// 1-based line and column (in characters) of a byte offset.
pub fn offset_to_line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Members that repeat a key of their object (JSON allows it; the parsed value keeps only
/// the last), for objects that are the value of a member named `parent` (such as `States`):
/// `(location of the repeated member, key)`, in document order. Never panics; stops at the
/// first thing that is not JSON.
pub fn repeated_keys_under(text: &str, parent: &str) -> Vec<(String, String)> {
    let mut sc = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    sc.repeated(String::new(), None, parent, &mut out, 0);
    out
}

/// A tolerant JSON scanner used only to find locations.
struct Scanner<'t> {
    b: &'t [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Reads a string at the cursor (which must be at `"`), decoding escapes.
    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.i;
        self.i += 1;
        let mut has_escape = false;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    has_escape = true;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
        self.i += 1;
        let raw = self.b.get(start..self.i)?;
        let raw = std::str::from_utf8(raw).ok()?;
        if has_escape {
            serde_json::from_str::<String>(raw).ok()
        } else {
            Some(raw[1..raw.len() - 1].to_string())
        }
    }

    /// Skips one value at the cursor, iteratively (any depth).
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            self.ws();
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                    continue;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                }
                b',' | b':' => {
                    if depth == 0 {
                        return None;
                    }
                    self.i += 1;
                    continue;
                }
                _ => {
                    while matches!(self.peek(), Some(c) if !b" \t\r\n,:]}\"[{".contains(&c)) {
                        self.i += 1;
                    }
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
    }

    /// Finds `rest` (a location without its leading `/`) in the value at the cursor and
    /// returns its byte offset.
    fn find(&mut self, rest: &str) -> Option<usize> {
        let mut rest = rest;
        loop {
            self.ws();
            if rest.is_empty() {
                return Some(self.i);
            }
            if self.peek()? != b'{' {
                return None;
            }
            self.i += 1;
            // Collect the members that could match, keep the longest.
            let mut best: Option<(usize, usize, usize)> = None; // (key len, key offset, value offset)
            loop {
                self.ws();
                match self.peek()? {
                    b'}' => break,
                    b',' => {
                        self.i += 1;
                        continue;
                    }
                    _ => {}
                }
                let key_at = self.i;
                let key = self.string()?;
                self.ws();
                if self.peek()? != b':' {
                    return None;
                }
                self.i += 1;
                self.ws();
                let value_at = self.i;
                self.skip_value()?;
                if let Some(after) = rest.strip_prefix(key.as_str()) {
                    let fits = after.is_empty() || after.starts_with('/') || after.starts_with('[');
                    if fits && best.is_none_or(|(len, _, _)| key.len() >= len) {
                        best = Some((key.len(), key_at, value_at));
                    }
                }
            }
            let (len, key_at, value_at) = best?;
            rest = &rest[len..];
            if rest.is_empty() {
                return Some(key_at);
            }
            self.i = value_at;
            // Array indices: `[i]`, possibly repeated.
            while let Some(after) = rest.strip_prefix('[') {
                let close = after.find(']')?;
                let index: usize = after[..close].parse().ok()?;
                rest = &after[close + 1..];
                self.element(index)?;
            }
            if rest.is_empty() {
                return Some(self.i);
            }
            rest = rest.strip_prefix('/')?;
        }
    }

    /// Walks the value at the cursor for [`repeated_keys_under`].
    fn repeated(
        &mut self,
        ptr: String,
        key: Option<&str>,
        parent: &str,
        out: &mut Vec<(String, String)>,
        depth: usize,
    ) -> Option<()> {
        self.ws();
        match self.peek()? {
            _ if depth > 256 => self.skip_value(),
            b'{' => {
                self.i += 1;
                let mut seen = std::collections::HashSet::new();
                while !self.at_close(b'}')? {
                    let k = self.string()?;
                    self.ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    let at = format!("{ptr}/{k}");
                    if key == Some(parent) && !seen.insert(k.clone()) {
                        out.push((at.clone(), k.clone()));
                    }
                    self.repeated(at, Some(&k), parent, out, depth + 1)?;
                }
                Some(())
            }
            b'[' => {
                self.i += 1;
                let mut index = 0;
                while !self.at_close(b']')? {
                    self.repeated(format!("{ptr}[{index}]"), None, parent, out, depth + 1)?;
                    index += 1;
                }
                Some(())
            }
            _ => self.skip_value(),
        }
    }

    /// Inside a container: skips whitespace and commas to the next item. `Some(true)` (the
    /// cursor past it) at the closing byte `close`.
    fn at_close(&mut self, close: u8) -> Option<bool> {
        loop {
            self.ws();
            match self.peek()? {
                c if c == close => {
                    self.i += 1;
                    return Some(true);
                }
                b',' => self.i += 1,
                _ => return Some(false),
            }
        }
    }

    /// Moves the cursor (at an array) to the start of its `index`-th element.
    fn element(&mut self, index: usize) -> Option<()> {
        self.ws();
        if self.peek()? != b'[' {
            return None;
        }
        self.i += 1;
        for _ in 0..index {
            self.ws();
            self.skip_value()?;
            self.ws();
            if self.peek()? != b',' {
                return None;
            }
            self.i += 1;
        }
        self.ws();
        match self.peek()? {
            b']' => None,
            _ => Some(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A/B\": {\"Type\": \"Choice\",\n      \"Choices\": [ {\"Next\": \"x\"},\n        {\"Next\": \"y\"} ]},\n    \"A\": {\"Type\": \"Pass\"}\n  }\n}";

    #[test]
    fn display_is_aws_form() {
        let d = Diagnostic::schema("These fields are required: [States]", "");
        assert_eq!(
            d.to_string(),
            "SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /"
        );
        let d = Diagnostic::error(codes::MISSING_END_STATE, "Workflow has no terminal state", None);
        assert_eq!(
            invalid_definition_message(&[d]),
            "Invalid State Machine Definition: 'MISSING_END_STATE: Workflow has no terminal state at null'"
        );
    }

    #[test]
    fn locates_pointers() {
        assert_eq!(line_col(TEXT, "/"), Some((1, 1)));
        assert_eq!(line_col(TEXT, "/StartAt"), Some((2, 3)));
        assert_eq!(line_col(TEXT, "/States/A"), Some((7, 5)));
        assert_eq!(line_col(TEXT, "/States/A/B"), Some((4, 5)));
        assert_eq!(line_col(TEXT, "/States/A/B/Choices[1]"), Some((6, 9)));
        assert_eq!(line_col(TEXT, "/States/A/B/Choices[1]/Next"), Some((6, 10)));
        assert_eq!(line_col(TEXT, "/States/A/Type"), Some((7, 11)));
        assert_eq!(line_col(TEXT, "/States/Nope"), None);
        assert_eq!(line_col(TEXT, "/States/A/B/Choices[5]"), None);
        assert_eq!(
            line_col("x", "[Source: (String)\"; line: 9\"; line: 1, column: 4]"),
            Some((1, 4))
        );
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "",
            "{",
            "{\"a\"",
            "{\"a\":",
            "[[[[",
            "\"\\",
            "{\"é\": {\"b\": 1}}",
            "{\"a\":[1,,]}",
            "}}}}",
            "{\"a\":\"\\u00e9\"}",
        ] {
            for loc in ["/", "/a", "/a/b", "/a[0]", "/é/b", "/a[", "/a[x]", "x"] {
                let _ = line_col(text, loc);
            }
        }
        assert_eq!(line_col("{\"é\": {\"b\": 1}}", "/é/b"), Some((1, 8)));
        let deep = "[".repeat(100_000);
        assert_eq!(line_col(&deep, "/a"), None);
    }
}
