//! The ingress stage: Ingress objects of ingress-nginx's classes become the Gateway API
//! objects that route the same way, before validation. `compile` loads them in place of the
//! Ingresses; `gatewasm convert` prints them. Both come from [`convert`], so a converted
//! manifest routes exactly as its Ingress compiled directly.
//!
//! Each ingress-nginx class becomes a Gateway `ingress-nginx/<class>` ([`GATEWAY_NAMESPACE`])
//! with an HTTP listener on 80 and an HTTPS listener on 443 for each host some Ingress of the
//! class has a certificate for ([`gateway`]). Each Ingress becomes one HTTPRoute per host
//! ([`routes`]); a host with a certificate is redirected from HTTP to HTTPS, as ingress-nginx
//! does by default.

mod annotations;
mod canary;
mod class;
mod cors;
mod envoy_gateway;
mod gateway;
mod grpc;
mod limits;
mod redirect;
mod rewrite;
mod routes;
mod settings;
mod source_range;
mod timeouts;
mod upstream_tls;

use std::collections::BTreeMap;

use serde_json::Value;

use std::sync::Arc;

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::load::{load_str, Loaded};
use crate::model::{Body, IngressSpec, Kind, Object};
use crate::source::{FieldMap, Source};

/// The namespace of the Gateways that stand for ingress-nginx's classes: where the
/// controller ran.
pub const GATEWAY_NAMESPACE: &str = "ingress-nginx";

/// What `gatewasm convert` writes first.
pub const HEADER: &str = "\
# Gateway API objects converted from ingress-nginx Ingresses by `gatewasm convert`.
# Each HTTPRoute names its Ingress in the gatewasm.dev/ingress annotation. The Gateway
# ingress-nginx/<class> stands for the ingress-nginx class; its listeners' certificates are
# the Ingresses' TLS Secrets.
";

/// The file name diagnostics give the converted objects that are not placed at an Ingress
/// (the Gateway, the ReferenceGrants).
pub const CONVERTED_NAME: &str = "<converted Ingresses>";

/// The file name of `gatewasm convert`'s output read back by `gatewasm test --converted`.
pub const CONVERTED_OUTPUT_NAME: &str = "<gatewasm convert output>";

/// The Gateway API objects that stand for the input's Ingresses, and what the conversion
/// had to say.
#[derive(Debug, Default)]
pub struct Converted {
    /// The objects, as manifests, in the order they are loaded.
    pub manifests: Vec<Value>,
    /// For each manifest that stands for one Ingress (its HTTPRoutes), where it comes from.
    origins: Vec<Option<Origin>>,
    /// For each manifest, the comment `gatewasm convert` writes above it: where it comes from
    /// and what of its Ingress it does not carry out.
    comments: Vec<Vec<String>>,
    /// Notes, warnings and errors, at the Ingress fields they are about.
    pub diagnostics: Diagnostics,
}

/// The Ingress fields an HTTPRoute comes from, so that what later stages say of the route
/// (diagnostics, `explain`, the rule sources the blob carries) points at the Ingress.
#[derive(Debug, Clone)]
pub struct Origin {
    ingress: Source,
    /// For each rule of the route, the Ingress path (`spec.rules[i].http.paths[j]`).
    rules: Vec<String>,
    /// The Ingress field of the route's host.
    host: Option<String>,
    /// The Ingress field every field stands for, for an object made from one annotation.
    whole: Option<String>,
}

impl Origin {
    /// The Ingress field a field of the converted route stands for (`""`: the object).
    fn ingress_path(&self, path: &str) -> String {
        if let Some(whole) = &self.whole {
            return whole.clone();
        }
        let rule = path
            .strip_prefix("spec.rules[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(k, tail)| Some((self.rules.get(k.parse::<usize>().ok()?)?, tail)));
        if let Some((base, tail)) = rule {
            let sub = if tail.starts_with(".matches") {
                ".path"
            } else if tail.starts_with(".backendRefs") {
                ".backend"
            } else {
                ""
            };
            return format!("{base}{sub}");
        }
        match &self.host {
            Some(host) if path.starts_with("spec.hostnames") => host.clone(),
            _ => String::new(),
        }
    }

    /// `source` (of the converted route) placed in the Ingress: the same fields, each at the
    /// position of the Ingress field it stands for.
    fn place(&self, source: &Source) -> Source {
        let entries = source
            .fields
            .entries()
            .iter()
            .map(|e| {
                let mut entry = e.clone();
                entry.pos = self
                    .ingress
                    .fields
                    .locate(&self.ingress_path(&e.path))
                    .unwrap_or(self.ingress.pos);
                entry
            })
            .collect();
        Source {
            file: Arc::clone(&self.ingress.file),
            pos: self.ingress.pos,
            fields: Arc::new(FieldMap { entries }),
            order: source.order,
        }
    }
}

/// One Ingress with the class that serves it.
struct Served<'a> {
    object: &'a Object,
    spec: &'a IngressSpec,
    class: String,
}

/// Converts every Ingress of `loaded` that an ingress-nginx class serves.
pub fn convert(loaded: &Loaded) -> Converted {
    let mut out = Converted::default();
    let classes = class::Classes::new(loaded);
    let mut by_class: BTreeMap<String, Vec<Served<'_>>> = BTreeMap::new();
    for object in loaded.of_kind(Kind::Ingress) {
        let Body::Ingress(spec) = &object.body else {
            continue;
        };
        match classes.serving(object, spec) {
            Ok(class) => {
                annotations::check(object, &mut out.diagnostics);
                by_class.entry(class.clone()).or_default().push(Served {
                    object,
                    spec,
                    class,
                });
            }
            Err(d) => out.diagnostics.push(*d),
        }
    }
    for (class, all) in by_class {
        let (canaries, ingresses): (Vec<Served<'_>>, Vec<Served<'_>>) =
            all.into_iter().partition(|s| canary::is_canary(s.object));
        let class = &class;
        let ingresses = &ingresses;
        let gw = gateway::gateway(class, ingresses, &mut out.diagnostics);
        for manifest in gw.manifests {
            out.comments.push(vec![format!(
                "Stands for the ingress-nginx class {class}: its listeners and certificates."
            )]);
            out.origins.push(None);
            out.manifests.push(manifest);
        }
        let canaries = canary::Canaries::new(&canaries, &mut out.diagnostics);
        let hosts = routes::class_hosts(ingresses, gw.tls_hosts, canaries);
        for served in ingresses {
            let comment = route_comment(served.object);
            for (route, origin) in routes::routes(served, &hosts, loaded, &mut out.diagnostics) {
                out.comments.push(comment.clone());
                out.manifests.push(route);
                out.origins.push(Some(origin));
            }
        }
        hosts.canaries.report_unused(&mut out.diagnostics);
        let catch_all = routes::catch_all(ingresses, &hosts, loaded, &mut out.diagnostics);
        if let Some((route, origin)) = catch_all {
            out.comments.push(vec![
                "The defaultBackend of the first Ingress without rules: every host no Ingress names."
                    .to_owned(),
            ]);
            out.manifests.push(route);
            out.origins.push(Some(origin));
        }
    }
    out
}

/// What `gatewasm convert` says above a route of the Ingress `object`: where it comes from,
/// and the annotations it does not carry out.
fn route_comment(object: &Object) -> Vec<String> {
    let meta = &object.meta;
    let mut lines = vec![format!(
        "From Ingress {}/{} ({}:{}).",
        meta.namespace, meta.name, object.source.file.name, object.source.pos.line
    )];
    lines.extend(
        annotations::unsupported(object)
            .map(|name| format!("Not carried out: {name} (warning GW0021).")),
    );
    lines
}

/// `loaded` with its Ingresses and IngressClasses replaced by the converted objects, and the
/// conversion's diagnostics added.
///
/// # Errors
/// The conversion's errors, or the converted objects failing to load (a bug).
pub fn translate(mut loaded: Loaded) -> Result<Loaded, Diagnostics> {
    let has_ingress = loaded
        .objects
        .iter()
        .any(|o| matches!(o.kind(), Kind::Ingress | Kind::IngressClass));
    if !has_ingress {
        return Ok(loaded);
    }
    let converted = convert(&loaded);
    if converted.diagnostics.has_errors() {
        let mut all = converted.diagnostics;
        all.sort();
        return Err(all);
    }
    let text = to_yaml(&converted.manifests, &[])?;
    let mut objects = load_str(CONVERTED_NAME, &text)?;
    // One object per manifest, in order: each route takes its Ingress's place.
    if objects.objects.len() == converted.origins.len() {
        for (object, origin) in objects.objects.iter_mut().zip(&converted.origins) {
            if let Some(origin) = origin {
                object.source = origin.place(&object.source);
            }
        }
    }
    replace(&mut loaded, objects.objects);
    loaded.diagnostics.append(converted.diagnostics);
    Ok(loaded)
}

/// `loaded` with its Ingresses and IngressClasses replaced by the objects `gatewasm convert`
/// prints for them, parsed back from that text: what a user who converts, then compiles the
/// output, gets (`gatewasm test --converted`).
///
/// # Errors
/// The conversion's errors, or no Ingress of an ingress-nginx class to convert.
pub fn reloaded(mut loaded: Loaded) -> Result<Loaded, Diagnostics> {
    let mut converted = convert(&loaded);
    converted.diagnostics.sort();
    if converted.manifests.is_empty() && !converted.diagnostics.has_errors() {
        converted.diagnostics.push(Diagnostic::error(
            "--converted: no Ingress of an ingress-nginx class to convert",
        ));
    }
    if converted.diagnostics.has_errors() {
        return Err(converted.diagnostics);
    }
    let text = commented_yaml(&converted)?;
    let objects = load_str(CONVERTED_OUTPUT_NAME, &text)?;
    replace(&mut loaded, objects.objects);
    loaded.diagnostics.append(converted.diagnostics);
    Ok(loaded)
}

/// Replaces the Ingresses and IngressClasses of `loaded` by `objects`, created after
/// everything else.
fn replace(loaded: &mut Loaded, objects: Vec<Object>) {
    let base = loaded
        .objects
        .iter()
        .map(|o| o.source.order + 1)
        .max()
        .unwrap_or(0);
    loaded
        .objects
        .retain(|o| !matches!(o.kind(), Kind::Ingress | Kind::IngressClass));
    for (i, mut object) in objects.into_iter().enumerate() {
        object.source.order = base + i;
        loaded.objects.push(object);
    }
}

/// What `gatewasm convert` writes: each manifest under its comment, after [`HEADER`].
///
/// # Errors
/// As [`to_yaml`].
pub fn commented_yaml(converted: &Converted) -> Result<String, Diagnostics> {
    Ok(format!(
        "{HEADER}{}",
        to_yaml(&converted.manifests, &converted.comments)?
    ))
}

/// The manifests as one multi-document YAML text, each after its comment lines (none when
/// `comments` is shorter).
///
/// # Errors
/// A manifest YAML cannot render (a bug).
pub fn to_yaml(manifests: &[Value], comments: &[Vec<String>]) -> Result<String, Diagnostics> {
    let mut text = String::new();
    for (i, manifest) in manifests.iter().enumerate() {
        let doc = serde_saphyr::to_string(manifest).map_err(|e| {
            let mut d = Diagnostics::new();
            d.push(Diagnostic::error(format!(
                "cannot render a converted object: {e}"
            )));
            d
        })?;
        text.push_str("---\n");
        for line in comments.get(i).into_iter().flatten() {
            text.push_str("# ");
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&doc);
    }
    Ok(text)
}

/// A diagnostic at `field` of the Ingress `object`.
fn at(object: &Object, severity: Severity, field: &str, message: impl Into<String>) -> Diagnostic {
    object
        .source
        .diagnostic(severity, &object.label(), field, message)
}

#[cfg(test)]
mod tests;
