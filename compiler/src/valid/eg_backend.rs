//! Validated Envoy Gateway Backend: its endpoints, whether it speaks HTTP/2 in clear text,
//! and its TLS, which gatewasm compiles only without verification.

/// A validated Backend spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgBackend {
    /// Host (DNS name or IP address) and port of each endpoint.
    pub endpoints: Vec<(String, u16)>,
    /// `gateway.envoyproxy.io/h2c`.
    pub h2c: bool,
    /// TLS without verifying the backend's certificate, with this server name (the first
    /// endpoint's host when `None`).
    pub tls: Option<Option<String>>,
}
