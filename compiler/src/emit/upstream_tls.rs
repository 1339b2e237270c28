//! Upstream TLS from Gateway API BackendTLSPolicy (`v1`, `v1alpha3`): which Service ports a
//! policy covers, and the Envoy `UpstreamTlsContext` it asks for — SNI and the SAN check from
//! `validation.hostname` (or `subjectAltNames`), the CA from the referenced ConfigMap's
//! `ca.crt` as a mounted file, or the image's trust store for `wellKnownCACertificates`.
//!
//! `validate` has typed the spec, so every policy in the input is usable here.

use serde_json::{json, Value};

use super::layout;
use crate::valid::{BackendTlsPolicy, SubjectAltName, TlsValidation, Valid, Validated};

/// What a BackendTLSPolicy asks of the connections to one Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// SNI, and the SAN checked when the policy names none.
    sni: String,
    /// PEM files of trusted CAs.
    ca_files: Vec<String>,
    /// `(san_type, value)` pairs, any of which must match.
    sans: Vec<(&'static str, String)>,
}

/// The policy for the Service `namespace/name` port `port` (named `port_name`), if any. When
/// several target the same port, the first in the input wins (creation order, as the spec's
/// conflict rule reads).
pub fn for_service_port(
    input: &Validated,
    namespace: &str,
    name: &str,
    port_name: Option<&str>,
) -> Option<UpstreamTls> {
    input
        .backend_tls_policies
        .iter()
        .filter(|p| p.meta.namespace == namespace)
        .find(|p| {
            p.spec.target_refs.iter().any(|t| {
                t.group.is_empty()
                    && t.kind == "Service"
                    && t.name == name
                    && t.section_name
                        .as_deref()
                        .is_none_or(|s| Some(s) == port_name)
            })
        })
        .map(|p| upstream_tls(p, &p.spec.validation))
}

fn upstream_tls(policy: &Valid<BackendTlsPolicy>, v: &TlsValidation) -> UpstreamTls {
    let mut ca_files: Vec<String> = v
        .ca_certificate_refs
        .iter()
        .filter(|r| r.kind == "ConfigMap")
        .map(|r| layout::ca_file(&policy.meta.namespace, &r.name))
        .collect();
    if v.well_known_ca_certificates.as_deref() == Some("System") {
        ca_files.push(layout::SYSTEM_CA_FILE.to_owned());
    }
    let mut sans: Vec<(&'static str, String)> = v
        .subject_alt_names
        .iter()
        .map(|san| match san {
            SubjectAltName::Hostname { hostname } => ("DNS", hostname.clone()),
            SubjectAltName::Uri { uri } => ("URI", uri.clone()),
        })
        .collect();
    if sans.is_empty() {
        sans.push(("DNS", v.hostname.clone()));
    }
    UpstreamTls {
        sni: v.hostname.clone(),
        ca_files,
        sans,
    }
}

impl UpstreamTls {
    /// The cluster's `transport_socket`. `http2` offers ALPN `h2` (gRPC backends).
    ///
    /// Envoy takes one `trusted_ca` data source per context, so of several CA ConfigMaps
    /// only the first is trusted (docs/deploy.md notes it; one bundle per policy is usual).
    pub fn transport_socket(&self, http2: bool) -> Value {
        let sans: Vec<Value> = self
            .sans
            .iter()
            .map(|(kind, value)| json!({"san_type": kind, "matcher": {"exact": value}}))
            .collect();
        let mut validation = json!({"match_typed_subject_alt_names": sans});
        if let Some(ca) = self.ca_files.first() {
            validation["trusted_ca"] = json!({"filename": ca});
        }
        let mut common = json!({"validation_context": validation});
        if http2 {
            common["alpn_protocols"] = json!(["h2"]);
        }
        json!({
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": self.sni,
                "common_tls_context": common,
            },
        })
    }
}
