//! GRPCRoute as written (`apis/v1/grpcroute_types.go`). Shares parent and backend references,
//! header matches and modifiers with HTTPRoute ([`super::route`]).

use serde::Deserialize;

use super::meta::nullable;
use super::route::{
    BackendRef, HeaderMatch, HeaderModifier, LocalObjectReference, ParentReference, RequestMirror,
    SessionPersistence, StringMatchType,
};

/// `spec` of a GRPCRoute.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrpcRouteSpec {
    /// Gateways (or listeners) to attach to.
    #[serde(default, deserialize_with = "nullable")]
    pub parent_refs: Vec<ParentReference>,
    /// Host names this route serves.
    #[serde(default, deserialize_with = "nullable")]
    pub hostnames: Vec<String>,
    /// Rules; unlike HTTPRoute there is no default rule.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<GrpcRouteRule>,
}

/// `rules[]` of a GRPCRoute.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrpcRouteRule {
    /// Optional rule name, unique within the route.
    pub name: Option<String>,
    /// Conditions, any of which selects the rule; empty matches every call.
    #[serde(default, deserialize_with = "nullable")]
    pub matches: Vec<GrpcRouteMatch>,
    /// Filters applied to every call the rule handles.
    #[serde(default, deserialize_with = "nullable")]
    pub filters: Vec<GrpcRouteFilter>,
    /// Backends.
    #[serde(default, deserialize_with = "nullable")]
    pub backend_refs: Vec<BackendRef<GrpcRouteFilter>>,
    /// Session persistence (experimental).
    pub session_persistence: Option<SessionPersistence>,
}

/// `matches[]` of a GRPCRoute rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrpcRouteMatch {
    /// Service and method condition; every call when absent.
    pub method: Option<GrpcMethodMatch>,
    /// Metadata (header) conditions.
    #[serde(default, deserialize_with = "nullable")]
    pub headers: Vec<HeaderMatch>,
}

/// `matches[].method`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrpcMethodMatch {
    /// How `service` and `method` compare; default `Exact`.
    pub r#type: Option<StringMatchType>,
    /// Fully qualified service name (`package.Service`); any when absent.
    pub service: Option<String>,
    /// Method name; any when absent.
    pub method: Option<String>,
}

/// `filters[]` of a GRPCRoute rule or backendRef.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrpcRouteFilter {
    /// Which filter this is.
    pub r#type: GrpcRouteFilterType,
    /// For `RequestHeaderModifier`.
    pub request_header_modifier: Option<HeaderModifier>,
    /// For `ResponseHeaderModifier`.
    pub response_header_modifier: Option<HeaderModifier>,
    /// For `RequestMirror`.
    pub request_mirror: Option<RequestMirror>,
    /// For `ExtensionRef`.
    pub extension_ref: Option<LocalObjectReference>,
}

/// GRPCRoute filter types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum GrpcRouteFilterType {
    /// Edit request metadata.
    RequestHeaderModifier,
    /// Edit response metadata.
    ResponseHeaderModifier,
    /// Copy calls to another backend.
    RequestMirror,
    /// An implementation-specific filter.
    ExtensionRef,
}

impl GrpcRouteFilterType {
    /// The spelling used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            GrpcRouteFilterType::RequestHeaderModifier => "RequestHeaderModifier",
            GrpcRouteFilterType::ResponseHeaderModifier => "ResponseHeaderModifier",
            GrpcRouteFilterType::RequestMirror => "RequestMirror",
            GrpcRouteFilterType::ExtensionRef => "ExtensionRef",
        }
    }
}
