//! Function signatures (`<n-n?:n>`): parsed once into a regular expression over argument
//! type letters, then used to validate (and complete with the context) each call's arguments.

use super::error::{json_quote, Error};

/// One parameter of a signature.
#[derive(Debug, Clone)]
struct Param {
    /// Regex fragment matching the argument's type letter(s).
    regex: String,
    /// The type letter (or `(..)` choice).
    kind: char,
    /// `-`: use the context value when the argument is missing.
    context: bool,
    /// Type parameter of an array (`a<n>`), if any.
    subtype: Option<String>,
}

/// A parsed signature.
#[derive(Debug, Clone)]
pub struct Signature {
    params: Vec<Param>,
    matchers: Vec<Matcher>,
}

/// A parameter's pattern over type letters: `[set]` with an optional `?` / `+` quantifier.
#[derive(Debug, Clone)]
struct Matcher {
    set: String,
    optional: bool,
    plus: bool,
}

impl Matcher {
    fn of(regex: &str) -> Matcher {
        let body = regex.trim_end_matches(['?', '+']);
        let quant = &regex[body.len()..];
        Matcher {
            set: body.trim_start_matches('[').trim_end_matches(']').to_string(),
            optional: quant.contains('?'),
            plus: quant.contains('+'),
        }
    }
}

/// Matches `letters[ai..]` against `ms[mi..]` the way a backtracking regex engine would
/// (greedy quantifiers), recording each matcher's count. `anchored`: must consume all
/// letters; otherwise returns the end of the first match found.
fn match_from(
    ms: &[Matcher],
    letters: &[char],
    mi: usize,
    ai: usize,
    counts: &mut [usize],
    anchored: bool,
) -> Option<usize> {
    if mi == ms.len() {
        return if !anchored || ai == letters.len() {
            Some(ai)
        } else {
            None
        };
    }
    let m = &ms[mi];
    let available = letters[ai..].iter().take_while(|c| m.set.contains(**c)).count();
    let max = if m.plus { available } else { available.min(1) };
    let min = usize::from(!m.optional);
    if max < min {
        return None;
    }
    for c in (min..=max).rev() {
        counts[mi] = c;
        if let Some(end) = match_from(ms, letters, mi + 1, ai + c, counts, anchored) {
            return Some(end);
        }
    }
    None
}

/// The type letter jsonata-js assigns to a value.
pub fn type_letter(kind: ArgKind) -> char {
    match kind {
        ArgKind::Function => 'f',
        ArgKind::String => 's',
        ArgKind::Number => 'n',
        ArgKind::Bool => 'b',
        ArgKind::Null => 'l',
        ArgKind::Array => 'a',
        ArgKind::Object => 'o',
        ArgKind::Missing => 'm',
    }
}

/// The classification of an argument value that signatures care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A function.
    Function,
    /// A string.
    String,
    /// A number.
    Number,
    /// A boolean.
    Bool,
    /// `null`.
    Null,
    /// An array.
    Array,
    /// An object.
    Object,
    /// Undefined.
    Missing,
}

/// What validation decided for one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Use argument number `i` as is.
    Arg(usize),
    /// Use argument `i`, wrapped in an array if it is not one.
    ArgAsArray(usize),
    /// Use the context value.
    Context,
    /// Undefined.
    Missing,
}

impl Signature {
    /// Parses signature text such as `<s-nn?:s>`; `offset` locates errors.
    pub fn parse(text: &str, offset: usize) -> Result<Signature, Error> {
        let chars: Vec<char> = text.chars().collect();
        let mut params: Vec<Param> = Vec::new();
        let mut i = 1; // skip '<'
        while i < chars.len() {
            let c = chars[i];
            match c {
                ':' | '>' => break,
                's' | 'n' | 'b' | 'l' | 'o' => params.push(Param {
                    regex: format!("[{c}m]"),
                    kind: c,
                    context: false,
                    subtype: None,
                }),
                'a' => params.push(Param {
                    regex: "[asnblfom]".into(),
                    kind: 'a',
                    context: false,
                    subtype: None,
                }),
                'f' => params.push(Param {
                    regex: "f".into(),
                    kind: 'f',
                    context: false,
                    subtype: None,
                }),
                'j' => params.push(Param {
                    regex: "[asnblom]".into(),
                    kind: 'j',
                    context: false,
                    subtype: None,
                }),
                'x' => params.push(Param {
                    regex: "[asnblfom]".into(),
                    kind: 'x',
                    context: false,
                    subtype: None,
                }),
                '-' => {
                    if let Some(p) = params.last_mut() {
                        p.context = true;
                        p.regex.push('?');
                    }
                }
                '?' | '+' => {
                    if let Some(p) = params.last_mut() {
                        p.regex.push(c);
                    }
                }
                '(' => {
                    let end = find_closing(&chars, i, '(', ')');
                    let choice: String = chars[i + 1..end].iter().collect();
                    if choice.contains('<') {
                        return Err(Error::new("S0402").pos(offset + i).value(json_quote(&choice)));
                    }
                    params.push(Param {
                        regex: format!("[{choice}m]"),
                        kind: '(',
                        context: false,
                        subtype: None,
                    });
                    i = end;
                }
                '<' => {
                    let Some(p) = params.last_mut().filter(|p| p.kind == 'a' || p.kind == 'f') else {
                        let prev = params.last().map(|p| p.kind.to_string()).unwrap_or_default();
                        return Err(Error::new("S0401").pos(offset + i).value(json_quote(&prev)));
                    };
                    let end = find_closing(&chars, i, '<', '>');
                    p.subtype = Some(chars[i + 1..end].iter().collect());
                    i = end;
                }
                _ => {}
            }
            i += 1;
        }
        let matchers = params.iter().map(|p| Matcher::of(&p.regex)).collect();
        Ok(Signature { params, matchers })
    }

    /// Matches the argument kinds against the signature. On success, returns for each
    /// parameter where its value comes from. `item_kinds(i)` gives the kinds of the items of
    /// argument `i` when it is an array (for typed arrays such as `a<n>`).
    pub fn validate(
        &self,
        kinds: &[ArgKind],
        context: ArgKind,
        item_kinds: &dyn Fn(usize) -> smallvec::SmallVec<[ArgKind; 8]>,
    ) -> Result<smallvec::SmallVec<[Slot; 4]>, Error> {
        let supplied: smallvec::SmallVec<[char; 8]> = kinds.iter().map(|k| type_letter(*k)).collect();
        let mut counts: smallvec::SmallVec<[usize; 8]> = smallvec::smallvec![0; self.matchers.len()];
        if match_from(&self.matchers, &supplied, 0, 0, &mut counts, true).is_none() {
            return Err(self.validation_error(&supplied));
        }
        let mut out = smallvec::SmallVec::new();
        let mut arg = 0usize;
        let mut start = 0usize;
        for (pi, p) in self.params.iter().enumerate() {
            let m = &supplied[start..start + counts[pi]];
            start += counts[pi];
            if m.is_empty() {
                if p.context {
                    let letter = type_letter(context);
                    if self.matchers[pi].set.contains(letter) {
                        out.push(Slot::Context);
                    } else {
                        return Err(Error::new("T0411").index(arg + 1));
                    }
                } else {
                    // jsonata-js passes args[argIndex] (normally undefined here) and advances
                    out.push(Slot::Arg(arg));
                    arg += 1;
                }
                continue;
            }
            for &single in m {
                if p.kind == 'a' {
                    if single == 'm' {
                        out.push(Slot::Missing);
                    } else {
                        if let Some(sub) = &p.subtype {
                            let ok = if single != 'a' {
                                m.len() == 1 && sub.chars().eq(m.iter().copied())
                            } else {
                                let items = item_kinds(arg);
                                match items.first() {
                                    None => true,
                                    Some(first) => {
                                        let t = type_letter(*first);
                                        sub.starts_with(t) && items.iter().all(|k| k == first)
                                    }
                                }
                            };
                            if !ok {
                                let type_name = match sub.as_str() {
                                    "a" => "arrays",
                                    "b" => "booleans",
                                    "f" => "functions",
                                    "n" => "numbers",
                                    "o" => "objects",
                                    "s" => "strings",
                                    _ => "values",
                                };
                                return Err(Error::new("T0412").index(arg + 1).extra(json_quote(type_name)));
                            }
                        }
                        out.push(if single == 'a' {
                            Slot::Arg(arg)
                        } else {
                            Slot::ArgAsArray(arg)
                        });
                    }
                } else {
                    out.push(Slot::Arg(arg));
                }
                arg += 1;
            }
        }
        Ok(out)
    }

    fn validation_error(&self, supplied: &[char]) -> Error {
        let mut good_to = 0;
        let mut counts = vec![0; self.matchers.len()];
        for k in 1..=self.matchers.len() {
            match match_from(&self.matchers[..k], supplied, 0, 0, &mut counts, false) {
                None => return Error::new("T0410").index(good_to + 1),
                Some(end) => good_to = end,
            }
        }
        Error::new("T0410").index(good_to + 1)
    }
}

fn find_closing(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 1;
    let mut i = start;
    while i + 1 < chars.len() {
        i += 1;
        if chars[i] == open {
            depth += 1;
        } else if chars[i] == close {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    chars.len().saturating_sub(1)
}
