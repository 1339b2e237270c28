//! `enable-cors` and the `cors-*` set, read with ingress-nginx's defaults and validation
//! (docs/ingress-nginx-behaviour.md §9), as a Gateway API CORS filter on every forwarding rule
//! of the Ingress's paths. The engine matches origins exactly or by wildcard host, where
//! ingress-nginx's expression, anchored only at its end, also lets in any Origin that ends
//! with an allowed one; that weakness is not copied.

use serde_json::{json, Value};

use super::annotations::PREFIX;
use super::settings::{flag, unread, value};
use crate::diag::Diagnostics;
use crate::model::Object;

/// The annotations read here, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 7] = [
    "enable-cors",
    "cors-allow-origin",
    "cors-allow-methods",
    "cors-allow-headers",
    "cors-expose-headers",
    "cors-allow-credentials",
    "cors-max-age",
];

const DEFAULT_METHODS: &str = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
const DEFAULT_HEADERS: &str = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization";
const DEFAULT_MAX_AGE: i64 = 1_728_000;
/// The methods a Gateway API CORS filter can allow.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The CORS filter `object` asks for; `None` without `enable-cors: true`, or when no origin
/// it lists is valid (ingress-nginx then never sends CORS headers).
pub fn read(object: &Object, diagnostics: &mut Diagnostics) -> Option<Value> {
    if !flag(object, "enable-cors") {
        return None;
    }
    let mut warn = |name: &str, message: String| diagnostics.push(unread(object, name, message));
    let origins = origins(value(object, "cors-allow-origin").unwrap_or("*"), &mut warn);
    if origins.is_empty() {
        warn("cors-allow-origin", format!("{PREFIX}cors-allow-origin has no valid origin: ingress-nginx never sends CORS headers then, and neither does gatewasm"));
        return None;
    }
    let methods = list(object, "cors-allow-methods", DEFAULT_METHODS, |m| {
        m.chars().all(|c| c.is_ascii_alphabetic())
    });
    let (methods, unknown): (Vec<String>, Vec<String>) = methods
        .into_iter()
        .map(|m| m.to_ascii_uppercase())
        .partition(|m| METHODS.contains(&m.as_str()));
    if !unknown.is_empty() {
        warn("cors-allow-methods", format!("{PREFIX}cors-allow-methods {} cannot be allowed by a Gateway API CORS filter: they are left out", unknown.join(", ")));
    }
    let token = |h: &str| {
        h.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    };
    let headers = list(object, "cors-allow-headers", DEFAULT_HEADERS, token);
    let expose = list(object, "cors-expose-headers", "", |h| h == "*" || token(h));
    let credentials = match value(object, "cors-allow-credentials") {
        Some(v) => super::settings::parse_bool(v).unwrap_or(true),
        None => true,
    };
    let max_age = value(object, "cors-max-age")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_MAX_AGE)
        .clamp(1, i64::from(i32::MAX));
    let mut cors = json!({
        "allowOrigins": origins,
        "allowMethods": methods,
        "allowHeaders": headers,
        "allowCredentials": credentials,
        "maxAge": max_age,
    });
    if !expose.is_empty() {
        cors["exposeHeaders"] = json!(expose);
    }
    Some(json!({"type": "CORS", "cors": cors}))
}

/// The allowed origins: `*` anywhere makes the whole list `*`; each other entry must be
/// `http(s)://[*.]host[:port]`, and one that is not is left out with a warning.
fn origins(text: &str, warn: &mut impl FnMut(&str, String)) -> Vec<String> {
    let entries: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.contains(&"*") {
        return vec!["*".to_owned()];
    }
    let mut out = Vec::new();
    for entry in entries {
        if origin(entry) {
            out.push(entry.to_owned());
        } else {
            warn("cors-allow-origin", format!("{PREFIX}cors-allow-origin {entry} is not scheme://[*.]host[:port] over http or https: it is left out"));
        }
    }
    out
}

fn origin(entry: &str) -> bool {
    let Some((scheme, rest)) = entry.split_once("://") else {
        return false;
    };
    let host_port = rest.strip_prefix("*.").unwrap_or(rest);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A comma-separated annotation as its entries; `default` when it is unset or an entry fails
/// `valid`, as ingress-nginx falls back.
fn list(object: &Object, name: &str, default: &str, valid: impl Fn(&str) -> bool) -> Vec<String> {
    let split = |text: &str| -> Vec<String> {
        text.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match value(object, name) {
        Some(v) if split(v).iter().all(|e| valid(e)) => split(v),
        _ => split(default),
    }
}
