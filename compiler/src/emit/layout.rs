//! Where things live inside the Envoy container, and what the Kubernetes objects that put
//! them there are called. The bootstrap, the ConfigMaps and `manifests/deploy` must agree on
//! every one of these, so they are written once, here.

/// The filter module, mounted from the `gatewasm-wasm` ConfigMap (or baked into the image).
pub const WASM_FILE: &str = "/etc/gatewasm/wasm/gatewasm_filter.wasm";

/// The directory the `gatewasm-routes` ConfigMap is mounted on: the ECDS file and the SDS
/// files. Envoy watches it for the atomic `..data` swap the kubelet does on every update.
pub const ROUTES_DIR: &str = "/etc/gatewasm/routes";

/// The ECDS file's name inside [`ROUTES_DIR`] (also the ConfigMap key).
pub const ECDS_KEY: &str = "gatewasm.yaml";

/// The CDS file's name inside [`ROUTES_DIR`]: the backend clusters, delivered with the
/// routes so one ConfigMap update brings both.
pub const CDS_KEY: &str = "clusters.yaml";

/// The RDS file's name inside [`ROUTES_DIR`]: the forwarding routes, one per stream idle
/// timeout the rules use, so a new timeout arrives with the table that uses it.
pub const RDS_KEY: &str = "routes.yaml";

/// The name of the route table every Gateway listener's connection manager asks RDS for.
pub const ROUTE_TABLE: &str = "gatewasm";

/// Listener certificates: the TLS Secret `ns/name` is mounted on `CERTS_DIR/ns/name`, with
/// the kubernetes.io/tls keys `tls.crt` and `tls.key`.
pub const CERTS_DIR: &str = "/etc/gatewasm/certs";

/// BackendTLSPolicy CA bundles: the ConfigMap `ns/name` is mounted on `CA_DIR/ns/name`,
/// holding the key `ca.crt`.
pub const CA_DIR: &str = "/etc/gatewasm/ca";

/// The system trust store of the Envoy image, for `wellKnownCACertificates: System`.
pub const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The ConfigMap carrying the ECDS and SDS files.
pub const ROUTES_CONFIGMAP: &str = "gatewasm-routes";

/// The routes ConfigMap's annotation with the digest of the compiled objects
/// ([`crate::provenance::source_sha256`]).
pub const SOURCE_ANNOTATION: &str = "gatewasm.dev/source-sha256";

/// The routes ConfigMap's annotation with the compile time, RFC 3339 in UTC
/// ([`crate::provenance::compile_time`]).
pub const COMPILED_AT_ANNOTATION: &str = "gatewasm.dev/compiled-at";

/// The ConfigMap carrying the filter module.
pub const WASM_CONFIGMAP: &str = "gatewasm-wasm";

/// The filter's name in the HTTP filter chain, the ECDS resource name and the plugin's
/// `root_id`.
pub const FILTER_NAME: &str = "gatewasm";

/// Envoy's admin interface, bound to loopback only.
pub const ADMIN_PORT: u16 = 9901;

/// The cluster the stats listener forwards to: the admin interface on loopback.
pub const ADMIN_CLUSTER: &str = "gatewasm-admin";

/// The listener that exposes `/stats/prometheus` and `/ready` from the admin interface to
/// Prometheus and the kubelet, without exposing the rest of admin.
pub const STATS_PORT: u16 = 19001;

/// The readiness listener: 200 only from a filter that holds a route table, which the
/// kubelet's readiness probe asks (admin's `/ready` says only that Envoy is live).
pub const READY_PORT: u16 = 19002;

/// The readiness listener's name and its `gatewasm.port` metadata value.
pub const READY_LISTENER: &str = "gatewasm-ready";

/// The SDS file for the listener certificate Secret `namespace/name` (a ConfigMap key).
/// Namespaces hold no dots, so the first dot separates the two unambiguously.
pub fn sds_key(namespace: &str, name: &str) -> String {
    format!("sds.{namespace}.{name}.yaml")
}

/// The directory a listener certificate Secret is mounted on.
pub fn cert_dir(namespace: &str, name: &str) -> String {
    format!("{CERTS_DIR}/{namespace}/{name}")
}

/// The CA file of a BackendTLSPolicy's ConfigMap reference.
pub fn ca_file(namespace: &str, configmap: &str) -> String {
    format!("{CA_DIR}/{namespace}/{configmap}/ca.crt")
}
