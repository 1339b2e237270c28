//! ingress-nginx's `nginx.ingress.kubernetes.io/` annotations: each one gatewasm does not
//! carry out is a warning at its line, so an Ingress never routes differently in silence.

use super::at;
use crate::diag::{Diagnostics, Severity};
use crate::model::Object;
use crate::source::join_key;
use crate::warning::Warning;

/// The prefix of ingress-nginx's annotations (its default `--annotations-prefix`).
pub const PREFIX: &str = "nginx.ingress.kubernetes.io/";

/// What gatewasm cannot ever do for an annotation, by name; the rest are not implemented yet.
const NEVER: [(&str, &str); 6] = [
    ("configuration-snippet", "raw nginx configuration"),
    ("server-snippet", "raw nginx configuration"),
    ("stream-snippet", "raw nginx configuration"),
    ("auth-snippet", "raw nginx configuration"),
    ("modsecurity-snippet", "raw nginx configuration"),
    (
        "auth-url",
        "external authentication, which needs Envoy's ext_authz filter",
    ),
];

/// Why gatewasm does not carry out an annotation it could one day, by name.
const NOT_YET: [(&str, &str); 5] = [
    (
        "backend-protocol",
        "AUTO_HTTP and FCGI have no Gateway API form (HTTP, HTTPS, GRPC and GRPCS are carried out)",
    ),
    (
        "custom-http-errors",
        "answering the backend's error statuses from the default backend, which needs the response, after the filter has routed the request",
    ),
    (
        "limit-connections",
        "concurrent connections per client address; the filter sees requests, not connections",
    ),
    (
        "proxy-body-size",
        "a request body limit (413), which Envoy's buffer limits set per listener, not per route",
    ),
    (
        "affinity",
        "sticky sessions, which need the load balancer to pick the endpoint; gatewasm picks clusters",
    ),
];

/// Why the annotation `short` of `object` changes nothing in ingress-nginx, if it does not:
/// its value is the default, or it acts only together with another one.
fn no_op(object: &Object, short: &str) -> Option<&'static str> {
    let value = super::settings::value(object, short).unwrap_or_default();
    match short {
        "enable-cors" if !super::settings::flag(object, short) => Some("is not true: no CORS"),
        s if s.starts_with("cors-") && !super::settings::flag(object, "enable-cors") => {
            Some("does nothing without enable-cors: \"true\"")
        }
        "backend-protocol" if value.eq_ignore_ascii_case("HTTP") => Some("is HTTP, the default"),
        "x-forwarded-prefix" if super::settings::value(object, "rewrite-target").is_none() => {
            Some("is sent only with a rewrite-target: it does nothing here")
        }
        _ => None,
    }
}

/// What becomes of one annotation.
enum Outcome {
    /// Carried out, or ignored as ingress-nginx ignores it.
    Handled,
    /// Changes nothing, for this reason (a note).
    Note(String),
    /// Not carried out, for this reason (warning GW0021).
    Unsupported(&'static str),
}

/// What becomes of the ingress-nginx annotation `short` (without the prefix) of `object`.
fn outcome(object: &Object, short: &str) -> Outcome {
    if super::canary::ANNOTATIONS.contains(&short) {
        return Outcome::Handled;
    }
    if super::canary::is_canary(object) {
        return Outcome::Note(
            "on a canary Ingress: ingress-nginx ignores it, and so does gatewasm".into(),
        );
    }
    if let Some(why) = no_op(object, short) {
        return Outcome::Note(format!("{why}, in ingress-nginx as in gatewasm"));
    }
    let read = [
        &super::settings::ANNOTATIONS[..],
        &super::rewrite::ANNOTATIONS,
        &super::redirect::ANNOTATIONS,
        &super::cors::ANNOTATIONS,
        &super::source_range::ANNOTATIONS,
        &super::limits::ANNOTATIONS,
        &super::timeouts::ANNOTATIONS,
    ];
    if read.iter().any(|names| names.contains(&short))
        || (short == "backend-protocol"
            && (super::grpc::wanted(object) || super::upstream_tls::wanted(object)))
    {
        return Outcome::Handled;
    }
    let why = NEVER
        .iter()
        .chain(&NOT_YET)
        .find(|(n, _)| *n == short)
        .map_or("not implemented yet", |(_, why)| why);
    Outcome::Unsupported(why)
}

/// The ingress-nginx annotations of `object` gatewasm does not carry out.
pub fn unsupported(object: &Object) -> impl Iterator<Item = &str> {
    object
        .meta
        .annotations
        .keys()
        .filter(move |name| {
            name.strip_prefix(PREFIX)
                .is_some_and(|short| matches!(outcome(object, short), Outcome::Unsupported(_)))
        })
        .map(String::as_str)
}

/// A warning for each ingress-nginx annotation of `object` gatewasm does not carry out, and
/// a note for each that changes nothing.
pub fn check(object: &Object, diagnostics: &mut Diagnostics) {
    for name in object.meta.annotations.keys() {
        let Some(short) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let field = join_key("metadata.annotations", name);
        match outcome(object, short) {
            Outcome::Handled => {}
            Outcome::Note(why) => {
                diagnostics.push(at(object, Severity::Note, &field, format!("{name} {why}")));
            }
            Outcome::Unsupported(why) => diagnostics.push(
                at(
                    object,
                    Severity::Warning(Warning::UnsupportedAnnotation),
                    &field,
                    format!("{name} is not carried out ({why}): the Ingress routes as if it were absent"),
                )
                .with_help("remove it, or see the README's \"Migrating from ingress-nginx\" for what gatewasm supports"),
            ),
        }
    }
}
