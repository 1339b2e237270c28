//! The core Kubernetes kinds routes depend on: Service (backends, their ports and
//! `appProtocol`) and Namespace (labels for `allowedRoutes` selectors). Fields of
//! `ServiceSpec` that gatewasm never reads are accepted untyped so real manifests load.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::meta::nullable;

/// `spec` of a Service.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Service type; default `ClusterIP`.
    pub r#type: Option<ServiceType>,
    /// Pod selector.
    #[serde(default, deserialize_with = "nullable")]
    pub selector: BTreeMap<String, String>,
    /// Ports a backendRef can name.
    #[serde(default, deserialize_with = "nullable")]
    pub ports: Vec<ServicePort>,
    /// `None` for a headless Service.
    #[serde(rename = "clusterIP")]
    pub cluster_ip: Option<String>,
    /// Cluster IPs (dual stack).
    #[serde(default, rename = "clusterIPs", deserialize_with = "nullable")]
    pub cluster_ips: Vec<String>,
    /// DNS name, for `type: ExternalName`.
    pub external_name: Option<String>,
    /// External IPs.
    #[serde(default, rename = "externalIPs", deserialize_with = "nullable")]
    pub external_ips: Vec<String>,
    /// `None` or `ClientIP`.
    pub session_affinity: Option<String>,
    /// Not used by gatewasm.
    pub session_affinity_config: Option<serde_json::Value>,
    /// Not used by gatewasm.
    #[serde(default, deserialize_with = "nullable")]
    pub ip_families: Vec<String>,
    /// Not used by gatewasm.
    pub ip_family_policy: Option<String>,
    /// Not used by gatewasm.
    pub internal_traffic_policy: Option<String>,
    /// Not used by gatewasm.
    pub external_traffic_policy: Option<String>,
    /// Not used by gatewasm.
    #[serde(rename = "loadBalancerIP")]
    pub load_balancer_ip: Option<String>,
    /// Not used by gatewasm.
    pub load_balancer_class: Option<String>,
    /// Not used by gatewasm.
    #[serde(default, deserialize_with = "nullable")]
    pub load_balancer_source_ranges: Vec<String>,
    /// Not used by gatewasm.
    pub allocate_load_balancer_node_ports: Option<bool>,
    /// Not used by gatewasm.
    pub health_check_node_port: Option<i32>,
    /// Not used by gatewasm.
    pub publish_not_ready_addresses: Option<bool>,
    /// Not used by gatewasm.
    pub traffic_distribution: Option<String>,
}

/// Service types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum ServiceType {
    /// A virtual IP inside the cluster.
    #[serde(rename = "ClusterIP")]
    ClusterIp,
    /// ClusterIP plus a port on every node.
    NodePort,
    /// NodePort plus an external load balancer.
    LoadBalancer,
    /// A DNS alias (`externalName`).
    ExternalName,
}

/// `ports[]` of a Service.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServicePort {
    /// Port name; required when there are several ports.
    pub name: Option<String>,
    /// `TCP` (default), `UDP` or `SCTP`.
    pub protocol: Option<ServiceProtocol>,
    /// Application protocol, such as `kubernetes.io/h2c`.
    pub app_protocol: Option<String>,
    /// The Service port a backendRef names.
    pub port: i32,
    /// The pod port (number or name); default `port`.
    pub target_port: Option<IntOrString>,
    /// Node port, for NodePort and LoadBalancer Services.
    pub node_port: Option<i32>,
}

/// Transport protocols of a Service port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum ServiceProtocol {
    /// TCP.
    TCP,
    /// UDP.
    UDP,
    /// SCTP.
    SCTP,
}

/// A Kubernetes `IntOrString` (a port number or a named port).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A number.
    Int(i32),
    /// A name.
    String(String),
}

/// `spec` of a Namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceSpec {
    /// Finalizers (server-managed).
    #[serde(default, deserialize_with = "nullable")]
    pub finalizers: Vec<String>,
}
