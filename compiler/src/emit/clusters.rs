//! The backend clusters, delivered by CDS beside the routes: one per Service port in the
//! blob's table (route backends and mirrors alike), named exactly as the filter names them in
//! the cluster header, so Envoy's `cluster_header` route finds every cluster the filter can
//! choose.
//!
//! A cluster resolves the Service's DNS name (`STRICT_DNS`), speaks HTTP/2 to gRPC backends,
//! and wraps the connection in TLS when a BackendTLSPolicy covers the port. The copies that
//! rules with a BackendTrafficPolicy connect timeout send to carry that timeout
//! ([`crate::resolve`]'s `connect`).

use std::collections::{BTreeSet, HashSet};

use serde_json::{json, Value};

use super::upstream_tls;
use crate::compile::Compiled;
use crate::model::{IntOrString, ServiceType};
use crate::valid::EgBackend;
use gatewasm_filter::blob::{Backend, BackendId, RouteKind, RouteTable};

/// Every cluster the filter may send to, then one per Service port no rule names yet (the
/// rate limit service's is the bootstrap's).
pub fn clusters(compiled: &Compiled) -> Vec<Value> {
    let grpc = grpc_backends(&compiled.table);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (index, backend) in compiled.table.backends.iter().enumerate() {
        // A cluster-name template without `{port}` maps several ports onto one name; Envoy
        // refuses duplicate clusters, and the filter cannot tell them apart anyway.
        if !seen.insert(backend.cluster.as_str()) {
            continue;
        }
        let mut c = cluster(compiled, backend, grpc.contains(&index));
        if let Some(&ms) = compiled.connect_timeouts.get(&backend.cluster) {
            c["connect_timeout"] = json!(super::duration(ms));
        }
        out.push(c);
    }
    for backend in &compiled.standby {
        if seen.insert(backend.cluster.as_str()) {
            out.push(cluster(compiled, backend, false));
        }
    }
    out
}

/// The names of the clusters [`clusters`] emits.
pub fn names(compiled: &Compiled) -> Vec<String> {
    let mut names: Vec<String> = compiled
        .table
        .backends
        .iter()
        .chain(&compiled.standby)
        .map(|b| b.cluster.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Positions in `table.backends` of the backends a GRPCRoute forwards or mirrors to: they
/// need HTTP/2 whatever the Service says.
fn grpc_backends(table: &RouteTable) -> BTreeSet<usize> {
    table
        .rules
        .iter()
        .filter(|rule| table.routes[rule.route].kind == RouteKind::Grpc)
        .flat_map(|rule| {
            let layers =
                std::iter::once(&rule.filters).chain(rule.backends.iter().map(|b| &b.filters));
            let mirrors = layers.flat_map(|f| f.mirrors.iter().filter_map(|m| m.backend));
            rule.backends
                .iter()
                .filter_map(|b| b.backend)
                .chain(mirrors)
                .map(BackendId::index)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn cluster(compiled: &Compiled, backend: &Backend, grpc_route: bool) -> Value {
    let eg_backend = compiled
        .validated
        .eg_backends
        .iter()
        .find(|b| b.meta.namespace == backend.namespace && b.meta.name == backend.name);
    if let Some(b) = eg_backend {
        return eg_backend_cluster(backend, &b.spec, grpc_route);
    }
    let service = compiled
        .validated
        .services
        .iter()
        .find(|s| s.meta.namespace == backend.namespace && s.meta.name == backend.name);
    let port = service.and_then(|s| {
        s.spec
            .ports
            .iter()
            .find(|p| p.port == i32::from(backend.port))
    });
    let http2 = grpc_route
        || port
            .and_then(|p| p.app_protocol.as_deref())
            .is_some_and(|a| matches!(a, "kubernetes.io/h2c" | "grpc"));
    let (address, port_value) = match service.map(|s| &s.spec) {
        Some(spec) if spec.r#type == Some(ServiceType::ExternalName) => {
            (spec.external_name.clone().unwrap_or_default(), backend.port)
        }
        // A headless Service resolves to pod IPs, which listen on the target port.
        Some(spec) if spec.cluster_ip.as_deref() == Some("None") => {
            let target = match port.and_then(|p| p.target_port.as_ref()) {
                Some(IntOrString::Int(t)) => u16::try_from(*t).unwrap_or(backend.port),
                _ => backend.port,
            };
            (service_dns(backend), target)
        }
        _ => (service_dns(backend), backend.port),
    };
    let mut cluster = skeleton(&backend.cluster, &[(address, port_value)], http2);
    let port_name = port.and_then(|p| p.name.as_deref());
    if let Some(tls) = upstream_tls::for_service_port(
        &compiled.validated,
        &backend.namespace,
        &backend.name,
        port_name,
    ) {
        cluster["transport_socket"] = tls.transport_socket(http2);
    }
    cluster
}

/// The cluster of an Envoy Gateway Backend: its endpoints, HTTP/2 for `h2c` or a GRPCRoute,
/// and TLS without a validation context when it asks for TLS with `insecureSkipVerify`.
fn eg_backend_cluster(backend: &Backend, spec: &EgBackend, grpc_route: bool) -> Value {
    let http2 = grpc_route || spec.h2c;
    let mut cluster = skeleton(&backend.cluster, &spec.endpoints, http2);
    if let Some(sni) = &spec.tls {
        let server_name = sni
            .clone()
            .or_else(|| spec.endpoints.first().map(|(host, _)| host.clone()))
            .unwrap_or_default();
        let alpn = if http2 { "h2" } else { "http/1.1" };
        cluster["transport_socket"] = json!({
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": server_name,
                // insecureSkipVerify: no validation context, so any certificate is accepted.
                "common_tls_context": {"alpn_protocols": [alpn]},
            },
        });
    }
    cluster
}

/// A cluster resolving `endpoints` by DNS, speaking HTTP/2 when `http2`.
fn skeleton(name: &str, endpoints: &[(String, u16)], http2: bool) -> Value {
    let endpoints: Vec<Value> = endpoints
        .iter()
        .map(|(host, port)| {
            json!({"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}})
        })
        .collect();
    let mut cluster = json!({
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": endpoints}],
        },
    });
    if http2 {
        cluster["typed_extension_protocol_options"] = json!({
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            },
        });
    }
    cluster
}

fn service_dns(backend: &Backend) -> String {
    format!("{}.{}.svc.cluster.local", backend.name, backend.namespace)
}
