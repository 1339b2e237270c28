//! `--emit envoy-gateway`: an Envoy Gateway `EnvoyExtensionPolicy` that attaches the filter to
//! the compiled Gateway, the blob travelling in the policy's `config` (which Envoy Gateway
//! hands the module as JSON in a `StringValue`).
//!
//! Envoy Gateway downloads the module itself (an HTTP URL or an OCI image), so the document
//! carries a placeholder URL for the user to replace; with `--wasm` the `sha256` pins the
//! exact module, otherwise Envoy Gateway computes it from what it downloads.

use serde_json::{json, Value};

use super::{gateway_name, layout, plugin, EmitOptions};
use crate::compile::Compiled;
use crate::model::GATEWAY_GROUP;

/// Where the module is expected until the user says otherwise.
const PLACEHOLDER_URL: &str = "https://wasm.example.com/gatewasm/gatewasm_filter.wasm";

/// The policy, preceded by comments on what to fill in.
///
/// # Errors
/// A rendering failure.
pub fn policy(compiled: &Compiled, options: &EmitOptions) -> Result<String, String> {
    let (namespace, name) = gateway_name(compiled);
    let mut http = json!({"url": PLACEHOLDER_URL});
    if let Some(wasm) = &options.wasm {
        http["sha256"] = json!(plugin::sha256_hex(wasm));
    }
    let doc: Value = json!({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "EnvoyExtensionPolicy",
        "metadata": {
            "name": layout::FILTER_NAME,
            "namespace": namespace,
            "annotations": {"gatewasm.dev/blob-version": plugin::blob_version(compiled)},
        },
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
         # code: {{type: Image, image: {{url: oci://REGISTRY/gatewasm:TAG}}}}.\n{}",
        super::yaml(&doc)?
    ))
}
