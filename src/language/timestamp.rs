//! ISO-8601 timestamps as Step Functions accepts them.
//!
//! At run time (Choice `Timestamp*` operators, `IsTimestamp`, Wait `TimestampPath`) AWS
//! parses with Java's `ISO_OFFSET_DATE_TIME`: `yyyy-MM-ddTHH:mm[:ss[.f{1,9}]]` followed by
//! `Z` or an offset `±HH:MM[:SS]`, letters in any case, dates checked strictly (no
//! February 30th). A definition's literal Wait `Timestamp` must also match RFC 3339, which
//! requires the seconds ([`parse_rfc3339`]).
//!
//! A parsed timestamp is an instant: nanoseconds since the Unix epoch, ordered and compared
//! as AWS compares them (the offset is applied, so `...T01:00:00+01:00` equals `...T00:00Z`).

use std::fmt;

/// An instant, as nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Nanoseconds since the Unix epoch (negative before it).
    pub epoch_nanos: i128,
}

impl Timestamp {
    /// Whole seconds since the Unix epoch (rounded towards negative infinity).
    pub fn epoch_seconds(self) -> i64 {
        i64::try_from(self.epoch_nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX)
    }

    /// Milliseconds since the Unix epoch (rounded towards negative infinity).
    pub fn epoch_millis(self) -> i64 {
        i64::try_from(self.epoch_nanos.div_euclid(1_000_000)).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with the shortest of no, 3, 6 or 9 fraction digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.epoch_nanos.div_euclid(1_000_000_000);
        let nanos = self.epoch_nanos.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )?;
        if nanos != 0 {
            if nanos % 1_000_000 == 0 {
                write!(f, ".{:03}", nanos / 1_000_000)?;
            } else if nanos % 1000 == 0 {
                write!(f, ".{:06}", nanos / 1000)?;
            } else {
                write!(f, ".{nanos:09}")?;
            }
        }
        f.write_str("Z")
    }
}

/// Parses a timestamp the way AWS does at run time (Java's `ISO_OFFSET_DATE_TIME`).
pub fn parse(text: &str) -> Option<Timestamp> {
    parse_with(text, false)
}

/// [`parse`], as nanoseconds since the Unix epoch.
pub fn parse_timestamp(text: &str) -> Option<i128> {
    parse(text).map(|t| t.epoch_nanos)
}

/// Parses a timestamp that must also be RFC 3339 (seconds required), as AWS requires of a
/// literal Wait `Timestamp` in a definition (`String does not match RFC3339 timestamp`).
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    parse_with(text, true)
}

struct Cursor<'t> {
    bytes: &'t [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        let mut v = 0i64;
        for &b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(b - b'0');
        }
        self.pos = end;
        Some(v)
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.bytes.get(self.pos).is_some_and(|b| b.eq_ignore_ascii_case(&c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
}

fn parse_with(text: &str, rfc3339: bool) -> Option<Timestamp> {
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    // Year: four digits, or a sign and more digits (Java's extended years).
    let year = match c.peek()? {
        b'+' | b'-' if !rfc3339 => {
            let negative = c.peek() == Some(b'-');
            c.pos += 1;
            let start = c.pos;
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.pos += 1;
            }
            let len = c.pos - start;
            if !(4..=9).contains(&len) {
                return None;
            }
            c.pos = start;
            let y = c.digits(len)?;
            if negative {
                -y
            } else {
                y
            }
        }
        _ => c.digits(4)?,
    };
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if !c.eat(b'T') {
        return None;
    }
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2)?;
    let mut second = 0;
    let mut nanos = 0i64;
    if c.eat(b':') {
        second = c.digits(2)?;
        if c.eat(b'.') {
            let start = c.pos;
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.pos += 1;
            }
            let len = c.pos - start;
            if !(1..=9).contains(&len) {
                return None;
            }
            c.pos = start;
            nanos = c.digits(len)? * 10i64.pow(9 - len as u32);
        }
    } else if rfc3339 {
        return None;
    }
    let offset_seconds = if c.eat(b'Z') {
        0
    } else {
        let sign = match c.peek()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        c.pos += 1;
        let oh = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        let om = c.digits(2)?;
        let os = if !rfc3339 && c.eat(b':') { c.digits(2)? } else { 0 };
        if oh > 18 || om > 59 || os > 59 || (oh == 18 && (om > 0 || os > 0)) {
            return None;
        }
        sign * (oh * 3600 + om * 60 + os)
    };
    if c.pos != text.len() {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(Timestamp {
        epoch_nanos: i128::from(secs) * 1_000_000_000 + i128::from(nanos),
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_aws_accepts() {
        for ok in [
            "2016-03-14T01:59:00Z",
            "2016-03-05T21:29:29.243167252Z",
            "2026-11-23T11:41:21.000000Z",
            "2026-11-23T11:41:21.00Z",
            "2012-10-09T19:00:55+01:00",
            "2012-10-09T19:00:55-08:30",
            "2012-10-09t19:00:55z",
            "2024-02-29T00:00:00Z",
        ] {
            assert!(parse(ok).is_some(), "{ok}");
            assert!(parse_rfc3339(ok).is_some(), "{ok}");
        }
        assert!(parse("2012-10-09T19:00Z").is_some());
        assert!(parse_rfc3339("2012-10-09T19:00Z").is_none());
    }

    #[test]
    fn rejects_what_aws_rejects() {
        for bad in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2026-11-23T11:41:21.000000",
            "2023-02-24 12:15:56.832957",
            "",
            " ",
            "2023-02-29T00:00:00Z",
            "2016-12-05T21:29:29.Z",
            "2016-12-05T21:29:29.1234567890Z",
            "2016-12-05T21:29:60Z",
            "2016-12-05T21:29:29+0100",
            "2016-12-05T21:29:29Zx",
            "{% '2016-03-14T01:59:00Z' %}",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
            assert!(parse_rfc3339(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn instants_compare_across_offsets() {
        let a = parse("2012-10-09T19:00:55Z").unwrap();
        let b = parse("2012-10-09T19:00:56Z").unwrap();
        assert!(a < b);
        assert_eq!(parse("2012-10-09T20:00:55+01:00").unwrap(), a);
        assert_eq!(parse("1970-01-01T00:00:00Z").unwrap().epoch_nanos, 0);
        assert_eq!(parse("1970-01-01T00:00:01.5Z").unwrap().epoch_millis(), 1500);
        assert_eq!(parse("2016-03-14T01:59:00Z").unwrap().epoch_seconds(), 1_457_920_740);
        assert_eq!(parse("1969-12-31T23:59:59Z").unwrap().epoch_seconds(), -1);
        assert_eq!(
            parse("2016-03-05T21:29:29.243167252+02:00").unwrap().to_string(),
            "2016-03-05T19:29:29.243167252Z"
        );
        assert_eq!(
            parse("2016-03-14T01:59:00.5Z").unwrap().to_string(),
            "2016-03-14T01:59:00.500Z"
        );
    }
}
