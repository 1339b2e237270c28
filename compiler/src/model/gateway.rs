//! GatewayClass and Gateway as written (`apis/v1/gatewayclass_types.go`, `gateway_types.go`).
//! Gateway-level experimental fields that gatewasm does not act on (`tls`, `allowedListeners`,
//! `frontendValidation`) are kept untyped.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::meta::{nullable, LabelSelector};

/// `spec` of a GatewayClass.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayClassSpec {
    /// The controller that manages Gateways of this class.
    pub controller_name: String,
    /// Implementation-specific parameters.
    pub parameters_ref: Option<ParametersReference>,
    /// Free text.
    pub description: Option<String>,
}

/// `parametersRef` of a GatewayClass.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ParametersReference {
    /// API group of the referent.
    pub group: String,
    /// Kind of the referent.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace, for namespaced referents.
    pub namespace: Option<String>,
}

/// `spec` of a Gateway.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewaySpec {
    /// The GatewayClass (conformance files use the placeholder `{GATEWAY_CLASS_NAME}`).
    pub gateway_class_name: String,
    /// Listeners, 1–64, unique by name.
    #[serde(default, deserialize_with = "nullable")]
    pub listeners: Vec<Listener>,
    /// Requested addresses.
    #[serde(default, deserialize_with = "nullable")]
    pub addresses: Vec<GatewayAddress>,
    /// Labels, annotations and parameters for generated infrastructure.
    pub infrastructure: Option<GatewayInfrastructure>,
    /// Experimental: which ListenerSets may attach (not supported; kept untyped).
    pub allowed_listeners: Option<serde_json::Value>,
    /// Experimental: Gateway-wide TLS settings (kept untyped).
    pub tls: Option<serde_json::Value>,
    /// Experimental (GEP-3793): `All` makes this a default Gateway.
    pub default_scope: Option<String>,
}

/// `listeners[]`: a port, protocol and optional hostname that accepts routes.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Listener {
    /// Unique name within the Gateway (a SectionName).
    pub name: String,
    /// Host name (maybe a `*.` wildcard) this listener serves; every host when absent.
    pub hostname: Option<String>,
    /// Port, 1–65535.
    pub port: i32,
    /// Protocol.
    pub protocol: ProtocolType,
    /// TLS settings; required for HTTPS and TLS.
    pub tls: Option<ListenerTls>,
    /// Which routes may attach.
    pub allowed_routes: Option<AllowedRoutes>,
}

/// Listener protocols gatewasm knows. (The CRD also allows domain-prefixed custom protocols;
/// gatewasm has none.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum ProtocolType {
    /// Plain HTTP (HTTPRoute, GRPCRoute over h2c).
    #[serde(rename = "HTTP")]
    Http,
    /// TLS-terminated HTTP (HTTPRoute, GRPCRoute).
    #[serde(rename = "HTTPS")]
    Https,
    /// TLS (TLSRoute); not routed by gatewasm.
    #[serde(rename = "TLS")]
    Tls,
    /// TCP (TCPRoute); not routed by gatewasm.
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP (UDPRoute); not routed by gatewasm.
    #[serde(rename = "UDP")]
    Udp,
}

impl ProtocolType {
    /// The spelling used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolType::Http => "HTTP",
            ProtocolType::Https => "HTTPS",
            ProtocolType::Tls => "TLS",
            ProtocolType::Tcp => "TCP",
            ProtocolType::Udp => "UDP",
        }
    }
}

/// `listeners[].tls`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListenerTls {
    /// `Terminate` (default) or `Passthrough`.
    pub mode: Option<TlsModeType>,
    /// Certificates (Secrets) for termination.
    #[serde(default, deserialize_with = "nullable")]
    pub certificate_refs: Vec<SecretObjectReference>,
    /// Implementation-specific TLS options.
    #[serde(default, deserialize_with = "nullable")]
    pub options: BTreeMap<String, String>,
    /// Experimental client certificate validation (kept untyped).
    pub frontend_validation: Option<serde_json::Value>,
}

/// TLS modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum TlsModeType {
    /// The Gateway terminates TLS.
    Terminate,
    /// TLS passes through to the backend.
    Passthrough,
}

/// A reference to a Secret (or another certificate holder).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretObjectReference {
    /// API group; default `""`.
    pub group: Option<String>,
    /// Kind; default `Secret`.
    pub kind: Option<String>,
    /// Name.
    pub name: String,
    /// Namespace; default the Gateway's.
    pub namespace: Option<String>,
}

/// `listeners[].allowedRoutes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllowedRoutes {
    /// Namespaces routes may come from; default `from: Same`.
    pub namespaces: Option<RouteNamespaces>,
    /// Route kinds; when empty, the kinds the protocol supports.
    #[serde(default, deserialize_with = "nullable")]
    pub kinds: Vec<RouteGroupKind>,
}

/// `allowedRoutes.namespaces`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteNamespaces {
    /// Which namespaces; default `Same`.
    pub from: Option<FromNamespaces>,
    /// Namespace label selector, used with `from: Selector`.
    pub selector: Option<LabelSelector>,
}

/// Values of `allowedRoutes.namespaces.from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum FromNamespaces {
    /// Every namespace.
    All,
    /// The Gateway's namespace only.
    Same,
    /// Namespaces whose labels match `selector`.
    Selector,
    /// No namespace (experimental; for ListenerSets).
    None,
}

/// `allowedRoutes.kinds[]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteGroupKind {
    /// API group; default `gateway.networking.k8s.io`.
    pub group: Option<String>,
    /// Route kind, such as `HTTPRoute`.
    pub kind: String,
}

/// `addresses[]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayAddress {
    /// `IPAddress` (default), `Hostname` or a domain-prefixed type.
    pub r#type: Option<String>,
    /// The address.
    pub value: Option<String>,
}

/// `infrastructure`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayInfrastructure {
    /// Labels for generated resources.
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    /// Annotations for generated resources.
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
    /// Implementation-specific parameters in the Gateway's namespace.
    pub parameters_ref: Option<LocalParametersReference>,
}

/// `infrastructure.parametersRef`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalParametersReference {
    /// API group of the referent.
    pub group: String,
    /// Kind of the referent.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
}
