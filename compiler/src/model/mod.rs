//! The Kubernetes object model as written in manifests: Gateway API v1 (standard channel plus
//! the experimental fields the conformance corpus uses), the core Service and Namespace, and
//! Envoy Gateway's BackendTrafficPolicy (its `rateLimit`), HTTPRouteFilter (regex rewrites
//! and redirects) and SecurityPolicy (client-address authorization), and Gateway API's
//! BackendTLSPolicy kept untyped.
//!
//! These types mirror the API's Go structs with snake_case fields. Anything the CRD defaults
//! is an `Option` (or an empty list) here; `validate` applies the defaults and produces the
//! types in [`crate::valid`]. Unknown fields are rejected at load time (`deny_unknown_fields`)
//! and `status` is ignored.

mod backend_traffic_policy;
mod core;
mod eg_backend;
mod gateway;
mod grpc_route;
mod http_route;
mod http_route_filter;
mod ingress;
mod meta;
mod reference_grant;
mod route;
mod security_policy;

pub use self::backend_traffic_policy::{
    BackendTrafficPolicySpec, MethodSelector, PathSelector, PolicyTargetReference, RateLimitCost,
    RateLimitCostSpecifier, RateLimitRule, RateLimitRules, RateLimitSelectCondition, RateLimitSpec,
    RateLimitValue, SourceSelector, TargetSelector, TimeoutSpec, ValueSelector,
};
pub use self::core::{
    IntOrString, NamespaceSpec, ServicePort, ServiceProtocol, ServiceSpec, ServiceType,
};
pub use self::eg_backend::{EgBackendEndpoint, EgBackendSpec, EgBackendTls, EgIpSocket, EgSocket};
pub use self::gateway::{
    AllowedRoutes, FromNamespaces, GatewayAddress, GatewayClassSpec, GatewayInfrastructure,
    GatewaySpec, Listener, ListenerTls, LocalParametersReference, ParametersReference,
    ProtocolType, RouteGroupKind, RouteNamespaces, SecretObjectReference, TlsModeType,
};
pub use self::grpc_route::{
    GrpcMethodMatch, GrpcRouteFilter, GrpcRouteFilterType, GrpcRouteMatch, GrpcRouteRule,
    GrpcRouteSpec,
};
pub use self::http_route::{
    HttpCors, HttpMethod, HttpPathMatch, HttpPathModifier, HttpRequestRedirect, HttpRouteFilter,
    HttpRouteFilterType, HttpRouteMatch, HttpRouteRetry, HttpRouteRule, HttpRouteSpec,
    HttpRouteTimeouts, HttpUrlRewrite, PathMatchType, PathModifierType, RedirectScheme,
};
pub use self::http_route_filter::{
    EgDirectResponse, EgPathModifier, EgUrlRewrite, HttpRouteFilterSpec, ReplaceRegexMatch,
};
pub use self::ingress::{
    HttpIngressPath, HttpIngressRuleValue, IngressBackend, IngressClassSpec, IngressPathType,
    IngressRule, IngressServiceBackend, IngressSpec, IngressTls, ServiceBackendPort,
};
pub(crate) use self::meta::RawMeta;
pub use self::meta::{LabelSelector, LabelSelectorRequirement, ObjectMeta, SelectorOperator};
pub use self::reference_grant::{ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo};
pub use self::route::{
    BackendObjectReference, BackendRef, CookieConfig, CookieLifetimeType, Fraction, HeaderMatch,
    HeaderModifier, HttpHeader, LocalObjectReference, ParentReference, RequestMirror,
    SessionPersistence, SessionPersistenceType, StringMatchType,
};
pub use self::security_policy::{Authorization, AuthorizationRule, Principal, SecurityPolicySpec};

use crate::source::Source;

/// API group of the Gateway API kinds.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
/// API group of Envoy Gateway's policy kinds.
pub const ENVOY_GATEWAY_GROUP: &str = "gateway.envoyproxy.io";
/// API group of Ingress and IngressClass.
pub const NETWORKING_GROUP: &str = "networking.k8s.io";

/// The kinds gatewasm compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `gateway.networking.k8s.io` GatewayClass.
    GatewayClass,
    /// `gateway.networking.k8s.io` Gateway.
    Gateway,
    /// `gateway.networking.k8s.io` HTTPRoute.
    HttpRoute,
    /// `gateway.networking.k8s.io` GRPCRoute.
    GrpcRoute,
    /// `gateway.networking.k8s.io` ReferenceGrant.
    ReferenceGrant,
    /// Core v1 Service.
    Service,
    /// Core v1 Namespace.
    Namespace,
    /// `gateway.envoyproxy.io` BackendTrafficPolicy (rate limits).
    BackendTrafficPolicy,
    /// `gateway.envoyproxy.io` HTTPRouteFilter (regular-expression path rewrites).
    HttpRouteFilter,
    /// `gateway.envoyproxy.io` SecurityPolicy (client-address authorization).
    SecurityPolicy,
    /// `gateway.envoyproxy.io` Backend (endpoints outside Services, TLS without verification).
    EgBackend,
    /// `gateway.networking.k8s.io` BackendTLSPolicy (upstream TLS), untyped: only the Envoy
    /// bootstrap emitter reads it.
    BackendTlsPolicy,
    /// `networking.k8s.io` Ingress, turned into Gateway API objects before validation.
    Ingress,
    /// `networking.k8s.io` IngressClass.
    IngressClass,
}

impl Kind {
    /// Every kind, for lookups by name.
    pub const ALL: [Kind; 14] = [
        Kind::GatewayClass,
        Kind::Gateway,
        Kind::HttpRoute,
        Kind::GrpcRoute,
        Kind::ReferenceGrant,
        Kind::Service,
        Kind::Namespace,
        Kind::BackendTrafficPolicy,
        Kind::HttpRouteFilter,
        Kind::SecurityPolicy,
        Kind::EgBackend,
        Kind::BackendTlsPolicy,
        Kind::Ingress,
        Kind::IngressClass,
    ];

    /// The `kind:` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Kind::GatewayClass => "GatewayClass",
            Kind::Gateway => "Gateway",
            Kind::HttpRoute => "HTTPRoute",
            Kind::GrpcRoute => "GRPCRoute",
            Kind::ReferenceGrant => "ReferenceGrant",
            Kind::Service => "Service",
            Kind::Namespace => "Namespace",
            Kind::BackendTrafficPolicy => "BackendTrafficPolicy",
            Kind::HttpRouteFilter => "HTTPRouteFilter",
            Kind::SecurityPolicy => "SecurityPolicy",
            Kind::EgBackend => "Backend",
            Kind::BackendTlsPolicy => "BackendTLSPolicy",
            Kind::Ingress => "Ingress",
            Kind::IngressClass => "IngressClass",
        }
    }

    /// API group (`""` for core).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Service | Kind::Namespace => "",
            Kind::BackendTrafficPolicy
            | Kind::HttpRouteFilter
            | Kind::SecurityPolicy
            | Kind::EgBackend => ENVOY_GATEWAY_GROUP,
            Kind::Ingress | Kind::IngressClass => NETWORKING_GROUP,
            _ => GATEWAY_GROUP,
        }
    }

    /// API versions gatewasm accepts for this kind. All share one schema.
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            Kind::GatewayClass | Kind::Gateway | Kind::HttpRoute | Kind::ReferenceGrant => {
                &["v1", "v1beta1"]
            }
            Kind::GrpcRoute | Kind::Service | Kind::Namespace => &["v1"],
            Kind::Ingress | Kind::IngressClass => &["v1"],
            Kind::BackendTrafficPolicy
            | Kind::HttpRouteFilter
            | Kind::SecurityPolicy
            | Kind::EgBackend => &["v1alpha1"],
            Kind::BackendTlsPolicy => &["v1", "v1alpha3"],
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn is_namespaced(self) -> bool {
        !matches!(
            self,
            Kind::GatewayClass | Kind::Namespace | Kind::IngressClass
        )
    }

    /// The kind named `kind` in API group `group`, if gatewasm compiles it.
    pub fn from_group_kind(group: &str, kind: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.name() == kind)
    }
}

/// Splits an `apiVersion` into group and version (`v1` → `("", "v1")`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// The typed content of a loaded object.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// A GatewayClass.
    GatewayClass(GatewayClassSpec),
    /// A Gateway.
    Gateway(GatewaySpec),
    /// An HTTPRoute.
    HttpRoute(HttpRouteSpec),
    /// A GRPCRoute.
    GrpcRoute(GrpcRouteSpec),
    /// A ReferenceGrant.
    ReferenceGrant(ReferenceGrantSpec),
    /// A Service.
    Service(ServiceSpec),
    /// A Namespace.
    Namespace(NamespaceSpec),
    /// A BackendTrafficPolicy.
    BackendTrafficPolicy(BackendTrafficPolicySpec),
    /// An HTTPRouteFilter.
    HttpRouteFilter(HttpRouteFilterSpec),
    /// A SecurityPolicy.
    SecurityPolicy(SecurityPolicySpec),
    /// An Envoy Gateway Backend.
    EgBackend(EgBackendSpec),
    /// A BackendTLSPolicy's `spec`, untyped.
    BackendTlsPolicy(serde_json::Value),
    /// An Ingress.
    Ingress(IngressSpec),
    /// An IngressClass.
    IngressClass(IngressClassSpec),
}

impl Body {
    /// The kind of this body.
    pub fn kind(&self) -> Kind {
        match self {
            Body::GatewayClass(_) => Kind::GatewayClass,
            Body::Gateway(_) => Kind::Gateway,
            Body::HttpRoute(_) => Kind::HttpRoute,
            Body::GrpcRoute(_) => Kind::GrpcRoute,
            Body::ReferenceGrant(_) => Kind::ReferenceGrant,
            Body::Service(_) => Kind::Service,
            Body::Namespace(_) => Kind::Namespace,
            Body::BackendTrafficPolicy(_) => Kind::BackendTrafficPolicy,
            Body::HttpRouteFilter(_) => Kind::HttpRouteFilter,
            Body::SecurityPolicy(_) => Kind::SecurityPolicy,
            Body::EgBackend(_) => Kind::EgBackend,
            Body::BackendTlsPolicy(_) => Kind::BackendTlsPolicy,
            Body::Ingress(_) => Kind::Ingress,
            Body::IngressClass(_) => Kind::IngressClass,
        }
    }
}

/// One loaded object: where it came from, its metadata and its typed spec.
#[derive(Clone, Debug)]
pub struct Object {
    /// File, line and field positions.
    pub source: Source,
    /// `apiVersion` as written (one of [`Kind::versions`]).
    pub api_version: String,
    /// Metadata, with the namespace defaulted.
    pub meta: ObjectMeta,
    /// The spec.
    pub body: Body,
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        self.body.kind()
    }

    /// Identity of the object: kind, namespace and name.
    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            kind: self.kind(),
            namespace: self.meta.namespace.clone(),
            name: self.meta.name.clone(),
        }
    }

    /// `Kind namespace/name` (or `Kind name`), as diagnostics name objects.
    pub fn label(&self) -> String {
        self.key().to_string()
    }
}

/// Identity of an object: two objects with the same key are the same object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// Kind.
    pub kind: Kind,
    /// Namespace, `""` for cluster-scoped kinds.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        object_label(f, self.kind.name(), &self.namespace, &self.name)
    }
}

/// Writes `Kind namespace/name`, or `Kind name` without a namespace.
pub(crate) fn object_label(
    f: &mut impl std::fmt::Write,
    kind: &str,
    namespace: &str,
    name: &str,
) -> std::fmt::Result {
    if namespace.is_empty() {
        write!(f, "{kind} {name}")
    } else {
        write!(f, "{kind} {namespace}/{name}")
    }
}
