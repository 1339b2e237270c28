//! The Envoy route that forwards a request to the cluster the filter chose: it reads the
//! cluster from `x-gatewasm-cluster` (and each mirror slot's cluster from its own header) and
//! strips the header so backends never see it. The bootstrap uses it as its only route; Envoy
//! Gateway and Istio get it patched into the route tables they generate.

use serde_json::{json, Value};

use gatewasm_filter::config::{mirror_headers, DEFAULT_CLUSTER_HEADER};

/// The catch-all route of a route table gatewasm owns.
pub fn route(mirror_slots: usize) -> Value {
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

/// The same route placed first in a route table a controller owns: it takes only requests
/// the filter chose a cluster for, and leaves any other to the controller's own routes.
pub fn first_route(mirror_slots: usize) -> Value {
    let mut r = route(mirror_slots);
    r["name"] = json!("gatewasm");
    r["match"]["headers"] = json!([{"name": DEFAULT_CLUSTER_HEADER, "present_match": true}]);
    r
}
