//! A BackendTLSPolicy (`v1`, `v1alpha3`): the fields upstream TLS reads, typed; the rest of
//! the spec is ignored (`options` has no portable meaning).

use serde::Deserialize;

/// The spec of a BackendTLSPolicy.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTlsPolicy {
    /// The Services (and ports) the policy covers.
    #[serde(default)]
    pub target_refs: Vec<TlsTargetRef>,
    /// How the backend's certificate is checked.
    pub validation: TlsValidation,
}

/// A `targetRefs` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsTargetRef {
    /// API group; empty for the core group (Service).
    #[serde(default)]
    pub group: String,
    /// Kind of the target.
    pub kind: String,
    /// Name of the target, in the policy's namespace.
    pub name: String,
    /// The port name, when the policy covers one port only.
    pub section_name: Option<String>,
}

/// `spec.validation`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsValidation {
    /// ConfigMaps (or other kinds) holding trusted CA certificates.
    #[serde(default)]
    pub ca_certificate_refs: Vec<CaCertificateRef>,
    /// `System` to trust the image's trust store.
    pub well_known_ca_certificates: Option<String>,
    /// SNI, and the SAN checked when `subject_alt_names` is empty.
    pub hostname: String,
    /// SANs any of which the certificate must carry.
    #[serde(default)]
    pub subject_alt_names: Vec<SubjectAltName>,
}

/// A `caCertificateRefs` entry.
#[derive(Clone, Debug, Deserialize)]
pub struct CaCertificateRef {
    /// Kind of the referent; only `ConfigMap` is read.
    pub kind: String,
    /// Name of the referent, in the policy's namespace.
    pub name: String,
}

/// A `subjectAltNames` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type")]
pub enum SubjectAltName {
    /// A DNS name.
    Hostname {
        /// The name.
        hostname: String,
    },
    /// A URI.
    #[serde(rename = "URI")]
    Uri {
        /// The URI.
        uri: String,
    },
}
