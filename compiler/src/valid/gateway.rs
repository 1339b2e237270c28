//! Validated Gateway: listeners with TLS mode, certificate references and allowed routes
//! defaulted.

use std::collections::BTreeMap;

use crate::model::{
    GatewayAddress, GatewayInfrastructure, LabelSelector, ProtocolType, TlsModeType,
};

/// A validated Gateway spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Gateway {
    /// `gatewayClassName`.
    pub class_name: String,
    /// 1–64 listeners with unique names and unique port/protocol/hostname combinations.
    pub listeners: Vec<Listener>,
    /// Requested addresses, as written.
    pub addresses: Vec<GatewayAddress>,
    /// Infrastructure settings, as written.
    pub infrastructure: Option<GatewayInfrastructure>,
}

/// A validated listener.
#[derive(Clone, Debug, PartialEq)]
pub struct Listener {
    /// Unique name.
    pub name: String,
    /// Host name or `*.` wildcard (lowercase RFC 1123); every host when `None`. Always
    /// `None` for TCP and UDP.
    pub hostname: Option<String>,
    /// Port.
    pub port: u16,
    /// Protocol.
    pub protocol: ProtocolType,
    /// TLS settings: set for HTTPS (mode Terminate) and TLS, never for HTTP, TCP or UDP.
    pub tls: Option<ListenerTls>,
    /// Which routes may attach.
    pub allowed_routes: AllowedRoutes,
}

/// Validated listener TLS settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerTls {
    /// Mode (default `Terminate`).
    pub mode: TlsModeType,
    /// Certificate references, defaults filled in.
    pub certificate_refs: Vec<SecretRef>,
    /// Implementation-specific options.
    pub options: BTreeMap<String, String>,
}

/// A certificate reference with defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretRef {
    /// API group (default `""`).
    pub group: String,
    /// Kind (default `Secret`).
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace (default the Gateway's).
    pub namespace: String,
}

/// Which routes a listener admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedRoutes {
    /// Namespaces routes may come from (default `Same`).
    pub namespaces: RouteNamespaces,
    /// Route kinds, group defaulted; empty means "the kinds the protocol supports", which
    /// `resolve` works out (HTTP and HTTPS: HTTPRoute and GRPCRoute).
    pub kinds: Vec<RouteGroupKind>,
}

/// `allowedRoutes.namespaces`, with the selector present exactly when it applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteNamespaces {
    /// Every namespace.
    All,
    /// The Gateway's namespace.
    Same,
    /// Namespaces whose labels match.
    Selector(LabelSelector),
    /// No namespace.
    None,
}

/// A route kind a listener admits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteGroupKind {
    /// API group (default `gateway.networking.k8s.io`).
    pub group: String,
    /// Kind.
    pub kind: String,
}
