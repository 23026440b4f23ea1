//! JUnit XML reports of a run of case files (`quickstep test --junit FILE`), the format CI
//! systems (GitLab, Jenkins, GitHub test reporters) read: one `<testsuite>` per area, in the
//! order of the terminal's per-area counts, and one `<testcase>` per case, with a `<failure>`
//! (message: the difference's first line; text: the whole difference) or a `<skipped>`.
//!
//! The counts of `<testsuites>` are the terminal summary's: files that are not cases count
//! as skipped there, as they do in the summary line, and are in no `<testsuite>`.

use std::fmt::Write;
use std::time::Duration;

use crate::cases::{Counts, TestResults, Verdict};

/// The JUnit XML report of `results`.
pub fn report(results: &TestResults) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"quickstep\" {}>",
        count_attributes(&results.totals())
    );
    for (area, cases) in results.areas() {
        let area = attribute(area);
        let counts = Counts::of(cases.iter().copied());
        let _ = writeln!(xml, "  <testsuite name=\"{area}\" {}>", count_attributes(&counts));
        for case in cases {
            let _ = write!(
                xml,
                "    <testcase name=\"{}\" classname=\"{area}\" time=\"{}\"",
                attribute(&case.name),
                seconds(case.time)
            );
            match &case.verdict {
                Verdict::Passed => xml.push_str("/>\n"),
                Verdict::Failed(difference) => {
                    let first_line = difference.lines().next().unwrap_or("");
                    let _ = writeln!(
                        xml,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        attribute(first_line),
                        text(difference)
                    );
                }
                Verdict::Skipped(reason) => {
                    let _ = writeln!(
                        xml,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        attribute(reason)
                    );
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// `tests=".." failures=".." skipped=".." time=".."`.
fn count_attributes(counts: &Counts) -> String {
    format!(
        "tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{}\"",
        counts.tests(),
        counts.failed,
        counts.skipped,
        seconds(counts.time)
    )
}

/// Seconds with millisecond precision (rounded down): `1.234`.
fn seconds(time: Duration) -> String {
    let millis = time.as_millis();
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// `value` escaped for an attribute between double quotes: tab, newline and carriage return
/// as character references too, since XML parsers turn them into spaces there.
fn attribute(value: &str) -> String {
    escape(value, true)
}

/// `value` escaped for element text.
fn text(value: &str) -> String {
    escape(value, false)
}

/// `value` with `&`, `<`, `>`, `"` and `'` as entities, a carriage return as `&#13;` (XML
/// parsers would turn it into a newline), and each character that XML 1.0 does not allow
/// (control characters other than tab, newline and carriage return; U+FFFE, U+FFFF) spelled
/// `\uXXXX`; in an attribute, tab and newline as `&#9;` and `&#10;`.
pub(crate) fn escape(value: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::cases::CaseResult;

    #[test]
    fn escapes_markup_and_characters_xml_does_not_allow() {
        let value = "a<b> & \"c\" 'd'\te\nf\rg\u{0}h\u{1b}i\u{7f}\u{fffe}é😀";
        assert_eq!(
            text(value),
            "a&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;\te\nf&#13;g\\u0000h\\u001Bi\u{7f}\\uFFFEé😀"
        );
        assert_eq!(
            attribute(value),
            "a&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;&#9;e&#10;f&#13;g\\u0000h\\u001Bi\u{7f}\\uFFFEé😀"
        );
        assert_eq!(text("plain text"), "plain text");
    }

    #[test]
    fn times_are_seconds_with_milliseconds() {
        assert_eq!(seconds(Duration::from_micros(1_234_567)), "1.234");
        assert_eq!(seconds(Duration::from_micros(999)), "0.000");
        assert_eq!(seconds(Duration::from_millis(62_005)), "62.005");
    }

    fn result(name: &str, verdict: Verdict, millis: u64) -> CaseResult {
        CaseResult {
            name: name.into(),
            area: name.split('-').next().unwrap().into(),
            file: PathBuf::from(format!("cases/{name}.json")),
            verdict,
            time: Duration::from_millis(millis),
        }
    }

    #[test]
    fn reports_each_area_and_case() {
        let results = TestResults {
            cases: vec![
                result("pass-simple", Verdict::Passed, 2),
                result(
                    "choice-odd",
                    Verdict::Failed("output differs:\n  $['a']: expected \"<x>\", got \"&y\"".into()),
                    1_250,
                ),
                result("pass-other", Verdict::Skipped("TestState-only rule: <Map>".into()), 0),
            ],
            not_cases: vec![PathBuf::from("cases/notes.json")],
        };
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="quickstep" tests="4" failures="1" skipped="2" time="1.252">
  <testsuite name="choice" tests="1" failures="1" skipped="0" time="1.250">
    <testcase name="choice-odd" classname="choice" time="1.250">
      <failure message="output differs:">output differs:
  $[&apos;a&apos;]: expected &quot;&lt;x&gt;&quot;, got &quot;&amp;y&quot;</failure>
    </testcase>
  </testsuite>
  <testsuite name="pass" tests="2" failures="0" skipped="1" time="0.002">
    <testcase name="pass-simple" classname="pass" time="0.002"/>
    <testcase name="pass-other" classname="pass" time="0.000">
      <skipped message="TestState-only rule: &lt;Map&gt;"/>
    </testcase>
  </testsuite>
</testsuites>
"#;
        assert_eq!(report(&results), expected);
        // The terminal summary counts the same.
        assert_eq!(
            results.summary(),
            "choice          0 passed,    1 failed\npass            1 passed,    0 failed\n1 passed, 1 failed, 2 skipped\n"
        );
    }

    #[test]
    fn an_empty_run_is_an_empty_report() {
        assert_eq!(
            report(&TestResults::default()),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites name=\"quickstep\" tests=\"0\" failures=\"0\" skipped=\"0\" time=\"0.000\">\n\
             </testsuites>\n"
        );
    }
}
