//! The filter's plugin configuration as every delivery path carries it, and the identities
//! (content hashes) that let an operator check which blob and which `.wasm` are live.
//!
//! The configuration is the JSON form `{"blob": "<base64>", "failOpen": …}` that
//! `gatewasm_filter::config` reads: Envoy Gateway and Istio can only deliver JSON (they wrap it
//! in a `StringValue`), so the ECDS file uses the same form and one blob looks the same
//! wherever it is deployed.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{layout, EmitOptions};
use crate::compile::Compiled;

/// The `type.googleapis.com/` URL of Envoy's wasm HTTP filter config.
pub const WASM_FILTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";

/// The JSON plugin configuration. `failOpen` (false) is what the filter does when it cannot
/// read a request from Envoy; Envoy's own reaction to a broken VM is configured separately.
/// `rateLimit.cluster` names the rate limit service's cluster when the deployment has one;
/// `listenPorts` maps `--listen-port`s' Envoy ports back to Gateway ports.
///
/// # Errors
/// Global rate limits without a rate limit service (see [`EmitOptions`]).
pub fn json_config(compiled: &Compiled, options: &EmitOptions) -> Result<Value, String> {
    let mut config = json!({
        "blob": base64::engine::general_purpose::STANDARD.encode(&compiled.blob),
        "failOpen": false,
    });
    if !options.listen_ports.is_empty() {
        // For Envoys whose listeners carry no gatewasm metadata (Envoy Gateway, Istio, an
        // Envoy of the user's): which Gateway port each bound port serves.
        let ports: serde_json::Map<String, Value> = options
            .listen_ports
            .iter()
            .map(|l| (l.envoy.to_string(), json!(l.gateway)))
            .collect();
        config["listenPorts"] = Value::Object(ports);
    }
    if let Some((cluster, service)) = options.rate_limit_service(compiled)? {
        config["rateLimit"] = json!({"cluster": cluster, "failClosed": service.fail_closed});
        if let Some(ms) = service.timeout_ms {
            config["rateLimit"]["timeoutMs"] = json!(ms);
        }
    }
    Ok(config)
}

/// `envoy.extensions.filters.http.wasm.v3.Wasm` loading the module from [`layout::WASM_FILE`]
/// with the blob as its configuration: the ECDS resource's `typed_config`.
///
/// # Errors
/// As [`json_config`].
pub fn wasm_filter(compiled: &Compiled, options: &EmitOptions) -> Result<Value, String> {
    Ok(json!({
        "@type": WASM_FILTER_TYPE,
        "config": {
            "name": layout::FILTER_NAME,
            "root_id": layout::FILTER_NAME,
            "vm_config": {
                // One VM per worker shared by every listener's filter instance: the table is
                // decoded once per worker, not once per listener.
                "vm_id": layout::FILTER_NAME,
                "runtime": "envoy.wasm.runtime.v8",
                "code": {"local": {"filename": layout::WASM_FILE}},
            },
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": json_config(compiled, options)?.to_string(),
            },
        },
    }))
}

pub use crate::provenance::sha256_hex;

/// A short content identity of the blob (the first 16 hex digits of its SHA-256): the ECDS
/// `version_info` and the ConfigMap annotation, so `config_dump` shows which blob is live.
pub fn blob_version(compiled: &Compiled) -> String {
    let mut hex = sha256_hex(&compiled.blob);
    hex.truncate(16);
    hex
}

/// The metadata of the policy objects that attach gatewasm to a controller's Gateway: named
/// after the filter, in the Gateway's namespace, with the blob's identity.
pub fn policy_metadata(compiled: &Compiled) -> Value {
    let (namespace, _) = super::gateway_name(compiled);
    json!({
        "name": layout::FILTER_NAME,
        "namespace": namespace,
        "annotations": {"gatewasm.dev/blob-version": blob_version(compiled)},
    })
}
