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

/// Why the annotation `short` of `object` changes nothing in ingress-nginx, if it does not:
/// its value is the default, or it acts only together with another one.
fn no_op(object: &Object, short: &str) -> Option<&'static str> {
    let value = super::settings::value(object, short).unwrap_or_default();
    match short {
        "enable-cors" if !super::settings::flag(object, short) => Some("is not true: no CORS"),
        "backend-protocol" if value.eq_ignore_ascii_case("HTTP") => Some("is HTTP, the default"),
        "x-forwarded-prefix" if super::settings::value(object, "rewrite-target").is_none() => {
            Some("is sent only with a rewrite-target: it does nothing here")
        }
        _ => None,
    }
}

/// A warning for each ingress-nginx annotation of `object` gatewasm does not carry out; on a
/// canary Ingress, where ingress-nginx ignores all but the canary ones, a note.
pub fn check(object: &Object, diagnostics: &mut Diagnostics) {
    let canary = super::canary::is_canary(object);
    for name in object.meta.annotations.keys() {
        let Some(short) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if super::canary::ANNOTATIONS.contains(&short) {
            continue;
        }
        if canary {
            diagnostics.push(at(
                object,
                Severity::Note,
                &join_key("metadata.annotations", name),
                format!(
                    "{name} on a canary Ingress: ingress-nginx ignores it, and so does gatewasm"
                ),
            ));
            continue;
        }
        if super::settings::ANNOTATIONS.contains(&short) {
            continue;
        }
        if let Some(why) = no_op(object, short) {
            diagnostics.push(at(
                object,
                Severity::Note,
                &join_key("metadata.annotations", name),
                format!("{name} {why}, in ingress-nginx as in gatewasm"),
            ));
            continue;
        }
        let why = NEVER
            .iter()
            .find(|(n, _)| *n == short)
            .map_or("not implemented yet", |(_, why)| why);
        diagnostics.push(
            at(
                object,
                Severity::Warning(Warning::UnsupportedAnnotation),
                &join_key("metadata.annotations", name),
                format!("{name} is not carried out ({why}): the Ingress routes as if it were absent"),
            )
            .with_help("remove it, or see the README's \"Migrating from ingress-nginx\" for what gatewasm supports"),
        );
    }
}
