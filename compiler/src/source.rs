//! Where each loaded object came from: the file, the line its mapping starts on, and the line
//! and column of every field and list item inside it ([`FieldMap`]).
//!
//! The typed model stays plain Rust (no span wrappers in every field), and later stages ask
//! the object's [`Source`] for the position of a field path when they report a problem.
//! Paths use the same spelling as diagnostics: `spec.rules[0].matches[1].path.value`.

use std::sync::Arc;

use crate::diag::{Diagnostic, Related, Severity};

/// A loaded input file, shared by every object found in it.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Display name: the path as given (or found while walking a directory), or `<stdin>`.
    pub name: String,
    /// The name the blob records: the path below the directory given as input, or the
    /// file's own name when the file itself was given. It does not depend on the working
    /// directory or on how the input was spelt, so the same objects give the same bytes.
    pub blob_name: String,
    /// The whole text, kept so diagnostics can quote the offending line.
    pub text: String,
}

impl SourceFile {
    /// The text of 1-based line `line`, without its line break.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        self.text
            .split('\n')
            .nth(index)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line in the file.
    pub line: u32,
    /// 1-based column (characters).
    pub column: u32,
}

/// What a YAML node is, as far as locating it needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A scalar (string, number, boolean, null).
    Scalar,
    /// A mapping.
    Mapping,
    /// A sequence.
    Sequence,
    /// An alias (`*name`); its target is not followed.
    Alias,
}

/// One field or list item of a YAML node tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldEntry {
    /// Path relative to the object, `""` for the object itself.
    pub path: String,
    /// Position of the key for a mapping entry, of the node for a list item or the root.
    pub pos: Pos,
    /// What the value is.
    pub kind: NodeKind,
    /// The value, for scalars.
    pub scalar: Option<String>,
    /// Byte range of the value in the fragment that was walked (see `yaml::walk`); used to
    /// cut list items out of a file.
    pub(crate) span: (usize, usize),
}

/// Every field and list item of one object, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldMap {
    pub(crate) entries: Vec<FieldEntry>,
}

impl FieldMap {
    /// The entry at exactly `path`.
    pub fn get(&self, path: &str) -> Option<&FieldEntry> {
        self.entries.iter().find(|e| e.path == path)
    }

    /// The scalar value at `path`, if that field exists and is a scalar.
    pub fn scalar(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|e| e.scalar.as_deref())
    }

    /// Position of `path`, or of its nearest existing ancestor when the field is absent (a
    /// defaulted field is reported where its parent is written).
    pub fn locate(&self, path: &str) -> Option<Pos> {
        let mut path = path;
        loop {
            if let Some(e) = self.get(path) {
                return Some(e.pos);
            }
            if path.is_empty() {
                return None;
            }
            path = parent_path(path);
        }
    }

    /// The deepest entry starting at or before `pos`: the field a parser error at `pos` is in.
    pub fn path_at(&self, pos: Pos) -> Option<&FieldEntry> {
        self.entries.iter().rev().find(|e| e.pos <= pos)
    }

    /// Every entry, in document order.
    pub fn entries(&self) -> &[FieldEntry] {
        &self.entries
    }
}

/// The path without its last segment: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → ``.
pub fn parent_path(path: &str) -> &str {
    if let Some(stripped) = path.strip_suffix(']') {
        // Either an index `[3]` or a quoted key `["a.b"]`.
        let open = if stripped.ends_with('"') {
            stripped.rfind("[\"")
        } else {
            stripped.rfind('[')
        };
        return open.map_or("", |i| &path[..i]);
    }
    path.rfind('.').map_or("", |i| &path[..i])
}

/// Appends a mapping key to `path`, quoting keys that are not plain identifiers (label
/// keys such as `kubernetes.io/metadata.name`).
pub fn join_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

/// Where a loaded object came from.
#[derive(Clone, Debug)]
pub struct Source {
    /// The file, shared by all its objects.
    pub file: Arc<SourceFile>,
    /// Line and column where the object's mapping starts (its first key).
    pub pos: Pos,
    /// Field positions inside the object.
    pub fields: Arc<FieldMap>,
    /// Position in load order across all inputs; stands in for creation order, which the
    /// Gateway API uses to break precedence ties.
    pub order: usize,
}

impl Source {
    /// 1-based line where the object starts.
    pub fn line(&self) -> u32 {
        self.pos.line
    }

    /// A diagnostic about `field` of this object, placed at the field (or its nearest
    /// written ancestor) with the source line quoted.
    pub fn diagnostic(
        &self,
        severity: Severity,
        object: &str,
        field: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        let pos = self.fields.locate(field).unwrap_or(self.pos);
        let mut d = Diagnostic::new(severity, message).at(self.file.name.clone(), pos.line);
        d.column = Some(pos.column);
        d.snippet = self.file.line_text(pos.line).map(str::to_string);
        d.object = object.to_string();
        d.field = field.to_string();
        d
    }

    /// `field` of this object (or its nearest written ancestor) as the related place of
    /// another object's diagnostic, described by `label`.
    pub fn related(&self, field: &str, label: impl Into<String>) -> Related {
        let pos = self.fields.locate(field).unwrap_or(self.pos);
        Related {
            file: self.file.name.clone(),
            line: pos.line,
            label: label.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_paths() {
        let cases = [
            ("spec.rules[0].matches[1]", "spec.rules[0].matches"),
            ("spec.rules[0].matches", "spec.rules[0]"),
            ("spec.rules", "spec"),
            ("spec", ""),
            ("", ""),
            ("metadata.labels[\"a.b/c\"]", "metadata.labels"),
            ("x[\"a[1]\"]", "x"),
        ];
        for (path, want) in cases {
            assert_eq!(parent_path(path), want, "{path}");
        }
    }

    #[test]
    fn joins_keys() {
        assert_eq!(join_key("", "spec"), "spec");
        assert_eq!(join_key("spec", "rules"), "spec.rules");
        assert_eq!(
            join_key("metadata.labels", "a.b/c"),
            "metadata.labels[\"a.b/c\"]"
        );
    }

    #[test]
    fn line_text_handles_crlf_and_range() {
        let f = SourceFile {
            blob_name: String::new(),
            name: "f".into(),
            text: "a\r\nb\nc".into(),
        };
        assert_eq!(f.line_text(1), Some("a"));
        assert_eq!(f.line_text(3), Some("c"));
        assert_eq!(f.line_text(0), None);
        assert_eq!(f.line_text(4), None);
    }
}
