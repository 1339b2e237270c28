//! The load stage: reads files, directories and stdin, splits them into Kubernetes objects and
//! deserializes the kinds gatewasm compiles into the typed [`crate::model`].
//!
//! * Files are split into documents like kubectl does (`---` lines); empty and comment-only
//!   documents are skipped; `kind: List` (and `*List`) objects contribute their `items`.
//! * Every object keeps its [`Source`]: file, the line its mapping starts on, and the
//!   position of each field, so later stages can point at `file:line` for any field path.
//! * Kinds gatewasm does not compile (Deployment, Secret, Istio's `Gateway`, ...) produce a
//!   note, never an error. A compiled kind in its own API group with an unknown version is an
//!   error.
//! * Conformance route-test files (a mapping with `resources:`) are an object source too:
//!   [`load_route_test_resources`] returns the resources and each phase's `apply` objects.
//!   Found while walking a folder, a route-test file is skipped with a note, as is a
//!   document that is plainly not an object (no `apiVersion`, `kind` or `metadata`: an
//!   Envoy bootstrap). One with `kind` or `metadata` but no `apiVersion` stays an error.
//!
//! Each object is deserialized on its own, so one bad object does not hide problems in the
//! others; within one object serde stops at the first type error.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Severity};
use crate::exclude::Exclude;
use crate::model::{
    object_label, split_api_version, Body, Kind, Object, ObjectKey, ObjectMeta, RawMeta,
};
use crate::quote::code;
use crate::source::{FieldEntry, FieldMap, NodeKind, Pos, Source, SourceFile};
use crate::warning::Warning;
use crate::yaml::{self, Fragment};

/// Display name used for standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// `List` objects may nest, but not without end.
const MAX_LIST_DEPTH: usize = 4;

/// The objects loaded so far, in load order, and the notes, warnings and errors found.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Objects of the compiled kinds, in the order they were read.
    pub objects: Vec<Object>,
    /// Everything worth telling: skipped kinds (notes) and, before
    /// [`Loaded::into_result`], errors.
    pub diagnostics: Diagnostics,
}

impl Loaded {
    /// `Err` with every diagnostic (sorted) if any is an error, else the objects with their
    /// notes.
    pub fn into_result(mut self) -> Result<Loaded, Diagnostics> {
        self.diagnostics.sort();
        if self.diagnostics.has_errors() {
            Err(self.diagnostics)
        } else {
            Ok(self)
        }
    }

    /// The objects of one kind, in load order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Object> {
        self.objects.iter().filter(move |o| o.kind() == kind)
    }

    /// Applies `object` as `kubectl apply` would: it replaces the object with the same key,
    /// keeping that object's place in creation order, or is added at the end.
    pub fn apply(&mut self, mut object: Object) {
        let key = object.key();
        match self.objects.iter_mut().find(|o| o.key() == key) {
            Some(existing) => {
                object.source.order = existing.source.order;
                *existing = object;
            }
            None => self.objects.push(object),
        }
    }

    /// Deletes the object with `key`, returning it.
    pub fn delete(&mut self, key: &ObjectKey) -> Option<Object> {
        let index = self.objects.iter().position(|o| o.key() == *key)?;
        Some(self.objects.remove(index))
    }
}

/// The objects of a conformance route-test file.
#[derive(Clone, Debug, Default)]
pub struct RouteTestObjects {
    /// The `resources:` list, in order, with the file's notes.
    pub resources: Loaded,
    /// For each entry of `phases:` (in order), the objects of its `changes.apply` list, to be
    /// applied with [`Loaded::apply`]. Their creation order follows the resources.
    pub phase_applies: Vec<Vec<Object>>,
}

/// Loads every path: a file, a directory (recursively, `*.yaml` and `*.yml`, sorted) or `-`
/// for standard input. Fails with every diagnostic if any is an error.
pub fn load_paths(paths: &[PathBuf]) -> Result<Loaded, Diagnostics> {
    load_paths_excluding(paths, &Exclude::default())
}

/// [`load_paths`], leaving out the files `exclude` matches while walking directories.
pub fn load_paths_excluding(paths: &[PathBuf], exclude: &Exclude) -> Result<Loaded, Diagnostics> {
    let mut loader = Loader::new();
    loader.exclude = exclude.clone();
    for path in paths {
        loader.add_path(path);
    }
    loader.finish().into_result()
}

/// Loads the objects in `text`, reported as file `name`.
pub fn load_str(name: &str, text: &str) -> Result<Loaded, Diagnostics> {
    let mut loader = Loader::new();
    loader.add_str(name, text);
    loader.finish().into_result()
}

/// Loads the `resources:` of a conformance route-test file, plus the objects each phase
/// applies, with their absolute lines in `name`. The rest of the file (cases, status
/// expectations, deletions) is left to the test runner.
pub fn load_route_test_resources(name: &str, text: &str) -> Result<RouteTestObjects, Diagnostics> {
    let mut loader = Loader::new();
    let phases = loader.add_route_test(name, text);
    let resources = loader.finish().into_result()?;
    Ok(RouteTestObjects {
        resources,
        phase_applies: phases,
    })
}

/// Incremental loading, for callers that want to keep going after errors (to report the
/// validate stage's problems too) or mix sources.
#[derive(Debug, Default)]
pub struct Loader {
    loaded: Loaded,
    next_order: usize,
    /// Files left out of directory walks (`--exclude`).
    exclude: Exclude,
    /// While walking a directory: the current file's path below it, which an `--exclude`
    /// suggestion names.
    walked: Option<String>,
}

impl Loader {
    /// An empty loader.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Loads a file, a directory (recursively) or `-` (standard input).
    pub fn add_path(&mut self, path: &Path) {
        if path.as_os_str() == "-" {
            self.add_stdin();
        } else if path.is_dir() {
            let mut files = Vec::new();
            if let Err(err) = collect_yaml_files(path, &mut files) {
                self.io_error(&path.display().to_string(), &err);
            }
            files.sort();
            for file in files {
                let below = portable(file.strip_prefix(path).unwrap_or(&file));
                if self.exclude.matches(&below) {
                    continue;
                }
                self.walked = Some(below.clone());
                self.add_file(&file, &below);
                self.walked = None;
            }
        } else {
            let own = path.file_name().map_or(path, Path::new);
            self.add_file(path, &portable(own));
        }
    }

    /// Loads standard input.
    pub fn add_stdin(&mut self) {
        self.add_reader(STDIN_NAME, std::io::stdin().lock());
    }

    /// Loads everything `reader` yields, reported as file `name`.
    pub fn add_reader(&mut self, name: &str, mut reader: impl Read) {
        let mut bytes = Vec::new();
        match reader.read_to_end(&mut bytes) {
            Ok(_) => self.add_bytes(name, name, bytes),
            Err(err) => self.io_error(name, &err),
        }
    }

    fn add_file(&mut self, path: &Path, blob_name: &str) {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => self.add_bytes(&name, blob_name, bytes),
            Err(err) => self.io_error(&name, &err),
        }
    }

    fn add_bytes(&mut self, name: &str, blob_name: &str, bytes: Vec<u8>) {
        match String::from_utf8(bytes) {
            Ok(text) => self.add_text(source_file(name, blob_name, &text)),
            Err(_) => self.loaded.diagnostics.push(
                Diagnostic::error("not a YAML file: the content is not UTF-8 text").at(name, 0),
            ),
        }
    }

    fn io_error(&mut self, name: &str, err: &std::io::Error) {
        self.loaded
            .diagnostics
            .push(Diagnostic::error(format!("cannot read: {err}")).at(name, 0));
    }

    /// Loads the objects in `text` (one or more YAML documents), reported as file `name`.
    pub fn add_str(&mut self, name: &str, text: &str) {
        self.add_text(source_file(name, name, text));
    }

    fn add_text(&mut self, file: Arc<SourceFile>) {
        for fragment in yaml::split_documents(&file.text) {
            self.add_fragment(&file, &fragment, 0, true);
        }
    }

    /// Loads a route-test file's `resources:` and returns each phase's `apply` objects.
    pub fn add_route_test(&mut self, name: &str, text: &str) -> Vec<Vec<Object>> {
        let file = source_file(name, name, text);
        let whole = Fragment {
            text: file.text.clone(),
            line_offset: 0,
        };
        let Some(fields) = self.walk(&file, &whole) else {
            return Vec::new();
        };
        if fields.get("resources").map(|e| e.kind) != Some(NodeKind::Sequence) {
            let pos = fields
                .get("")
                .map(|e| e.pos)
                .unwrap_or(Pos { line: 1, column: 1 });
            self.push_at(
                &file,
                pos,
                Diagnostic::error("not a route-test file: it has no `resources:` list"),
            );
            return Vec::new();
        }
        for item in children(&fields, "resources") {
            self.add_fragment(&file, &whole.item(item), 0, false);
        }
        let mut phases = Vec::new();
        for (index, _) in children(&fields, "phases").enumerate() {
            let before = self.loaded.objects.len();
            for item in children(&fields, &format!("phases[{index}].changes.apply")) {
                self.add_fragment(&file, &whole.item(item), 0, false);
            }
            phases.push(self.loaded.objects.split_off(before));
        }
        phases
    }

    /// Everything loaded, with diagnostics (which may include errors).
    pub fn finish(self) -> Loaded {
        self.loaded
    }

    fn walk(&mut self, file: &Arc<SourceFile>, fragment: &Fragment) -> Option<FieldMap> {
        match yaml::walk(fragment) {
            Ok(fields) => Some(fields),
            Err(err) => {
                let d = Diagnostic::error(format!("invalid YAML: {}", err.message));
                self.push_at(file, err.pos, d);
                None
            }
        }
    }

    /// Places `d` at `pos` in `file`, quoting the line.
    fn push_at(&mut self, file: &SourceFile, pos: Pos, mut d: Diagnostic) {
        d.file = file.name.clone();
        d.line = pos.line;
        d.column = Some(pos.column);
        d.snippet = file.line_text(pos.line).map(str::to_string);
        self.loaded.diagnostics.push(d);
    }

    /// The position of the object a fragment holds, or None (after reporting it when it is
    /// not a mapping) when there is none.
    fn object_root(&mut self, file: &SourceFile, fields: &FieldMap) -> Option<Pos> {
        // None for an empty or comment-only document.
        let root = fields.get("")?;
        let pos = root.pos;
        match root.kind {
            NodeKind::Mapping => Some(pos),
            NodeKind::Scalar if is_null(root.scalar.as_deref()) => None,
            other => {
                let found = match other {
                    NodeKind::Sequence => "a list",
                    NodeKind::Alias => "an alias",
                    _ => "a scalar",
                };
                let d = Diagnostic::error(format!(
                "expected a Kubernetes object (a mapping with apiVersion and kind), found {found}"
            ));
                self.push_at(file, pos, d);
                None
            }
        }
    }

    /// Loads one object (or List, or route-test file when `top_level`) from `fragment`.
    fn add_fragment(
        &mut self,
        file: &Arc<SourceFile>,
        fragment: &Fragment,
        list_depth: usize,
        top_level: bool,
    ) {
        let Some(fields) = self.walk(file, fragment) else {
            return;
        };
        let Some(pos) = self.object_root(file, &fields) else {
            return;
        };
        let api_version = fields.scalar("apiVersion").map(str::to_string);
        let kind = fields.scalar("kind").map(str::to_string);
        let (api_version, kind) = (api_version.as_deref(), kind.as_deref());
        if top_level
            && api_version.is_none()
            && kind.is_none()
            && self.not_an_object(file, fragment, &fields, pos, list_depth)
        {
            return;
        }
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            self.missing_type(file, pos, api_version.is_none());
            return;
        };
        let namespace = fields
            .scalar("metadata.namespace")
            .unwrap_or("")
            .to_string();
        let name = fields.scalar("metadata.name").unwrap_or("").to_string();
        let (namespace, name) = (namespace.as_str(), name.as_str());
        if kind.ends_with("List") && fields.get("items").is_some() {
            if list_depth >= MAX_LIST_DEPTH {
                let d = Diagnostic::error("lists nested too deeply");
                self.push_at(file, pos, d);
                return;
            }
            self.add_items(file, fragment, &fields, "items", list_depth + 1);
            return;
        }
        let (group, version) = split_api_version(api_version);
        let Some(known) = Kind::from_group_kind(group, kind) else {
            self.push_at(file, pos, skipped(kind, namespace, name));
            return;
        };
        let (namespace, label) = identity(known, namespace, name);
        let source = Source {
            file: Arc::clone(file),
            pos,
            fields: Arc::new(fields),
            order: self.next_order,
        };
        if !known.versions().contains(&version) {
            let d = unsupported_version(&source, &label, known, group, api_version);
            self.loaded.diagnostics.push(d);
            return;
        }
        match parse_body(known, fragment, &source) {
            Ok((raw, body)) => {
                let meta = object_meta(raw, known, namespace);
                self.next_order += 1;
                self.loaded.objects.push(Object {
                    source,
                    api_version: api_version.to_string(),
                    meta,
                    body,
                });
            }
            Err(problem) => self.push_problem(file, &source, label, problem),
        }
    }

    /// Reports an object without `apiVersion` (or `kind`); in a folder, names the
    /// `--exclude` that leaves the file out, in case it is not meant as a manifest.
    fn missing_type(&mut self, file: &SourceFile, pos: Pos, no_api_version: bool) {
        let missing = if no_api_version { "apiVersion" } else { "kind" };
        let mut d = Diagnostic::error(format!("missing `{missing}`: not a Kubernetes object"));
        if let Some(below) = &self.walked {
            d = d.with_help(format!(
                "if this file holds no Kubernetes objects, leave it out: --exclude '{below}'"
            ));
        }
        self.push_at(file, pos, d);
    }

    /// A top-level document without `apiVersion` and `kind` that is not a Kubernetes object:
    /// a route-test file or plainly something else (an Envoy bootstrap, a schema). A
    /// route-test file given as an input has its `resources` loaded; one found by walking a
    /// directory (tests beside the manifests they test), one that names its manifests, and
    /// any other document without `metadata` are skipped with a note. False for a document
    /// with `metadata`: an object missing its type, which is an error.
    fn not_an_object(
        &mut self,
        file: &Arc<SourceFile>,
        fragment: &Fragment,
        fields: &FieldMap,
        pos: Pos,
        list_depth: usize,
    ) -> bool {
        let has = |field: &str| fields.get(field).is_some();
        let is_test = has("cases") || has("expectStatus");
        if has("resources") && !(is_test && self.walked.is_some()) {
            self.add_items(file, fragment, fields, "resources", list_depth);
            return true;
        }
        let d = if is_test {
            Diagnostic::new(
                Severity::Note,
                "skipped: a route-test file, not Kubernetes objects",
            )
            .with_help("`gatewasm test` runs it")
        } else if has("metadata") {
            return false;
        } else {
            Diagnostic::new(
                Severity::Note,
                "skipped: not a Kubernetes object (no `apiVersion`, `kind` or `metadata`)",
            )
        };
        self.push_at(file, pos, d);
        true
    }

    /// Loads each item of the list at `field` (a List's `items`, a route-test file's
    /// `resources`).
    fn add_items(
        &mut self,
        file: &Arc<SourceFile>,
        fragment: &Fragment,
        fields: &FieldMap,
        field: &str,
        list_depth: usize,
    ) {
        for item in children(fields, field) {
            self.add_fragment(file, &fragment.item(item), list_depth, false);
        }
    }

    /// Reports why an object of a compiled kind could not be read.
    fn push_problem(
        &mut self,
        file: &SourceFile,
        source: &Source,
        label: String,
        problem: Problem,
    ) {
        match problem {
            Problem::Missing(field) => {
                let d = source.diagnostic(Severity::Error, &label, field, "missing required field");
                self.loaded.diagnostics.push(d);
            }
            Problem::Yaml(e) => {
                let pos = e.pos.or_else(|| source.fields.locate(&e.field));
                let mut d = Diagnostic::error(e.message);
                d.object = label;
                d.field = e.field;
                d.help = e.help;
                self.push_at(file, pos.unwrap_or(source.pos), d);
            }
        }
    }
}

/// The namespace an object of kind `known` is in (none when cluster-scoped, `default` when
/// not written), and its label for diagnostics.
fn identity<'a>(known: Kind, namespace: &'a str, name: &str) -> (&'a str, String) {
    let namespace = match (known.is_namespaced(), namespace) {
        (false, _) => "",
        (true, "") => "default",
        (true, ns) => ns,
    };
    let mut label = String::new();
    let _ = object_label(&mut label, known.name(), namespace, name);
    (namespace, label)
}

/// The note (a warning for a near-miss of a compiled kind) that an object is skipped.
fn skipped(kind: &str, namespace: &str, name: &str) -> Diagnostic {
    let mut label = String::new();
    let _ = object_label(&mut label, kind, namespace, name);
    // A near-miss of a compiled kind is probably a typo, worth more than a note.
    match kind_hint(kind) {
        Some(hint) => Diagnostic::new(
            Severity::Warning(Warning::UnknownKind),
            format!("skipped {label}: gatewasm does not compile this kind"),
        )
        .with_help(format!("did you mean `{hint}`?")),
        None => Diagnostic::new(
            Severity::Note,
            format!("skipped {label}: gatewasm does not compile this kind"),
        ),
    }
}

/// An apiVersion of a compiled kind that gatewasm does not read.
fn unsupported_version(
    source: &Source,
    label: &str,
    known: Kind,
    group: &str,
    api_version: &str,
) -> Diagnostic {
    let versions: Vec<String> = known
        .versions()
        .iter()
        .map(|v| join_api_version(group, v))
        .collect();
    source
        .diagnostic(
            Severity::Error,
            label,
            "apiVersion",
            format!(
                "unsupported apiVersion {} for {}",
                code(api_version),
                known.name()
            ),
        )
        .with_help(format!("gatewasm reads {}", versions.join(", ")))
}

/// The object's metadata and typed body.
fn parse_body(
    known: Kind,
    fragment: &Fragment,
    source: &Source,
) -> Result<(RawMeta, Body), Problem> {
    match known {
        Kind::GatewayClass => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::GatewayClass(required(s)?))))
        }
        Kind::Gateway => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::Gateway(required(s)?))))
        }
        Kind::HttpRoute => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::HttpRoute(required(s)?))))
        }
        Kind::GrpcRoute => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::GrpcRoute(required(s)?))))
        }
        Kind::ReferenceGrant => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::ReferenceGrant(required(s)?))))
        }
        Kind::BackendTrafficPolicy => parse(fragment, source)
            .and_then(|(m, s)| Ok((m, Body::BackendTrafficPolicy(required(s)?)))),
        Kind::HttpRouteFilter => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::HttpRouteFilter(required(s)?))))
        }
        Kind::SecurityPolicy => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::SecurityPolicy(required(s)?))))
        }
        Kind::EgBackend => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::EgBackend(required(s)?))))
        }
        Kind::BackendTlsPolicy => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::BackendTlsPolicy(required(s)?))))
        }
        // A Service or Namespace without `spec` is valid Kubernetes.
        Kind::Service => {
            parse(fragment, source).map(|(m, s)| (m, Body::Service(s.unwrap_or_default())))
        }
        Kind::Namespace => {
            parse(fragment, source).map(|(m, s)| (m, Body::Namespace(s.unwrap_or_default())))
        }
        Kind::Ingress => {
            parse(fragment, source).and_then(|(m, s)| Ok((m, Body::Ingress(required(s)?))))
        }
        Kind::IngressClass => {
            parse(fragment, source).map(|(m, s)| (m, Body::IngressClass(s.unwrap_or_default())))
        }
    }
}

/// The metadata of an object of kind `known`; `namespace` is the one it defaults to.
fn object_meta(raw: RawMeta, known: Kind, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: raw.name.unwrap_or_default(),
        namespace: match raw.namespace {
            Some(ns) if known.is_namespaced() && !ns.is_empty() => ns,
            _ => namespace.to_string(),
        },
        labels: raw.labels,
        annotations: raw.annotations,
        creation_timestamp: raw.creation_timestamp,
        generation: raw.generation,
        uid: raw.uid,
        resource_version: raw.resource_version,
    }
}

/// The envelope of every compiled kind; `kind` and `apiVersion` were read before.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[serde(bound = "S: DeserializeOwned")]
struct Manifest<S> {
    #[serde(rename = "apiVersion")]
    _api_version: IgnoredAny,
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    metadata: Option<RawMeta>,
    spec: Option<S>,
    // Status is written by controllers; gatewasm computes its own.
    #[serde(rename = "status")]
    _status: Option<IgnoredAny>,
}

enum Problem {
    /// A required field the typed model cannot express as missing (`metadata.name`, `spec`).
    Missing(&'static str),
    /// Deserialization failed.
    Yaml(yaml::Explained),
}

/// Deserializes one object's metadata and (optional) spec.
fn parse<S: DeserializeOwned>(
    fragment: &Fragment,
    source: &Source,
) -> Result<(RawMeta, Option<S>), Problem> {
    let manifest: Manifest<S> = yaml::deserialize(fragment)
        .map_err(|e| Problem::Yaml(yaml::explain(&e, fragment, &source.fields)))?;
    let Some(meta) = manifest.metadata else {
        return Err(Problem::Missing("metadata"));
    };
    if meta.name.as_deref().unwrap_or("").is_empty() {
        return Err(Problem::Missing("metadata.name"));
    }
    Ok((meta, manifest.spec))
}

/// The spec of a kind that must have one.
fn required<S>(spec: Option<S>) -> Result<S, Problem> {
    spec.ok_or(Problem::Missing("spec"))
}

fn source_file(name: &str, blob_name: &str, text: &str) -> Arc<SourceFile> {
    Arc::new(SourceFile {
        name: name.to_string(),
        blob_name: blob_name.to_string(),
        text: text.strip_prefix('\u{FEFF}').unwrap_or(text).to_string(),
    })
}

/// The direct items of the list at `path`, in order.
fn children<'a>(fields: &'a FieldMap, path: &str) -> impl Iterator<Item = &'a FieldEntry> {
    let prefix = format!("{path}[");
    fields.entries().iter().filter(move |e| {
        e.path
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(|index| index.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn is_null(scalar: Option<&str>) -> bool {
    matches!(scalar, None | Some("" | "~" | "null" | "Null" | "NULL"))
}

fn join_api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Appends every `*.yaml`/`*.yml` file under `dir` to `out`. Symlinked directories are not
/// followed, so a link cycle cannot make this loop.
/// A relative path with `/` between its parts, whatever the platform writes.
fn portable(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            collect_yaml_files(&path, out)?;
        } else if path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The kinds gatewasm compiles, by name, for "did you mean" on a misspelt kind.
fn kind_hint(kind: &str) -> Option<&'static str> {
    let names: Vec<&'static str> = Kind::ALL.iter().map(|k| k.name()).collect();
    did_you_mean(kind, &names).filter(|k| *k != kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first line of each rendered diagnostic.
    fn headers(d: &Diagnostics) -> Vec<String> {
        d.iter()
            .map(|d| d.to_string().lines().next().unwrap_or("").to_string())
            .collect()
    }

    fn errors(name: &str, text: &str) -> Vec<String> {
        headers(&load_str(name, text).unwrap_err())
    }

    const ROUTE: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: app\nspec:\n  parentRefs:\n  - name: gw\n";

    #[test]
    fn multi_document_lines_are_absolute() {
        let text = format!(
            "# leading comment\n{ROUTE}---\n---\n# only a comment\n---\n{ROUTE}  - name: gw2\n    sectionNme: http\n"
        );
        let got = errors(
            "routes.yaml",
            &text.replace(
                "name: app\nspec:\n  parentRefs:\n  - name: gw\n  - name: gw2",
                "name: app2\nspec:\n  parentRefs:\n  - name: gw\n  - name: gw2",
            ),
        );
        assert_eq!(
            got,
            ["error: routes.yaml:21: HTTPRoute default/app2: spec.parentRefs[1].sectionNme: unknown field `sectionNme`"]
        );
        let loaded = load_str(
            "routes.yaml",
            &format!("{ROUTE}---\n{}", ROUTE.replace("app", "b")),
        )
        .unwrap();
        let lines: Vec<u32> = loaded.objects.iter().map(|o| o.source.line()).collect();
        assert_eq!(lines, [1, 9]);
        assert_eq!(
            loaded.objects[1]
                .source
                .fields
                .get("spec.parentRefs[0].name")
                .unwrap()
                .pos
                .line,
            15
        );
    }

    #[test]
    fn deserialization_errors_render_with_path_snippet_and_help() {
        let text = format!("{ROUTE}    sectionNme: http\n");
        let all = load_str("r.yaml", &text).unwrap_err();
        assert_eq!(
            all.to_string(),
            "error: r.yaml:8: HTTPRoute default/app: spec.parentRefs[0].sectionNme: unknown field `sectionNme`\n  |\n8 |     sectionNme: http\n  |     ^\nhelp: did you mean `sectionName`?"
        );
    }

    #[test]
    fn type_errors_are_located() {
        let cases = [
            (
                format!("{ROUTE}    port: eighty\n"),
                "error: t.yaml:8: HTTPRoute default/app: spec.parentRefs[0].port: invalid i32",
            ),
            (
                format!("{ROUTE}  rules:\n  - matches:\n    - path:\n        type: Prefix\n"),
                "error: t.yaml:11: HTTPRoute default/app: spec.rules[0].matches[0].path.type: unknown value `Prefix`",
            ),
            (
                format!("{ROUTE}  rules:\n  - backendRefs:\n    - port: 80\n"),
                "error: t.yaml:10: HTTPRoute default/app: spec.rules[0].backendRefs[0].name: missing required field",
            ),
            (
                ROUTE.replace("  name: app\n", "  namespace: x\n"),
                "error: t.yaml:3: HTTPRoute x/: metadata.name: missing required field",
            ),
            (
                "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: g\n".to_string(),
                "error: t.yaml:1: Gateway default/g: spec: missing required field",
            ),
            (
                "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: HTTPRoute\nmetadata:\n  name: a\nspec: {}\n".to_string(),
                "error: t.yaml:1: HTTPRoute default/a: apiVersion: unsupported apiVersion `gateway.networking.k8s.io/v1alpha2` for HTTPRoute",
            ),
            ("kind: Service\n".to_string(), "error: t.yaml:1: missing `apiVersion`: not a Kubernetes object"),
            ("- a\n- b\n".to_string(), "error: t.yaml:1: expected a Kubernetes object (a mapping with apiVersion and kind), found a list"),
        ];
        for (text, want) in cases {
            assert_eq!(errors("t.yaml", &text), [want], "{text}");
        }
    }

    #[test]
    fn every_document_reports_its_own_error() {
        let bad = format!("{ROUTE}    port: x\n");
        let text = format!("{bad}---\n{bad}---\n{ROUTE}");
        let got = errors("t.yaml", &text.replacen("app", "a1", 1));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("error: t.yaml:8:"), "{got:?}");
        assert!(got[1].starts_with("error: t.yaml:17:"), "{got:?}");
    }

    #[test]
    fn a_route_test_file_found_among_manifests_is_skipped_with_a_note() {
        let text = "name: Shop\nmanifests: [../examples]\ncases:\n- request: {path: /}\n";
        let loaded = load_str("tests/shop.yaml", text).unwrap();
        assert!(loaded.objects.is_empty());
        let shown = loaded.diagnostics.to_string();
        assert!(
            shown.starts_with(
                "note: tests/shop.yaml:1: skipped: a route-test file, not Kubernetes objects"
            ),
            "{shown}"
        );
        assert!(shown.ends_with("help: `gatewasm test` runs it"), "{shown}");
    }

    #[test]
    fn skipped_kinds_are_notes_and_near_misses_warnings() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: foo\n  namespace: default\n---\n\
                    apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: ig\n---\n\
                    apiVersion: gateway.networking.k8s.io/v1\nkind: HttpRoute\nmetadata:\n  name: r\n";
        let loaded = load_str("k.yaml", text).unwrap();
        assert!(loaded.objects.is_empty());
        assert_eq!(
            loaded.diagnostics.to_string(),
            "note: k.yaml:1: skipped Deployment default/foo: gatewasm does not compile this kind\n  |\n1 | apiVersion: apps/v1\n  | ^\n\
             note: k.yaml:7: skipped Gateway ig: gatewasm does not compile this kind\n  |\n7 | apiVersion: networking.istio.io/v1\n  | ^\n\
             warning[GW0019 UnknownKind]: k.yaml:12: skipped HttpRoute r: gatewasm does not compile this kind\n   |\n12 | apiVersion: gateway.networking.k8s.io/v1\n   | ^\nhelp: did you mean `HTTPRoute`?"
        );
    }

    #[test]
    fn metadata_defaults_and_ignored_fields() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n  namespace: ignored\n  uid: u\n  managedFields: [{a: 1}]\n  labels:\n    a: \"1\"\nstatus:\n  phase: Active\n---\n\
                    apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  creationTimestamp: 2024-01-01T00:00:00Z\n  generation: 3\n";
        let loaded = load_str("m.yaml", text).unwrap();
        let ns = &loaded.objects[0];
        assert_eq!(
            (ns.meta.namespace.as_str(), ns.meta.uid.as_deref()),
            ("", Some("u"))
        );
        assert_eq!(ns.meta.labels.get("a").map(String::as_str), Some("1"));
        let svc = &loaded.objects[1];
        assert_eq!(svc.label(), "Service default/s");
        assert_eq!(svc.meta.generation, Some(3));
        assert_eq!(
            svc.meta.creation_timestamp.as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(svc.body, Body::Service(Default::default()));
        assert_eq!((ns.source.order, svc.source.order), (0, 1));
    }

    #[test]
    fn gateway_class_and_backend_traffic_policy_load() {
        let text = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: gc}\nspec:\n  controllerName: example.com/gw\n---\n\
                    apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata: {name: p, namespace: a}\nspec:\n  rateLimit:\n    type: Global\n    global: {rules: [{limit: {requests: 10, unit: Minute}}]}\n";
        let loaded = load_str("p.yaml", text).unwrap();
        assert_eq!(loaded.objects[0].label(), "GatewayClass gc");
        match &loaded.objects[1].body {
            Body::BackendTrafficPolicy(spec) => {
                let rules = &spec
                    .rate_limit
                    .as_ref()
                    .unwrap()
                    .global
                    .as_ref()
                    .unwrap()
                    .rules;
                assert_eq!(rules[0].limit.requests, 10);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lists_contribute_their_items() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: b\n";
        let loaded = load_str("l.yaml", text).unwrap();
        let got: Vec<(String, u32)> = loaded
            .objects
            .iter()
            .map(|o| (o.label(), o.source.line()))
            .collect();
        assert_eq!(
            got,
            [
                ("Namespace a".to_string(), 4),
                ("Namespace b".to_string(), 7)
            ]
        );
    }

    #[test]
    fn route_test_resources_and_phases_keep_file_lines() {
        let text = "name: T\nresources:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s\n    namespace: a\ncases: []\nphases:\n- name: p\n  changes:\n    apply:\n    - apiVersion: v1\n      kind: Namespace\n      metadata:\n        name: b\n";
        let got = load_route_test_resources("rt.yaml", text).unwrap();
        let lines: Vec<(String, u32)> = got
            .resources
            .objects
            .iter()
            .map(|o| (o.label(), o.source.line()))
            .collect();
        assert_eq!(
            lines,
            [
                ("Namespace a".to_string(), 3),
                ("Service a/s".to_string(), 7)
            ]
        );
        assert_eq!(got.phase_applies.len(), 1);
        assert_eq!(got.phase_applies[0][0].source.line(), 17);
        assert_eq!(got.phase_applies[0][0].source.order, 2);
        let bad = text.replace("    name: s\n", "    name: s\n    nmespace: x\n");
        let err = load_route_test_resources("rt.yaml", &bad).unwrap_err();
        assert_eq!(
            headers(&err),
            ["error: rt.yaml:11: Service a/s: metadata.nmespace: unknown field `nmespace`"]
        );
        // Given as a plain input, a route-test file contributes its resources.
        assert_eq!(load_str("rt.yaml", text).unwrap().objects.len(), 2);
    }

    #[test]
    fn apply_replaces_in_place_and_delete_removes() {
        let mut loaded = load_str("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n").unwrap();
        let mut update = load_str(
            "b.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: y}}\n",
        )
        .unwrap();
        loaded.apply(update.objects.remove(0));
        assert_eq!(loaded.objects[0].meta.labels.len(), 1);
        assert_eq!(loaded.objects[0].source.order, 0);
        let key = loaded.objects[1].key();
        assert!(loaded.delete(&key).is_some());
        assert_eq!(loaded.objects.len(), 1);
    }

    #[test]
    fn reads_directories_sorted_and_recursive_and_readers() {
        let dir = std::env::temp_dir().join(format!("gatewasm-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let ns = |n: &str| format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {n}\n");
        std::fs::write(dir.join("b.yaml"), ns("b")).unwrap();
        std::fs::write(dir.join("a.yml"), ns("a")).unwrap();
        std::fs::write(dir.join("sub/c.yaml"), ns("c")).unwrap();
        std::fs::write(dir.join("notes.txt"), "not yaml").unwrap();
        let loaded = load_paths(std::slice::from_ref(&dir)).unwrap();
        let names: Vec<&str> = loaded
            .objects
            .iter()
            .map(|o| o.meta.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        let missing = load_paths(&[dir.join("nope.yaml")]).unwrap_err();
        assert!(missing.to_string().starts_with("error: "), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();

        let mut loader = Loader::new();
        loader.add_reader(STDIN_NAME, ns("s").as_bytes());
        let loaded = loader.finish();
        assert_eq!(loaded.objects[0].source.file.name, "<stdin>");
    }

    #[test]
    fn documents_that_are_plainly_not_objects_are_skipped_with_a_note() {
        let envoy = "# an Envoy bootstrap\nstatic_resources:\n  listeners: []\nadmin: {}\n";
        let loaded = load_str("envoy.yaml", envoy).unwrap();
        assert_eq!(
            headers(&loaded.diagnostics),
            ["note: envoy.yaml:2: skipped: not a Kubernetes object (no `apiVersion`, `kind` or `metadata`)"]
        );
        // Objects with a mistake stay errors: a type without its version, or metadata
        // without a type.
        assert_eq!(
            errors("s.yaml", "kind: CoreSchema\ngroup: \"\"\n"),
            ["error: s.yaml:1: missing `apiVersion`: not a Kubernetes object"]
        );
        assert_eq!(
            errors("m.yaml", "metadata:\n  name: app\nspec: {}\n"),
            ["error: m.yaml:1: missing `apiVersion`: not a Kubernetes object"]
        );
        // In a List, every item must be an object.
        let list = "apiVersion: v1\nkind: List\nitems:\n- static_resources: {}\n";
        assert_eq!(
            errors("l.yaml", list),
            ["error: l.yaml:4: missing `apiVersion`: not a Kubernetes object"]
        );
    }

    #[test]
    fn directory_walks_skip_route_tests_and_excluded_files() {
        let dir = std::env::temp_dir().join(format!("gatewasm-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tests")).unwrap();
        std::fs::create_dir_all(dir.join("schemas")).unwrap();
        let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n";
        std::fs::write(dir.join("ns.yaml"), ns).unwrap();
        // Inline resources of a test found beside the manifests are the test's, not the
        // input's: loading them would define `a` twice.
        let test = "name: T\nresources:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\ncases: []\n";
        std::fs::write(dir.join("tests/t.yaml"), test).unwrap();
        std::fs::write(dir.join("schemas/x.yaml"), "kind: CoreSchema\n").unwrap();
        let problems = load_paths(std::slice::from_ref(&dir)).unwrap_err();
        assert!(
            problems.to_string().contains(
                "help: if this file holds no Kubernetes objects, leave it out: --exclude 'schemas/x.yaml'"
            ),
            "{problems}"
        );
        let exclude = Exclude::new(&["schemas/*".to_owned()]).unwrap();
        let loaded = load_paths_excluding(std::slice::from_ref(&dir), &exclude).unwrap();
        assert_eq!(loaded.objects.len(), 1);
        assert!(
            loaded
                .diagnostics
                .to_string()
                .contains("tests/t.yaml:1: skipped: a route-test file, not Kubernetes objects"),
            "{}",
            loaded.diagnostics
        );
        // Given by name, a route-test file's resources load.
        let loaded = load_paths(&[dir.join("tests/t.yaml")]).unwrap();
        assert_eq!(loaded.objects.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hostile_input_never_panics() {
        let mut noise = Vec::new();
        let mut x: u32 = 12345;
        for _ in 0..4096 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            noise.push((x >> 16) as u8);
        }
        let mut loader = Loader::new();
        loader.add_reader("noise", noise.as_slice());
        loader.add_reader("binary", &b"\x00\x01\xff\xfe"[..]);
        let ascii: String = noise.iter().map(|b| char::from(b % 96 + 32)).collect();
        loader.add_str("ascii", &ascii);
        loader.add_str("deep", &format!("a: {}", "[".repeat(50_000)));
        loader.add_str(
            "deep-block",
            &(0..300)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect::<String>(),
        );
        let bomb = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: &a {x: y}\nspec: &b\n  finalizers: [&c [a, a, a], *c, *c, *c]\n";
        loader.add_str("bomb", bomb);
        let mut laughs = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 1..12 {
            laughs.push_str(&format!(
                "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n",
                p = if i == 1 {
                    String::new()
                } else {
                    (i - 1).to_string()
                }
            ));
        }
        loader.add_str(
            "laughs",
            &format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec:\n  selector:\n{}",
                laughs
                    .lines()
                    .map(|l| format!("    {l}\n"))
                    .collect::<String>()
            ),
        );
        loader.add_route_test("rt", "resources: 3\n");
        let loaded = loader.finish();
        assert!(loaded.diagnostics.has_errors());
    }
}
