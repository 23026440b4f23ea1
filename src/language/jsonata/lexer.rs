//! The tokenizer: turns expression text into [`Token`]s, one at a time, on demand of the
//! parser (which tells it whether a `/` may start a regular expression).

use super::error::Error;

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum TokKind {
    /// An operator or punctuation symbol (`+`, `..`, `:=`, `(`, `and`, ...).
    Op(&'static str),
    /// A string literal (escapes resolved).
    Str(String),
    /// A number literal.
    Num(f64),
    /// `true`, `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A field name (plain or back-quoted).
    Name(String),
    /// A variable reference `$name` (the name without `$`; empty for `$`).
    Var(String),
    /// A regular expression literal `/pattern/flags`.
    Regex {
        /// The pattern between the slashes.
        pattern: String,
        /// The flags after the closing slash.
        flags: String,
    },
    /// The end of the expression.
    End,
}

/// A token and the character offset just after it (jsonata-js reports that position).
#[derive(Clone, Debug)]
pub struct Token {
    /// What it is.
    pub kind: TokKind,
    /// Offset (in characters) of the end of the token.
    pub pos: usize,
}

/// Multi-character and single-character operators, longest first.
const OPERATORS2: [&str; 9] = ["..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??"];
const OPERATORS1: &str = ".[]{}(),@#;:?+-*/%|=<>^&!~";

/// Streams tokens out of the expression text.
pub struct Lexer<'t> {
    chars: Vec<char>,
    pos: usize,
    _text: &'t str,
}

impl<'t> Lexer<'t> {
    /// A lexer at the start of `text`.
    pub fn new(text: &'t str) -> Lexer<'t> {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
            _text: text,
        }
    }

    fn peek(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    /// The next token. `prefix` says a `/` here starts a regular expression.
    pub fn next(&mut self, prefix: bool) -> Result<Token, Error> {
        self.skip_space()?;
        let Some(c) = self.peek(0) else {
            return Ok(self.tok(TokKind::End));
        };
        if prefix && c == '/' {
            self.pos += 1;
            return self.regex();
        }
        if let Some(&op) = OPERATORS2
            .iter()
            .find(|op| op.starts_with(c) && self.peek(1) == op.chars().nth(1))
        {
            self.pos += 2;
            return Ok(self.tok(TokKind::Op(op)));
        }
        if let Some(i) = OPERATORS1.find(c) {
            self.pos += 1;
            return Ok(self.tok(TokKind::Op(&OPERATORS1[i..i + c.len_utf8()])));
        }
        if c == '"' || c == '\'' {
            self.pos += 1;
            return self.string(c);
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        if c == '`' {
            self.pos += 1;
            let start = self.pos;
            while let Some(ch) = self.peek(0) {
                if ch == '`' {
                    let name: String = self.chars[start..self.pos].iter().collect();
                    self.pos += 1;
                    return Ok(self.tok(TokKind::Name(name)));
                }
                self.pos += 1;
            }
            return Err(Error::new("S0105").pos(self.chars.len()));
        }
        // names and variables
        let start = self.pos;
        let is_var = c == '$';
        if is_var {
            self.pos += 1;
        }
        while let Some(ch) = self.peek(0) {
            if ch.is_whitespace() || "\"'`[]{}(),;:.+-*/%^&|=<>!?~@#".contains(ch) {
                break;
            }
            // `$` inside a variable name (e.g. `$$`) is part of it
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if is_var {
            return Ok(self.tok(TokKind::Var(word[1..].to_string())));
        }
        Ok(self.tok(match word.as_str() {
            "and" => TokKind::Op("and"),
            "or" => TokKind::Op("or"),
            "in" => TokKind::Op("in"),
            "true" => TokKind::Bool(true),
            "false" => TokKind::Bool(false),
            "null" => TokKind::Null,
            _ => TokKind::Name(word),
        }))
    }

    /// Skips whitespace and comments; returns the offset of the next token.
    pub fn position_after_space(&mut self) -> usize {
        let save = self.pos;
        match self.skip_space() {
            Ok(()) => self.pos,
            Err(_) => {
                self.pos = save;
                save
            }
        }
    }

    fn skip_space(&mut self) -> Result<(), Error> {
        loop {
            match self.peek(0) {
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some('/') if self.peek(1) == Some('*') => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        match self.peek(0) {
                            None => return Err(Error::new("S0106").pos(start)),
                            Some('*') if self.peek(1) == Some('/') => {
                                self.pos += 2;
                                break;
                            }
                            _ => self.pos += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn tok(&self, kind: TokKind) -> Token {
        Token { kind, pos: self.pos }
    }

    fn string(&mut self, quote: char) -> Result<Token, Error> {
        let mut out = String::new();
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            if c == quote {
                return Ok(self.tok(TokKind::Str(out)));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek(0) else { break };
            self.pos += 1;
            match e {
                '"' | '\\' | '/' | '\'' => out.push(e),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let unit = self.hex4()?;
                    if (0xD800..0xDC00).contains(&unit) && self.peek(0) == Some('\\') && self.peek(1) == Some('u') {
                        let save = self.pos;
                        self.pos += 2;
                        let low = self.hex4()?;
                        if (0xDC00..0xE000).contains(&low) {
                            let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                        self.pos = save;
                    }
                    out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
                }
                other => {
                    return Err(Error::new("S0103").pos(self.pos).token(other.to_string()));
                }
            }
        }
        Err(Error::new("S0101").pos(self.pos))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits: String = self.chars[self.pos..].iter().take(4).copied().collect();
        if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            self.pos += 4;
            Ok(u32::from_str_radix(&digits, 16).unwrap_or(0xFFFD))
        } else {
            Err(Error::new("S0104").pos(self.pos))
        }
    }

    fn number(&mut self) -> Result<Token, Error> {
        let start = self.pos;
        let digits = |lx: &mut Lexer| {
            let s = lx.pos;
            while lx.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                lx.pos += 1;
            }
            lx.pos - s
        };
        if self.peek(0) == Some('0') {
            self.pos += 1;
        } else {
            digits(self);
        }
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.peek(0), Some('+' | '-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                self.pos = save;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let n: f64 = text.parse().unwrap_or(f64::NAN);
        if !n.is_finite() {
            return Err(Error::new("S0102").pos(self.pos).token(text));
        }
        Ok(self.tok(TokKind::Num(n)))
    }

    fn regex(&mut self) -> Result<Token, Error> {
        let start = self.pos;
        let mut depth = 0i32;
        loop {
            let Some(c) = self.peek(0) else {
                return Err(Error::new("S0302").pos(self.pos));
            };
            if c == '/' && depth == 0 && !self.escaped() {
                let pattern: String = self.chars[start..self.pos].iter().collect();
                if pattern.is_empty() {
                    return Err(Error::new("S0301").pos(self.pos));
                }
                self.pos += 1;
                let fstart = self.pos;
                while self.peek(0).is_some_and(|c| "gimsuy".contains(c)) {
                    self.pos += 1;
                }
                let flags: String = self.chars[fstart..self.pos].iter().collect();
                return Ok(self.tok(TokKind::Regex { pattern, flags }));
            }
            if (c == '(' || c == '[' || c == '{') && !self.escaped() {
                depth += 1;
            }
            if (c == ')' || c == ']' || c == '}') && !self.escaped() {
                depth -= 1;
            }
            self.pos += 1;
        }
    }

    /// Whether the character at the current position is preceded by an odd number of `\`.
    fn escaped(&self) -> bool {
        let mut n = 0;
        while n < self.pos && self.chars[self.pos - 1 - n] == '\\' {
            n += 1;
        }
        n % 2 == 1
    }
}
