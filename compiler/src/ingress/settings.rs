//! The location annotations gatewasm carries out for every path of an Ingress, read with
//! ingress-nginx's defaults: `ssl-redirect` (true), `force-ssl-redirect` (false) and
//! `upstream-vhost`.

use super::annotations::PREFIX;
use super::at;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::model::Object;
use crate::source::join_key;
use crate::warning::Warning;

/// The annotations read here, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 4] = [
    "ssl-redirect",
    "force-ssl-redirect",
    "upstream-vhost",
    "use-regex",
];

/// What the annotations of one Ingress ask of its paths.
#[derive(Debug, Clone)]
pub struct Settings {
    /// HTTP requests for a host with a certificate get 308 to HTTPS.
    pub ssl_redirect: bool,
    /// HTTP requests get 308 to HTTPS even for a host without a certificate.
    pub force_ssl_redirect: bool,
    /// The Host header sent upstream instead of the client's.
    pub upstream_vhost: Option<String>,
}

impl Settings {
    /// Whether the paths of this Ingress answer HTTP with 308 to HTTPS, on a host that has a
    /// certificate (`tls`) or not.
    pub fn redirects(&self, tls: bool) -> bool {
        self.force_ssl_redirect || (self.ssl_redirect && tls)
    }
}

/// The settings of `object`; a value ingress-nginx would not read is a warning, and the
/// default stands, as it does there.
pub fn read(object: &Object, diagnostics: &mut Diagnostics) -> Settings {
    let mut warn = |name: &str, message: String| diagnostics.push(unread(object, name, message));
    let mut flag = |name: &str, default: bool| {
        match value(object, name) {
        None => default,
        Some(v) => parse_bool(v).unwrap_or_else(|| {
            warn(name, format!("{PREFIX}{name} is {v}, not true or false: ingress-nginx keeps its default, {default}"));
            default
        }),
    }
    };
    // Read for its warning; whether a host's paths are expressions is decided for the whole
    // host (`routes::regex_hosts`).
    flag("use-regex", false);
    let ssl_redirect = flag("ssl-redirect", true);
    let force_ssl_redirect = flag("force-ssl-redirect", false);
    let upstream_vhost = match value(object, "upstream-vhost") {
        Some(v) if v.contains('$') => {
            warn(
                "upstream-vhost",
                format!("{PREFIX}upstream-vhost {v} uses an nginx variable, which gatewasm cannot expand: the client's Host is sent"),
            );
            None
        }
        v => v.map(str::to_owned),
    };
    Settings {
        ssl_redirect,
        force_ssl_redirect,
        upstream_vhost,
    }
}

/// The warning for a value of the annotation `name` (without the prefix) of `object` that
/// ingress-nginx would not read either.
pub fn unread(object: &Object, name: &str, message: String) -> Diagnostic {
    at(
        object,
        Severity::Warning(Warning::UnsupportedAnnotation),
        &join_key("metadata.annotations", &format!("{PREFIX}{name}")),
        message,
    )
}

/// The annotation `name` (without the prefix) of `object`, trimmed, if set and not empty.
pub fn value<'a>(object: &'a Object, name: &str) -> Option<&'a str> {
    object
        .meta
        .annotations
        .get(&format!("{PREFIX}{name}"))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

/// Whether the boolean annotation `name` is true (a value that is not a boolean is false,
/// ingress-nginx's default for the flags read here).
pub fn flag(object: &Object, name: &str) -> bool {
    value(object, name).and_then(parse_bool) == Some(true)
}

/// A boolean as Go's `strconv.ParseBool` reads it, which ingress-nginx uses.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}
