//! Compares what a gateway did with what a case expects.

use std::collections::BTreeMap;

use gatewasm_filter::decision_log;

use super::format::{CaseRequest, Expect, RedirectExpect};

/// What one request observably did: what the client got, and what the backend and mirrors
/// received. Produced alike by the native engine and by the `.wasm` in the test host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// HTTP status the client received.
    pub status: u16,
    /// gRPC status for gRPC calls (0 when the backend answered).
    pub grpc_status: Option<u32>,
    /// True when the gateway answered without a backend.
    pub local: bool,
    /// `namespace/service` that served the request.
    pub backend: Option<String>,
    /// `:path` the backend received.
    pub backend_path: Option<String>,
    /// `:authority` the backend received.
    pub backend_host: Option<String>,
    /// Headers the backend received (lowercase names, in order).
    pub request_headers: Vec<(String, String)>,
    /// Headers the client received (lowercase names, in order).
    pub response_headers: Vec<(String, String)>,
    /// Every mirrored copy of the request.
    pub mirrors: Vec<Mirrored>,
    /// The filter called the rate limit service but the run has none.
    pub needs_rate_limit_service: bool,
    /// The decision's fields as the access log prints them (`route` → `shop/app`).
    pub log: BTreeMap<String, String>,
}

/// A copy of the request that a mirror received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mirrored {
    /// `namespace/service` of the mirror.
    pub backend: String,
    /// `:path` the mirror received.
    pub path: String,
    /// The body the mirror received.
    pub body: Vec<u8>,
}

impl Observed {
    fn joined(headers: &[(String, String)], name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        let values: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    }

    /// The `,`-joined values of a request header the backend received.
    pub fn request_header(&self, name: &str) -> Option<String> {
        Self::joined(&self.request_headers, name)
    }

    /// The `,`-joined values of a response header the client received.
    pub fn response_header(&self, name: &str) -> Option<String> {
        Self::joined(&self.response_headers, name)
    }
}

/// Checks the expectations that concern a single response. Returns one line per mismatch.
///
/// `headers_named`: some expectation of the case names request headers, so the default
/// "every sent header arrives unchanged" does not apply.
pub fn single(
    req: &CaseRequest,
    expect: &Expect,
    seen: &Observed,
    headers_named: bool,
) -> Vec<String> {
    let mut bad = Vec::new();
    let mut fail = |msg: String| bad.push(msg);
    status(expect, seen, &mut fail);
    destination(req, expect, seen, &mut fail);
    request_headers(req, expect, seen, headers_named, &mut fail);
    response_headers(expect, seen, &mut fail);
    if let Some(want) = &expect.log {
        log(want, seen, &mut fail);
    }
    if let Some(want) = &expect.redirect {
        redirect(want, req, seen, &mut fail);
    }
    bad
}

/// `status` or `grpcStatus`.
fn status(expect: &Expect, seen: &Observed, fail: &mut impl FnMut(String)) {
    match (&expect.status, &expect.grpc_status) {
        (Some(want), _) if !want.contains(seen.status) => {
            fail(format!("status: expected {want}, got {}", seen.status));
        }
        (_, Some(want)) => {
            let got = match seen.grpc_status {
                Some(0) => "OK",
                Some(7) => "PermissionDenied",
                Some(8) => "ResourceExhausted",
                Some(12) => "Unimplemented",
                Some(14) => "Unavailable",
                Some(_) => "other",
                None if seen.status == 404 => "Unimplemented",
                None => "none",
            };
            if got != want {
                fail(format!(
                    "grpcStatus: expected {want}, got {got} (HTTP {})",
                    seen.status
                ));
            }
        }
        _ => {}
    }
}

/// Where the request went: `backend` (or the gateway answering), `namespace`,
/// `backendPath`, `backendHost`.
fn destination(req: &CaseRequest, expect: &Expect, seen: &Observed, fail: &mut impl FnMut(String)) {
    let forwarded = seen.backend.is_some();
    if let Some(want) = &expect.backend {
        if seen.backend.as_deref() != Some(want) {
            fail(format!("backend: expected {want}, got {:?}", seen.backend));
        }
    } else if expect.answered_by_gateway && forwarded {
        fail(format!(
            "expected the gateway to answer, but {:?} served it",
            seen.backend
        ));
    }
    if let Some(ns) = &expect.namespace {
        let got = seen.backend.as_deref().and_then(|b| b.split('/').next());
        if got != Some(ns.as_str()) {
            fail(format!("namespace: expected {ns}, got {got:?}"));
        }
    }
    if forwarded {
        let target = req.target();
        let want_path = expect.backend_path.as_deref().unwrap_or(&target);
        if seen.backend_path.as_deref() != Some(want_path) {
            fail(format!(
                "backendPath: expected {want_path}, got {:?}",
                seen.backend_path
            ));
        }
    }
    if let Some(want) = &expect.backend_host {
        if seen.backend_host.as_deref() != Some(want) {
            fail(format!(
                "backendHost: expected {want}, got {:?}",
                seen.backend_host
            ));
        }
    }
}

/// The request headers the backend got: as expected, or unchanged when no expectation names
/// any; and those that must be absent.
fn request_headers(
    req: &CaseRequest,
    expect: &Expect,
    seen: &Observed,
    headers_named: bool,
    fail: &mut impl FnMut(String),
) {
    let forwarded = seen.backend.is_some();
    match &expect.request_headers {
        Some(want) => {
            for (name, value) in want {
                let got = seen.request_header(name);
                if got.as_deref() != Some(value) {
                    fail(format!(
                        "request header {name}: expected {value:?}, got {got:?}"
                    ));
                }
            }
        }
        // Unchanged forwarding: every header the client sent reaches the backend as sent.
        None if forwarded && !headers_named && (200..300).contains(&seen.status) => {
            for (name, value) in &req.headers {
                let got = seen.request_header(name);
                if got.as_deref() != Some(value) {
                    fail(format!(
                        "request header {name} changed: sent {value:?}, backend got {got:?}"
                    ));
                }
            }
        }
        None => {}
    }
    for name in &expect.request_headers_absent {
        if let Some(v) = seen.request_header(name) {
            fail(format!(
                "request header {name} must be absent, backend got {v:?}"
            ));
        }
    }
}

/// The decision's fields in the access log; a `null` field must be absent.
fn log(want: &BTreeMap<String, serde_json::Value>, seen: &Observed, fail: &mut impl FnMut(String)) {
    for (field, value) in want {
        let want = match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        let got = seen.log.get(field);
        if got != want.as_ref() {
            fail(format!("log {field}: expected {want:?}, got {got:?}"));
        }
    }
}

/// The decision's fields as the access log names them, from the filter state the filter
/// wrote (`gatewasm_route` → `route`).
pub fn log_fields<'a>(
    state: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> BTreeMap<String, String> {
    state
        .into_iter()
        .filter_map(|(name, value)| {
            let name = std::str::from_utf8(name).ok()?;
            let state = decision_log::FIELDS.into_iter().find(|f| *f == name)?;
            let value = String::from_utf8_lossy(value).into_owned();
            Some((decision_log::log_key(state).to_owned(), value))
        })
        .collect()
}

/// The response headers the client got.
fn response_headers(expect: &Expect, seen: &Observed, fail: &mut impl FnMut(String)) {
    for (name, value) in &expect.response_headers {
        let got = seen.response_header(name);
        if got.as_deref() != Some(value) {
            fail(format!(
                "response header {name}: expected {value:?}, got {got:?}"
            ));
        }
    }
    for name in &expect.response_headers_absent {
        if let Some(v) = seen.response_header(name) {
            fail(format!("response header {name} must be absent, got {v:?}"));
        }
    }
    for (name, options) in &expect.response_headers_one_of {
        let squash = |s: &str| {
            if expect.ignore_whitespace {
                s.replace(' ', "")
            } else {
                s.to_owned()
            }
        };
        let got = seen.response_header(name);
        if !got
            .as_deref()
            .is_some_and(|g| options.iter().any(|o| squash(o) == squash(g)))
        {
            fail(format!(
                "response header {name}: expected one of {options:?}, got {got:?}"
            ));
        }
    }
}

fn redirect(
    want: &RedirectExpect,
    req: &CaseRequest,
    seen: &Observed,
    fail: &mut impl FnMut(String),
) {
    let Some(location) = seen.response_header("location") else {
        fail("redirect: no Location header".into());
        return;
    };
    let Some((scheme, rest)) = location.split_once("://") else {
        fail(format!("redirect: Location {location:?} is not absolute"));
        return;
    };
    let (authority, path) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let path = path.split('?').next().unwrap_or(path);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (authority, None),
    };
    let default_port = match scheme {
        "https" => 443,
        _ => 80,
    };
    if let Some(s) = &want.scheme {
        if s != scheme {
            fail(format!(
                "redirect scheme: expected {s}, got {scheme} ({location})"
            ));
        }
    }
    let want_host = want.host.clone().or_else(|| {
        req.host
            .as_deref()
            .map(|h| h.rsplit_once(':').map_or(h, |(h, _)| h).to_owned())
    });
    if let Some(h) = want_host {
        if h != host {
            fail(format!(
                "redirect host: expected {h}, got {host} ({location})"
            ));
        }
    }
    let got_port = port.filter(|p| *p != default_port);
    let want_port = want.port.filter(|p| *p != default_port);
    if got_port != want_port {
        fail(format!(
            "redirect port: expected {want_port:?}, got {got_port:?} ({location})"
        ));
    }
    if let Some(p) = &want.path {
        if p != path {
            fail(format!(
                "redirect path: expected {p}, got {path} ({location})"
            ));
        }
    }
}

/// Counts how often each backend served, for distribution checks.
pub fn backend_counts(seen: &[Observed]) -> BTreeMap<String, u32> {
    let mut counts = BTreeMap::new();
    for o in seen {
        let key = o
            .backend
            .clone()
            .unwrap_or_else(|| format!("(status {})", o.status));
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// Checks a binomial count: `hits` of `n` against probability `p` within 3 standard
/// deviations (the corpus README's rule for mirror percentages).
pub fn binomial_ok(hits: u32, n: u32, p: f64) -> bool {
    let n = f64::from(n);
    let expected = n * p;
    let slack = 3.0 * (n * p * (1.0 - p)).sqrt();
    (f64::from(hits) - expected).abs() <= slack.max(0.5)
}
