//! Envoy Gateway's BackendTrafficPolicy as written (`api/v1alpha1/backendtrafficpolicy_types.go`
//! and `ratelimit_types.go`, v1.9). gatewasm compiles its `rateLimit`, `timeout.http.streamIdleTimeout` and
//! `timeout.tcp.connectTimeout`; every other feature of
//! the policy is kept aside in [`BackendTrafficPolicySpec::other`] so validation can say that
//! it is not compiled instead of dropping it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::meta::nullable;
use super::LabelSelectorRequirement;

/// `spec` of a BackendTrafficPolicy.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTrafficPolicySpec {
    /// The deprecated single target.
    #[serde(default)]
    pub target_ref: Option<PolicyTargetReference>,
    /// Targets by name.
    #[serde(default, deserialize_with = "nullable")]
    pub target_refs: Vec<PolicyTargetReference>,
    /// Targets by label.
    #[serde(default, deserialize_with = "nullable")]
    pub target_selectors: Vec<TargetSelector>,
    /// Rate limits.
    #[serde(default)]
    pub rate_limit: Option<RateLimitSpec>,
    /// Timeouts.
    #[serde(default)]
    pub timeout: Option<TimeoutSpec>,
    /// Every other field (`mergeType`, `retry`, `loadBalancer`, ...): not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `timeout`: gatewasm compiles `http.streamIdleTimeout` and `tcp.connectTimeout`; the rest is
/// kept to be reported.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutSpec {
    /// HTTP timeouts.
    #[serde(default)]
    pub http: Option<HttpTimeoutSpec>,
    /// TCP timeouts.
    #[serde(default)]
    pub tcp: Option<TcpTimeoutSpec>,
    /// Anything newer: not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `timeout.tcp`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpTimeoutSpec {
    /// How long a connection to a backend may take to set up.
    #[serde(default)]
    pub connect_timeout: Option<String>,
    /// Anything newer: not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `timeout.http`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpTimeoutSpec {
    /// How long a stream may go without activity in either direction.
    #[serde(default)]
    pub stream_idle_timeout: Option<String>,
    /// `requestTimeout`, `connectionIdleTimeout`, ...: not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `LocalPolicyTargetReferenceWithSectionName`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyTargetReference {
    /// API group of the target.
    pub group: String,
    /// Kind of the target.
    pub kind: String,
    /// Name of the target, in the policy's namespace.
    pub name: String,
    /// A listener of a Gateway, or a rule of a route.
    #[serde(default)]
    pub section_name: Option<String>,
}

/// `TargetSelector`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetSelector {
    /// API group (default `gateway.networking.k8s.io`).
    #[serde(default)]
    pub group: Option<String>,
    /// Kind of the targets.
    pub kind: String,
    /// Labels the targets carry.
    #[serde(default, deserialize_with = "nullable")]
    pub match_labels: BTreeMap<String, String>,
    /// Further label requirements.
    #[serde(default, deserialize_with = "nullable")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// `RateLimitSpec`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitSpec {
    /// Deprecated `Global` or `Local`: only that section is used.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// Limits counted by the rate limit service.
    #[serde(default)]
    pub global: Option<RateLimitRules>,
    /// Limits counted in the proxy.
    #[serde(default)]
    pub local: Option<RateLimitRules>,
}

/// `GlobalRateLimit` / `LocalRateLimit`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitRules {
    /// The rules.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<RateLimitRule>,
}

/// `RateLimitRule`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitRule {
    /// Conditions (AND'ed); none: every request.
    #[serde(default, deserialize_with = "nullable")]
    pub client_selectors: Vec<RateLimitSelectCondition>,
    /// The limit.
    pub limit: RateLimitValue,
    /// Request and response cost.
    #[serde(default)]
    pub cost: Option<RateLimitCost>,
    /// One bucket across all targets.
    #[serde(default)]
    pub shared: Option<bool>,
    /// Count but never enforce (global only).
    #[serde(default)]
    pub shadow_mode: Option<bool>,
    /// `Off` or `DraftVersion03`.
    #[serde(default)]
    pub x_rate_limit_headers: Option<String>,
}

/// `RateLimitSelectCondition`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitSelectCondition {
    /// Header conditions (AND'ed).
    #[serde(default, deserialize_with = "nullable")]
    pub headers: Vec<ValueSelector>,
    /// Methods (OR'ed).
    #[serde(default, deserialize_with = "nullable")]
    pub methods: Vec<MethodSelector>,
    /// Path condition.
    #[serde(default)]
    pub path: Option<PathSelector>,
    /// Client address range.
    #[serde(default, rename = "sourceCIDR")]
    pub source_cidr: Option<SourceSelector>,
    /// Query parameter conditions (AND'ed).
    #[serde(default, deserialize_with = "nullable")]
    pub query_params: Vec<ValueSelector>,
}

/// `HeaderMatch` / `QueryParamMatch` of a rate-limit selector.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValueSelector {
    /// `Exact` (default), `RegularExpression` or `Distinct`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// Header or parameter name.
    pub name: String,
    /// The value (not with `Distinct`).
    #[serde(default)]
    pub value: Option<String>,
    /// Match when the value does not match.
    #[serde(default)]
    pub invert: Option<bool>,
}

/// `MethodMatch`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MethodSelector {
    /// The method.
    pub value: String,
    /// Match when the method differs.
    #[serde(default)]
    pub invert: Option<bool>,
}

/// `PathMatch` of a rate-limit selector.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PathSelector {
    /// `Exact`, `PathPrefix` (default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// The path (default `/`).
    #[serde(default)]
    pub value: Option<String>,
    /// Match when the path does not match.
    #[serde(default)]
    pub invert: Option<bool>,
}

/// `SourceMatch`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SourceSelector {
    /// `Exact` (default) or `Distinct`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// The CIDR range.
    pub value: String,
    /// Match when the client is outside the range.
    #[serde(default)]
    pub invert: Option<bool>,
}

/// `RateLimitValue`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitValue {
    /// Requests per unit.
    pub requests: i64,
    /// `Second` … `Year`.
    pub unit: String,
    /// Limit from dynamic metadata (not supported).
    #[serde(default)]
    pub from_metadata: Option<serde_json::Value>,
}

/// `RateLimitCost`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitCost {
    /// Cost on the request path.
    #[serde(default)]
    pub request: Option<RateLimitCostSpecifier>,
    /// Cost on the response path (not supported).
    #[serde(default)]
    pub response: Option<serde_json::Value>,
}

/// `RateLimitCostSpecifier`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimitCostSpecifier {
    /// `Number` or `Metadata`.
    pub from: String,
    /// The fixed cost.
    #[serde(default)]
    pub number: Option<i64>,
    /// Cost from dynamic metadata (not supported).
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}
