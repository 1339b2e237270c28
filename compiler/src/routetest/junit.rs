//! `gatewasm test --junit FILE`: the run as JUnit XML, which CI systems (GitHub, GitLab,
//! Jenkins) show as a test report. One `testsuite` per route-test file; one `testcase` per
//! case and per status expectation; a file that could not run (or stopped) gets a
//! `testcase` named after the file with an `<error>`.
//!
//! The writer is a few lines of `format!`: the document is flat and only needs escaping, and
//! every name and message in it comes from user files, so [`escape`] also replaces the
//! characters XML 1.0 cannot carry at all.

use std::fmt::Write as _;

use super::run::{CaseResult, Entry, FileRun, Outcome};

/// The JUnit XML document for `files`.
pub fn render(files: &[FileRun]) -> String {
    let mut suites = String::new();
    let mut all = Counts::default();
    for f in files {
        let (counts, cases) = suite(f);
        let name = escape(&f.path.display().to_string());
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{name}\" {} time=\"{:.3}\">\n{cases}  </testsuite>",
            counts.attributes(),
            f.elapsed.as_secs_f64()
        );
        all.add(&counts);
    }
    let time: f64 = files.iter().map(|f| f.elapsed.as_secs_f64()).sum();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gatewasm test\" {} time=\"{time:.3}\">\n{suites}</testsuites>\n",
        all.attributes()
    )
}

/// The counts JUnit puts on a suite.
#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }

    fn attributes(&self) -> String {
        format!(
            "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

/// One file's counts and `testcase` elements.
fn suite(f: &FileRun) -> (Counts, String) {
    let class = escape(&f.path.display().to_string());
    let mut counts = Counts::default();
    let mut out = String::new();
    for entry in &f.report.entries {
        let (name, seconds, inner) = match entry {
            Entry::Case(c) => (case_name(c), c.seconds, case_body(c, &mut counts)),
            Entry::Status {
                phase,
                expectation,
                failure,
            } => {
                let inner = failure.as_ref().map(|why| {
                    counts.failures += 1;
                    format!("<failure message=\"{}\"/>", escape(why))
                });
                (
                    with_phase(phase.as_deref(), &format!("status {expectation}")),
                    0.0,
                    inner,
                )
            }
            Entry::StatusSkipped {
                phase,
                expectation,
                reason,
            } => {
                counts.skipped += 1;
                (
                    with_phase(phase.as_deref(), &format!("status {expectation}")),
                    0.0,
                    Some(format!("<skipped message=\"{}\"/>", escape(reason))),
                )
            }
            Entry::Note { .. } => continue,
        };
        counts.tests += 1;
        testcase(&mut out, &class, &name, seconds, inner);
    }
    if let Some(error) = &f.report.error {
        counts.tests += 1;
        counts.errors += 1;
        let inner = format!("<error message=\"{}\"/>", escape(error));
        testcase(&mut out, &class, &class, 0.0, Some(inner));
    }
    (counts, out)
}

fn testcase(out: &mut String, class: &str, name: &str, seconds: f64, inner: Option<String>) {
    let _ = write!(
        out,
        "    <testcase classname=\"{class}\" name=\"{name}\" time=\"{seconds:.3}\""
    );
    let _ = match inner {
        Some(inner) => writeln!(out, ">{inner}</testcase>"),
        None => writeln!(out, "/>"),
    };
}

fn with_phase(phase: Option<&str>, name: &str) -> String {
    escape(&match phase {
        Some(p) => format!("[{p}] {name}"),
        None => name.to_owned(),
    })
}

fn case_name(c: &CaseResult) -> String {
    with_phase(c.phase.as_deref(), &c.label)
}

/// What goes inside a case's `testcase`, counting it.
fn case_body(c: &CaseResult, counts: &mut Counts) -> Option<String> {
    match &c.outcome {
        Outcome::Passed => None,
        Outcome::Failed { failures } => {
            counts.failures += 1;
            let details: String = failures.iter().map(|f| format!("- {f}\n")).collect();
            Some(format!(
                "<failure message=\"{}\">{}</failure>",
                escape(&failures.join("; ")),
                escape(&format!("{}\n{details}", c.summary))
            ))
        }
        Outcome::Skipped { reason } => {
            counts.skipped += 1;
            Some(format!("<skipped message=\"{}\"/>", escape(reason)))
        }
    }
}

/// `text` as XML character data or attribute value. Line breaks and tabs become character
/// references, so attribute values keep them; characters XML 1.0 does not allow (most C0
/// controls, unpaired surrogates cannot occur in a `str`) become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'.. => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routetest::run::FileReport;

    fn case(label: &str, outcome: Outcome) -> Entry {
        Entry::Case(CaseResult {
            phase: None,
            label: label.to_owned(),
            summary: "→ 200 shop/web /".to_owned(),
            seconds: 0.25,
            outcome,
        })
    }

    #[test]
    fn passed_failed_and_skipped_cases_are_counted_and_parse_back() {
        let entries = vec![
            case("#1 GET / (a <passing> case)", Outcome::Passed),
            case(
                "#2 GET /",
                Outcome::Failed {
                    failures: vec!["status: expected 404, got 200".to_owned()],
                },
            ),
            case(
                "#3 GET /",
                Outcome::Skipped {
                    reason: "needs a rate limit service".to_owned(),
                },
            ),
        ];
        let files = [
            FileRun {
                path: "tests/a & b.yaml".into(),
                report: FileReport {
                    entries,
                    error: None,
                },
                elapsed: std::time::Duration::from_millis(1500),
            },
            FileRun {
                path: "tests/broken.yaml".into(),
                report: FileReport {
                    entries: Vec::new(),
                    error: Some("does not compile:\n  error: \u{1b}[31m".to_owned()),
                },
                elapsed: std::time::Duration::ZERO,
            },
        ];
        let xml = render(&files);
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let attributes = |n: roxmltree::Node<'_, '_>| {
            ["tests", "failures", "errors", "skipped", "time"]
                .map(|a| n.attribute(a).unwrap_or("").to_owned())
        };
        let root = doc.root_element();
        assert_eq!(attributes(root), ["4", "1", "1", "1", "1.500"], "{xml}");
        let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
        assert_eq!(suites[0].attribute("name"), Some("tests/a & b.yaml"));
        assert_eq!(attributes(suites[0]), ["3", "1", "0", "1", "1.500"]);
        let cases: Vec<_> = suites[0].children().filter(|n| n.is_element()).collect();
        assert_eq!(
            cases[0].attribute("name"),
            Some("#1 GET / (a <passing> case)")
        );
        assert_eq!(cases[0].attribute("time"), Some("0.250"));
        let failure = cases[1].first_element_child().unwrap();
        assert_eq!(
            failure.attribute("message"),
            Some("status: expected 404, got 200")
        );
        assert_eq!(
            failure.text(),
            Some("→ 200 shop/web /\n- status: expected 404, got 200\n")
        );
        let skipped = cases[2].first_element_child().unwrap();
        assert_eq!(skipped.tag_name().name(), "skipped");
        let error = suites[1]
            .first_element_child()
            .unwrap()
            .first_element_child()
            .unwrap();
        assert_eq!(error.tag_name().name(), "error");
        assert_eq!(
            error.attribute("message"),
            Some("does not compile:\n  error: \u{FFFD}[31m")
        );
    }

    #[test]
    fn escape_keeps_xml_well_formed() {
        assert_eq!(
            escape("<a href=\"x\">&'\u{1}\n"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}&#10;"
        );
    }
}
