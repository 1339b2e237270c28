//! Ingress and IngressClass as written (`networking.k8s.io/v1`): what teams arriving from
//! ingress-nginx bring. The `ingress` stage turns them into Gateway API objects.

use serde::Deserialize;

use super::meta::nullable;

/// `spec` of an Ingress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressSpec {
    /// The IngressClass that serves it; else the `kubernetes.io/ingress.class` annotation,
    /// else the default class.
    pub ingress_class_name: Option<String>,
    /// What a request no rule matches gets.
    pub default_backend: Option<IngressBackend>,
    /// Certificates, each for some hosts.
    #[serde(default, deserialize_with = "nullable")]
    pub tls: Vec<IngressTls>,
    /// Host rules.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<IngressRule>,
}

/// `spec.tls[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressTls {
    /// Hosts the certificate serves.
    #[serde(default, deserialize_with = "nullable")]
    pub hosts: Vec<String>,
    /// The kubernetes.io/tls Secret in the Ingress's namespace.
    pub secret_name: Option<String>,
}

/// `spec.rules[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressRule {
    /// An exact host or a `*.` wildcard; every host when absent.
    pub host: Option<String>,
    /// The paths.
    pub http: Option<HttpIngressRuleValue>,
}

/// `spec.rules[].http`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpIngressRuleValue {
    /// Paths, each to a backend.
    #[serde(default, deserialize_with = "nullable")]
    pub paths: Vec<HttpIngressPath>,
}

/// `spec.rules[].http.paths[]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpIngressPath {
    /// The path; `/` when absent.
    pub path: Option<String>,
    /// How the path matches (required in v1).
    pub path_type: Option<IngressPathType>,
    /// Where matching requests go.
    pub backend: IngressBackend,
}

/// `pathType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum IngressPathType {
    /// The whole path, case-sensitive.
    Exact,
    /// Whole `/`-separated elements.
    Prefix,
    /// The controller's own matching: for ingress-nginx, an nginx location.
    ImplementationSpecific,
}

/// A backend: a Service port, or a resource (which gatewasm does not route to).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressBackend {
    /// A Service in the Ingress's namespace.
    pub service: Option<IngressServiceBackend>,
    /// Another kind of object (`apiGroup`, `kind`, `name`).
    pub resource: Option<serde_json::Value>,
}

/// `backend.service`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressServiceBackend {
    /// The Service's name.
    pub name: String,
    /// Its port, by number or by name.
    pub port: Option<ServiceBackendPort>,
}

/// `backend.service.port`: exactly one of the two.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceBackendPort {
    /// A port name of the Service.
    pub name: Option<String>,
    /// A port number of the Service.
    pub number: Option<i32>,
}

/// `spec` of an IngressClass.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressClassSpec {
    /// The controller that implements the class (`k8s.io/ingress-nginx`).
    pub controller: Option<String>,
    /// Controller-specific parameters, not read.
    pub parameters: Option<serde_json::Value>,
}
