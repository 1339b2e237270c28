//! Envoy Gateway's Backend as written (`api/v1alpha1/backend_types.go`, v1.9): endpoints
//! outside the Service model, the protocols to speak to them and TLS. gatewasm compiles FQDN
//! and IP endpoints, `gateway.envoyproxy.io/h2c`, and TLS without verification (what
//! ingress-nginx's `backend-protocol: HTTPS` does); every other field is kept aside so
//! validation can say that it is not compiled instead of dropping it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::meta::nullable;

/// `spec` of a Backend.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EgBackendSpec {
    /// `Endpoints` (the default) or `DynamicResolver`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// Where the backend is.
    #[serde(default, deserialize_with = "nullable")]
    pub endpoints: Vec<EgBackendEndpoint>,
    /// `gateway.envoyproxy.io/h2c`, `…/ws`, `…/wss`.
    #[serde(default, deserialize_with = "nullable")]
    pub app_protocols: Vec<String>,
    /// TLS to the backend.
    #[serde(default)]
    pub tls: Option<EgBackendTls>,
    /// `fallback` and anything else: not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `BackendEndpoint`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EgBackendEndpoint {
    /// A DNS name and port.
    #[serde(default)]
    pub fqdn: Option<EgSocket>,
    /// An IP address and port.
    #[serde(default)]
    pub ip: Option<EgIpSocket>,
    /// `unix`, `zone`, `hostname`: not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `FQDNEndpoint`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgSocket {
    /// The DNS name.
    pub hostname: String,
    /// The port.
    pub port: i32,
}

/// `IPEndpoint`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgIpSocket {
    /// The address.
    pub address: String,
    /// The port.
    pub port: i32,
}

/// `BackendTLSSettings`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EgBackendTls {
    /// Do not verify the backend's certificate.
    #[serde(default)]
    pub insecure_skip_verify: Option<bool>,
    /// The server name sent.
    #[serde(default)]
    pub sni: Option<String>,
    /// `caCertificateRefs`, `wellKnownCACertificates`, `clientCertificateRef`, ...: not
    /// compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}
