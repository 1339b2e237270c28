//! `permanent-redirect`, `temporal-redirect` (and their `-code`s) and `app-root`. nginx
//! answers them with `return <code> <url>`: the Location is the value as written, and nothing
//! of the request (path, query) is added, which a Gateway API RequestRedirect cannot say. Each
//! becomes an Envoy Gateway HTTPRouteFilter whose direct response carries that Location.
//! Both answer in nginx's rewrite phase, before the HTTP-to-HTTPS redirect and the canary
//! choice (docs/ingress-nginx-behaviour.md §5.3, §6.2).

use serde_json::{json, Value};

use super::annotations::PREFIX;
use super::settings::{unread, value};
use super::Served;
use crate::diag::Diagnostics;
use crate::model::Object;

/// The annotations read here, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 5] = [
    "permanent-redirect",
    "permanent-redirect-code",
    "temporal-redirect",
    "temporal-redirect-code",
    "app-root",
];

/// A redirect to a Location as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The status.
    pub status: u16,
    /// The Location.
    pub location: String,
    /// The annotation it comes from, without the prefix.
    pub annotation: &'static str,
}

impl Redirect {
    /// The HTTPRouteFilter `name` answering with this redirect, in the namespace of `served`.
    pub fn route_filter(&self, served: &Served<'_>, name: &str) -> Value {
        let spec = json!({"directResponse": {
            "statusCode": self.status,
            "header": {"set": [{"name": "Location", "value": self.location}]},
        }});
        super::envoy_gateway::object(served, "HTTPRouteFilter", name, spec)
    }
}

/// ingress-nginx's `URLIsValidRegex` (`^[-._~a-zA-Z0-9/:,?&=]*$`): the characters a
/// redirect's URL may have.
fn url_chars(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~/:,?&=".contains(c))
}

/// The redirect every path of `object` answers with, if any: `temporal-redirect` wins over
/// `permanent-redirect`. A value ingress-nginx ignores, or one gatewasm cannot carry out, is a
/// warning and no redirect.
pub fn read(object: &Object, diagnostics: &mut Diagnostics) -> Option<Redirect> {
    let mut warn = |name: &str, message: String| diagnostics.push(unread(object, name, message));
    let (name, url, status) = if let Some(url) = value(object, "temporal-redirect") {
        if !url.starts_with("http") {
            warn("temporal-redirect", format!("{PREFIX}temporal-redirect {url} has no http or https scheme: ingress-nginx ignores it, and so does gatewasm"));
            return None;
        }
        let code = code(object, "temporal-redirect-code", 302, 300..=307, &mut warn)?;
        ("temporal-redirect", url, code)
    } else {
        let url = value(object, "permanent-redirect")?;
        let code = code(object, "permanent-redirect-code", 301, 300..=308, &mut warn)?;
        ("permanent-redirect", url, code)
    };
    if !url_chars(url) {
        warn(name, format!("{PREFIX}{name} {url} has characters ingress-nginx refuses: it ignores the annotation, and so does gatewasm"));
        return None;
    }
    if matches!(status, 300 | 304 | 305 | 306) {
        warn(name, format!("{PREFIX}{name} with code {status} answers the URL as a body in nginx, which gatewasm does not do: the paths are served"));
        return None;
    }
    Some(Redirect {
        status,
        location: url.to_owned(),
        annotation: name,
    })
}

/// The status annotation `name`: `default` when unset or outside `range`, as ingress-nginx
/// reads it; `None` (a warning) when it is not a number, where ingress-nginx drops the
/// whole Ingress and gatewasm only the redirect.
fn code(
    object: &Object,
    name: &str,
    default: u16,
    range: std::ops::RangeInclusive<u16>,
    warn: &mut impl FnMut(&str, String),
) -> Option<u16> {
    let Some(text) = value(object, name) else {
        return Some(default);
    };
    match text.parse::<i64>() {
        Ok(n) => Some(
            u16::try_from(n)
                .ok()
                .filter(|c| range.contains(c))
                .unwrap_or(default),
        ),
        Err(_) => {
            warn(name, format!("{PREFIX}{name} {text} is not a number: ingress-nginx refuses the whole Ingress; gatewasm serves its paths without the redirect"));
            None
        }
    }
}

/// The redirect a host of `object` answers `/` with (`app-root`): 302 to the path. nginx makes
/// the Location absolute with the request's scheme and Host; a relative one names the same
/// URL to a client.
pub fn app_root(object: &Object, diagnostics: &mut Diagnostics) -> Option<Redirect> {
    let root = value(object, "app-root")?;
    let path_like =
        root.starts_with('/') && !root.chars().any(|c| c.is_whitespace() || c.is_control());
    if !path_like {
        diagnostics.push(unread(object, "app-root", format!("{PREFIX}app-root {root} is not a path: ingress-nginx ignores it, and so does gatewasm")));
        return None;
    }
    Some(Redirect {
        status: 302,
        location: root.to_owned(),
        annotation: "app-root",
    })
}
