//! `--emit envoy`: a complete Envoy bootstrap for the compiled Gateway.
//!
//! Gateway listeners that share a port share one Envoy listener (a port binds once): HTTP
//! listeners become one plain filter chain, each HTTPS listener a TLS chain selected by SNI
//! (`server_names` from its hostname) whose certificates come from SDS files, so a renewed
//! Secret is picked up without a restart. Each Envoy listener carries its Gateway port in its
//! metadata, which is how the filter selects the Gateway listener.
//!
//! Every chain runs the same HTTP filters: gatewasm, delivered by ECDS from a watched file
//! (so `kubectl apply` of a new routes ConfigMap swaps the table live), then the router with
//! the routes that forward on the cluster the filter wrote into `x-gatewasm-cluster`,
//! delivered by RDS from the same ConfigMap (they change with the idle timeouts rules use). A separate listener exposes only `/stats/prometheus` and `/ready`;
//! admin itself stays on loopback. The readiness listener runs the filter alone: it answers
//! 200 only while it holds a route table, so a pod started with a refused one is not Ready.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{gateway_name, layout, listener_certificates, plugin, EmitOptions};
use crate::compile::Compiled;
use crate::model::ProtocolType;
use crate::valid::{Listener, Valid};
use gatewasm_filter::blob::idle_header;
use gatewasm_filter::config::{mirror_headers, DEFAULT_CLUSTER_HEADER};

/// The bootstrap document.
///
/// # Errors
/// The compiled Gateway missing from the input (it never is after a compile), or a
/// BackendTLSPolicy the emitter cannot read.
pub fn bootstrap(compiled: &Compiled, options: &EmitOptions) -> Result<Value, String> {
    let (namespace, name) = gateway_name(compiled);
    let gateway = compiled.gateway();
    let mut listeners = gateway_listeners(gateway, compiled.table.mirror_slots(), options);
    listeners.push(stats_listener());
    listeners.push(readiness_listener());
    // The backend clusters come by CDS from the routes ConfigMap, beside the routes that
    // name them; only clusters that never change with the routes are static.
    let mut clusters = vec![static_cluster(
        layout::ADMIN_CLUSTER,
        "127.0.0.1",
        layout::ADMIN_PORT,
    )];
    if let Some((name, service)) = options.rate_limit_service(compiled)? {
        clusters.push(rate_limit_cluster(name, &service.address)?);
    }
    // The filter's counters name their route, rule, policy or reason; these make labels of
    // them, as Envoy's own stats have.
    let tags: Vec<Value> = gatewasm_filter::metrics::TAGS
        .iter()
        .map(|(tag, regex)| json!({"tag_name": tag, "regex": regex}))
        .collect();
    Ok(json!({
        "node": {"id": format!("{namespace}/{name}"), "cluster": "gatewasm"},
        "stats_config": {"stats_tags": tags},
        "static_resources": {"listeners": listeners, "clusters": clusters},
        "dynamic_resources": {"cds_config": watched_file(layout::CDS_KEY)},
        "admin": {"address": socket_address("127.0.0.1", layout::ADMIN_PORT)},
    }))
}

/// One Envoy listener per port the Gateway's HTTP and HTTPS listeners use.
fn gateway_listeners(
    gateway: &Valid<crate::valid::Gateway>,
    mirror_slots: usize,
    options: &EmitOptions,
) -> Vec<Value> {
    let mut by_port: BTreeMap<u16, Vec<&Listener>> = BTreeMap::new();
    for l in &gateway.spec.listeners {
        // TLS passthrough, TCP and UDP listeners carry no HTTP routes for the filter.
        if matches!(l.protocol, ProtocolType::Http | ProtocolType::Https) {
            by_port.entry(l.port).or_default().push(l);
        }
    }
    by_port
        .into_iter()
        .map(|(port, listeners)| {
            port_listener(port, options.envoy_port(port), &listeners, mirror_slots)
        })
        .collect()
}

/// The Envoy listener bound on `bind` for the Gateway listeners of `port`.
fn port_listener(port: u16, bind: u16, listeners: &[&Listener], mirror_slots: usize) -> Value {
    let (plain, tls): (Vec<&Listener>, Vec<&Listener>) = listeners
        .iter()
        .partition(|l| l.protocol == ProtocolType::Http);
    let mut chains: Vec<Value> = tls.iter().map(|l| tls_chain(l, mirror_slots)).collect();
    // Several HTTP listeners on one port differ only by hostname, which the filter decides;
    // Envoy needs them as one chain.
    if let Some(first) = plain.first() {
        let mut chain = json!({"name": first.name, "filters": [http_connection_manager(&first.name, mirror_slots)]});
        if !tls.is_empty() {
            chain["filter_chain_match"] = json!({"transport_protocol": "raw_buffer"});
        }
        chains.push(chain);
    }
    let mut listener = json!({
        "name": format!("gateway-{port}"),
        "address": socket_address("0.0.0.0", bind),
        // The filter reads the Gateway port from here, so Envoy may bind another port
        // (`--listen-port`, a test's free port) without changing which Gateway listener
        // serves the request.
        "metadata": {"filter_metadata": {layout::FILTER_NAME: {"port": port.to_string()}}},
        "filter_chains": chains,
    });
    if !tls.is_empty() {
        // SNI and transport protocol are only known after the TLS inspector has peeked.
        listener["listener_filters"] = json!([{
            "name": "envoy.filters.listener.tls_inspector",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"},
        }]);
    }
    listener
}

fn tls_chain(listener: &Listener, mirror_slots: usize) -> Value {
    let certificates: Vec<Value> = listener_certificates(listener)
        .map(|r| {
            json!({
                "name": format!("{}/{}", r.namespace, r.name),
                "sds_config": watched_file(&layout::sds_key(&r.namespace, &r.name)),
            })
        })
        .collect();
    let mut chain = json!({
        "name": listener.name,
        "filters": [http_connection_manager(&listener.name, mirror_slots)],
        "transport_socket": {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "common_tls_context": {
                    // gRPC clients need h2 over TLS; browsers take either.
                    "alpn_protocols": ["h2", "http/1.1"],
                    "tls_certificate_sds_secret_configs": certificates,
                },
            },
        },
    });
    let mut chain_match = json!({"transport_protocol": "tls"});
    if let Some(host) = &listener.hostname {
        chain_match["server_names"] = json!([host]);
    }
    chain["filter_chain_match"] = chain_match;
    chain
}

/// A `ConfigSource` reading `key` from the routes ConfigMap mount. The kubelet updates a
/// ConfigMap volume by swapping a `..data` symlink, a move inside the directory, which is
/// what `watched_directory` reacts to.
fn watched_file(key: &str) -> Value {
    json!({
        "path_config_source": {
            "path": format!("{}/{key}", layout::ROUTES_DIR),
            "watched_directory": {"path": layout::ROUTES_DIR},
        },
        "resource_api_version": "V3",
    })
}

fn http_connection_manager(stat_prefix: &str, mirror_slots: usize) -> Value {
    json!({
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": stat_prefix,
            // The filter matches the normalised path; normalising here keeps Envoy's view
            // (access logs, upstream) identical to the filter's.
            "normalize_path": true,
            "merge_slashes": true,
            "path_with_escaped_slashes_action": "KEEP_UNCHANGED",
            // An edge proxy: the client address is the connection's, not X-Forwarded-For.
            "use_remote_address": true,
            // Before any filter runs, the headers that pick clusters are dropped: only the
            // filter sets them, so no client (and no filter mode that decides nothing) can
            // send a request to a cluster of its choosing, internal ones included.
            "early_header_mutation_extensions": [early_header_removal(mirror_slots)],
            "access_log": [access_log()],
            "rds": {
                "route_config_name": layout::ROUTE_TABLE,
                "config_source": watched_file(layout::RDS_KEY),
            },
            "http_filters": [gatewasm_filter(), router()],
        },
    })
}

/// The filter, its configuration delivered by ECDS: every listener names the same resource,
/// so one update reaches them all.
fn gatewasm_filter() -> Value {
    json!({
        "name": layout::FILTER_NAME,
        "config_discovery": {
            "config_source": watched_file(layout::ECDS_KEY),
            "type_urls": [plugin::WASM_FILTER_TYPE],
        },
    })
}

/// The readiness probe's listener. Its metadata tells the filter to answer every request
/// 200 itself; a filter without a route table lets it through to the 503 below (fail-open)
/// or answers 503 (fail-closed), and a configuration Envoy refused leaves Envoy's own 500.
/// Admin's `/ready` cannot tell: it says LIVE as soon as Envoy has started.
fn readiness_listener() -> Value {
    json!({
        "name": layout::READY_LISTENER,
        "address": socket_address("0.0.0.0", layout::READY_PORT),
        "metadata": {"filter_metadata": {layout::FILTER_NAME: {"port": "ready"}}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "ready",
                "route_config": {"virtual_hosts": [{
                    "name": "ready",
                    "domains": ["*"],
                    "routes": [{
                        "match": {"prefix": "/"},
                        "direct_response": {
                            "status": 503,
                            "body": {"inline_string": "not ready: the gatewasm filter holds no route table\n"},
                        },
                    }],
                }]},
                "http_filters": [gatewasm_filter(), router()],
            },
        }]}],
    })
}

fn early_header_removal(mirror_slots: usize) -> Value {
    let names = std::iter::once(DEFAULT_CLUSTER_HEADER.to_owned())
        .chain(mirror_headers(DEFAULT_CLUSTER_HEADER, mirror_slots))
        .chain([idle_header(DEFAULT_CLUSTER_HEADER)]);
    let mutations: Vec<Value> = names.map(|n| json!({"remove": n})).collect();
    json!({
        "name": "gatewasm-client-cluster-headers",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
            "mutations": mutations,
        },
    })
}

/// One JSON line per request on stdout, with the cluster the filter chose and Envoy's
/// response code details (which tell a filter's local reply from an upstream answer).
fn access_log() -> Value {
    json!({
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"json_format": {
                "start_time": "%START_TIME%",
                "method": "%REQ(:METHOD)%",
                "authority": "%REQ(:AUTHORITY)%",
                "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                "status": "%RESPONSE_CODE%",
                "details": "%RESPONSE_CODE_DETAILS%",
                "cluster": "%UPSTREAM_CLUSTER%",
                "duration_ms": "%DURATION%",
                "request_id": "%REQ(X-REQUEST-ID)%",
                "gatewasm": decision_fields(),
            }},
        },
    })
}

/// What decided the request, from the filter state the filter keeps
/// ([`gatewasm_filter::decision_log`]): each field is null when the decision has none.
fn decision_fields() -> Value {
    use gatewasm_filter::decision_log::{log_key, FIELDS};
    let fields = FIELDS.iter().map(|state| {
        let value = json!(format!("%FILTER_STATE(wasm.{state}:PLAIN)%"));
        (log_key(state).to_owned(), value)
    });
    Value::Object(fields.collect())
}

fn router() -> Value {
    json!({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    })
}

/// `/stats/prometheus` and `/ready` of the loopback-only admin interface, and nothing else.
fn stats_listener() -> Value {
    let route =
        |path: &str| json!({"match": {"path": path}, "route": {"cluster": layout::ADMIN_CLUSTER}});
    json!({
        "name": "stats",
        "address": socket_address("0.0.0.0", layout::STATS_PORT),
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "stats",
                "route_config": {"virtual_hosts": [{
                    "name": "stats",
                    "domains": ["*"],
                    "routes": [route("/stats/prometheus"), route("/ready")],
                }]},
                "http_filters": [router()],
            },
        }]}],
    })
}

/// Envoy's rate limit service: gRPC over HTTP/2, resolved by DNS (a Kubernetes Service name).
fn rate_limit_cluster(name: &str, address: &str) -> Result<Value, String> {
    let (host, port) = address
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .filter(|(h, _)| !h.is_empty())
        .ok_or_else(|| format!("--ratelimit-service {address:?} is not HOST:PORT"))?;
    Ok(json!({
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            },
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(host, port)}}]}],
        },
    }))
}

fn static_cluster(name: &str, address: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(address, port)}}]}],
        },
    })
}

fn socket_address(address: &str, port: u16) -> Value {
    json!({"socket_address": {"address": address, "port_value": port}})
}
