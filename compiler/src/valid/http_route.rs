//! Validated HTTPRoute: defaulted rules and matches, filters as an enum, parsed durations.

use crate::model::{HttpMethod, LocalObjectReference, RedirectScheme, SessionPersistence};

use super::{GatewayDuration, HeaderMatch, HeaderModifierSpec, Mirror, ParentRef, WeightedBackend};

/// A validated HTTPRoute spec.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRoute {
    /// Parents, defaults filled in; at most 32.
    pub parent_refs: Vec<ParentRef>,
    /// Host names (lowercase RFC 1123, maybe `*.` wildcards); at most 16.
    pub hostnames: Vec<String>,
    /// 1–16 rules (one PathPrefix `/` rule when the manifest has none).
    pub rules: Vec<HttpRule>,
}

/// A validated rule.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRule {
    /// Rule name, unique within the route.
    pub name: Option<String>,
    /// At least one match (PathPrefix `/` when the manifest has none); OR'ed.
    pub matches: Vec<HttpMatch>,
    /// Rule filters, in order. At most one of each kind except mirrors and extension refs;
    /// never both a redirect and a rewrite; no redirect when the rule has backends.
    pub filters: Vec<HttpFilter>,
    /// Backends with weights; empty when the rule has none.
    pub backends: Vec<WeightedBackend<HttpFilter>>,
    /// Timeouts; `backend_request <= request` unless `request` is zero (disabled).
    pub timeouts: Timeouts,
    /// Retry policy.
    pub retry: Option<Retry>,
    /// Session persistence, as written.
    pub session_persistence: Option<SessionPersistence>,
}

/// A validated match: all conditions must hold.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpMatch {
    /// Path condition (default PathPrefix `/`).
    pub path: PathMatch,
    /// Header conditions, names unique (case-insensitively).
    pub headers: Vec<HeaderMatch>,
    /// Query parameter conditions, names unique.
    pub query_params: Vec<HeaderMatch>,
    /// Method condition.
    pub method: Option<HttpMethod>,
}

/// A path condition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathMatch {
    /// The whole path; a valid absolute path.
    Exact(String),
    /// Element-wise prefix; a valid absolute path.
    PathPrefix(String),
    /// A regular expression that compiles with regex-lite.
    RegularExpression(String),
}

/// A validated filter.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpFilter {
    /// Edit request headers.
    RequestHeaderModifier(HeaderModifierSpec),
    /// Edit response headers.
    ResponseHeaderModifier(HeaderModifierSpec),
    /// Copy requests to another backend.
    RequestMirror(Mirror),
    /// Answer with a redirect.
    RequestRedirect(Redirect),
    /// Rewrite before forwarding.
    UrlRewrite(Rewrite),
    /// CORS.
    Cors(Cors),
    /// External authorization (experimental), untyped.
    ExternalAuth(serde_json::Value),
    /// An implementation-specific filter.
    ExtensionRef(LocalObjectReference),
}

/// A validated redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// Scheme; the request's when `None`.
    pub scheme: Option<RedirectScheme>,
    /// Precise host name; the request's host when `None`.
    pub hostname: Option<String>,
    /// Path change; the request's path when `None`.
    pub path: Option<PathModifier>,
    /// Port; see the README for what `None` means.
    pub port: Option<u16>,
    /// 301, 302 (default), 303, 307 or 308.
    pub status_code: u16,
}

/// A validated URL rewrite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrite {
    /// New precise host name.
    pub hostname: Option<String>,
    /// Path change.
    pub path: Option<PathModifier>,
}

/// A path change. `ReplacePrefixMatch` only appears in rules with exactly one match, a
/// PathPrefix one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathModifier {
    /// Replace the whole path.
    ReplaceFullPath(String),
    /// Replace the matched prefix (may be empty).
    ReplacePrefixMatch(String),
}

/// Validated CORS settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins (`*` alone, or origins).
    pub allow_origins: Vec<String>,
    /// Whether credentials are allowed (default false).
    pub allow_credentials: bool,
    /// Allowed methods (`*` alone, or method names).
    pub allow_methods: Vec<String>,
    /// Allowed headers (`*` alone, or header names).
    pub allow_headers: Vec<String>,
    /// Exposed headers (`*` alone, or header names).
    pub expose_headers: Vec<String>,
    /// Seconds a preflight may be cached (default 5, at least 1).
    pub max_age: u32,
}

/// Parsed timeouts; zero means disabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Whole request.
    pub request: Option<GatewayDuration>,
    /// One backend attempt.
    pub backend_request: Option<GatewayDuration>,
}

/// A validated retry policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Status codes (400–599) that trigger a retry.
    pub codes: Vec<u16>,
    /// Maximum attempts (at least 1 when set).
    pub attempts: Option<u32>,
    /// Delay between attempts.
    pub backoff: Option<GatewayDuration>,
}
