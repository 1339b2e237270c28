//! HTTPRoute as written (`apis/v1/httproute_types.go`, standard channel plus the experimental
//! fields: CORS, retry, session persistence, ExternalAuth, named rules).
//!
//! Filters are one struct with a `type` and one optional field per type, not a tagged enum, so
//! that a bad field inside a filter is reported on its own line; `validate` checks that the
//! field matching `type` (and only it) is set and builds [`crate::valid::HttpFilter`].

use serde::Deserialize;

use super::meta::nullable;
use super::route::{
    BackendRef, HeaderMatch, HeaderModifier, LocalObjectReference, ParentReference, RequestMirror,
    SessionPersistence,
};

/// `spec` of an HTTPRoute.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// Gateways (or listeners) to attach to.
    #[serde(default, deserialize_with = "nullable")]
    pub parent_refs: Vec<ParentReference>,
    /// Host names this route serves; every host the listener accepts when empty.
    #[serde(default, deserialize_with = "nullable")]
    pub hostnames: Vec<String>,
    /// Rules; `None` when omitted, which the CRD defaults to one rule matching PathPrefix `/`.
    pub rules: Option<Vec<HttpRouteRule>>,
    /// Experimental (GEP-3793): whether the route attaches to default Gateways (`All`/`None`).
    pub use_default_gateways: Option<String>,
}

/// `rules[]`: matches OR'ed together, then filters, then a weighted pick of a backend.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRouteRule {
    /// Optional rule name (a SectionName), unique within the route.
    pub name: Option<String>,
    /// Conditions, any of which selects the rule; absent or empty means PathPrefix `/`.
    #[serde(default, deserialize_with = "nullable")]
    pub matches: Vec<HttpRouteMatch>,
    /// Filters applied to every request the rule handles.
    #[serde(default, deserialize_with = "nullable")]
    pub filters: Vec<HttpRouteFilter>,
    /// Backends; with none (and no redirect) requests get 500.
    #[serde(default, deserialize_with = "nullable")]
    pub backend_refs: Vec<BackendRef<HttpRouteFilter>>,
    /// Request timeouts (Extended).
    pub timeouts: Option<HttpRouteTimeouts>,
    /// Retry policy (Extended, experimental).
    pub retry: Option<HttpRouteRetry>,
    /// Session persistence (Extended, experimental).
    pub session_persistence: Option<SessionPersistence>,
}

/// `matches[]`: every condition present must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRouteMatch {
    /// Path condition; default PathPrefix `/`.
    pub path: Option<HttpPathMatch>,
    /// Header conditions, keyed by name.
    #[serde(default, deserialize_with = "nullable")]
    pub headers: Vec<HeaderMatch>,
    /// Query parameter conditions, keyed by name (Extended).
    #[serde(default, deserialize_with = "nullable")]
    pub query_params: Vec<HeaderMatch>,
    /// HTTP method condition (Extended).
    pub method: Option<HttpMethod>,
}

/// `matches[].path`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpPathMatch {
    /// How `value` is compared; default `PathPrefix`.
    pub r#type: Option<PathMatchType>,
    /// The path; default `/`.
    pub value: Option<String>,
}

/// How a request path is matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum PathMatchType {
    /// The whole path, byte for byte.
    Exact,
    /// Path elements prefix: `/foo` matches `/foo` and `/foo/bar`, not `/foobar`.
    PathPrefix,
    /// A regular expression (Implementation-specific; gatewasm: regex-lite, whole path).
    RegularExpression,
}

/// HTTP methods a match may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
}

/// `filters[]` of a rule or backendRef. Exactly the field named by `type` must be set.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRouteFilter {
    /// Which filter this is.
    pub r#type: HttpRouteFilterType,
    /// For `RequestHeaderModifier`.
    pub request_header_modifier: Option<HeaderModifier>,
    /// For `ResponseHeaderModifier`.
    pub response_header_modifier: Option<HeaderModifier>,
    /// For `RequestMirror`.
    pub request_mirror: Option<RequestMirror>,
    /// For `RequestRedirect`.
    pub request_redirect: Option<HttpRequestRedirect>,
    /// For `URLRewrite`.
    #[serde(rename = "urlRewrite")]
    pub url_rewrite: Option<HttpUrlRewrite>,
    /// For `CORS`.
    pub cors: Option<HttpCors>,
    /// For `ExternalAuth` (experimental); kept untyped, gatewasm does not implement it.
    pub external_auth: Option<serde_json::Value>,
    /// For `ExtensionRef`.
    pub extension_ref: Option<LocalObjectReference>,
}

/// HTTPRoute filter types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum HttpRouteFilterType {
    /// Edit request headers.
    RequestHeaderModifier,
    /// Edit response headers.
    ResponseHeaderModifier,
    /// Copy requests to another backend.
    RequestMirror,
    /// Answer with a redirect.
    RequestRedirect,
    /// Rewrite host and/or path before forwarding.
    #[serde(rename = "URLRewrite")]
    UrlRewrite,
    /// Answer CORS preflights and add CORS headers.
    #[serde(rename = "CORS")]
    Cors,
    /// Ask an external service to authorize the request (experimental).
    ExternalAuth,
    /// An implementation-specific filter.
    ExtensionRef,
}

impl HttpRouteFilterType {
    /// The spelling used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpRouteFilterType::RequestHeaderModifier => "RequestHeaderModifier",
            HttpRouteFilterType::ResponseHeaderModifier => "ResponseHeaderModifier",
            HttpRouteFilterType::RequestMirror => "RequestMirror",
            HttpRouteFilterType::RequestRedirect => "RequestRedirect",
            HttpRouteFilterType::UrlRewrite => "URLRewrite",
            HttpRouteFilterType::Cors => "CORS",
            HttpRouteFilterType::ExternalAuth => "ExternalAuth",
            HttpRouteFilterType::ExtensionRef => "ExtensionRef",
        }
    }
}

/// `requestRedirect`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRequestRedirect {
    /// Scheme of the Location; default the request's.
    pub scheme: Option<RedirectScheme>,
    /// Host of the Location; default the request's host without port.
    pub hostname: Option<String>,
    /// Path change; default the request's path.
    pub path: Option<HttpPathModifier>,
    /// Port of the Location; see the README for the defaulting rules.
    pub port: Option<i32>,
    /// 301, 302, 303, 307 or 308; default 302.
    pub status_code: Option<i32>,
}

/// Redirect schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedirectScheme {
    /// `http`, well-known port 80.
    Http,
    /// `https`, well-known port 443.
    Https,
}

/// `urlRewrite`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpUrlRewrite {
    /// New Host header.
    pub hostname: Option<String>,
    /// Path change.
    pub path: Option<HttpPathModifier>,
}

/// `path` of a redirect or rewrite.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpPathModifier {
    /// Which of the two value fields applies.
    pub r#type: PathModifierType,
    /// For `ReplaceFullPath`.
    pub replace_full_path: Option<String>,
    /// For `ReplacePrefixMatch`; may be empty.
    pub replace_prefix_match: Option<String>,
}

/// Path modifier types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum PathModifierType {
    /// Replace the whole path.
    ReplaceFullPath,
    /// Replace the part matched by the rule's PathPrefix match.
    ReplacePrefixMatch,
}

/// `cors` (Extended, experimental before v1.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpCors {
    /// Allowed origins (`*`, `scheme://host[:port]`, wildcard hosts).
    #[serde(default, deserialize_with = "nullable")]
    pub allow_origins: Vec<String>,
    /// Whether credentials are allowed.
    pub allow_credentials: Option<bool>,
    /// Allowed methods, or `*`.
    #[serde(default, deserialize_with = "nullable")]
    pub allow_methods: Vec<String>,
    /// Allowed request headers, or `*`.
    #[serde(default, deserialize_with = "nullable")]
    pub allow_headers: Vec<String>,
    /// Response headers exposed to scripts, or `*`.
    #[serde(default, deserialize_with = "nullable")]
    pub expose_headers: Vec<String>,
    /// Seconds a preflight answer may be cached; default 5.
    pub max_age: Option<i32>,
}

/// `timeouts`, as Gateway API durations (`1h2m3s4ms` style).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRouteTimeouts {
    /// Whole request, including retries; `0s` disables it.
    pub request: Option<String>,
    /// One attempt to the backend; at most `request`.
    pub backend_request: Option<String>,
}

/// `retry` (experimental).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRouteRetry {
    /// HTTP status codes (400–599) that trigger a retry.
    #[serde(default, deserialize_with = "nullable")]
    pub codes: Vec<i32>,
    /// Maximum attempts.
    pub attempts: Option<i32>,
    /// Delay between attempts, as a Gateway API duration.
    pub backoff: Option<String>,
}
