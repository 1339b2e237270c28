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
