//! Date/time and integer pictures (XPath F&O 9.8 and 4.6 as jsonata-js implements them):
//! `$now`, `$millis`, `$fromMillis`, `$toMillis`, `$formatInteger`, `$parseInteger`.

use super::error::{json_quote, Error};
use super::eval::{Ctx, R};
use super::functions::Builtin;
use super::value::{js_number_string, Val};

const FEW: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const ORDINALS: [&str; 20] = [
    "Zeroth",
    "First",
    "Second",
    "Third",
    "Fourth",
    "Fifth",
    "Sixth",
    "Seventh",
    "Eighth",
    "Ninth",
    "Tenth",
    "Eleventh",
    "Twelfth",
    "Thirteenth",
    "Fourteenth",
    "Fifteenth",
    "Sixteenth",
    "Seventeenth",
    "Eighteenth",
    "Nineteenth",
];
const DECADES: [&str; 9] = [
    "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred",
];
const MAGNITUDES: [&str; 4] = ["Thousand", "Million", "Billion", "Trillion"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 8] = [
    "",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DECIMAL_GROUPS: [u32; 37] = [
    0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6,
    0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40,
    0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
];

/// Letter case of names and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Lower,
    Upper,
    Title,
}

/// The primary format of an integer picture.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Primary {
    Decimal,
    Letters,
    Roman,
    Words,
    Sequence(String),
}

/// An analysed integer picture (`$formatInteger`, date/time components).
#[derive(Debug, Clone)]
struct IntFormat {
    primary: Primary,
    case: Case,
    ordinal: bool,
    zero: u32,
    mandatory: usize,
    optional: usize,
    /// Regular grouping: (interval, character).
    regular: Option<(usize, char)>,
    /// Irregular grouping separators: (position from the right, character).
    separators: Vec<(usize, char)>,
}

fn analyse_integer(picture: &str) -> Result<IntFormat, Error> {
    let mut f = IntFormat {
        primary: Primary::Decimal,
        case: Case::Lower,
        ordinal: false,
        zero: 0x30,
        mandatory: 0,
        optional: 0,
        regular: None,
        separators: Vec::new(),
    };
    let primary = match picture.rfind(';') {
        Some(i) => {
            if picture[i + 1..].starts_with('o') {
                f.ordinal = true;
            }
            &picture[..i]
        }
        None => picture,
    };
    match primary {
        "A" => {
            f.case = Case::Upper;
            f.primary = Primary::Letters;
        }
        "a" => f.primary = Primary::Letters,
        "I" => {
            f.case = Case::Upper;
            f.primary = Primary::Roman;
        }
        "i" => f.primary = Primary::Roman,
        "W" => {
            f.case = Case::Upper;
            f.primary = Primary::Words;
        }
        "Ww" => {
            f.case = Case::Title;
            f.primary = Primary::Words;
        }
        "w" => f.primary = Primary::Words,
        _ => {
            let mut zero: Option<u32> = None;
            let mut pos = 0;
            let mut seps = Vec::new();
            for c in primary.chars().rev() {
                let cp = c as u32;
                match DECIMAL_GROUPS.iter().find(|&&g| cp >= g && cp <= g + 9) {
                    Some(&g) => {
                        f.mandatory += 1;
                        pos += 1;
                        match zero {
                            None => zero = Some(g),
                            Some(z) if z != g => return Err(Error::new("D3131")),
                            _ => {}
                        }
                    }
                    None if c == '#' => {
                        pos += 1;
                        f.optional += 1;
                    }
                    None => seps.push((pos, c)),
                }
            }
            if f.mandatory > 0 {
                f.zero = zero.unwrap_or(0x30);
                let regular = regular_interval(&seps);
                if regular > 0 {
                    f.regular = Some((regular, seps[0].1));
                } else {
                    f.separators = seps;
                }
            } else {
                f.primary = Primary::Sequence(primary.to_string());
            }
        }
    }
    Ok(f)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn regular_interval(seps: &[(usize, char)]) -> usize {
    if seps.is_empty() || seps.iter().any(|s| s.1 != seps[0].1) {
        return 0;
    }
    let positions: Vec<usize> = seps.iter().map(|s| s.0).collect();
    let factor = positions.iter().copied().reduce(gcd).unwrap_or(0);
    if factor == 0 {
        return 0;
    }
    for i in 1..=positions.len() {
        if !positions.contains(&(i * factor)) {
            return 0;
        }
    }
    factor
}

fn to_letters(mut v: u64, a: u8) -> String {
    let mut out = Vec::new();
    while v > 0 {
        out.push(((v - 1) % 26) as u8 + a);
        v = (v - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn to_roman(mut v: u64) -> String {
    const TABLE: [(u64, &str); 13] = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut out = String::new();
    for (n, s) in TABLE {
        while v >= n {
            out.push_str(s);
            v -= n;
        }
    }
    out
}

fn words(num: f64, prev: bool, ord: bool) -> String {
    if num <= 19.0 {
        format!(
            "{}{}",
            if prev { " and " } else { "" },
            if ord { ORDINALS[num as usize] } else { FEW[num as usize] }
        )
    } else if num < 100.0 {
        let tens = (num / 10.0).floor() as usize;
        let rem = num % 10.0;
        let mut w = format!("{}{}", if prev { " and " } else { "" }, DECADES[tens - 2]);
        if rem > 0.0 {
            w.push('-');
            w.push_str(&words(rem, false, ord));
        } else if ord {
            w.pop();
            w.push_str("ieth");
        }
        w
    } else if num < 1000.0 {
        let mut w = format!(
            "{}{} Hundred",
            if prev { ", " } else { "" },
            FEW[(num / 100.0).floor() as usize]
        );
        let rem = num % 100.0;
        if rem > 0.0 {
            w.push_str(&words(rem, true, ord));
        } else if ord {
            w.push_str("th");
        }
        w
    } else {
        let mut mag = (num.log10() / 3.0).floor() as usize;
        if mag > MAGNITUDES.len() {
            mag = MAGNITUDES.len();
        }
        let factor = 10f64.powi(mag as i32 * 3);
        let mant = (num / factor).floor();
        let rem = num - mant * factor;
        let mut w = format!(
            "{}{} {}",
            if prev { ", " } else { "" },
            words(mant, false, false),
            MAGNITUDES[mag - 1]
        );
        if rem > 0.0 {
            w.push_str(&words(rem, true, ord));
        } else if ord {
            w.push_str("th");
        }
        w
    }
}

fn format_int(value: f64, f: &IntFormat) -> Result<String, Error> {
    let negative = value < 0.0;
    let v = value.abs();
    // letters, numerals and words of Infinity or NaN never end (jsonata-js loops or
    // overflows its stack): out of range here
    if !v.is_finite() && matches!(f.primary, Primary::Letters | Primary::Roman | Primary::Words) {
        return Err(Error::new("D1001").value(js_number_string(value)));
    }
    let mut s = match &f.primary {
        Primary::Letters => to_letters(v as u64, if f.case == Case::Upper { b'A' } else { b'a' }),
        // beyond this a roman numeral would be a string of millions of `m`s: use decimal
        Primary::Roman if v > 100_000.0 => js_number_string(v),
        Primary::Roman => {
            let r = to_roman(v as u64);
            if f.case == Case::Upper {
                r.to_uppercase()
            } else {
                r
            }
        }
        Primary::Words => {
            let w = words(v, false, f.ordinal);
            match f.case {
                Case::Upper => w.to_uppercase(),
                Case::Lower => w.to_lowercase(),
                Case::Title => w,
            }
        }
        Primary::Decimal => {
            let mut s = js_number_string(v);
            let len = s.chars().count();
            if f.mandatory > len {
                s = "0".repeat(f.mandatory - len) + &s;
            }
            if f.zero != 0x30 {
                s = s
                    .chars()
                    .map(|c| {
                        if c.is_ascii_digit() {
                            char::from_u32(c as u32 + f.zero - 0x30).unwrap_or(c)
                        } else {
                            c
                        }
                    })
                    .collect();
            }
            let mut chars: Vec<char> = s.chars().collect();
            if let Some((interval, sep)) = f.regular {
                let n = (chars.len() - 1) / interval;
                for ii in (1..=n).rev() {
                    let pos = chars.len() - ii * interval;
                    chars.insert(pos, sep);
                }
            } else {
                for &(position, sep) in f.separators.iter().rev() {
                    let pos = chars.len().saturating_sub(position);
                    chars.insert(pos, sep);
                }
            }
            let mut s: String = chars.into_iter().collect();
            if f.ordinal {
                let cs: Vec<char> = s.chars().collect();
                let last = cs.last().copied().unwrap_or('0');
                let suffix = match last {
                    '1' => "st",
                    '2' => "nd",
                    '3' => "rd",
                    _ => "th",
                };
                let suffix = if cs.len() > 1 && cs[cs.len() - 2] == '1' {
                    "th"
                } else {
                    suffix
                };
                s.push_str(suffix);
            }
            s
        }
        Primary::Sequence(token) => return Err(Error::new("D3130").value(json_quote(token))),
    };
    if negative {
        s.insert(0, '-');
    }
    Ok(s)
}

fn word_value(w: &str) -> Option<u64> {
    let lw = w.to_lowercase();
    for (i, x) in FEW.iter().enumerate() {
        if x.to_lowercase() == lw {
            return Some(i as u64);
        }
    }
    for (i, x) in ORDINALS.iter().enumerate() {
        if x.to_lowercase() == lw {
            return Some(i as u64);
        }
    }
    for (i, x) in DECADES.iter().enumerate() {
        let l = x.to_lowercase();
        if l == lw || format!("{}ieth", &l[..l.len() - 1]) == lw {
            return Some((i as u64 + 2) * 10);
        }
    }
    if lw == "hundredth" {
        return Some(100);
    }
    for (i, x) in MAGNITUDES.iter().enumerate() {
        let l = x.to_lowercase();
        if l == lw || format!("{l}th") == lw {
            return Some(10u64.pow((i as u32 + 1) * 3));
        }
    }
    None
}

fn words_to_number(text: &str) -> f64 {
    let text = text.to_lowercase();
    let text = text.replace(", ", " ").replace(" and ", " ");
    let mut segs: Vec<f64> = vec![0.0];
    for part in text.split([' ', '-']).filter(|p| !p.is_empty()) {
        let value = word_value(part).map(|v| v as f64).unwrap_or(f64::NAN);
        if value < 100.0 || value.is_nan() {
            let mut top = segs.pop().unwrap_or(0.0);
            if top >= 1000.0 {
                segs.push(top);
                top = 0.0;
            }
            segs.push(top + value);
        } else {
            let top = segs.pop().unwrap_or(0.0);
            segs.push(top * value);
        }
    }
    segs.iter().sum()
}

fn roman_to_decimal(s: &str) -> f64 {
    let mut decimal = 0i64;
    let mut max = 1i64;
    for c in s.chars().rev() {
        let v = match c.to_ascii_uppercase() {
            'M' => 1000,
            'D' => 500,
            'C' => 100,
            'L' => 50,
            'X' => 10,
            'V' => 5,
            'I' => 1,
            _ => 0,
        };
        if v < max {
            decimal -= v;
        } else {
            max = v;
            decimal += v;
        }
    }
    decimal as f64
}

/// Regex source matching a formatted integer, plus its parser.
fn integer_regex(f: &IntFormat, fixed: bool) -> Result<String, Error> {
    Ok(match &f.primary {
        Primary::Letters => if f.case == Case::Upper { "[A-Z]+" } else { "[a-z]+" }.to_string(),
        Primary::Roman => if f.case == Case::Upper {
            "[MDCLXVI]+"
        } else {
            "[mdclxvi]+"
        }
        .to_string(),
        Primary::Words => {
            let mut alts: Vec<String> = Vec::new();
            for w in FEW.iter().chain(ORDINALS.iter()).chain(MAGNITUDES.iter()) {
                alts.push(w.to_lowercase());
            }
            for w in MAGNITUDES.iter() {
                alts.push(format!("{}th", w.to_lowercase()));
            }
            for w in DECADES.iter() {
                let l = w.to_lowercase();
                alts.push(format!("{}ieth", &l[..l.len() - 1]));
                alts.push(l);
            }
            alts.push("hundredth".into());
            alts.sort_by_key(|a| std::cmp::Reverse(a.len()));
            format!("(?:{}|and|[\\-, ])+", alts.join("|"))
        }
        Primary::Decimal => {
            let mut r = if fixed && f.mandatory > 0 {
                format!("[0-9]{{{}}}", f.mandatory)
            } else {
                "[0-9]+".to_string()
            };
            if f.ordinal {
                r.push_str("(?:th|st|nd|rd)");
            }
            r
        }
        Primary::Sequence(t) => return Err(Error::new("D3130").value(json_quote(t))),
    })
}

fn parse_int(text: &str, f: &IntFormat) -> Result<f64, Error> {
    Ok(match &f.primary {
        Primary::Letters => {
            let a = if f.case == Case::Upper { b'A' } else { b'a' };
            let mut d = 0f64;
            for (i, b) in text.bytes().rev().enumerate() {
                d += (b as f64 - a as f64 + 1.0) * 26f64.powi(i as i32);
            }
            d
        }
        Primary::Roman => roman_to_decimal(text),
        Primary::Words => words_to_number(text),
        Primary::Decimal => {
            let mut digits: String = text.to_string();
            if f.ordinal && digits.len() >= 2 {
                digits.truncate(digits.len() - 2);
            }
            if let Some((_, sep)) = f.regular {
                digits = digits.replace(sep, "");
            } else {
                for (_, sep) in &f.separators {
                    digits = digits.replace(*sep, "");
                }
            }
            if f.zero != 0x30 {
                digits = digits
                    .chars()
                    .map(|c| {
                        (c as u32)
                            .checked_sub(f.zero)
                            .and_then(|d| char::from_u32(d + 0x30))
                            .unwrap_or(c)
                    })
                    .collect();
            }
            js_parse_int(&digits)
        }
        Primary::Sequence(t) => return Err(Error::new("D3130").value(json_quote(t))),
    })
}

/// JavaScript `parseInt(s, 10)`.
fn js_parse_int(s: &str) -> f64 {
    let s = s.trim_start();
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return f64::NAN;
    }
    let v: f64 = digits.parse().unwrap_or(f64::NAN);
    if neg {
        -v
    } else {
        v
    }
}

// ----- calendar arithmetic -----

const DAY_MS: f64 = 86_400_000.0;

/// Years beyond any JavaScript date (whose range is ±275,760 years), with room to spare.
const MAX_YEARS: f64 = 1e6;

/// Days beyond any JavaScript date (±10^8), with room to spare.
const MAX_DAYS: f64 = 1e9;

use crate::timestamp::{civil_from_days, days_from_civil};

/// `Date.UTC(y, month0, d, h, mi, s, ms)` (months may overflow, as in JavaScript); NaN for
/// a year out of any date's range (or not a number).
fn date_utc(y: f64, month0: f64, d: f64, h: f64, mi: f64, s: f64, ms: f64) -> f64 {
    let ym = y + (month0 / 12.0).floor();
    let mn = month0.rem_euclid(12.0);
    // JavaScript dates span ±275,760 years: beyond, the day arithmetic below would overflow
    if ym.is_nan() || ym.abs() > MAX_YEARS || !mn.is_finite() {
        return f64::NAN;
    }
    let days = days_from_civil(ym as i64, mn as i64 + 1, 1) as f64 + d - 1.0;
    days * DAY_MS + h * 3_600_000.0 + mi * 60_000.0 + s * 1000.0 + ms
}

/// The UTC fields of a millisecond timestamp.
#[derive(Clone, Copy)]
struct Fields {
    year: i64,
    month0: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    milli: i64,
    weekday: i64, // 0 = Sunday
    millis: f64,
}

fn fields(millis: f64) -> Fields {
    // (out of range timestamps only come from invalid dates: clamped, so that the calendar
    // arithmetic cannot overflow)
    let days = (millis / DAY_MS).floor().clamp(-MAX_DAYS, MAX_DAYS) as i64;
    let rem = (millis - days as f64 * DAY_MS) as i64;
    let (y, m, d) = civil_from_days(days);
    Fields {
        year: y,
        month0: m - 1,
        day: d,
        hour: rem / 3_600_000,
        minute: rem / 60_000 % 60,
        second: rem / 1000 % 60,
        milli: rem % 1000,
        weekday: (days + 4).rem_euclid(7),
        millis,
    }
}

fn start_of_first_week(year: i64, month0: i64) -> f64 {
    let first = date_utc(year as f64, month0 as f64, 1.0, 0.0, 0.0, 0.0, 0.0);
    let mut dow = fields(first).weekday;
    if dow == 0 {
        dow = 7;
    }
    if dow > 4 {
        first + (8 - dow) as f64 * DAY_MS
    } else {
        first - (dow - 1) as f64 * DAY_MS
    }
}

fn delta_weeks(start: f64, end: f64) -> f64 {
    (end - start) / (DAY_MS * 7.0) + 1.0
}

fn next_month(y: i64, m: i64) -> (i64, i64) {
    if m == 11 {
        (y + 1, 0)
    } else {
        (y, m + 1)
    }
}

fn prev_month(y: i64, m: i64) -> (i64, i64) {
    if m == 0 {
        (y - 1, 11)
    } else {
        (y, m - 1)
    }
}

/// A component's value (numbers; `P` gives 0 for am, 1 for pm).
fn fragment(f: &Fields, component: char) -> f64 {
    let today = date_utc(f.year as f64, f.month0 as f64, f.day as f64, 0.0, 0.0, 0.0, 0.0);
    (match component {
        'Y' => f.year,
        'M' => f.month0 + 1,
        'D' => f.day,
        'd' => {
            let jan1 = date_utc(f.year as f64, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
            ((today - jan1) / DAY_MS) as i64 + 1
        }
        'F' => {
            if f.weekday == 0 {
                7
            } else {
                f.weekday
            }
        }
        'W' => {
            let start = start_of_first_week(f.year, 0);
            let mut week = delta_weeks(start, today);
            if week > 52.0 {
                if today >= start_of_first_week(f.year + 1, 0) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                week = delta_weeks(start_of_first_week(f.year - 1, 0), today);
            }
            week.floor() as i64
        }
        'w' => {
            let start = start_of_first_week(f.year, f.month0);
            let mut week = delta_weeks(start, today);
            if week > 4.0 {
                let (ny, nm) = next_month(f.year, f.month0);
                if today >= start_of_first_week(ny, nm) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                let (py, pm) = prev_month(f.year, f.month0);
                week = delta_weeks(start_of_first_week(py, pm), today);
            }
            week.floor() as i64
        }
        'X' => {
            let start = start_of_first_week(f.year, 0);
            let end = start_of_first_week(f.year + 1, 0);
            if f.millis < start {
                f.year - 1
            } else if f.millis >= end {
                f.year + 1
            } else {
                f.year
            }
        }
        'x' => {
            let start = start_of_first_week(f.year, f.month0);
            let (ny, nm) = next_month(f.year, f.month0);
            let end = start_of_first_week(ny, nm);
            if f.millis < start {
                prev_month(f.year, f.month0).1 + 1
            } else if f.millis >= end {
                nm + 1
            } else {
                f.month0 + 1
            }
        }
        'H' => f.hour,
        'h' => {
            let h = f.hour % 12;
            if h == 0 {
                12
            } else {
                h
            }
        }
        'P' => i64::from(f.hour >= 12),
        'm' => f.minute,
        's' => f.second,
        'f' => f.milli,
        _ => 0,
    }) as f64
}

// ----- date/time pictures -----

/// A part of a date/time picture.
#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Marker(Marker),
}

#[derive(Debug, Clone)]
struct Marker {
    component: char,
    presentation1: String,
    presentation2: Option<char>,
    names: Option<Case>,
    int_format: Option<IntFormat>,
    width_min: Option<usize>,
    width_max: Option<usize>,
    n: i64,
}

fn default_presentation(c: char) -> Option<&'static str> {
    Some(match c {
        'Y' | 'M' | 'D' | 'd' | 'W' | 'w' | 'X' | 'x' | 'H' | 'h' | 'f' => "1",
        'F' | 'P' | 'C' | 'E' => "n",
        'm' | 's' => "01",
        'Z' | 'z' => "01:01",
        _ => return None,
    })
}

fn analyse_picture(picture: &str) -> Result<Vec<Part>, Error> {
    let chars: Vec<char> = picture.chars().collect();
    let mut parts = Vec::new();
    let add_literal = |parts: &mut Vec<Part>, start: usize, end: usize| {
        if end > start {
            let lit: String = chars[start..end].iter().collect();
            parts.push(Part::Literal(lit.replace("]]", "]")));
        }
    };
    let (mut start, mut pos) = (0, 0);
    while pos < chars.len() {
        if chars[pos] == '[' {
            if chars.get(pos + 1) == Some(&'[') {
                add_literal(&mut parts, start, pos);
                parts.push(Part::Literal("[".into()));
                pos += 2;
                start = pos;
                continue;
            }
            add_literal(&mut parts, start, pos);
            start = pos;
            let Some(close) = chars[start..].iter().position(|&c| c == ']') else {
                return Err(Error::new("D3135"));
            };
            pos = start + close;
            let marker: String = chars[start + 1..pos].iter().filter(|c| !c.is_whitespace()).collect();
            let component = marker.chars().next().unwrap_or(' ');
            let mut m = Marker {
                component,
                presentation1: String::new(),
                presentation2: None,
                names: None,
                int_format: None,
                width_min: None,
                width_max: None,
                n: -1,
            };
            let body: String = marker.chars().skip(1).collect();
            let pres = match body.rfind(',') {
                Some(comma) => {
                    let width = &body[comma + 1..];
                    let parse_w = |w: &str| -> Option<usize> {
                        if w == "*" {
                            None
                        } else {
                            w.parse().ok()
                        }
                    };
                    match width.find('-') {
                        None => m.width_min = parse_w(width),
                        Some(d) => {
                            m.width_min = parse_w(&width[..d]);
                            m.width_max = parse_w(&width[d + 1..]);
                        }
                    }
                    body[..comma].to_string()
                }
                None => body,
            };
            let pchars: Vec<char> = pres.chars().collect();
            if pchars.len() == 1 {
                m.presentation1 = pres.clone();
            } else if pchars.len() > 1 {
                let last = pchars[pchars.len() - 1];
                if "atco".contains(last) {
                    m.presentation2 = Some(last);
                    m.presentation1 = pchars[..pchars.len() - 1].iter().collect();
                } else {
                    m.presentation1 = pres.clone();
                }
            } else {
                match default_presentation(component) {
                    Some(p) => m.presentation1 = p.to_string(),
                    None => return Err(Error::new("D3132").value(json_quote(&component.to_string()))),
                }
            }
            if default_presentation(component).is_none() {
                return Err(Error::new("D3132").value(json_quote(&component.to_string())));
            }
            let p1: Vec<char> = m.presentation1.chars().collect();
            if p1.first() == Some(&'n') {
                m.names = Some(Case::Lower);
            } else if p1.first() == Some(&'N') {
                m.names = Some(if p1.get(1) == Some(&'n') {
                    Case::Title
                } else {
                    Case::Upper
                });
            } else if "YMDdFWwXxHhmsf".contains(component) {
                let mut pattern = m.presentation1.clone();
                if let Some(p2) = m.presentation2 {
                    pattern.push(';');
                    pattern.push(p2);
                }
                let mut f = analyse_integer(&pattern)?;
                if let Some(min) = m.width_min {
                    if f.mandatory < min {
                        f.mandatory = min;
                    }
                }
                if "YMD".contains(component) {
                    m.n = -1;
                    if let Some(max) = m.width_max {
                        m.n = max as i64;
                        f.mandatory = max;
                    } else {
                        let w = f.mandatory + f.optional;
                        if w >= 2 {
                            m.n = w as i64;
                        }
                    }
                }
                m.int_format = Some(f);
            }
            if component == 'Z' || component == 'z' {
                m.int_format = Some(analyse_integer(&m.presentation1)?);
            }
            parts.push(Part::Marker(m));
            start = pos + 1;
        }
        pos += 1;
    }
    add_literal(&mut parts, start, chars.len());
    Ok(parts)
}

/// Formats a timestamp with a picture (default ISO 8601) and a `±HHMM` timezone.
fn format_datetime(
    ctx: &Ctx<'_, '_>,
    millis: f64,
    picture: Option<&str>,
    timezone: Option<&str>,
) -> Result<String, Error> {
    let (mut off_h, mut off_m) = (0i64, 0i64);
    // the range of a JavaScript Date
    if millis.is_nan() || millis.abs() > 8.64e15 {
        return Err(Error::new("D1001").value(js_number_string(millis)));
    }
    if let Some(tz) = timezone {
        let offset = js_parse_int(tz).trunc();
        if !offset.is_nan() {
            // an offset of more than 10^9 (±HHHHHHHMM) moves any date out of range
            if offset.abs() > 1e9 {
                return Err(Error::new("D1001").value(js_number_string(offset)));
            }
            let offset = offset as i64;
            off_h = offset.div_euclid(100);
            off_m = offset % 100;
        }
    }
    let parts = analyse_picture(picture.unwrap_or("[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]"))?;
    // widths are the picture's numbers: one can ask for gigabytes of padding
    for part in &parts {
        if let Part::Marker(Marker {
            int_format: Some(f), ..
        }) = part
        {
            ctx.charge(f.mandatory)?;
        }
    }
    let f = fields(millis + ((off_h * 60 + off_m) * 60_000) as f64);
    let mut out = String::new();
    for part in &parts {
        let m = match part {
            Part::Literal(s) => {
                out.push_str(s);
                continue;
            }
            Part::Marker(m) => m,
        };
        let c = m.component;
        let mut value = fragment(&f, c);
        let s = if "YMDdFWwXxHhms".contains(c) {
            if c == 'Y' && m.n != -1 {
                value %= 10f64.powi(m.n as i32);
            }
            if let Some(case) = m.names {
                let name = match c {
                    'M' | 'x' => MONTHS[(value as usize).saturating_sub(1) % 12],
                    'F' => DAYS[value as usize % 8],
                    _ => return Err(Error::new("D3133").value(json_quote(&c.to_string()))),
                };
                let mut name = match case {
                    Case::Upper => name.to_uppercase(),
                    Case::Lower => name.to_lowercase(),
                    Case::Title => name.to_string(),
                };
                if let Some(max) = m.width_max {
                    if name.chars().count() > max {
                        name = name.chars().take(max).collect();
                    }
                }
                name
            } else {
                match &m.int_format {
                    Some(fm) => format_int(value, fm)?,
                    None => js_number_string(value),
                }
            }
        } else if c == 'f' {
            match &m.int_format {
                Some(fm) => format_int(value, fm)?,
                None => js_number_string(value),
            }
        } else if c == 'Z' || c == 'z' {
            let offset = off_h * 100 + off_m;
            let fm = m
                .int_format
                .clone()
                .unwrap_or_else(|| analyse_integer("01:01").unwrap_or_else(|_| unreachable!()));
            let mut s = if fm.regular.is_some() {
                format_int(offset as f64, &fm)?
            } else {
                match fm.mandatory {
                    1 | 2 => {
                        let mut s = format_int(off_h as f64, &fm)?;
                        if off_m != 0 {
                            s.push(':');
                            s.push_str(&format!("{:02}", off_m));
                        }
                        s
                    }
                    3 | 4 => format_int(offset as f64, &fm)?,
                    n => return Err(Error::new("D3134").value(n.to_string())),
                }
            };
            if offset >= 0 {
                s.insert(0, '+');
            }
            if c == 'z' {
                s.insert_str(0, "GMT");
            }
            if offset == 0 && m.presentation2 == Some('t') {
                s = "Z".into();
            }
            s
        } else if c == 'P' {
            let s = if value >= 1.0 { "pm" } else { "am" };
            if m.names == Some(Case::Upper) {
                s.to_uppercase()
            } else {
                s.to_string()
            }
        } else {
            // C and E: calendar and era
            "ISO".to_string()
        };
        out.push_str(&s);
    }
    Ok(out)
}

fn escape_regex(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if ".*+?^${}()|[]\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses a timestamp with a picture (`$toMillis(ts, picture)`).
fn parse_datetime(ts: &str, picture: &str, now: f64) -> Result<Option<f64>, Error> {
    let parts = analyse_picture(picture)?;
    let mut regex = String::from("(?i)^");
    let mut markers: Vec<&Marker> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(s) => {
                regex.push_str(&escape_regex(s));
            }
            Part::Marker(m) => {
                let next_is_marker = matches!(parts.get(i + 1), Some(Part::Marker(_)));
                let r = if m.component == 'Z' || m.component == 'z' {
                    let sep = m
                        .int_format
                        .as_ref()
                        .and_then(|f| f.regular.map(|r| r.1).or(f.separators.first().map(|s| s.1)));
                    let mut r = String::new();
                    if m.component == 'z' {
                        r.push_str("GMT");
                    }
                    r.push_str("[-+][0-9]+");
                    if let Some(s) = sep {
                        r.push_str(&escape_regex(&s.to_string()));
                        r.push_str("[0-9]+");
                    }
                    r
                } else if let Some(f) = &m.int_format {
                    integer_regex(f, next_is_marker)?
                } else {
                    if !"MxFP".contains(m.component) {
                        return Err(Error::new("D3133").value(json_quote(&m.component.to_string())));
                    }
                    "[a-zA-Z]+".to_string()
                };
                regex.push('(');
                regex.push_str(&r);
                regex.push(')');
                markers.push(m);
            }
        }
    }
    regex.push('$');
    let re = regex::Regex::new(&regex).map_err(|_| Error::new("D3136"))?;
    let Some(caps) = re.captures(ts) else {
        return Ok(None);
    };
    let mut comps: std::collections::HashMap<char, f64> = std::collections::HashMap::new();
    for (i, m) in markers.iter().enumerate() {
        let Some(text) = caps.get(i + 1).map(|g| g.as_str()) else {
            continue;
        };
        let value = if m.component == 'Z' || m.component == 'z' {
            let v = if m.component == 'z' { &text[3..] } else { text };
            let sep = m
                .int_format
                .as_ref()
                .and_then(|f| f.regular.map(|r| r.1).or(f.separators.first().map(|s| s.1)));
            let (h, mi) = match sep.and_then(|s| v.find(s).map(|i| (i, s))) {
                Some((i, s)) => (js_parse_int(&v[..i]), js_parse_int(&v[i + s.len_utf8()..])),
                None => {
                    if v.len() - 1 <= 2 {
                        (js_parse_int(v), 0.0)
                    } else {
                        (js_parse_int(&v[..3]), js_parse_int(&v[3..]))
                    }
                }
            };
            Some(h * 60.0 + if h < 0.0 { -mi } else { mi })
        } else if m.component == 'f' {
            format!("0.{text}").parse::<f64>().ok().map(|x| (x * 1000.0).floor())
        } else if let Some(f) = &m.int_format {
            Some(parse_int(text, f)?)
        } else {
            let lower = text.to_lowercase();
            match m.component {
                'M' | 'x' => name_number(&MONTHS, &lower, m.width_max),
                'F' => name_number(&DAYS[1..], &lower, m.width_max),
                _ => match lower.as_str() {
                    "am" => Some(0.0),
                    "pm" => Some(1.0),
                    _ => None,
                },
            }
        };
        if let Some(v) = value {
            comps.insert(m.component, v);
        }
    }
    if comps.is_empty() {
        return Ok(None);
    }
    let mut mask = 0u32;
    let shift = |mask: &mut u32, present: bool| {
        *mask <<= 1;
        *mask += u32::from(present);
    };
    for c in "YXMxWwdD".chars() {
        shift(&mut mask, comps.contains_key(&c));
    }
    let is_type = |t: u32, mask: u32| (!t & mask) == 0 && (t & mask) != 0;
    let date_a = is_type(161, mask);
    let date_b = !date_a && is_type(130, mask);
    let date_c = is_type(84, mask);
    let date_d = !date_c && is_type(72, mask);
    let mut tmask = 0u32;
    for c in "PHhmsf".chars() {
        shift(&mut tmask, comps.contains_key(&c));
    }
    let time_a = is_type(23, tmask);
    let time_b = !time_a && is_type(47, tmask);
    let date_comps = if date_b {
        "YD"
    } else if date_c {
        "XxwF"
    } else if date_d {
        "XWF"
    } else {
        "YMD"
    };
    let time_comps = if time_b { "Phmsf" } else { "Hmsf" };
    let now_fields = fields(now);
    let mut start_specified = false;
    let mut end_specified = false;
    for c in date_comps.chars().chain(time_comps.chars()) {
        if let std::collections::hash_map::Entry::Vacant(e) = comps.entry(c) {
            if start_specified {
                e.insert(if "MDd".contains(c) { 1.0 } else { 0.0 });
                end_specified = true;
            } else {
                e.insert(fragment(&now_fields, c));
            }
        } else {
            start_specified = true;
            if end_specified {
                return Err(Error::new("D3136"));
            }
        }
    }
    let get = |c: char| comps.get(&c).copied().unwrap_or(0.0);
    let mut month0 = if get('M') > 0.0 { get('M') - 1.0 } else { 0.0 };
    let mut day = get('D');
    if date_b {
        let first = date_utc(get('Y'), 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
        let derived = fields(first + (get('d') - 1.0) * DAY_MS);
        month0 = derived.month0 as f64;
        day = derived.day as f64;
    }
    if date_c || date_d {
        return Err(Error::new("D3136"));
    }
    let mut hour = get('H');
    if time_b {
        hour = if get('h') == 12.0 { 0.0 } else { get('h') };
        if get('P') == 1.0 {
            hour += 12.0;
        }
    }
    let mut millis = date_utc(get('Y'), month0, day, hour, get('m'), get('s'), get('f'));
    let tz = comps.get(&'Z').or(comps.get(&'z')).copied().unwrap_or(0.0);
    if tz != 0.0 {
        millis -= tz * 60_000.0;
    }
    Ok(Some(millis))
}

/// `Date.parse` of the ISO 8601 forms `$toMillis` accepts.
fn parse_iso(ts: &str) -> Option<f64> {
    let re = regex::Regex::new(
        r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$",
    )
    .ok()?;
    let c = re.captures(ts)?;
    let num = |i: usize, d: f64| c.get(i).and_then(|m| m.as_str().parse::<f64>().ok()).unwrap_or(d);
    let ms = c
        .get(7)
        .map(|m| {
            let s = m.as_str();
            let s3: String = s.chars().chain("000".chars()).take(3).collect();
            s3.parse::<f64>().unwrap_or(0.0)
        })
        .unwrap_or(0.0);
    let mut millis = date_utc(
        num(1, 0.0),
        num(2, 1.0) - 1.0,
        num(3, 1.0),
        num(4, 0.0),
        num(5, 0.0),
        num(6, 0.0),
        ms,
    );
    if let Some(z) = c.get(8) {
        let z = z.as_str();
        if z != "Z" {
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let digits: String = z[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let h: f64 = digits[..2].parse().unwrap_or(0.0);
            let m: f64 = digits[2..].parse().unwrap_or(0.0);
            millis -= sign * (h * 60.0 + m) * 60_000.0;
        }
    }
    Some(millis)
}

/// `$formatInteger(value, picture)`.
pub fn format_integer(value: f64, picture: &str) -> Result<String, Error> {
    let f = analyse_integer(picture)?;
    format_int(value.floor(), &f)
}

/// `$parseInteger(text, picture)`.
pub fn parse_integer(text: &str, picture: &str) -> Result<f64, Error> {
    let f = analyse_integer(picture)?;
    parse_int(text, &f)
}

/// Runs a date/time built-in.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>]) -> R<'a> {
    let arena = ctx.arena;
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    let out = |s: String| Ok(Val::Str(arena.alloc_str(&s)));
    let now = ctx.now_millis() as f64;
    match b {
        Builtin::Millis => Ok(Val::Num(now)),
        Builtin::Now => out(format_datetime(ctx, now, a(0).as_str(), a(1).as_str())?),
        Builtin::FromMillis => {
            let Val::Num(ms) = a(0) else {
                return Ok(Val::Undef);
            };
            out(format_datetime(ctx, ms, a(1).as_str(), a(2).as_str())?)
        }
        Builtin::ToMillis => {
            let Val::Str(ts) = a(0) else {
                return Ok(Val::Undef);
            };
            match a(1) {
                Val::Str(picture) => Ok(parse_datetime(ts, picture, now)?.map(Val::Num).unwrap_or(Val::Undef)),
                _ => match parse_iso(ts) {
                    Some(ms) => Ok(Val::Num(ms)),
                    None => Err(Error::new("D3110").value(json_quote(ts))),
                },
            }
        }
        _ => Ok(Val::Undef),
    }
}

/// The 1-based number of the name in `names` that `lower` spells (lowercase), in full or
/// cut to `width_max` characters.
fn name_number(names: &[&str], lower: &str, width_max: Option<usize>) -> Option<f64> {
    names
        .iter()
        .position(|n| {
            let n = n.to_lowercase();
            match width_max {
                Some(w) => n.chars().take(w).collect::<String>() == lower,
                None => n == lower,
            }
        })
        .map(|i| i as f64 + 1.0)
}
