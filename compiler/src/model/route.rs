//! Pieces shared by HTTPRoute and GRPCRoute (`apis/v1/shared_types.go`, `httproute_types.go`):
//! parent and backend references, header matches and modifiers, mirrors, session persistence.
//!
//! Fields the CRD defaults are `Option` here: this is the object as written. `validate` fills
//! the defaults into the types of [`crate::valid`].

use serde::Deserialize;

use super::meta::nullable;

/// `parentRefs[]`: the Gateway (or listener) a route wants to attach to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ParentReference {
    /// API group of the parent; default `gateway.networking.k8s.io`.
    pub group: Option<String>,
    /// Kind of the parent; default `Gateway`.
    pub kind: Option<String>,
    /// Namespace of the parent; default the route's namespace.
    pub namespace: Option<String>,
    /// Name of the parent.
    pub name: String,
    /// Listener name to attach to; all listeners when absent.
    pub section_name: Option<String>,
    /// Listener port to attach to (Extended); all ports when absent.
    pub port: Option<i32>,
}

/// A reference to a backend object (`BackendObjectReference`), as used by mirrors.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackendObjectReference {
    /// API group; default `""` (core).
    pub group: Option<String>,
    /// Kind; default `Service`.
    pub kind: Option<String>,
    /// Name of the backend.
    pub name: String,
    /// Namespace; default the route's namespace. Crossing namespaces needs a ReferenceGrant.
    pub namespace: Option<String>,
    /// Port; required when the backend is a Service.
    pub port: Option<i32>,
}

/// `backendRefs[]` of a rule: a backend, its share of traffic, and filters that run only
/// when this backend is chosen. `F` is the route kind's filter type.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[serde(bound = "F: Deserialize<'de>")]
pub struct BackendRef<F> {
    /// API group; default `""` (core).
    pub group: Option<String>,
    /// Kind; default `Service`.
    pub kind: Option<String>,
    /// Name of the backend.
    pub name: String,
    /// Namespace; default the route's namespace.
    pub namespace: Option<String>,
    /// Port; required when the backend is a Service.
    pub port: Option<i32>,
    /// Relative weight, 0–1,000,000; default 1.
    pub weight: Option<i32>,
    /// Filters applied when this backend is chosen.
    #[serde(default, deserialize_with = "nullable")]
    pub filters: Vec<F>,
}

/// How a string is matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum StringMatchType {
    /// Byte-for-byte equality (header names compare case-insensitively).
    Exact,
    /// A regular expression; the dialect is implementation-specific (gatewasm: regex-lite).
    RegularExpression,
}

/// `headers[]` of an HTTPRoute or GRPCRoute match, and `queryParams[]` of an HTTPRoute match
/// (the same shape).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HeaderMatch {
    /// How `value` is compared; default `Exact`.
    pub r#type: Option<StringMatchType>,
    /// Header (or query parameter) name.
    pub name: String,
    /// Value to compare with.
    pub value: String,
}

/// A header name and value, as in a header modifier's `set` and `add`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpHeader {
    /// Header name, case-insensitive.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// `requestHeaderModifier` / `responseHeaderModifier` (`HTTPHeaderFilter`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HeaderModifier {
    /// Headers to overwrite (or create).
    #[serde(default, deserialize_with = "nullable")]
    pub set: Vec<HttpHeader>,
    /// Headers to append a value to.
    #[serde(default, deserialize_with = "nullable")]
    pub add: Vec<HttpHeader>,
    /// Header names to delete.
    #[serde(default, deserialize_with = "nullable")]
    pub remove: Vec<String>,
}

/// `requestMirror`: send a copy of the request to another backend, ignoring its answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestMirror {
    /// Where the copies go.
    pub backend_ref: BackendObjectReference,
    /// Share of requests mirrored, 0–100 (Extended). Exclusive with `fraction`.
    pub percent: Option<i32>,
    /// Share of requests mirrored as a fraction (Extended). Exclusive with `percent`.
    pub fraction: Option<Fraction>,
}

/// `numerator / denominator`, as in a mirror's `fraction`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fraction {
    /// At least 0 and at most `denominator`.
    pub numerator: i32,
    /// At least 1; default 100.
    pub denominator: Option<i32>,
}

/// `extensionRef`: an implementation-specific filter object in the route's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// API group of the referent.
    pub group: String,
    /// Kind of the referent.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
}

/// `sessionPersistence` of a rule (Extended, experimental).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SessionPersistence {
    /// Name of the cookie or header carrying the session.
    pub session_name: Option<String>,
    /// Lifetime of a session, as a Gateway API duration.
    pub absolute_timeout: Option<String>,
    /// Idle time after which a session ends, as a Gateway API duration.
    pub idle_timeout: Option<String>,
    /// Where the session lives; default `Cookie`.
    pub r#type: Option<SessionPersistenceType>,
    /// Cookie settings.
    pub cookie_config: Option<CookieConfig>,
}

/// Where a persistent session is tracked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum SessionPersistenceType {
    /// In a cookie.
    Cookie,
    /// In a header.
    Header,
}

/// `sessionPersistence.cookieConfig`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CookieConfig {
    /// Whether the cookie outlives the browser session; default `Session`.
    pub lifetime_type: Option<CookieLifetimeType>,
}

/// Cookie lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum CookieLifetimeType {
    /// A session cookie.
    Session,
    /// A cookie with an expiry (`absoluteTimeout`).
    Permanent,
}
