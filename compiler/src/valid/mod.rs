//! The validated object model: what `validate` hands to `resolve` and `lower`.
//!
//! Compared with [`crate::model`] (the objects as written), every CRD default is filled in
//! and no longer optional, closed sets are enums (filters are one variant per type, carrying
//! only their own settings), numbers have their checked ranges (`u16` ports, `u32` weights),
//! durations are parsed, and every CRD validation rule holds. Later stages never re-check.

mod backend_tls_policy;
mod backend_traffic_policy;
mod eg_backend;
mod gateway;
mod grpc_route;
mod http_route;
mod http_route_filter;
mod security_policy;

use std::time::Duration;

pub use self::backend_tls_policy::{
    BackendTlsPolicy, CaCertificateRef, SubjectAltName, TlsTargetRef, TlsValidation,
};
pub use self::backend_traffic_policy::{
    BackendTrafficPolicy, LocalCounting, PolicyTarget, RateLimitRule, RateLimitSelector,
    SelectorValue, TargetKind, TargetSelector,
};
pub use self::eg_backend::EgBackend;
pub use self::gateway::{
    AllowedRoutes, Gateway, Listener, ListenerTls, RouteGroupKind, RouteNamespaces, SecretRef,
};
pub use self::grpc_route::{GrpcFilter, GrpcMatch, GrpcMethodMatch, GrpcRoute, GrpcRule};
pub use self::http_route::{
    Cors, HttpFilter, HttpMatch, HttpRoute, HttpRule, PathMatch, PathModifier, Redirect, Retry,
    Rewrite, Timeouts,
};
pub use self::http_route_filter::{HttpRouteFilter, LocationRedirect, RegexRewrite};
pub use self::security_policy::{AccessRule, SecurityPolicy};

use crate::diag::Diagnostics;
use crate::model::{
    object_label, GatewayClassSpec, HeaderModifier, Kind, NamespaceSpec, ObjectKey, ObjectMeta,
    ReferenceGrantSpec, ServiceSpec,
};
use crate::source::Source;

/// A validated object: where it came from, its metadata and its validated spec.
#[derive(Clone, Debug)]
pub struct Valid<T> {
    /// File, line and field positions (for diagnostics in later stages).
    pub source: Source,
    /// The object's kind.
    pub kind: Kind,
    /// `apiVersion` as written.
    pub api_version: String,
    /// Metadata; `namespace` is filled in for namespaced kinds.
    pub meta: ObjectMeta,
    /// The validated spec.
    pub spec: T,
}

impl<T> Valid<T> {
    /// Identity: kind, namespace and name.
    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            kind: self.kind,
            namespace: self.meta.namespace.clone(),
            name: self.meta.name.clone(),
        }
    }

    /// `Kind namespace/name`, as diagnostics name objects.
    pub fn label(&self) -> String {
        let mut s = String::new();
        let _ = object_label(
            &mut s,
            self.kind.name(),
            &self.meta.namespace,
            &self.meta.name,
        );
        s
    }
}

/// Everything that passed validation, by kind, each list in load (creation) order.
#[derive(Clone, Debug, Default)]
pub struct Validated {
    /// GatewayClasses (nothing to default).
    pub gateway_classes: Vec<Valid<GatewayClassSpec>>,
    /// Gateways.
    pub gateways: Vec<Valid<Gateway>>,
    /// HTTPRoutes.
    pub http_routes: Vec<Valid<HttpRoute>>,
    /// GRPCRoutes.
    pub grpc_routes: Vec<Valid<GrpcRoute>>,
    /// ReferenceGrants (nothing to default).
    pub reference_grants: Vec<Valid<ReferenceGrantSpec>>,
    /// Services.
    pub services: Vec<Valid<ServiceSpec>>,
    /// Namespaces; `meta.labels` includes `kubernetes.io/metadata.name`, as the API server
    /// adds it.
    pub namespaces: Vec<Valid<NamespaceSpec>>,
    /// BackendTrafficPolicies (their rate limits).
    pub backend_traffic_policies: Vec<Valid<BackendTrafficPolicy>>,
    /// HTTPRouteFilters (their regex path rewrites), which ExtensionRef filters name.
    pub http_route_filters: Vec<Valid<HttpRouteFilter>>,
    /// SecurityPolicies (their client-address authorization).
    pub security_policies: Vec<Valid<SecurityPolicy>>,
    /// Envoy Gateway Backends, which backendRefs of kind Backend name.
    pub eg_backends: Vec<Valid<EgBackend>>,
    /// BackendTLSPolicies (read by the Envoy bootstrap emitter).
    pub backend_tls_policies: Vec<Valid<BackendTlsPolicy>>,
    /// Notes and warnings from load and validate (never errors).
    pub diagnostics: Diagnostics,
}

/// A reference to a Gateway (or other parent), defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParentRef {
    /// API group (default `gateway.networking.k8s.io`).
    pub group: String,
    /// Kind (default `Gateway`).
    pub kind: String,
    /// Namespace (default the route's).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Listener name, if the route names one.
    pub section_name: Option<String>,
    /// Listener port, if the route names one.
    pub port: Option<u16>,
}

/// A reference to a backend object, defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BackendRef {
    /// API group (default `""`).
    pub group: String,
    /// Kind (default `Service`).
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace (default the route's).
    pub namespace: String,
    /// Port; always set when the target is a core Service.
    pub port: Option<u16>,
}

impl BackendRef {
    /// Whether this names a core Service, the only backend kind gatewasm forwards to.
    pub fn is_service(&self) -> bool {
        self.group.is_empty() && self.kind == "Service"
    }
}

/// A rule's backend with its weight and per-backend filters (`F` is the route's filter type).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightedBackend<F> {
    /// The backend.
    pub backend: BackendRef,
    /// Relative weight (default 1); 0 gets no traffic.
    pub weight: u32,
    /// Filters run when this backend is chosen.
    pub filters: Vec<F>,
}

/// How a header, query parameter or gRPC name is compared.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StringMatch {
    /// Equality.
    Exact(String),
    /// A regular expression that compiles with regex-lite.
    RegularExpression(String),
}

/// A header or query parameter condition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HeaderMatch {
    /// Name as written (headers compare case-insensitively, query parameters exactly).
    pub name: String,
    /// Value condition (default `Exact`).
    pub value: StringMatch,
}

/// A mirror: where copies go and which share of requests is copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    /// The mirror backend.
    pub backend: BackendRef,
    /// Share mirrored: `percent: p` becomes `p/100`; neither set becomes `100/100`.
    pub fraction: MirrorFraction,
}

/// `numerator / denominator`, with `numerator <= denominator` and `denominator >= 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MirrorFraction {
    /// Requests mirrored per `denominator`.
    pub numerator: u32,
    /// At least 1.
    pub denominator: u32,
}

/// Header modifiers need no defaults; the model type is reused as is.
pub type HeaderModifierSpec = HeaderModifier;

/// A parsed Gateway API duration (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`).
pub type GatewayDuration = Duration;
