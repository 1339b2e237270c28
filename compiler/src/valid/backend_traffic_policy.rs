//! Validated BackendTrafficPolicy: its targets and its rate-limit rules with every default
//! applied. Only `rateLimit` is compiled; validation refuses everything else.

use gatewasm_filter::blob::{Cidr, Unit};

use crate::model::LabelSelector;

/// A validated BackendTrafficPolicy spec.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendTrafficPolicy {
    /// Targets by name (`targetRef` and `targetRefs`), in the policy's namespace.
    pub targets: Vec<PolicyTarget>,
    /// Targets by label, in the policy's namespace.
    pub selectors: Vec<TargetSelector>,
    /// `rateLimit.local.rules`.
    pub local: Vec<RateLimitRule>,
    /// `rateLimit.global.rules`.
    pub global: Vec<RateLimitRule>,
    /// Buckets per Distinct rule (annotation `gatewasm.io/ratelimit-slots`, default 4096).
    pub slots: u32,
    /// How local rules count, when the annotations `gatewasm.io/ratelimit-burst-multiplier`
    /// or `gatewasm.io/ratelimit-status` ask for more than Envoy's windows.
    pub style: Option<LocalCounting>,
    /// `timeout.http.streamIdleTimeout` (zero disables it, as in Envoy).
    pub idle: Option<std::time::Duration>,
    /// `timeout.tcp.connectTimeout`.
    pub connect: Option<std::time::Duration>,
}

/// ingress-nginx's way of counting local rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalCounting {
    /// Continuous refill holding `requests × multiplier` more; `None` keeps windows.
    pub burst_multiplier: Option<u32>,
    /// The status of a denied request.
    pub status: u16,
}

/// What a policy can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// A Gateway (sectionName: a listener).
    Gateway,
    /// An HTTPRoute (sectionName: a rule name).
    HttpRoute,
    /// A GRPCRoute (sectionName: a rule name).
    GrpcRoute,
}

impl TargetKind {
    /// The kind as written.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Gateway => "Gateway",
            TargetKind::HttpRoute => "HTTPRoute",
            TargetKind::GrpcRoute => "GRPCRoute",
        }
    }
}

/// A target by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyTarget {
    /// The kind.
    pub kind: TargetKind,
    /// The name.
    pub name: String,
    /// A listener or rule name.
    pub section_name: Option<String>,
}

/// A target by label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSelector {
    /// The kind.
    pub kind: TargetKind,
    /// The labels.
    pub labels: LabelSelector,
}

/// A validated rate-limit rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitRule {
    /// Selectors from every `clientSelectors` entry (all must hold).
    pub selectors: Vec<RateLimitSelector>,
    /// Requests per unit.
    pub requests: u32,
    /// The window.
    pub unit: Unit,
    /// Tokens per request (`cost.request.number`, default 1).
    pub cost: u32,
    /// One bucket across every target.
    pub shared: bool,
    /// Send `x-ratelimit-*` headers (`xRateLimitHeaders` not `Off`).
    pub headers: bool,
    /// Where the rule is written: `spec.rateLimit.<local|global>.rules[i]`.
    pub field: String,
}

/// One condition of a rule.
#[derive(Clone, Debug, PartialEq)]
pub enum RateLimitSelector {
    /// A header (lowercase name).
    Header {
        /// Lowercase name.
        name: String,
        /// Condition.
        value: SelectorValue,
        /// Inverted.
        invert: bool,
    },
    /// A query parameter.
    Query {
        /// Name.
        name: String,
        /// Condition.
        value: SelectorValue,
        /// Inverted.
        invert: bool,
    },
    /// Methods (uppercase), OR'ed.
    Methods {
        /// Methods.
        methods: Vec<String>,
        /// Inverted.
        invert: bool,
    },
    /// The path.
    Path {
        /// Condition.
        path: crate::valid::PathMatch,
        /// Inverted.
        invert: bool,
    },
    /// The client address.
    Source {
        /// Range.
        cidr: Cidr,
        /// Per-address buckets.
        distinct: bool,
        /// Inverted.
        invert: bool,
    },
}

/// A header or query value condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectorValue {
    /// Equal.
    Exact(String),
    /// Whole-value regular expression.
    Regex(String),
    /// Any value, one bucket each.
    Distinct,
}
