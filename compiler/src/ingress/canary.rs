//! ingress-nginx canaries: an Ingress marked `canary: "true"` adds no paths of its own; it
//! sends part of the traffic of the main Ingress's path with the same host, path and
//! pathType to its backend. Per request, as ingress-nginx decides (its `balancer.lua`):
//! the `canary-by-header` header (`always` → canary, `never` → main, or equal to
//! `canary-by-header-value`, or matching `canary-by-header-pattern`), then the
//! `canary-by-cookie` cookie (`always` / `never`), then `canary-weight` out of
//! `canary-weight-total` (never below 100).

use std::cell::Cell;

use serde_json::{json, Value};

use super::annotations::PREFIX;
use super::{at, settings, Served};
use crate::diag::{Diagnostics, Severity};
use crate::model::{IngressBackend, IngressPathType, Object};
use crate::warning::Warning;

/// The canary annotations, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 7] = [
    "canary",
    "canary-by-header",
    "canary-by-header-value",
    "canary-by-header-pattern",
    "canary-by-cookie",
    "canary-weight",
    "canary-weight-total",
];

/// One canary Ingress's settings.
#[derive(Debug, Clone, Default)]
pub struct Canary {
    header: Option<String>,
    header_value: Option<String>,
    header_pattern: Option<String>,
    cookie: Option<String>,
    weight: u32,
    total: u32,
}

/// Whether `object` is a canary (`canary: "true"`).
pub fn is_canary(object: &Object) -> bool {
    settings::flag(object, "canary")
}

/// The settings of the canary `object`; a weight that is not a number counts as 0, with a
/// warning, as ingress-nginx ignores it.
pub fn settings(object: &Object, diagnostics: &mut Diagnostics) -> Canary {
    let mut number = |name: &str, default: u32| -> u32 {
        let Some(text) = settings::value(object, name) else {
            return default;
        };
        text.parse().unwrap_or_else(|_| {
            let message = format!("{PREFIX}{name} is not a whole number: ingress-nginx ignores it");
            diagnostics.push(settings::unread(object, name, message));
            default
        })
    };
    let weight = number("canary-weight", 0);
    let total = number("canary-weight-total", 100).max(100);
    let text = |name: &str| settings::value(object, name).map(str::to_owned);
    Canary {
        header: text("canary-by-header"),
        header_value: text("canary-by-header-value"),
        header_pattern: text("canary-by-header-pattern"),
        cookie: text("canary-by-cookie"),
        weight,
        total,
    }
}

/// A main path's rules with its canary: the header and cookie rules first (a route's rules
/// of equal precedence are tried in order), then the weighted split. `main_rule` is the
/// path's rule (its match and its one backend), `canary` the canary's backendRef.
pub fn rules(main_rule: &Value, canary_backend: &Value, settings: &Canary) -> Vec<Value> {
    let matched = &main_rule["matches"][0];
    let main_backend = &main_rule["backendRefs"][0];
    let with_header = |name: &str, kind: &str, value: &str, backend: &Value| {
        let mut m = matched.clone();
        m["headers"] = json!([{"type": kind, "name": name, "value": value}]);
        json!({"matches": [m], "backendRefs": [backend]})
    };
    let mut out = Vec::new();
    if let Some(header) = &settings.header {
        match (&settings.header_value, &settings.header_pattern) {
            (Some(value), _) => out.push(with_header(header, "Exact", value, canary_backend)),
            (None, Some(pattern)) => out.push(with_header(
                header,
                "RegularExpression",
                &format!(".*(?:{pattern}).*"),
                canary_backend,
            )),
            (None, None) => {
                out.push(with_header(header, "Exact", "always", canary_backend));
                out.push(with_header(header, "Exact", "never", main_backend));
            }
        }
    }
    if let Some(cookie) = &settings.cookie {
        let cookie_is =
            |value: &str| format!("(?:.*;\\s*)?{}={value}(?:;.*)?", regex_lite::escape(cookie));
        out.push(with_header(
            "cookie",
            "RegularExpression",
            &cookie_is("always"),
            canary_backend,
        ));
        out.push(with_header(
            "cookie",
            "RegularExpression",
            &cookie_is("never"),
            main_backend,
        ));
    }
    let weight = settings.weight.min(settings.total);
    let split = match weight {
        0 => vec![main_backend.clone()],
        w if w == settings.total => vec![canary_backend.clone()],
        w => {
            let mut main = main_backend.clone();
            main["weight"] = json!(settings.total - w);
            let mut canary = canary_backend.clone();
            canary["weight"] = json!(w);
            vec![main, canary]
        }
    };
    out.push(json!({"matches": [matched], "backendRefs": split}));
    out
}

/// One canary path.
struct Entry<'a> {
    host: Option<String>,
    path: String,
    path_type: IngressPathType,
    served: &'a Served<'a>,
    settings: Canary,
    field: String,
    backend: &'a IngressBackend,
    used: Cell<bool>,
}

/// The canary of each main path, keyed by host, path and pathType, from the canary
/// Ingresses of a class (the first canary of a path wins: ingress-nginx keeps one).
pub struct Canaries<'a> {
    entries: Vec<Entry<'a>>,
}

/// What a main path's canary is.
pub struct Found<'a> {
    pub served: &'a Served<'a>,
    pub settings: &'a Canary,
    pub field: &'a str,
    pub backend: &'a IngressBackend,
}

impl<'a> Canaries<'a> {
    pub fn new(canaries: &'a [Served<'a>], diagnostics: &mut Diagnostics) -> Canaries<'a> {
        let mut entries: Vec<Entry<'a>> = Vec::new();
        for served in canaries {
            let settings = settings(served.object, diagnostics);
            for (i, rule) in served.spec.rules.iter().enumerate() {
                let host = rule.host.clone().filter(|h| !h.is_empty());
                let paths = rule.http.iter().flat_map(|h| h.paths.iter()).enumerate();
                for (j, path) in paths {
                    let value = path.path.clone().filter(|p| !p.is_empty());
                    let entry = Entry {
                        host: host.clone(),
                        path: value.unwrap_or_else(|| "/".into()),
                        path_type: path.path_type.unwrap_or(IngressPathType::Prefix),
                        served,
                        settings: settings.clone(),
                        field: format!("spec.rules[{i}].http.paths[{j}]"),
                        backend: &path.backend,
                        used: Cell::new(false),
                    };
                    let taken = entries.iter().any(|e| {
                        e.host == entry.host
                            && e.path == entry.path
                            && e.path_type == entry.path_type
                    });
                    if !taken {
                        entries.push(entry);
                    }
                }
            }
        }
        Canaries { entries }
    }

    /// The canary of the main path `path` (`path_type`) on `host`.
    pub fn of(
        &self,
        host: Option<&str>,
        path: &str,
        path_type: IngressPathType,
    ) -> Option<Found<'_>> {
        let e = self
            .entries
            .iter()
            .find(|e| e.host.as_deref() == host && e.path == path && e.path_type == path_type)?;
        e.used.set(true);
        Some(Found {
            served: e.served,
            settings: &e.settings,
            field: &e.field,
            backend: e.backend,
        })
    }

    /// A warning for each canary path no main path took.
    pub fn report_unused(&self, diagnostics: &mut Diagnostics) {
        for e in self.entries.iter().filter(|e| !e.used.get()) {
            diagnostics.push(at(
                e.served.object,
                Severity::Warning(Warning::UnsupportedAnnotation),
                &e.field,
                "a canary path with no main Ingress path of the same host, path and pathType: it receives no traffic",
            ));
        }
    }
}
