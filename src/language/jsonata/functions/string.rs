//! String functions, including the regex-aware `$match`, `$contains`, `$replace`, `$split`.

use std::borrow::Cow;

use base64::Engine;

use super::super::ast::RegexLit;
use super::super::error::{json_quote, Error};
use super::super::eval::{Ctx, R};
use super::super::value::{json_text, make_arr, stringify, Env, Func, SeqBuilder, Val};
use super::Builtin;

/// jsonata-js `fn.string` for a defined value (the `&` operator and `$string`); fails
/// when the text would not fit in the evaluation's memory budget.
pub fn to_string<'a>(ctx: &Ctx<'a, '_>, v: Val<'a>) -> Result<Cow<'a, str>, Error> {
    match v {
        Val::Str(s) => Ok(Cow::Borrowed(s)),
        Val::Func(_) => Ok(Cow::Borrowed("")),
        Val::Num(n) if !n.is_finite() => Err(Error::new("D3001").value(json_text(v))),
        _ => {
            let mut s = String::new();
            stringify(ctx, v, false, &mut s)?;
            Ok(Cow::Owned(s))
        }
    }
}

/// The longest padding `$pad` produces (JavaScript fails on huge widths too).
const MAX_PAD: f64 = (1u32 << 24) as f64;

fn s_arg<'a>(args: &[Val<'a>], i: usize) -> Option<&'a str> {
    args.get(i).and_then(|v| v.as_str())
}

fn n_arg(args: &[Val<'_>], i: usize) -> Option<f64> {
    args.get(i).and_then(|v| v.as_num())
}

/// Number of Unicode code points.
fn cp_len(s: &str) -> usize {
    s.chars().count()
}

/// JavaScript `Array.prototype.slice` bounds over `len` items.
fn slice_bounds(len: usize, start: f64, end: Option<f64>) -> (usize, usize) {
    let norm = |x: f64| -> usize {
        let x = if x.is_nan() { 0.0 } else { x.trunc() };
        if x < 0.0 {
            (len as f64 + x).max(0.0) as usize
        } else {
            x.min(len as f64) as usize
        }
    };
    let s = norm(start);
    let e = end.map(norm).unwrap_or(len);
    (s, e.max(s))
}

/// `$substring` over code points.
pub fn substring(s: &str, start: f64, length: Option<f64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len();
    let mut start = start;
    if len as f64 + start < 0.0 {
        start = 0.0;
    }
    let end = match length {
        Some(l) => {
            if l <= 0.0 {
                return String::new();
            }
            Some(if start >= 0.0 {
                start + l
            } else {
                len as f64 + start + l
            })
        }
        None => None,
    };
    let (a, b) = slice_bounds(len, start, end);
    chars[a..b].iter().collect()
}

/// Runs a string built-in (validated arguments).
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let arena = ctx.arena;
    let a0 = args.first().copied().unwrap_or(Val::Undef);
    if a0.is_undef() && b != Builtin::Join {
        return Ok(Val::Undef);
    }
    let out = |s: String| {
        ctx.charge(s.len())?;
        Ok(Val::Str(arena.alloc_str(&s)))
    };
    let s = s_arg(args, 0).unwrap_or("");
    // the functions below build at most a few times the length of their first argument
    // (temporarily, before the result is charged): refuse what could not fit
    let factor = match b {
        Builtin::Substring => 4,
        Builtin::Lowercase | Builtin::Uppercase | Builtin::EncodeUrl | Builtin::EncodeUrlComponent => 3,
        Builtin::Base64Encode => 2,
        Builtin::Trim | Builtin::Base64Decode | Builtin::DecodeUrl | Builtin::DecodeUrlComponent => 1,
        _ => 0,
    };
    ctx.charge(s.len().saturating_mul(factor))?;
    match b {
        Builtin::String => {
            let pretty = matches!(args.get(1), Some(Val::Bool(true)));
            if let Val::Str(s) = a0 {
                return Ok(Val::Str(s));
            }
            if pretty && !matches!(a0, Val::Func(_)) {
                if let Val::Num(n) = a0 {
                    if !n.is_finite() {
                        return Err(Error::new("D3001").value(json_text(a0)));
                    }
                }
                let mut t = String::new();
                stringify(ctx, a0, true, &mut t)?;
                return out(t);
            }
            match to_string(ctx, a0)? {
                Cow::Borrowed(s) => Ok(Val::Str(s)),
                Cow::Owned(s) => out(s),
            }
        }
        Builtin::Length => Ok(Val::Num(cp_len(s) as f64)),
        Builtin::Substring => out(substring(s, n_arg(args, 1).unwrap_or(0.0), n_arg(args, 2))),
        Builtin::SubstringBefore => {
            let chars = s_arg(args, 1).unwrap_or("");
            match args.get(1) {
                Some(Val::Str(_)) => match s.find(chars) {
                    Some(i) => out(s[..i].to_string()),
                    None => Ok(Val::Str(s)),
                },
                _ => Ok(Val::Str(s)),
            }
        }
        Builtin::SubstringAfter => {
            let chars = s_arg(args, 1).unwrap_or("");
            match args.get(1) {
                Some(Val::Str(_)) => match s.find(chars) {
                    Some(i) => out(s[i + chars.len()..].to_string()),
                    None => Ok(Val::Str(s)),
                },
                _ => Ok(Val::Str(s)),
            }
        }
        Builtin::Lowercase => out(s.to_lowercase()),
        Builtin::Uppercase => out(s.to_uppercase()),
        Builtin::Trim => {
            let mut r = String::with_capacity(s.len());
            let mut in_ws = false;
            for c in s.chars() {
                if matches!(c, ' ' | '\t' | '\n' | '\r') {
                    if !in_ws {
                        r.push(' ');
                    }
                    in_ws = true;
                } else {
                    r.push(c);
                    in_ws = false;
                }
            }
            let r = r.strip_prefix(' ').unwrap_or(&r);
            let r = r.strip_suffix(' ').unwrap_or(r);
            out(r.to_string())
        }
        Builtin::Pad => {
            let width = n_arg(args, 1).unwrap_or(0.0).trunc();
            let pad = match s_arg(args, 2) {
                Some(p) if !p.is_empty() => p,
                _ => " ",
            };
            let pad_len = width.abs() - cp_len(s) as f64;
            if pad_len > MAX_PAD {
                return Err(Error::new("D1001").value(json_text(Val::Num(width))));
            }
            if pad_len > 0.0 {
                let n = pad_len as usize;
                ctx.charge(s.len().saturating_add(n.saturating_mul(pad.len())))?;
                let padding: String = pad.chars().cycle().take(n).collect();
                if width > 0.0 {
                    out(format!("{s}{padding}"))
                } else {
                    out(format!("{padding}{s}"))
                }
            } else {
                Ok(Val::Str(s))
            }
        }
        Builtin::Join => {
            if a0.is_undef() {
                return Ok(Val::Undef);
            }
            let sep = s_arg(args, 1).unwrap_or("");
            // the length first: a few references to a long string can ask for gigabytes
            let mut len = sep.len().saturating_mul(a0.len().saturating_sub(1));
            for v in a0.iter() {
                len = len.saturating_add(v.as_str().map_or(0, str::len));
            }
            ctx.charge(len)?;
            let mut joined = bumpalo::collections::String::with_capacity_in(len, arena);
            for (i, v) in a0.iter().enumerate() {
                if i > 0 {
                    joined.push_str(sep);
                }
                joined.push_str(v.as_str().unwrap_or(""));
            }
            Ok(Val::Str(joined.into_bump_str()))
        }
        Builtin::Base64Encode => {
            let bytes: Vec<u8> = s.encode_utf16().map(|u| u as u8).collect();
            out(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Builtin::Base64Decode => {
            let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            let engine = base64::engine::general_purpose::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            );
            match engine.decode(cleaned.as_bytes()) {
                Ok(bytes) => out(bytes.iter().map(|&b| b as char).collect()),
                Err(_) => out(String::new()),
            }
        }
        Builtin::EncodeUrlComponent => out(encode_uri(s, "-_.!~*'()")),
        Builtin::EncodeUrl => out(encode_uri(s, "-_.!~*'();/?:@&=+$,#")),
        Builtin::DecodeUrlComponent => match decode_uri(s, "") {
            Some(d) => out(d),
            None => Err(malformed(b, a0)),
        },
        Builtin::DecodeUrl => match decode_uri(s, ";/?:@&=+$,#") {
            Some(d) => out(d),
            None => Err(malformed(b, a0)),
        },
        _ => Ok(Val::Undef),
    }
}

fn malformed(b: Builtin, v: Val<'_>) -> Error {
    Error::new("D3140").token(b.name()).value(json_text(v))
}

fn encode_uri(s: &str, keep: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn decode_uri(s: &str, reserved: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(hex, 16).ok()?;
            if v < 0x80 && reserved.contains(v as char) {
                out.extend_from_slice(&bytes[i..i + 3]);
            } else {
                out.push(v);
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One match of a matcher (regex or function).
struct Found<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    groups: Vec<Val<'a>>,
}

/// UTF-16 offset of byte offset `b` in `s`.
fn utf16_offset(s: &str, b: usize) -> usize {
    let prefix = &s[..b.min(s.len())];
    if prefix.is_ascii() {
        prefix.len()
    } else {
        prefix.encode_utf16().count()
    }
}

/// Byte offset of UTF-16 offset `u` in `s`.
fn byte_offset(s: &str, u: f64) -> usize {
    if u <= 0.0 {
        return 0;
    }
    let u = u as usize;
    if s.is_ascii() {
        return u.min(s.len());
    }
    let mut count = 0;
    for (i, c) in s.char_indices() {
        if count >= u {
            return i;
        }
        count += c.len_utf16();
    }
    s.len()
}

fn regex_at<'a>(re: &RegexLit, s: &'a str, from: usize) -> Option<Found<'a>> {
    let caps = re.regex.captures_at(s, from)?;
    let m = caps.get(0)?;
    let groups = (1..caps.len())
        .map(|i| caps.get(i).map(|g| Val::Str(g.as_str())).unwrap_or(Val::Undef))
        .collect();
    Some(Found {
        text: m.as_str(),
        start: m.start(),
        end: m.end(),
        groups,
    })
}

/// The match object a regex produces when called directly (`/re/(str)`).
pub fn regex_match_object<'a>(ctx: &Ctx<'a, '_>, re: &RegexLit, s: Val<'a>, from: usize) -> R<'a> {
    let Val::Str(s) = s else {
        return Ok(Val::Undef);
    };
    match regex_at(re, s, from) {
        None => Ok(Val::Undef),
        Some(f) => Ok(found_object(ctx, s, &f)),
    }
}

fn found_object<'a>(ctx: &Ctx<'a, '_>, s: &'a str, f: &Found<'a>) -> Val<'a> {
    let arena = ctx.arena;
    let groups = make_arr(arena, arena.alloc_slice_copy(&f.groups), false);
    Val::Obj(arena.alloc_slice_copy(&[
        ("match", Val::Str(f.text)),
        ("start", Val::Num(utf16_offset(s, f.start) as f64)),
        ("end", Val::Num(utf16_offset(s, f.end) as f64)),
        ("groups", groups),
    ]))
}

/// Collects up to `limit` matches of `matcher` in `s`.
fn find_all<'a>(
    ctx: &Ctx<'a, '_>,
    matcher: Val<'a>,
    s: &'a str,
    limit: Option<usize>,
    env: &'a Env<'a>,
    fname: &str,
) -> Result<Vec<Found<'a>>, Error> {
    let mut out = Vec::new();
    if limit == Some(0) {
        return Ok(out);
    }
    if let Val::Func(Func::Regex(re)) = matcher {
        let mut cur = regex_at(re, s, 0);
        while let Some(f) = cur {
            let end = f.end;
            out.push(f);
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            if end >= s.len() {
                break;
            }
            let next = regex_at(re, s, end);
            if let Some(n) = &next {
                if n.text.is_empty() {
                    return Err(Error::new("D1004").value(json_quote(&re.pattern)));
                }
            }
            cur = next;
        }
        return Ok(out);
    }
    // a function matcher: returns {match, start, end, groups, next}
    let mut result = ctx.apply(matcher, smallvec::smallvec![Val::Str(s)], Val::Undef, env)?;
    loop {
        if result.is_undef() {
            break;
        }
        let start = result.field("start");
        let end = result.field("end");
        let groups = result.field("groups");
        let next = result.field("next");
        let ok = matches!(start, Some(Val::Num(_)))
            || matches!(end, Some(Val::Num(_)))
            || groups.is_some_and(|g| g.is_array())
            || next.is_some_and(|n| n.is_function());
        if !ok {
            return Err(Error::new("T1010").token(fname));
        }
        let text = result.field("match").and_then(|m| m.as_str()).unwrap_or("");
        let st = byte_offset(s, start.and_then(|v| v.as_num()).unwrap_or(0.0));
        out.push(Found {
            text,
            start: st,
            end: st + text.len(),
            groups: groups.map(|g| g.iter().collect()).unwrap_or_default(),
        });
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        match next {
            Some(n) if n.is_function() => {
                result = ctx.apply(n, smallvec::smallvec![], Val::Undef, env)?;
            }
            _ => break,
        }
    }
    Ok(out)
}

/// Runs `$match`, `$contains`, `$replace` or `$split`.
pub fn call_matcher<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>], env: &'a Env<'a>) -> R<'a> {
    let arena = ctx.arena;
    let Some(Val::Str(s)) = args.first().copied() else {
        return Ok(Val::Undef);
    };
    let arg = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    match b {
        Builtin::Contains => match arg(1) {
            Val::Str(t) => Ok(Val::Bool(s.contains(t))),
            Val::Undef => Ok(Val::Undef),
            m => Ok(Val::Bool(!find_all(ctx, m, s, Some(1), env, "contains")?.is_empty())),
        },
        Builtin::Match => {
            let limit = match arg(2) {
                Val::Num(n) if n < 0.0 => return Err(Error::new("D3040").value(json_text(arg(2)))),
                Val::Num(n) => Some(n as usize),
                _ => None,
            };
            let found = find_all(ctx, arg(1), s, limit, env, "match")?;
            ctx.charge(found.len().saturating_mul(256))?;
            let mut out = SeqBuilder::new(arena);
            for f in &found {
                let groups = make_arr(arena, arena.alloc_slice_copy(&f.groups), false);
                out.push(Val::Obj(arena.alloc_slice_copy(&[
                    ("match", Val::Str(f.text)),
                    ("index", Val::Num(utf16_offset(s, f.start) as f64)),
                    ("groups", groups),
                ])));
            }
            Ok(out.seq(arena))
        }
        Builtin::Split => {
            let limit = match arg(2) {
                Val::Num(n) if n < 0.0 => return Err(Error::new("D3020").value(json_text(arg(2)))),
                Val::Num(n) => Some(n as usize),
                _ => None,
            };
            let mut parts: Vec<Val<'a>> = Vec::new();
            if limit != Some(0) {
                match arg(1) {
                    Val::Str(sep) => {
                        let most = if sep.is_empty() {
                            s.len()
                        } else {
                            s.len() / sep.len() + 1
                        };
                        ctx.charge_items::<Val>(most.min(limit.unwrap_or(usize::MAX)))?;
                        if sep.is_empty() {
                            for c in s.char_indices() {
                                parts.push(Val::Str(&s[c.0..c.0 + c.1.len_utf8()]));
                            }
                        } else {
                            parts.extend(s.split(sep).map(Val::Str));
                        }
                        if let Some(l) = limit {
                            parts.truncate(l);
                        }
                    }
                    m => {
                        let found = find_all(ctx, m, s, limit, env, "split")?;
                        ctx.charge_items::<Val>(found.len() + 1)?;
                        if found.is_empty() {
                            parts.push(Val::Str(s));
                        } else {
                            let mut start = 0;
                            for f in &found {
                                parts.push(Val::Str(&s[start.min(f.start)..f.start]));
                                start = f.end;
                            }
                            if limit.is_none_or(|l| found.len() < l) {
                                parts.push(Val::Str(&s[start.min(s.len())..]));
                            }
                        }
                    }
                }
            }
            Ok(make_arr(arena, arena.alloc_slice_copy(&parts), false))
        }
        Builtin::Replace => {
            let pattern = arg(1);
            if pattern.as_str() == Some("") {
                return Err(Error::new("D3010").value("\"\""));
            }
            let limit = match arg(3) {
                Val::Num(n) if n < 0.0 => return Err(Error::new("D3011").value(json_text(arg(3)))),
                Val::Num(n) => Some(n as usize),
                _ => None,
            };
            let replacement = arg(2);
            // the result may grow past the subject (short matches, long replacements): it is
            // checked against the memory budget as it grows
            let max_len = ctx.memory_left();
            let too_long = |r: &String| {
                if r.len() > max_len {
                    Err(ctx.memory_error())
                } else {
                    Ok(())
                }
            };
            let mut result = String::with_capacity(s.len());
            if limit == Some(0) {
                return Ok(Val::Str(s));
            }
            if let Val::Str(p) = pattern {
                let mut pos = 0;
                let mut count = 0;
                while let Some(i) = s[pos..].find(p) {
                    if limit.is_some_and(|l| count >= l) {
                        break;
                    }
                    result.push_str(&s[pos..pos + i]);
                    result.push_str(replacement.as_str().unwrap_or(""));
                    too_long(&result)?;
                    pos += i + p.len();
                    count += 1;
                }
                result.push_str(&s[pos..]);
                too_long(&result)?;
                return Ok(Val::Str(arena.alloc_str(&result)));
            }
            let found = find_all(ctx, pattern, s, limit, env, "replace")?;
            if found.is_empty() {
                return Ok(Val::Str(s));
            }
            let mut pos = 0;
            for f in &found {
                result.push_str(&s[pos.min(f.start)..f.start]);
                match replacement {
                    Val::Str(r) => result.push_str(&substitute(r, f)),
                    func => {
                        let m = found_object(ctx, s, f);
                        let r = ctx.apply(func, smallvec::smallvec![m], Val::Undef, env)?;
                        match r {
                            Val::Str(t) => result.push_str(t),
                            other => return Err(Error::new("D3012").value(json_text(other))),
                        }
                    }
                }
                too_long(&result)?;
                pos = f.end;
            }
            result.push_str(&s[pos.min(s.len())..]);
            too_long(&result)?;
            Ok(Val::Str(arena.alloc_str(&result)))
        }
        _ => Ok(Val::Undef),
    }
}

/// Expands `$0`, `$1`... and `$$` in a replacement string.
fn substitute(replacement: &str, f: &Found<'_>) -> String {
    let r: Vec<char> = replacement.chars().collect();
    let mut out = String::new();
    let mut pos = 0;
    let groups = f.groups.len();
    while pos < r.len() {
        let Some(idx) = r[pos..].iter().position(|&c| c == '$').map(|i| i + pos) else {
            break;
        };
        out.extend(&r[pos..idx]);
        pos = idx + 1;
        match r.get(pos) {
            Some('$') => {
                out.push('$');
                pos += 1;
            }
            Some('0') => {
                out.push_str(f.text);
                pos += 1;
            }
            _ => {
                let max_digits = if groups == 0 {
                    1
                } else {
                    (groups as f64).log10().floor() as usize + 1
                };
                let digits: String = r[pos..]
                    .iter()
                    .take(max_digits)
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                let mut index: Option<usize> = digits.parse().ok();
                if max_digits > 1 && index.is_some_and(|i| i > groups) {
                    let d2: String = digits.chars().take(max_digits - 1).collect();
                    index = d2.parse().ok();
                }
                match index {
                    Some(i) => {
                        if groups > 0 && i >= 1 {
                            if let Some(Val::Str(g)) = f.groups.get(i - 1) {
                                out.push_str(g);
                            }
                        }
                        pos += i.to_string().len();
                    }
                    None => out.push('$'),
                }
            }
        }
    }
    out.extend(r.get(pos..).unwrap_or(&[]));
    out
}
