//! `--emit configmap`: the Kubernetes ConfigMaps that deliver the compile to the Envoy of
//! `--emit envoy` while it runs.
//!
//! `gatewasm-routes` holds the ECDS file (a `DiscoveryResponse` with one
//! `TypedExtensionConfig`: the wasm filter, its configuration carrying the blob) and one SDS
//! file per listener certificate. Envoy watches the mount, so `kubectl apply` of a new
//! compile swaps the route table without a restart or a dropped connection. With `--wasm`,
//! `gatewasm-wasm` carries the module as `binaryData`; without it, a comment says how to
//! provide the module.

use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{
    clusters, forward, gateway_certificates, gateway_name, layout, plugin, yaml, EmitOptions,
};
use crate::compile::Compiled;
use crate::provenance;

/// The ConfigMaps as one multi-document YAML stream.
///
/// # Errors
/// The compiled Gateway missing from the input, or a rendering failure.
pub fn configmaps(compiled: &Compiled, options: &EmitOptions) -> Result<String, String> {
    let mut out = yaml(&routes(compiled, options)?)?;
    match &options.wasm {
        Some(wasm) => {
            out.push_str("---\n");
            out.push_str(&yaml(&wasm_configmap(compiled, wasm))?);
        }
        None => {
            let file = layout::WASM_FILE;
            let _ = write!(
                out,
                "# The filter module is not included (no --wasm). Envoy loads it from {file}:\n\
                 # rerun with --wasm target/wasm32-wasip1/release/gatewasm_filter.wasm to get a\n\
                 # ConfigMap `{}` to mount there, or bake the file into the Envoy image.\n",
                layout::WASM_CONFIGMAP
            );
        }
    }
    Ok(out)
}

fn routes(compiled: &Compiled, options: &EmitOptions) -> Result<Value, String> {
    let mut data = Map::new();
    data.insert(
        layout::ECDS_KEY.to_owned(),
        Value::String(yaml(&ecds(compiled, options)?)?),
    );
    data.insert(
        layout::CDS_KEY.to_owned(),
        Value::String(yaml(&cds(compiled))?),
    );
    data.insert(
        layout::RDS_KEY.to_owned(),
        Value::String(yaml(&rds(compiled))?),
    );
    for cert in gateway_certificates(compiled.gateway()) {
        data.insert(
            layout::sds_key(&cert.namespace, &cert.name),
            Value::String(yaml(&sds(&cert.namespace, &cert.name))?),
        );
    }
    let mut cm = metadata(compiled, layout::ROUTES_CONFIGMAP);
    cm["metadata"]["annotations"]["gatewasm.dev/blob-version"] =
        json!(plugin::blob_version(compiled));
    cm["metadata"]["annotations"]["gatewasm.dev/blob-format"] =
        json!(compiled.table.format_version().to_string());
    // What `gatewasm inspect` shows besides the blob: the inputs' digest and the compile time.
    cm["metadata"]["annotations"][layout::SOURCE_ANNOTATION] = json!(compiled.source_sha256);
    cm["metadata"]["annotations"][layout::COMPILED_AT_ANNOTATION] =
        json!(provenance::compile_time()?);
    cm["data"] = Value::Object(data);
    Ok(cm)
}

/// The ECDS file: what Envoy's filesystem subscription reads (a `DiscoveryResponse`).
fn ecds(compiled: &Compiled, options: &EmitOptions) -> Result<Value, String> {
    Ok(json!({
        "version_info": plugin::blob_version(compiled),
        "type_url": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "resources": [{
            "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
            "name": layout::FILTER_NAME,
            "typed_config": plugin::wasm_filter(compiled, options)?,
        }],
    }))
}

/// The CDS file: every backend cluster the table can choose, replaced as a whole (a state
/// of the world) with each update.
fn cds(compiled: &Compiled) -> Value {
    const CLUSTER_TYPE: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    let resources: Vec<Value> = clusters::clusters(compiled)
        .into_iter()
        .map(|c| {
            let mut typed = Map::new();
            typed.insert("@type".to_owned(), json!(CLUSTER_TYPE));
            if let Value::Object(fields) = c {
                typed.extend(fields);
            }
            Value::Object(typed)
        })
        .collect();
    json!({
        "version_info": plugin::blob_version(compiled),
        "type_url": CLUSTER_TYPE,
        "resources": resources,
    })
}

/// The RDS file: the route table every Gateway listener forwards with.
fn rds(compiled: &Compiled) -> Value {
    const ROUTE_TYPE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    json!({
        "version_info": plugin::blob_version(compiled),
        "type_url": ROUTE_TYPE,
        "resources": [{
            "@type": ROUTE_TYPE,
            "name": layout::ROUTE_TABLE,
            "virtual_hosts": [{
                "name": "all",
                "domains": ["*"],
                "routes": forward::routes(&compiled.table),
            }],
        }],
    })
}

/// The SDS file of one listener certificate: the Secret's mounted `tls.crt`/`tls.key`, reread
/// when the kubelet swaps the Secret volume (a cert-manager renewal).
fn sds(namespace: &str, name: &str) -> Value {
    let dir = layout::cert_dir(namespace, name);
    json!({
        "type_url": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
        "resources": [{
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
            "name": format!("{namespace}/{name}"),
            "tls_certificate": {
                "certificate_chain": {"filename": format!("{dir}/tls.crt")},
                "private_key": {"filename": format!("{dir}/tls.key")},
                "watched_directory": {"path": dir},
            },
        }],
    })
}

fn wasm_configmap(compiled: &Compiled, wasm: &[u8]) -> Value {
    let mut cm = metadata(compiled, layout::WASM_CONFIGMAP);
    cm["metadata"]["annotations"]["gatewasm.dev/wasm-sha256"] = json!(plugin::sha256_hex(wasm));
    let key = layout::WASM_FILE
        .rsplit('/')
        .next()
        .unwrap_or(layout::WASM_FILE);
    cm["binaryData"] = json!({key: base64::engine::general_purpose::STANDARD.encode(wasm)});
    cm
}

/// A ConfigMap shell in the Gateway's namespace, where the Envoy that serves it runs.
fn metadata(compiled: &Compiled, name: &str) -> Value {
    let (namespace, gateway) = gateway_name(compiled);
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "gatewasm"},
            "annotations": {"gatewasm.dev/gateway": format!("{namespace}/{gateway}")},
        },
    })
}
