//! The route table as it travels in the blob.
//!
//! The compiler has already done every cross-object decision (which listener a route attached
//! to, hostname intersection, ReferenceGrants, backend validity, precedence); what is left here
//! is exactly what a request needs. Tables are flat and refer to each other by typed ids.
//!
//! Per request the engine walks: the listener for the connection's port (and SNI), that
//! listener's host groups whose hostname matches the request (most specific first), and each
//! group's matches in precedence order. The first match that holds decides the rule.

use serde::{Deserialize, Serialize};

use super::ids::{BackendId, HostGroupId, MatchId, RegexId, RouteId, RuleId};

/// Everything the filter needs to route for one Gateway.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteTable {
    /// `namespace/name` of the Gateway this table was compiled for (for logs).
    pub gateway: String,
    /// The Gateway's listeners.
    pub listeners: Vec<Listener>,
    /// Hostname groups; each listener lists its own in specificity order.
    #[serde(deserialize_with = "super::sized::vec")]
    pub host_groups: Vec<HostGroup>,
    /// Every match of every attached rule.
    #[serde(deserialize_with = "super::sized::vec")]
    pub matches: Vec<Match>,
    /// Every attached rule.
    #[serde(deserialize_with = "super::sized::vec")]
    pub rules: Vec<Rule>,
    /// Every route with at least one attached rule (names for logs and `explain`).
    #[serde(deserialize_with = "super::sized::vec")]
    pub routes: Vec<Route>,
    /// Every backend (Service port) some rule or mirror may send to.
    pub backends: Vec<Backend>,
    /// Regular expressions, parsed at decode time and compiled on first use.
    #[serde(deserialize_with = "super::sized::vec")]
    pub regexes: Vec<String>,
    /// BackendTrafficPolicy rate limits and the rules they govern.
    pub rate_limits: super::ratelimit::RateLimits,
    /// SecurityPolicy client-address authorization and the rules it governs. Not part of
    /// the table's own encoding: format 3 appends it ([`super::wire`]).
    #[serde(skip)]
    pub access: super::access::Access,
    /// BackendTrafficPolicy stream idle timeouts and the rules they govern. Format 4 appends
    /// it ([`super::wire`]).
    #[serde(skip)]
    pub idle: super::idle::IdleTimeouts,
}

impl RouteTable {
    /// The most mirrors one forwarded request can carry (its rule's and its backend's
    /// RequestMirror filters together): how many mirror slots Envoy's route must offer.
    pub fn mirror_slots(&self) -> usize {
        self.rules
            .iter()
            .map(|r| {
                let backend = r.backends.iter().map(|b| b.filters.mirrors.len()).max();
                r.filters.mirrors.len() + backend.unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }
}

/// A Gateway listener.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    /// The listener's `name` (sectionName).
    pub name: String,
    /// The port the listener binds; requests are matched to listeners by destination port.
    pub port: u16,
    /// HTTPS: the TLS SNI selects the listener and a Host of another listener is misdirected.
    pub tls: bool,
    /// The listener hostname, `None` for a listener that takes every host.
    pub hostname: Option<HostPattern>,
    /// The listener's host groups, most specific hostname first.
    pub host_groups: Vec<HostGroupId>,
}

/// A hostname as Gateway API writes it: exact, or a `*.` wildcard over one or more labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostPattern {
    /// Matches only this lowercase name.
    Exact(String),
    /// `*.example.com` stored as the suffix `.example.com`; matches `a.example.com` and
    /// `a.b.example.com`, never `example.com`.
    Wildcard(String),
}

/// The matches of every route attached to a listener that share one effective hostname.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostGroup {
    /// The effective hostname (route hostname intersected with the listener's); `None` serves
    /// every host the listener takes.
    pub host: Option<HostPattern>,
    /// Matches in precedence order: the first that holds wins.
    pub matches: Vec<MatchId>,
}

/// One match of a rule: every condition must hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The rule this match selects.
    pub rule: RuleId,
    /// Path condition (HTTPRoute) or gRPC service/method condition (GRPCRoute).
    pub path: PathMatch,
    /// Uppercase HTTP method, if the match names one.
    pub method: Option<String>,
    /// Header conditions; names are lowercase.
    pub headers: Vec<HeaderMatch>,
    /// Query parameter conditions; names are case-sensitive.
    pub query: Vec<QueryMatch>,
}

/// A condition on the normalised request path (without the query).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PathMatch {
    /// The path equals the value.
    Exact(String),
    /// The path starts with the value's segments; the value has no trailing slash unless it
    /// is `/` itself.
    Prefix(String),
    /// The whole path matches the expression.
    Regex(RegexId),
    /// A gRPC call `/<service>/<method>`; an absent part matches any value.
    Grpc {
        /// Condition on the fully qualified service name.
        service: Option<StringMatch>,
        /// Condition on the method name.
        method: Option<StringMatch>,
    },
}

/// A condition on a string value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StringMatch {
    /// Equal bytes.
    Exact(String),
    /// The whole value matches the expression.
    Regex(RegexId),
}

/// A condition on the first value of a request header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeaderMatch {
    /// Lowercase header name.
    pub name: String,
    /// Condition on the value.
    pub value: StringMatch,
}

/// A condition on the first value of a query parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryMatch {
    /// Parameter name, compared case-sensitively.
    pub name: String,
    /// Condition on the value.
    pub value: StringMatch,
}

/// Route kinds; they differ in how an unmatched or failed request is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteKind {
    /// HTTPRoute.
    Http,
    /// GRPCRoute.
    Grpc,
}

/// An HTTPRoute or GRPCRoute, named for logs and explanations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Which API kind the route is.
    pub kind: RouteKind,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// Where the route was defined, `file:line`.
    pub source: String,
}

/// A rule of a route and what it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The route this rule belongs to.
    pub route: RouteId,
    /// Position of the rule in `spec.rules`.
    pub index: u16,
    /// The rule's `name`, if any.
    pub name: Option<String>,
    /// Filters that run whichever backend is chosen.
    pub filters: Sparse<Filters>,
    /// Weighted backends; empty means the rule answers 500 unless a filter answers first.
    pub backends: Vec<WeightedBackend>,
    /// Timeouts handed to Envoy's router.
    pub timeouts: Sparse<Timeouts>,
    /// Retries handed to Envoy's router.
    pub retry: Option<Box<Retry>>,
}

/// A backendRef of a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightedBackend {
    /// Relative weight; 0 is never chosen.
    pub weight: u32,
    /// The backend, or `None` when the reference is invalid: its share of traffic gets 500.
    pub backend: Option<BackendId>,
    /// Filters that run only when this backend is chosen.
    pub filters: Sparse<Filters>,
}

/// A backend Service port and the Envoy cluster that serves it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Service port.
    pub port: u16,
    /// Envoy cluster name, rendered from the compile-time template.
    pub cluster: String,
}

/// The filters of a rule or of a backendRef. Each is boxed: most rules have none, and an
/// unboxed set would cost every rule of a large table several hundred bytes of memory (the
/// wire format is the same either way).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    /// RequestHeaderModifier.
    pub request_headers: Option<Box<HeaderModifier>>,
    /// ResponseHeaderModifier.
    pub response_headers: Option<Box<HeaderModifier>>,
    /// RequestRedirect: the filter answers with a redirect.
    pub redirect: Option<Box<Redirect>>,
    /// URLRewrite.
    pub rewrite: Option<Box<Rewrite>>,
    /// RequestMirror, possibly several.
    pub mirrors: Vec<Mirror>,
    /// CORS.
    pub cors: Option<Box<Cors>>,
}

impl Filters {
    /// True when no filter is configured.
    pub fn is_empty(&self) -> bool {
        self == &NO_FILTERS
    }
}

static NO_FILTERS: Filters = Filters {
    request_headers: None,
    response_headers: None,
    redirect: None,
    rewrite: None,
    mirrors: Vec::new(),
    cors: None,
};

/// A value most rules leave empty, held as nothing when it is empty: inline, an empty
/// [`Filters`] cost every rule and backendRef 32 bytes of a VM's memory and empty [`Timeouts`]
/// every rule 32 more (together some 900 KiB at 10,000 rules). Reads see a `T` either way;
/// the wire format is `T`'s own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sparse<T>(Option<Box<T>>);

/// A type with an empty value [`Sparse`] does not store.
pub trait Empty: Sized + PartialEq + 'static {
    /// The empty value.
    fn empty() -> &'static Self;
}

impl Empty for Filters {
    fn empty() -> &'static Self {
        &NO_FILTERS
    }
}

impl Empty for Timeouts {
    fn empty() -> &'static Self {
        &NO_TIMEOUTS
    }
}

static NO_TIMEOUTS: Timeouts = Timeouts {
    request_ms: None,
    backend_request_ms: None,
};

impl<T: Empty> From<T> for Sparse<T> {
    fn from(value: T) -> Self {
        Sparse((&value != T::empty()).then(|| Box::new(value)))
    }
}

impl<T: Empty> core::ops::Deref for Sparse<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_deref().unwrap_or(T::empty())
    }
}

impl<T: Empty + Serialize> Serialize for Sparse<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        T::serialize(self, serializer)
    }
}

impl<'de, T: Empty + Deserialize<'de>> Deserialize<'de> for Sparse<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Sparse::from)
    }
}

/// Header edits: `set` replaces, `add` appends, `remove` deletes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeaderModifier {
    /// Headers to replace (lowercase names).
    pub set: Vec<(String, String)>,
    /// Headers to append (lowercase names).
    pub add: Vec<(String, String)>,
    /// Headers to delete (lowercase names).
    pub remove: Vec<String>,
}

/// RequestRedirect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Redirect {
    /// `http` or `https`; `None` keeps the request's scheme.
    pub scheme: Option<String>,
    /// `None` keeps the request's host (without port).
    pub hostname: Option<String>,
    /// `None` follows the spec's port rules (scheme default, else the listener port).
    pub port: Option<u16>,
    /// `None` keeps the request path.
    pub path: Option<PathModifier>,
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
}

/// URLRewrite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rewrite {
    /// Replaces the Host / `:authority`.
    pub hostname: Option<String>,
    /// Replaces the path.
    pub path: Option<PathModifier>,
}

/// How a redirect or rewrite changes the path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PathModifier {
    /// ReplaceFullPath.
    Full(String),
    /// ReplacePrefixMatch: `matched` is the rule's PathPrefix (no trailing slash unless `/`).
    Prefix {
        /// The prefix the rule matched on.
        matched: String,
        /// What replaces it.
        replacement: String,
    },
    /// Every match of an expression in the path replaced by a substitution (Envoy Gateway's
    /// HTTPRouteFilter `ReplaceRegexMatch`; `\\1` names a group). Added in format version 3:
    /// a table using it is written as version 3, so an older filter refuses it by version
    /// instead of failing to read it.
    Regex {
        /// The expression, searched for anywhere in the path.
        regex: RegexId,
        /// What replaces each match.
        substitution: String,
    },
    /// Only in a redirect: the whole `Location`, sent as written; the request's scheme,
    /// host, port, path and query are not used (Envoy Gateway's HTTPRouteFilter direct
    /// response with a Location header, ingress-nginx's `return <code> <url>`). Added in
    /// format version 3.
    Location(String),
}

impl RouteTable {
    /// The lowest format version that can carry this table: 3 when a rule rewrites by
    /// regular expression or redirects to a Location as written, or when client-address
    /// authorization or an ingress-nginx-style local rate limit applies somewhere; else 2.
    pub fn format_version(&self) -> u16 {
        let regex = |m: &Option<PathModifier>| {
            matches!(
                m,
                Some(PathModifier::Regex { .. } | PathModifier::Location(_))
            )
        };
        let uses_regex_paths = self.rules.iter().any(|r| {
            core::iter::once(&*r.filters)
                .chain(r.backends.iter().map(|b| &*b.filters))
                .any(|f| {
                    f.rewrite.as_ref().is_some_and(|w| regex(&w.path))
                        || f.redirect.as_ref().is_some_and(|d| regex(&d.path))
                })
        });
        if !self.idle.is_empty() {
            4
        } else if uses_regex_paths || !self.access.is_empty() || !self.rate_limits.styles.is_empty()
        {
            3
        } else {
            2
        }
    }
}

/// RequestMirror: a fire-and-forget copy of the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mirror {
    /// Where the copy goes; `None` for an invalid reference (nothing is sent).
    pub backend: Option<BackendId>,
    /// Share of requests mirrored: `numerator / denominator`.
    pub numerator: u32,
    /// Denominator of the share, at least 1.
    pub denominator: u32,
}

/// CORS policy of a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cors {
    /// Allowed origins: `*`, exact `scheme://host[:port]`, or with a `*` wildcard host label.
    pub allow_origins: Vec<String>,
    /// Allowed methods (`*` alone means all).
    pub allow_methods: Vec<String>,
    /// Allowed request headers (`*` alone means all).
    pub allow_headers: Vec<String>,
    /// Response headers exposed to scripts.
    pub expose_headers: Vec<String>,
    /// Preflight cache lifetime in seconds.
    pub max_age: u32,
    /// Whether credentials are allowed.
    pub allow_credentials: bool,
}

/// HTTPRoute `retry`: Envoy's router retries the request on these terms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    /// Response statuses that trigger a retry (besides connection failures and resets).
    pub codes: Vec<u16>,
    /// How many retries at most; `None` leaves Envoy's default (1).
    pub attempts: Option<u32>,
}

/// Timeouts of a rule in milliseconds; 0 disables the timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    /// `timeouts.request`.
    pub request_ms: Option<u64>,
    /// `timeouts.backendRequest`.
    pub backend_request_ms: Option<u64>,
}
