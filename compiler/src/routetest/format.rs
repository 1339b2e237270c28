//! The route-test file format (the Gateway API conformance corpus format, also the format
//! users write their own route tests in). The `resources:` list is read by `load`; this
//! module reads everything else. See the README's "Route tests" section.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One route-test file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestFile {
    /// Test name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Provenance of a corpus file (ignored).
    #[serde(default)]
    pub source: Option<serde::de::IgnoredAny>,
    /// `HTTPRoute` or `GRPCRoute` (informational).
    #[serde(default)]
    pub route_kind: Option<String>,
    /// Upstream feature names (informational).
    #[serde(default)]
    pub features: Vec<String>,
    /// Core / Extended (informational).
    #[serde(default)]
    pub support: Option<String>,
    /// standard / experimental (informational).
    #[serde(default)]
    pub channel: Option<String>,
    /// Upstream provisional flag (informational).
    #[serde(default)]
    pub provisional: Option<bool>,
    /// Free-text notes.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Manifest files or folders to compile, relative to the test file (a gatewasm
    /// extension: keeps tests next to the manifests they check).
    #[serde(default)]
    pub manifests: Vec<String>,
    /// The objects to compile; read by `load`.
    #[serde(default)]
    pub resources: Option<serde::de::IgnoredAny>,
    /// Status assertions for the initial state.
    #[serde(default)]
    pub expect_status: Vec<StatusExpectation>,
    /// Traffic cases for the initial state.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// Later states after changes, each with its own cases.
    #[serde(default)]
    pub phases: Vec<Phase>,
}

/// A later state of the same file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Phase {
    /// Phase name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// What changes before this phase; the applied objects are read by `load`.
    #[serde(default)]
    pub changes: Changes,
    /// Status assertions after the change.
    #[serde(default)]
    pub expect_status: Vec<StatusExpectation>,
    /// Traffic cases after the change.
    #[serde(default)]
    pub cases: Vec<Case>,
}

/// Objects deleted or applied before a phase.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Changes {
    /// Objects to delete, by identity.
    #[serde(default)]
    pub delete: Vec<ObjectRef>,
    /// Objects to create or replace; read by `load`.
    #[serde(default)]
    pub apply: serde::de::IgnoredAny,
}

/// Identity of an object to delete.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectRef {
    /// apiVersion (informational; identity is kind/namespace/name).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Kind.
    pub kind: String,
    /// Namespace (default `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// One traffic case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    /// Case number within the file.
    pub id: serde_json::Value,
    /// Upstream case name, if any.
    #[serde(default)]
    pub name: Option<String>,
    /// The request to send.
    pub request: CaseRequest,
    /// Headers the backend adds to its response.
    #[serde(default)]
    pub upstream_response_headers: BTreeMap<String, String>,
    /// How long the backend waits before it answers, e.g. `3s` (gatewasm extension, for
    /// timeouts): a request or idle timeout shorter than this gets Envoy's 504.
    #[serde(default)]
    pub upstream_delay: Option<String>,
    /// True for cases derived from status facts rather than asserted upstream.
    #[serde(default)]
    pub derived: bool,
    /// Free text.
    #[serde(default)]
    pub note: Option<String>,
    /// What must happen.
    pub expect: Expect,
    /// Spec-based expectations where upstream asserts nothing; checked like `expect`.
    #[serde(default)]
    pub expect_derived: Option<Expect>,
    /// Values upstream writes down but never compares; not checked.
    #[serde(default)]
    pub upstream_unverified: Option<serde::de::IgnoredAny>,
    /// Send the request this many times (gatewasm extension, for rate limits); the
    /// expectations apply to every response unless `expect.statusCounts` counts them.
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Spread the requests round-robin over this many worker VMs sharing one shared-data
    /// store (gatewasm extension; the native engine has one store and ignores it).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Move the host clock forward before the case, e.g. `61s` (gatewasm extension).
    #[serde(default)]
    pub advance_clock: Option<String>,
    /// The client address, e.g. `10.0.0.7` (gatewasm extension, for sourceCIDR selectors).
    #[serde(default)]
    pub source_address: Option<String>,
}

/// The request of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseRequest {
    /// `namespace/name` of the Gateway the request is sent to.
    pub gateway: String,
    /// Listener port.
    pub port: u16,
    /// `http` or `https`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// `HTTP/2` or `h2c` when not HTTP/1.1.
    #[serde(default)]
    pub protocol: Option<String>,
    /// TLS SNI (https only).
    #[serde(default)]
    pub sni: Option<String>,
    /// Host header as sent; `null` is the Gateway's address.
    #[serde(default)]
    pub host: Option<String>,
    /// HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// Request target including the query.
    #[serde(default = "default_path")]
    pub path: String,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// gRPC call; the path is then `/<service>/<method>` and the method POST.
    #[serde(default)]
    pub grpc: Option<GrpcCall>,
    /// Request body, sent with its `content-length` (gatewasm extension; mirrors must
    /// receive it whole).
    #[serde(default)]
    pub body: Option<String>,
}

impl CaseRequest {
    /// The request target sent: the gRPC path for gRPC calls, else `path`.
    pub fn target(&self) -> String {
        match &self.grpc {
            Some(call) => format!("/{}/{}", call.service, call.method),
            None => self.path.clone(),
        }
    }
}

fn default_scheme() -> String {
    "http".into()
}

fn default_method() -> String {
    "GET".into()
}

fn default_path() -> String {
    "/".into()
}

/// A gRPC call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcCall {
    /// Fully qualified service name.
    pub service: String,
    /// Method name.
    pub method: String,
}

/// One status or a list of acceptable ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusSet {
    /// Exactly this status.
    One(u16),
    /// Any of these.
    Any(Vec<u16>),
}

impl StatusSet {
    /// True when `status` is acceptable.
    pub fn contains(&self, status: u16) -> bool {
        match self {
            StatusSet::One(s) => *s == status,
            StatusSet::Any(list) => list.contains(&status),
        }
    }
}

impl std::fmt::Display for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusSet::One(s) => write!(f, "{s}"),
            StatusSet::Any(list) => {
                let list: Vec<String> = list.iter().map(u16::to_string).collect();
                write!(f, "one of {}", list.join(", "))
            }
        }
    }
}

/// Where a redirect must point.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectExpect {
    /// Expected scheme.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Expected host; `null` is not checked.
    #[serde(default)]
    pub host: Option<String>,
    /// Expected port; `null` means none or the scheme's default.
    #[serde(default)]
    pub port: Option<u16>,
    /// Expected path.
    #[serde(default)]
    pub path: Option<String>,
}

/// A mirror that must receive a copy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorExpect {
    /// `namespace/service`.
    pub backend: String,
    /// Share of requests mirrored, default 100.
    #[serde(default)]
    pub percent: Option<u32>,
}

/// What must happen for a case. See the README's "Route tests" for each field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// HTTP status (or list).
    #[serde(default)]
    pub status: Option<StatusSet>,
    /// `OK` or `Unimplemented` (gatewasm also checks `Unavailable`, `PermissionDenied` and
    /// `ResourceExhausted`).
    #[serde(default)]
    pub grpc_status: Option<String>,
    /// `namespace/service` that serves the request; `null`: no backend.
    #[serde(default)]
    pub backend: Option<String>,
    /// Namespace of the serving backend.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Path and query the backend receives.
    #[serde(default)]
    pub backend_path: Option<String>,
    /// Host header the backend receives.
    #[serde(default)]
    pub backend_host: Option<String>,
    /// Headers the backend receives (values `,`-joined).
    #[serde(default)]
    pub request_headers: Option<BTreeMap<String, String>>,
    /// Headers the backend must not receive.
    #[serde(default)]
    pub request_headers_absent: Vec<String>,
    /// Headers the client receives.
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    /// Headers the client must not receive.
    #[serde(default)]
    pub response_headers_absent: Vec<String>,
    /// Header → acceptable `,`-joined values.
    #[serde(default)]
    pub response_headers_one_of: BTreeMap<String, Vec<String>>,
    /// Compare `responseHeadersOneOf` without spaces.
    #[serde(default)]
    pub ignore_whitespace: bool,
    /// Redirect target.
    #[serde(default)]
    pub redirect: Option<RedirectExpect>,
    /// Mirrors that receive a copy.
    #[serde(default)]
    pub mirrored_to: Vec<MirrorExpect>,
    /// Expected share of traffic per backend.
    #[serde(default)]
    pub backend_weights: BTreeMap<String, f64>,
    /// Allowed deviation of each share.
    #[serde(default)]
    pub weight_tolerance: Option<f64>,
    /// Each request lands on one of these backends.
    #[serde(default)]
    pub backend_in: Vec<String>,
    /// Headers each backend's requests carry.
    #[serde(default)]
    pub request_headers_by_backend: BTreeMap<String, BTreeMap<String, String>>,
    /// How many requests `backendIn` sends.
    #[serde(default)]
    pub repeat: Option<u32>,
    /// How many of the case's `repeat` responses had each status, e.g. `{200: 100, 429: 20}`
    /// (gatewasm extension).
    #[serde(default)]
    pub status_counts: BTreeMap<u16, u32>,
    /// The gateway answers itself (CORS preflight).
    #[serde(default)]
    pub answered_by_gateway: bool,
    /// The decision's fields in the access log's `gatewasm` object (`listener`, `route`,
    /// `rule`, `rule_name`); `null` for a field that must be absent (gatewasm extension).
    #[serde(default)]
    pub log: Option<BTreeMap<String, serde_json::Value>>,
    /// Pods behind the Service (not observable here: the backend check covers routing).
    #[serde(default)]
    pub serving_pods: Option<String>,
}

/// A status assertion (see the corpus README, "expectStatus entries").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusExpectation {
    /// `HTTPRoute`, `GRPCRoute` or `Gateway`.
    pub kind: String,
    /// `namespace/name` of the route.
    #[serde(default)]
    pub route: Option<String>,
    /// `namespace/name` of the parent Gateway.
    #[serde(default)]
    pub parent: Option<String>,
    /// Listener name of the parentRef (not used to match parents, as upstream).
    #[serde(default)]
    pub section_name: Option<String>,
    /// Condition type.
    #[serde(default, rename = "type")]
    pub condition_type: Option<String>,
    /// `"True"` or `"False"`.
    #[serde(default)]
    pub status: Option<String>,
    /// Expected reason; `null` means any.
    #[serde(default)]
    pub reason: Option<String>,
    /// The route has no accepted parent.
    #[serde(default)]
    pub no_accepted_parents: bool,
    /// `namespace/name` of a Gateway.
    #[serde(default)]
    pub gateway: Option<String>,
    /// The Gateway has no attached routes.
    #[serde(default)]
    pub zero_attached_routes: bool,
    /// Listener name.
    #[serde(default)]
    pub listener: Option<String>,
    /// Listener supportedKinds as `group/kind`.
    #[serde(default)]
    pub supported_kinds: Option<Vec<String>>,
    /// Listener attachedRoutes.
    #[serde(default)]
    pub attached_routes: Option<u32>,
    /// Listener conditions.
    #[serde(default)]
    pub conditions: Vec<ConditionExpect>,
    /// Every condition carries the latest observedGeneration.
    #[serde(default)]
    pub all_conditions_have_latest_observed_generation: bool,
}

/// A listener condition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionExpect {
    /// Condition type.
    #[serde(rename = "type")]
    pub condition_type: String,
    /// `"True"` or `"False"`.
    pub status: String,
}

/// Parses a route-test file (everything but the objects).
///
/// # Errors
/// The YAML error, with its location.
pub fn parse(text: &str) -> Result<TestFile, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}
