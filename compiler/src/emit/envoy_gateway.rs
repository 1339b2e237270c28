//! `--emit envoy-gateway`: an Envoy Gateway `EnvoyExtensionPolicy` that attaches the filter to
//! the compiled Gateway, the blob travelling in the policy's `config` (which Envoy Gateway
//! hands the module as JSON in a `StringValue`), and an `EnvoyPatchPolicy` that adds the route
//! forwarding on the filter's choice and the clusters it chooses from.
//!
//! Envoy Gateway downloads the module itself (an HTTP URL or an OCI image), so the document
//! carries a placeholder URL for the user to replace; with `--wasm` the `sha256` pins the
//! exact module, otherwise Envoy Gateway computes it from what it downloads. Its Envoy binds
//! other ports than the Gateway's, so the configuration maps them (`listenPorts`).

use serde_json::{json, Value};

use super::{clusters, forward, gateway_name, http_ports, layout, plugin, EmitOptions, ListenPort};
use crate::compile::Compiled;
use crate::model::ProtocolType;
use crate::model::GATEWAY_GROUP;
use crate::valid::{Gateway, Valid};

/// Envoy Gateway runs Envoy unprivileged and binds a Gateway port under 1024 at that port
/// plus this (80 → 10080); its listeners carry none of gatewasm's metadata.
const PRIVILEGED_PORT_SHIFT: u16 = 10_000;

/// Where the module is expected until the user says otherwise.
const PLACEHOLDER_URL: &str = "https://wasm.example.com/gatewasm/gatewasm_filter.wasm";

/// The policy, preceded by comments on what to fill in.
///
/// # Errors
/// A rendering failure.
pub fn policy(compiled: &Compiled, options: &EmitOptions) -> Result<String, String> {
    let (_, name) = gateway_name(compiled);
    let shifted;
    let options = if options.listen_ports.is_empty() {
        shifted = EmitOptions {
            listen_ports: shifted_ports(compiled.gateway()),
            ..options.clone()
        };
        &shifted
    } else {
        options
    };
    let mut http = json!({"url": PLACEHOLDER_URL});
    if let Some(wasm) = &options.wasm {
        http["sha256"] = json!(plugin::sha256_hex(wasm));
    }
    let doc: Value = json!({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "EnvoyExtensionPolicy",
        "metadata": plugin::policy_metadata(compiled),
        "spec": {
            "targetRefs": [{"group": GATEWAY_GROUP, "kind": "Gateway", "name": name}],
            "wasm": [{
                "name": layout::FILTER_NAME,
                "rootID": layout::FILTER_NAME,
                "code": {"type": "HTTP", "http": http},
                "config": plugin::json_config(compiled, options)?,
                // Without its routes the Gateway must not forward anything: a module that
                // fails to load answers 5xx instead of bypassing routing.
                "failOpen": false,
            }],
        },
    });
    Ok(format!(
        "# Replace the code URL with where you publish gatewasm_filter.wasm, or use\n\
         # code: {{type: Image, image: {{url: oci://REGISTRY/gatewasm:TAG}}}}.\n{}---\n\
         # Needs `extensionApis: {{enableEnvoyPatchPolicy: true}}` in the EnvoyGateway\n\
         # configuration. Forwards on the filter's choice, to clusters of gatewasm's naming.\n{}",
        super::yaml(&doc)?,
        super::yaml(&patch_policy(compiled))?
    ))
}

/// The EnvoyPatchPolicy that makes the filter's choice take effect: the route that forwards
/// on `x-gatewasm-cluster` first in every virtual host of the Gateway's route tables, and the
/// backend clusters it names (Envoy Gateway's own clusters are per route rule, not per
/// Service port).
fn patch_policy(compiled: &Compiled) -> Value {
    const ROUTE_CONFIGURATION: &str =
        "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    let (namespace, name) = gateway_name(compiled);
    let routes = forward::first_routes(&compiled.table);
    // Envoy Gateway names a listener's route table `<namespace>/<gateway>/<listener>`.
    let mut patches: Vec<Value> = compiled
        .gateway()
        .spec
        .listeners
        .iter()
        .filter(|l| matches!(l.protocol, ProtocolType::Http | ProtocolType::Https))
        .flat_map(|l| {
            routes.iter().enumerate().map(move |(i, route)| {
                json!({
                    "type": ROUTE_CONFIGURATION,
                    "name": format!("{namespace}/{name}/{}", l.name),
                    "operation": {
                        "op": "add",
                        "jsonPath": "..virtual_hosts[*]",
                        "path": format!("routes/{i}"),
                        "value": route,
                    },
                })
            })
        })
        .collect();
    for cluster in clusters::clusters(compiled) {
        patches.push(json!({
            "type": CLUSTER,
            "name": cluster["name"],
            // An `add` without a path adds the whole resource.
            "operation": {"op": "add", "value": cluster},
        }));
    }
    json!({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "EnvoyPatchPolicy",
        "metadata": plugin::policy_metadata(compiled),
        "spec": {
            "targetRef": {"group": GATEWAY_GROUP, "kind": "Gateway", "name": name},
            "type": "JSONPatch",
            "jsonPatches": patches,
        },
    })
}

/// The ports Envoy Gateway's Envoy binds for the Gateway's, unless `--listen-port` says
/// otherwise: the filter maps them back through the configuration's `listenPorts`.
fn shifted_ports(gateway: &Valid<Gateway>) -> Vec<ListenPort> {
    http_ports(gateway)
        .into_iter()
        .filter(|&p| p < 1024)
        .map(|p| ListenPort {
            gateway: p,
            envoy: p + PRIVILEGED_PORT_SHIFT,
        })
        .collect()
}
