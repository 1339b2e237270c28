//! Diagnostics: every problem the compiler finds, with the file, line and field path that
//! caused it, rendered in the ripgrep/rustc style
//! (`error: routes.yaml:23: HTTPRoute default/app: spec.rules[0]: message`).
//!
//! Stages never stop at the first problem: they push into a [`Diagnostics`] collection and
//! decide at the end whether the errors in it are fatal. The collection sorts by file and
//! line so output is stable whatever order the checks ran in. Every stage uses the one
//! [`Diagnostic`] shape: a location is data (file, line, column), never text inside the
//! message, and the other parties of a problem (the rule that wins, the other Gateways) are
//! [`Related`] locations, each rendered on a `note:` line of its own.
//!
//! A message shows a user's value through [`crate::quote`] (escaped, cut, its length
//! stated). Rendering cleans every part once more — file, object, field path, message,
//! snippet and help — so no value that slipped through unquoted can flood the output or put
//! a raw control or bidi character into a terminal or CI log.

use std::fmt;

use serde::Serialize;

use crate::quote::clean;
use crate::warning::Warning;

/// The longest object label, field path or file name shown.
const LABEL_MAX: usize = 200;
/// The longest message or help line shown: room for several quoted values.
const MESSAGE_MAX: usize = 1000;
/// Characters of the source line shown before and after the caret's column, when the line
/// is too long to show whole.
const SNIPPET_BEFORE: usize = 40;
const SNIPPET_AFTER: usize = 80;

/// How bad a diagnostic is. Only [`Severity::Error`] makes a stage fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The input is wrong; compilation cannot produce a blob.
    Error,
    /// The input is accepted but probably not what the author meant, or not what a
    /// controller would accept: always with its stable code.
    Warning(Warning),
    /// Information, such as an object kind that gatewasm skips.
    Note,
}

/// `"severity": "warning", "code": "GW0001", "name": "BackendNotFound"` in a diagnostic's
/// JSON (flattened into it); an error or a note has only `severity`.
impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("severity", self.label())?;
        if let Severity::Warning(w) = self {
            map.serialize_entry("code", &w.code())?;
            map.serialize_entry("name", w.name())?;
        }
        map.end()
    }
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning(_) => "warning",
            Severity::Note => "note",
        }
    }
}

/// One problem, located as precisely as the input allows. Serialized (`--format json`)
/// field by field, so every field added here is part of the JSON output too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How bad it is, and a warning's code.
    #[serde(flatten)]
    pub severity: Severity,
    /// Display name of the file (as given on the command line, or `<stdin>`); empty when the
    /// problem is not tied to a file.
    pub file: String,
    /// 1-based line in `file`; 0 when unknown (for example an unreadable file).
    pub line: u32,
    /// 1-based column, when known. Only used to place the caret under the snippet.
    pub column: Option<u32>,
    /// The object concerned, as `Kind namespace/name` (or `Kind name` for cluster-scoped
    /// kinds); empty when the problem is not inside one object (a YAML syntax error).
    pub object: String,
    /// Field path inside the object, such as `spec.rules[0].matches[1].path.value`; empty for
    /// the object as a whole.
    pub field: String,
    /// Lowercase, specific message.
    pub message: String,
    /// What to do about it, when the cause is recognised (a near-miss field name, ...).
    pub help: Option<String>,
    /// The source line the problem is on, shown with a caret under `column`.
    pub snippet: Option<String>,
    /// Other places the problem involves, such as the other party of a conflict.
    pub related: Vec<Related>,
}

/// A place a diagnostic refers to besides its own, with what is there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Related {
    /// Display name of the file.
    pub file: String,
    /// 1-based line in `file`.
    pub line: u32,
    /// What is at that place, such as `Gateway infra/public`.
    pub label: String,
}

impl Diagnostic {
    /// A diagnostic with only the severity and message set; fill the rest with the builder
    /// methods or by assigning fields.
    pub fn new(severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            file: String::new(),
            line: 0,
            column: None,
            object: String::new(),
            field: String::new(),
            message: message.into(),
            help: None,
            snippet: None,
            related: Vec::new(),
        }
    }

    /// Shorthand for [`Diagnostic::new`] with [`Severity::Error`].
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, message)
    }

    /// Sets the file and line.
    pub fn at(mut self, file: impl Into<String>, line: u32) -> Diagnostic {
        self.file = file.into();
        self.line = line;
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a related place.
    pub fn with_related(mut self, related: Related) -> Diagnostic {
        self.related.push(related);
        self
    }

    /// Whether this diagnostic makes its stage fail.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Warning(w) => write!(f, "warning[{w}]: ")?,
            other => write!(f, "{}: ", other.label())?,
        }
        if !self.file.is_empty() {
            let file = clean(&self.file, LABEL_MAX);
            if self.line > 0 {
                write!(f, "{file}:{}: ", self.line)?;
            } else {
                write!(f, "{file}: ")?;
            }
        }
        if !self.object.is_empty() {
            write!(f, "{}: ", clean(&self.object, LABEL_MAX))?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", clean(&self.field, LABEL_MAX))?;
        }
        write!(f, "{}", clean(&self.message, MESSAGE_MAX))?;
        if let (Some(text), Some(column)) = (&self.snippet, self.column) {
            let number = self.line.to_string();
            let pad = " ".repeat(number.len());
            let (before, after) = snippet(text, column);
            // The caret goes under the first character at `column`, as shown (escapes included).
            let lead = " ".repeat(before.chars().count());
            write!(f, "\n{pad} |\n{number} | {before}{after}\n{pad} | {lead}^")?;
        }
        for r in &self.related {
            let file = clean(&r.file, LABEL_MAX);
            let label = clean(&r.label, MESSAGE_MAX);
            write!(f, "\nnote: {file}:{}: {label}", r.line)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {}", clean(help, MESSAGE_MAX))?;
        }
        Ok(())
    }
}

/// The source line as shown, split at the 1-based character `column`: cleaned, and when it
/// is long, only a window around the column, with `…` where it was cut.
fn snippet(text: &str, column: u32) -> (String, String) {
    let at = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    // Byte offset of the `n`th character (or the end).
    let offset = |n: usize| text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
    let split = offset(at);
    let (from, to) = if text.chars().count() <= SNIPPET_BEFORE + SNIPPET_AFTER {
        (0, text.len())
    } else {
        let after = text[split..].char_indices().nth(SNIPPET_AFTER);
        (
            offset(at.saturating_sub(SNIPPET_BEFORE)),
            after.map_or(text.len(), |(i, _)| split + i),
        )
    };
    let (cut_start, cut_end) = (from > 0, to < text.len());
    let before = format!(
        "{}{}",
        if cut_start { "…" } else { "" },
        clean(&text[from..split], usize::MAX)
    );
    let after = format!(
        "{}{}",
        clean(&text[split..to], usize::MAX),
        if cut_end { "…" } else { "" }
    );
    (before, after)
}

/// A collection of diagnostics from one or more stages; serialized as a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds one diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Moves every diagnostic of `other` into `self`.
    pub fn append(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Keeps only the diagnostics `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&Diagnostic) -> bool) {
        self.items.retain(keep);
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of diagnostics of every severity.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The diagnostics, in the current order (sorted after [`Diagnostics::sort`]).
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Sorts by file, line and column; ties keep the order in which they were found.
    pub fn sort(&mut self) {
        self.items
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    }

    /// The diagnostics as a vector.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<T: IntoIterator<Item = Diagnostic>>(&mut self, iter: T) {
        self.items.extend(iter);
    }
}

/// One rendered diagnostic per paragraph, in the collection's order.
impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Suggests the candidate closest to a misspelt `word`, if one is close enough to be a
/// plausible typo: same letters ignoring case and `_`/`-` (so `section_name` finds
/// `sectionName`), or within a small edit distance.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let word_squashed = squash(word);
    if let Some(same) = candidates.iter().find(|c| squash(c) == word_squashed) {
        return Some(same);
    }
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&word_squashed, &squash(c)), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_header_snippet_and_help() {
        let mut d = Diagnostic::error("must start with '/'").at("routes.yaml", 23);
        d.object = "HTTPRoute default/app".into();
        d.field = "spec.rules[0].matches[0].path.value".into();
        d.column = Some(16);
        d.snippet = Some("        value: foo".into());
        d.help = Some("write `/foo`".into());
        assert_eq!(
            d.to_string(),
            "error: routes.yaml:23: HTTPRoute default/app: spec.rules[0].matches[0].path.value: \
             must start with '/'\n   |\n23 |         value: foo\n   |                ^\nhelp: write `/foo`"
        );
    }

    #[test]
    fn renders_without_location_parts() {
        let cases = [
            (Diagnostic::error("boom"), "error: boom"),
            (
                Diagnostic::error("unreadable").at("a.yaml", 0),
                "error: a.yaml: unreadable",
            ),
            (
                Diagnostic::new(Severity::Note, "skipped").at("a.yaml", 3),
                "note: a.yaml:3: skipped",
            ),
        ];
        for (d, want) in cases {
            assert_eq!(d.to_string(), want);
        }
    }

    #[test]
    fn renders_related_places_after_the_snippet() {
        let d = Diagnostic::error("both claim the name")
            .at("a.yaml", 4)
            .with_related(Related {
                file: "b.yaml".into(),
                line: 9,
                label: "Gateway infra/public".into(),
            })
            .with_help("rename one");
        assert_eq!(
            d.to_string(),
            "error: a.yaml:4: both claim the name\nnote: b.yaml:9: Gateway infra/public\nhelp: rename one"
        );
    }

    #[test]
    fn renders_hostile_parts_escaped_and_cut() {
        let long = "y".repeat(5000);
        let mut d = Diagnostic::error(format!("bad \u{202e}{long}")).at("a\nb.yaml", 2);
        d.object = "Service \u{1b}[2J".into();
        d.column = Some(8);
        d.snippet = Some(format!("  k: \u{202e}\0v{long}"));
        let shown = d.to_string();
        assert!(shown.len() < 2000, "{} bytes", shown.len());
        assert!(
            shown.starts_with("error: a\\nb.yaml:2: Service \\u{1b}[2J: bad \\u{202e}yyy"),
            "{shown}"
        );
        assert!(shown.contains("bytes left out]…yyy"), "{shown}");
        // The caret stays under column 8 (`v`), after the escapes shown before it.
        let lines: Vec<&str> = shown.lines().collect();
        let caret = lines[3].find('^').unwrap();
        assert_eq!(&lines[2][caret..caret + 1], "v", "{shown}");
        assert!(lines[2].ends_with("yyy…"), "{shown}");
        assert!(
            !shown.chars().any(|c| c.is_control() && c != '\n'),
            "{shown:?}"
        );
    }

    #[test]
    fn sorts_by_file_then_line_and_counts_errors() {
        let mut all = Diagnostics::new();
        all.push(Diagnostic::error("c").at("b.yaml", 1));
        all.push(Diagnostic::new(Severity::Warning(Warning::UnknownKind), "b").at("a.yaml", 9));
        all.push(Diagnostic::error("a").at("a.yaml", 2));
        all.sort();
        let order: Vec<&str> = all.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert_eq!(all.error_count(), 2);
        assert!(all.has_errors());
    }

    #[test]
    fn suggests_near_misses_only() {
        let fields = ["sectionName", "port", "protocol", "hostname"];
        let cases = [
            ("protcol", Some("protocol")),
            ("section_name", Some("sectionName")),
            ("Hostname", Some("hostname")),
            ("pot", Some("port")),
            ("zebra", None),
        ];
        for (word, want) in cases {
            assert_eq!(did_you_mean(word, &fields), want, "{word}");
        }
    }
}
