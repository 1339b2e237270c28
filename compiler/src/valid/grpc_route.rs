//! Validated GRPCRoute: defaulted method match type, filters as an enum.

use crate::model::{LocalObjectReference, SessionPersistence, StringMatchType};

use super::{HeaderMatch, HeaderModifierSpec, Mirror, ParentRef, WeightedBackend};

/// A validated GRPCRoute spec.
#[derive(Clone, Debug, PartialEq)]
pub struct GrpcRoute {
    /// Parents, defaults filled in.
    pub parent_refs: Vec<ParentRef>,
    /// Host names.
    pub hostnames: Vec<String>,
    /// At most 16 rules; may be empty.
    pub rules: Vec<GrpcRule>,
}

/// A validated rule.
#[derive(Clone, Debug, PartialEq)]
pub struct GrpcRule {
    /// Rule name, unique within the route.
    pub name: Option<String>,
    /// Matches, OR'ed; empty matches every call.
    pub matches: Vec<GrpcMatch>,
    /// Rule filters; at most one of each header modifier.
    pub filters: Vec<GrpcFilter>,
    /// Backends with weights.
    pub backends: Vec<WeightedBackend<GrpcFilter>>,
    /// Session persistence, as written.
    pub session_persistence: Option<SessionPersistence>,
}

/// A validated match.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GrpcMatch {
    /// Service/method condition; any call when `None`.
    pub method: Option<GrpcMethodMatch>,
    /// Metadata conditions.
    pub headers: Vec<HeaderMatch>,
}

/// A validated method condition: at least one of `service` and `method` is set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GrpcMethodMatch {
    /// How both names compare (default `Exact`).
    pub r#type: StringMatchType,
    /// Service name (with `Exact`, a valid dotted identifier).
    pub service: Option<String>,
    /// Method name (with `Exact`, a valid identifier).
    pub method: Option<String>,
}

/// A validated filter.
#[derive(Clone, Debug, PartialEq)]
pub enum GrpcFilter {
    /// Edit request metadata.
    RequestHeaderModifier(HeaderModifierSpec),
    /// Edit response metadata.
    ResponseHeaderModifier(HeaderModifierSpec),
    /// Copy calls to another backend.
    RequestMirror(Mirror),
    /// An implementation-specific filter.
    ExtensionRef(LocalObjectReference),
}
