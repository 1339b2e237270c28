//! YAML plumbing: splitting files into documents the way kubectl does, walking a document's
//! events to record where every field is ([`FieldMap`]), cutting list items out as documents
//! of their own, deserializing a typed value, and turning serde-saphyr errors into messages
//! with a field path and a "did you mean" hint.
//!
//! Everything here works on a [`Fragment`]: a piece of a file whose columns are the file's
//! columns and whose lines are the file's lines minus `line_offset`. Parsing each object as its
//! own fragment keeps errors in one object from hiding errors in the next, and serde-saphyr
//! then reports positions we can map back to the file without guessing.

use serde::de::DeserializeOwned;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::{Event, Parser, StructureStyle};
use serde_saphyr::{Budget, DefaultMessageFormatter, Error as YamlError, MessageFormatter};

use crate::diag::did_you_mean;
use crate::quote::{clean, code};
use crate::source::{join_key, parent_path, FieldEntry, FieldMap, NodeKind, Pos};

/// Deeper nesting than this is refused before serde-saphyr sees it; Kubernetes objects nest
/// about a dozen levels, and serde-saphyr's own budget stops at 64.
const MAX_DEPTH: usize = 128;

/// The longest a library's message (which may embed the offending value) is shown.
pub(crate) const LIBRARY_MESSAGE: usize = 300;

/// A piece of a file to parse on its own.
#[derive(Debug)]
pub(crate) struct Fragment {
    /// YAML text. Its first line may start with spaces so that columns match the file.
    pub text: String,
    /// Line 1 of `text` is line `line_offset + 1` of the file.
    pub line_offset: u32,
}

impl Fragment {
    /// Converts a 1-based line of the fragment to a file line.
    fn file_line(&self, line: usize) -> u32 {
        u32::try_from(line)
            .unwrap_or(u32::MAX)
            .saturating_add(self.line_offset)
    }

    /// Cuts the list item `entry` (found by [`walk`] on this fragment) out as a fragment of its
    /// own. The first line is indented with spaces up to the item's column, so the following
    /// lines, which keep their original indentation, still line up.
    pub fn item(&self, entry: &FieldEntry) -> Fragment {
        let (start, end) = entry.span;
        let body = self.text.get(start..end).unwrap_or("");
        let indent = entry.pos.column.saturating_sub(1) as usize;
        Fragment {
            text: format!("{}{body}", " ".repeat(indent)),
            line_offset: entry.pos.line.saturating_sub(1),
        }
    }
}

/// Splits a file into documents at lines starting with `---` followed by nothing but spaces
/// or a comment, as kubectl's YAML reader does. Each fragment starts at column 1 of its line.
pub(crate) fn split_documents(text: &str) -> Vec<Fragment> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut start_line = 0u32;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let line_no = u32::try_from(index).unwrap_or(u32::MAX);
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if rest.is_empty() || rest.starts_with('#') {
                out.push(Fragment {
                    text: text[start..offset].to_string(),
                    line_offset: start_line,
                });
                start = offset + line.len();
                start_line = line_no.saturating_add(1);
            }
        }
        offset += line.len();
    }
    out.push(Fragment {
        text: text[start..].to_string(),
        line_offset: start_line,
    });
    out
}

/// A YAML syntax problem found while walking, placed in the file.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

enum FrameKind {
    /// A mapping; `pending` is the entry of the key whose value comes next.
    Map {
        key_next: bool,
        pending: Option<usize>,
    },
    /// A sequence and the index of its next item.
    Seq { next: usize },
    /// A collection used as a mapping key; nothing inside it is recorded.
    Skip,
}

struct Frame {
    kind: FrameKind,
    path: String,
    entry: Option<usize>,
    flow: bool,
    /// End (byte) of the last content seen inside; a block collection ends there.
    last_end: usize,
}

/// Records every field and list item of the first document in `fragment`, with file
/// positions. An empty (or comment-only) fragment gives an empty map.
pub(crate) fn walk(fragment: &Fragment) -> Result<FieldMap, SyntaxError> {
    let mut entries: Vec<FieldEntry> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for item in Parser::new_from_str(&fragment.text) {
        let (event, span) = item.map_err(|e| SyntaxError {
            pos: Pos {
                line: fragment.file_line(e.marker().line()),
                column: col(e.marker().col()),
            },
            message: clean(&e.info(), LIBRARY_MESSAGE).to_string(),
        })?;
        let start = span.start.byte_offset().unwrap_or(span.start.index());
        let end = span.end.byte_offset().unwrap_or(span.end.index());
        let pos = Pos {
            line: fragment.file_line(span.start.line()),
            column: col(span.start.col()),
        };
        let (kind, scalar, style) = match event {
            Event::DocumentEnd => break,
            Event::Scalar(value, ..) => (NodeKind::Scalar, Some(value.into_owned()), None),
            Event::Alias(_) | Event::UnresolvedAlias(_) => (NodeKind::Alias, None, None),
            Event::MappingStart(style, ..) => (NodeKind::Mapping, None, Some(style)),
            Event::SequenceStart(style, ..) => (NodeKind::Sequence, None, Some(style)),
            Event::MappingEnd | Event::SequenceEnd => {
                close(&mut entries, &mut stack, end);
                continue;
            }
            _ => continue,
        };
        let (entry, path, skip) = match place(
            &mut entries,
            &mut stack,
            kind,
            &scalar,
            style.is_some(),
            pos,
            start,
        ) {
            Place::Value(entry, path, skip) => (entry, path, skip),
            Place::Key => continue,
            Place::End => break,
        };
        if let Some(i) = entry {
            entries[i].kind = kind;
            entries[i].scalar = scalar;
            entries[i].span.1 = end;
        }
        if let Some(parent) = stack.last_mut() {
            parent.last_end = parent.last_end.max(end);
        }
        if let Some(style) = style {
            if stack.len() >= MAX_DEPTH {
                return Err(SyntaxError {
                    pos,
                    message: format!("nesting deeper than {MAX_DEPTH} levels"),
                });
            }
            stack.push(if skip {
                skip_frame()
            } else {
                open(kind, path, entry, style, end)
            });
        }
    }
    Ok(FieldMap { entries })
}

/// What a node is, as the collection it is in decides.
enum Place {
    /// A value: its entry (if recorded), its path, and whether its contents are skipped.
    Value(Option<usize>, String, bool),
    /// A mapping key: recorded as the entry its value fills in.
    Key,
    /// A second root node, which belongs to another document.
    End,
}

/// Decides what a node is — a key, a mapping value, a list item or the root — and records
/// an entry for it. `collection` says whether the node opens a mapping or sequence.
fn place(
    entries: &mut Vec<FieldEntry>,
    stack: &mut Vec<Frame>,
    kind: NodeKind,
    scalar: &Option<String>,
    collection: bool,
    pos: Pos,
    start: usize,
) -> Place {
    match stack.last_mut() {
        None if entries.is_empty() => {
            entries.push(new_entry(String::new(), pos, start));
            Place::Value(Some(0), String::new(), false)
        }
        // A second root node belongs to another document; serde-saphyr reports it.
        None => Place::End,
        Some(frame) => match &mut frame.kind {
            FrameKind::Skip => Place::Value(None, String::new(), true),
            FrameKind::Map { key_next, pending } if *key_next => {
                *key_next = false;
                *pending = None;
                match &scalar {
                    Some(key) if kind == NodeKind::Scalar => {
                        entries.push(new_entry(join_key(&frame.path, key), pos, start));
                        *pending = Some(entries.len() - 1);
                    }
                    _ => {}
                }
                // A key is not a value: record nothing more, but skip a complex key.
                if collection {
                    stack.push(skip_frame());
                }
                Place::Key
            }
            FrameKind::Map { key_next, pending } => {
                *key_next = true;
                let i = pending.take();
                let path = i.map(|i| entries[i].path.clone()).unwrap_or_default();
                Place::Value(i, path, i.is_none())
            }
            FrameKind::Seq { next } => {
                let path = format!("{}[{next}]", frame.path);
                *next += 1;
                entries.push(new_entry(path.clone(), pos, start));
                Place::Value(Some(entries.len() - 1), path, false)
            }
        },
    }
}

/// Ends the innermost collection at byte `end` (a block collection at its last content).
fn close(entries: &mut [FieldEntry], stack: &mut Vec<Frame>, end: usize) {
    let Some(frame) = stack.pop() else { return };
    let end = if frame.flow { end } else { frame.last_end };
    if let Some(i) = frame.entry {
        entries[i].span.1 = end;
    }
    if let Some(parent) = stack.last_mut() {
        parent.last_end = parent.last_end.max(end);
    }
}

/// The frame of a collection node that opens at `path`.
fn open(
    kind: NodeKind,
    path: String,
    entry: Option<usize>,
    style: StructureStyle,
    end: usize,
) -> Frame {
    Frame {
        kind: if kind == NodeKind::Mapping {
            FrameKind::Map {
                key_next: true,
                pending: None,
            }
        } else {
            FrameKind::Seq { next: 0 }
        },
        path,
        entry,
        flow: style == StructureStyle::Flow,
        last_end: end,
    }
}

fn new_entry(path: String, pos: Pos, start: usize) -> FieldEntry {
    FieldEntry {
        path,
        pos,
        kind: NodeKind::Scalar,
        scalar: None,
        span: (start, start),
    }
}

fn skip_frame() -> Frame {
    Frame {
        kind: FrameKind::Skip,
        path: String::new(),
        entry: None,
        flow: false,
        last_end: 0,
    }
}

/// granit-parser columns are 0-based; ours are 1-based.
fn col(c: usize) -> u32 {
    u32::try_from(c).unwrap_or(u32::MAX).saturating_add(1)
}

/// Deserializes the first document of `fragment` as `T`.
pub(crate) fn deserialize<T: DeserializeOwned>(fragment: &Fragment) -> Result<T, YamlError> {
    // We render our own snippets from the file text, so serde-saphyr need not build one.
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options(&fragment.text, options)
}

/// A deserialization error, explained: where, which field, what, and what to do.
#[derive(Debug)]
pub(crate) struct Explained {
    pub pos: Option<Pos>,
    pub field: String,
    pub message: String,
    pub help: Option<String>,
}

/// Explains a serde-saphyr error raised while deserializing `fragment`, whose fields are
/// `fields` (from [`walk`]).
pub(crate) fn explain(err: &YamlError, fragment: &Fragment, fields: &FieldMap) -> Explained {
    let err = err.without_snippet();
    let pos = err.location().filter(|l| l.line() > 0).map(|l| Pos {
        line: fragment.file_line(l.line() as usize),
        column: u32::try_from(l.column()).unwrap_or(u32::MAX),
    });
    let here = pos
        .and_then(|p| fields.path_at(p))
        .map(|e| e.path.clone())
        .unwrap_or_default();
    match err {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => Explained {
            pos,
            field: here,
            message: format!("unknown field {}", code(field)),
            help: Some(hint(field, expected, "fields")),
        },
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => Explained {
            pos,
            field: here,
            message: format!("unknown value {}", code(variant)),
            help: Some(hint(variant, expected, "values")),
        },
        YamlError::SerdeMissingField { field, .. } => {
            // The error points at the first key of the mapping that lacks the field, so the
            // mapping is that key's parent.
            let at = pos.and_then(|p| fields.path_at(p));
            let mapping = match at {
                Some(e) if e.kind == NodeKind::Mapping && e.pos == pos.unwrap_or_default() => {
                    e.path.as_str()
                }
                Some(e) => parent_path(&e.path),
                None => "",
            };
            Explained {
                pos,
                field: join_key(mapping, field),
                message: "missing required field".to_string(),
                help: None,
            }
        }
        YamlError::DuplicateMappingKey { key, .. } => {
            duplicate_key(pos, here, key.as_deref(), fields)
        }
        YamlError::Budget { breach, .. } => Explained {
            pos,
            field: here,
            message: over_budget(breach),
            help: Some(
                "split the file into smaller documents (separated by `---` lines), or remove \
                 what gatewasm does not need"
                    .to_string(),
            ),
        },
        // serde-saphyr's own wording, which may embed the offending value: shown cleaned.
        other => Explained {
            pos,
            field: here,
            message: clean(
                &DefaultMessageFormatter.format_message(other),
                LIBRARY_MESSAGE,
            )
            .to_string(),
            help: None,
        },
    }
}

/// A key written twice in one mapping: which key, and both lines when the walk saw them.
/// (serde-saphyr's own message suggests a library option, which a user cannot set.)
fn duplicate_key(
    pos: Option<Pos>,
    here: String,
    key: Option<&str>,
    fields: &FieldMap,
) -> Explained {
    // `here` is the path of the entry at the error, the second occurrence of the key; the
    // walk recorded an entry for each occurrence under the same path.
    let lines: Vec<u32> = fields
        .entries()
        .iter()
        .filter(|e| e.path == here && !here.is_empty())
        .map(|e| e.pos.line)
        .collect();
    let key = key.map_or_else(|| "key".to_string(), |k| format!("key {}", code(k)));
    let message = match lines.as_slice() {
        [first, .., last] => {
            format!("duplicate {key}: set on line {first} and again on line {last}")
        }
        _ => format!("duplicate {key} in this mapping"),
    };
    Explained {
        pos,
        field: here,
        message,
        help: Some(
            "a key may appear once per mapping: remove one of them, or rename it".to_string(),
        ),
    }
}

/// A serde-saphyr budget breach in words: what limit the document went over. The limits
/// are serde-saphyr's defaults, which [`deserialize`] keeps.
fn over_budget(breach: &BudgetBreach) -> String {
    let limits = Budget::default();
    match breach {
        BudgetBreach::Nodes { .. } => format!(
            "the document has more than {} nodes (mappings, lists and values together)",
            limits.max_nodes
        ),
        BudgetBreach::Events { .. } => format!(
            "the document has more than {} YAML parser events",
            limits.max_events
        ),
        BudgetBreach::Depth { .. } => {
            format!("the document nests deeper than {} levels", limits.max_depth)
        }
        BudgetBreach::Aliases { .. } => {
            format!(
                "the document has more than {} aliases (`*name`)",
                limits.max_aliases
            )
        }
        BudgetBreach::Anchors { .. } => {
            format!(
                "the document has more than {} anchors (`&name`)",
                limits.max_anchors
            )
        }
        BudgetBreach::AliasAnchorRatio { .. } => format!(
            "the document uses its aliases (`*name`) more than {} times as often as it defines \
             anchors (`&name`), as an alias bomb does",
            limits.alias_anchor_ratio_multiplier
        ),
        BudgetBreach::Documents { .. } => {
            format!("the file has more than {} documents", limits.max_documents)
        }
        BudgetBreach::ScalarBytes { .. } => format!(
            "the values in the document add up to more than {} bytes",
            limits.max_total_scalar_bytes
        ),
        BudgetBreach::MergeKeys { .. } => format!(
            "the document has more than {} merge keys (`<<`)",
            limits.max_merge_keys
        ),
        _ => {
            "the document is larger or more deeply nested than the YAML parser accepts".to_string()
        }
    }
}

fn hint(word: &str, expected: &[&str], what: &str) -> String {
    match did_you_mean(word, expected) {
        Some(best) => format!("did you mean `{best}`?"),
        None if expected.is_empty() => format!("no {what} are allowed here"),
        None => format!("expected one of: {}", expected.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(text: &str) -> Fragment {
        Fragment {
            text: text.to_string(),
            line_offset: 0,
        }
    }

    #[test]
    fn splits_like_kubectl() {
        let text = "a: 1\n---\n# only a comment\n--- # c\nb: 2\n---x: not a separator\n";
        let docs = split_documents(text);
        let got: Vec<(u32, &str)> = docs
            .iter()
            .map(|d| (d.line_offset, d.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (0, "a: 1\n"),
                (2, "# only a comment\n"),
                (4, "b: 2\n---x: not a separator\n")
            ]
        );
    }

    #[test]
    fn walk_records_fields_items_and_positions() {
        let f = frag("kind: A\nspec:\n  rules:\n  - name: x\n    labels: {a.b/c: d}\n  - [1]\n");
        let map = walk(&f).unwrap();
        let got: Vec<(&str, u32, u32)> = map
            .entries()
            .iter()
            .map(|e| (e.path.as_str(), e.pos.line, e.pos.column))
            .collect();
        assert_eq!(
            got,
            [
                ("", 1, 1),
                ("kind", 1, 1),
                ("spec", 2, 1),
                ("spec.rules", 3, 3),
                ("spec.rules[0]", 4, 5),
                ("spec.rules[0].name", 4, 5),
                ("spec.rules[0].labels", 5, 5),
                ("spec.rules[0].labels[\"a.b/c\"]", 5, 14),
                ("spec.rules[1]", 6, 5),
                ("spec.rules[1][0]", 6, 6),
            ]
        );
        assert_eq!(map.scalar("kind"), Some("A"));
        assert_eq!(map.get("spec").map(|e| e.kind), Some(NodeKind::Mapping));
    }

    #[test]
    fn items_cut_out_keep_file_positions() {
        let f = Fragment {
            text: "top:\n- a: 1\n  b: [x,\n    y]\n- {c: 2}\n".to_string(),
            line_offset: 10,
        };
        let map = walk(&f).unwrap();
        let item = f.item(map.get("top[0]").unwrap());
        assert_eq!(item.text, "  a: 1\n  b: [x,\n    y]");
        assert_eq!(item.line_offset, 11);
        let inner = walk(&item).unwrap();
        assert_eq!(
            inner.get("b").unwrap().pos,
            Pos {
                line: 13,
                column: 3
            }
        );
        let item = f.item(map.get("top[1]").unwrap());
        assert_eq!(item.text, "  {c: 2}");
    }

    #[test]
    fn walk_reports_syntax_errors_with_file_lines() {
        let f = Fragment {
            text: "a: [1\nb: 2\n".to_string(),
            line_offset: 4,
        };
        let err = walk(&f).unwrap_err();
        assert!(err.pos.line >= 5, "{err:?}");
    }

    #[test]
    fn walk_survives_hostile_input() {
        let deep = "[".repeat(10_000);
        assert!(walk(&frag(&deep)).is_err());
        let bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c, *c]\n";
        assert!(walk(&frag(bomb)).is_ok());
        assert!(walk(&frag("? [a, {b: c}]\n: v\nk: 1\n")).is_ok());
        assert!(walk(&frag("")).unwrap().entries().is_empty());
    }
}
