//! `--emit istio`: an Istio `WasmPlugin` that attaches the filter to the compiled Gateway's
//! Envoy, the blob travelling in `pluginConfig` (which Istio hands the module as JSON in a
//! `StringValue`), and an `EnvoyFilter` that adds the route forwarding on the filter's choice.
//!
//! Istio's agent fetches the module (`oci://`, `https://` or `file://`), so the URL is a
//! placeholder for the user to replace; with `--wasm` the `sha256` pins the exact module.
//! Compile with `--cluster-name istio` so the filter names Istio's own clusters.

use serde_json::{json, Value};

use super::{forward, gateway_name, layout, plugin, EmitOptions};
use crate::compile::Compiled;
use crate::model::GATEWAY_GROUP;

/// Where the module is expected until the user says otherwise.
const PLACEHOLDER_URL: &str = "oci://registry.example.com/gatewasm:latest";

/// The WasmPlugin, preceded by comments on what to fill in.
///
/// # Errors
/// A rendering failure.
pub fn wasm_plugin(compiled: &Compiled, options: &EmitOptions) -> Result<String, String> {
    let (_, name) = gateway_name(compiled);
    let mut spec = json!({
        // Istio >= 1.22 attaches to a Gateway API Gateway by reference; older releases
        // select its pods instead: `selector: {matchLabels:
        // {gateway.networking.k8s.io/gateway-name: NAME}}` (never both).
        "targetRefs": [{"group": GATEWAY_GROUP, "kind": "Gateway", "name": name}],
        "url": PLACEHOLDER_URL,
        "pluginName": layout::FILTER_NAME,
        "pluginConfig": plugin::json_config(compiled, options)?,
        "failStrategy": "FAIL_CLOSE",
        "type": "HTTP",
    });
    if let Some(wasm) = &options.wasm {
        spec["sha256"] = json!(plugin::sha256_hex(wasm));
    }
    let doc: Value = json!({
        "apiVersion": "extensions.istio.io/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": plugin::policy_metadata(compiled),
        "spec": spec,
    });
    Ok(format!(
        "# Replace the url with where you publish the module (oci://, https:// or file://).\n\
         # Targets the Gateway by reference; Istio before 1.22 needs `selector` instead.\n{}---\n\
         # Forwards on the filter's choice: Istio's own outbound clusters (compile with\n\
         # --cluster-name istio).\n{}",
        super::yaml(&doc)?,
        super::yaml(&envoy_filter(compiled))?
    ))
}

/// The EnvoyFilter that puts the route forwarding on `x-gatewasm-cluster` first in every
/// virtual host of the Gateway's Envoy. Istio already has a cluster per Service port.
fn envoy_filter(compiled: &Compiled) -> Value {
    let (_, name) = gateway_name(compiled);
    // Each INSERT_FIRST goes before the ones already applied: the last route goes in first.
    let patches: Vec<Value> = forward::first_routes(&compiled.table)
        .into_iter()
        .rev()
        .map(|route| {
            json!({
                "applyTo": "HTTP_ROUTE",
                "match": {"context": "GATEWAY", "routeConfiguration": {"vhost": {}}},
                "patch": {"operation": "INSERT_FIRST", "value": route},
            })
        })
        .collect();
    json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": plugin::policy_metadata(compiled),
        "spec": {
            "targetRefs": [{"group": GATEWAY_GROUP, "kind": "Gateway", "name": name}],
            "configPatches": patches,
        },
    })
}
