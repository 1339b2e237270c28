//! The Envoy routes that forward a request to the cluster the filter chose: they read the
//! cluster from `x-gatewasm-cluster` (and each mirror slot's cluster from its own header) and
//! strip the headers so backends never see them. The bootstrap's route table is these alone;
//! Envoy Gateway and Istio get them patched into the route tables they generate.
//!
//! A rule with a stream idle timeout needs an Envoy route that carries it, so each distinct
//! timeout in the table gets its own route before the catch-all, taken when the filter set
//! `x-gatewasm-cluster-idle-timeout` to that timeout in milliseconds.

use serde_json::{json, Value};

use gatewasm_filter::blob::{idle_header, RouteTable};
use gatewasm_filter::config::{mirror_headers, DEFAULT_CLUSTER_HEADER};

/// The routes of a route table gatewasm owns: one per idle timeout, then the catch-all.
pub fn routes(table: &RouteTable) -> Vec<Value> {
    let catch_all = route(table.mirror_slots());
    let idle = idle_header(DEFAULT_CLUSTER_HEADER);
    let mut routes: Vec<Value> = table
        .idle
        .distinct_ms()
        .into_iter()
        .map(|ms| {
            let mut r = catch_all.clone();
            r["name"] = json!(format!("gatewasm-idle-{ms}ms"));
            r["match"]["headers"] =
                json!([{"name": idle, "string_match": {"exact": ms.to_string()}}]);
            r["route"]["idle_timeout"] = json!(super::duration(ms));
            r["request_headers_to_remove"] = json!([DEFAULT_CLUSTER_HEADER, idle]);
            r
        })
        .collect();
    routes.push(catch_all);
    routes
}

/// The same routes placed first in a route table a controller owns: they take only requests
/// the filter chose a cluster for, and leave any other to the controller's own routes.
pub fn first_routes(table: &RouteTable) -> Vec<Value> {
    let mut routes = routes(table);
    let chosen = json!({"name": DEFAULT_CLUSTER_HEADER, "present_match": true});
    for r in &mut routes {
        if r.get("name").is_none() {
            r["name"] = json!("gatewasm");
        }
        match r["match"]["headers"].as_array_mut() {
            Some(headers) => headers.push(chosen.clone()),
            None => r["match"]["headers"] = json!([chosen]),
        }
    }
    routes
}

/// The catch-all forwarding route.
fn route(mirror_slots: usize) -> Value {
    // The filter fills a slot's header only when that mirror is chosen (and sampled);
    // Envoy's router then mirrors the whole request, body included, as it forwards it.
    let mirrors: Vec<Value> = mirror_headers(DEFAULT_CLUSTER_HEADER, mirror_slots)
        .into_iter()
        .map(|header| json!({"cluster_header": header}))
        .collect();
    // No route timeout: the filter sets x-envoy-upstream-rq-timeout-ms from the HTTPRoute's
    // `timeouts`, and Gateway API's default is none.
    let mut action = json!({"cluster_header": DEFAULT_CLUSTER_HEADER, "timeout": "0s"});
    if !mirrors.is_empty() {
        action["request_mirror_policies"] = json!(mirrors);
    }
    json!({
        "match": {"prefix": "/"},
        "route": action,
        // The router strips the header after choosing the cluster.
        "request_headers_to_remove": [DEFAULT_CLUSTER_HEADER],
    })
}
