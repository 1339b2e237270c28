//! What a user deploys, laid out for a test: the `--emit envoy` bootstrap and the
//! `--emit configmap` files, rendered by the same code as the CLI, then changed only where a
//! test must — files under a temporary root instead of `/etc/gatewasm`, listeners on
//! loopback ports the kernel picks, clusters pointing at the echo upstream, self-signed
//! certificates for the listener Secrets, and the rate limit service the run names. An
//! attached deployment binds the `--listen-port`s it is given and strips the listeners'
//! gatewasm metadata, as an Envoy gatewasm did not configure would have them.

use std::path::Path;

use serde_json::{json, Value};

use super::upstream::TEST_ID_HEADER;
use super::{certs, kubelet};
use crate::compile::Compiled;
use crate::emit::{
    emit, layout, EmitKind, EmitOptions, ListenPort, RateLimitService, RateLimitSetting,
};
use gatewasm_filter::ratelimit::DEFAULT_CLUSTER as RATE_LIMIT_CLUSTER;

/// Where the deployment goes and what it talks to.
pub struct Deployment<'a> {
    pub root: &'a Path,
    pub wasm: &'a Path,
    pub admin_port: u16,
    /// Cluster name → the loopback port serving it.
    pub endpoint: &'a dyn Fn(&str) -> Option<u16>,
    /// `HOST:PORT` of the rate limit service the emitted bootstrap's cluster points at.
    pub rate_limit: &'a str,
    /// Ports the Gateway listeners bind instead of the kernel's choice (`--listen-port`).
    pub listen_ports: &'a [ListenPort],
    /// The Gateway listeners carry no gatewasm metadata: only `listenPorts` tells the filter
    /// which Gateway port a connection is for.
    pub attached: bool,
}

/// Writes the routes, certificates and module under `root` and returns the bootstrap.
///
/// # Errors
/// An emitter failure, a document that does not have the emitted shape, or a file that
/// cannot be written.
pub fn lay_out(compiled: &Compiled, d: &Deployment<'_>) -> Result<Value, String> {
    swap_routes(compiled, d)?;
    let module =
        std::fs::read(d.wasm).map_err(|e| format!("cannot read {}: {e}", d.wasm.display()))?;
    swap_wasm(d.root, module)?;
    let bootstrap = bootstrap(compiled, d)?;
    write_certificates(&bootstrap, d.root)?;
    Ok(bootstrap)
}

/// Writes the routes ConfigMap's files as the kubelet updates a ConfigMap volume (see
/// [`kubelet`]). Returns the keys that changed.
///
/// # Errors
/// An emitter failure or a file that cannot be written.
pub fn swap_routes(compiled: &Compiled, d: &Deployment<'_>) -> Result<Vec<String>, String> {
    let files = routes_files(compiled, d)?;
    kubelet::update(&d.root.join(rel(layout::ROUTES_DIR)), &files)
}

/// Writes the filter module as the kubelet updates the `gatewasm-wasm` ConfigMap volume.
/// Envoy reads it again only when a routes update makes it build the filter anew.
///
/// # Errors
/// A file that cannot be written.
pub fn swap_wasm(root: &Path, module: Vec<u8>) -> Result<Vec<String>, String> {
    let file = Path::new(rel(layout::WASM_FILE));
    let (Some(dir), Some(key)) = (file.parent(), file.file_name()) else {
        return Err(format!(
            "{} is not a file in a directory",
            layout::WASM_FILE
        ));
    };
    kubelet::update(
        &root.join(dir),
        &[(key.to_string_lossy().into_owned(), module)],
    )
}

/// The `gatewasm-routes` ConfigMap's files (key and content), relocated under `root`, with
/// the backend clusters pointing at the echo upstream.
pub fn routes_files(
    compiled: &Compiled,
    d: &Deployment<'_>,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let root = d
        .root
        .to_str()
        .ok_or("the temporary directory is not UTF-8")?;
    // The routes files name only the rate limit cluster; where it points is the bootstrap's.
    let options = EmitOptions {
        rate_limit: RateLimitSetting::At(RateLimitService::default()),
        listen_ports: d.listen_ports.to_vec(),
        ..EmitOptions::default()
    };
    let configmap = parse(&emit(EmitKind::ConfigMap, compiled, &options)?)?;
    let files = configmap
        .get("data")
        .and_then(Value::as_object)
        .ok_or("the routes ConfigMap has no data")?;
    files
        .iter()
        .map(|(key, text)| {
            let mut doc = rewrite_paths(parse(text.as_str().unwrap_or_default().as_bytes())?, root);
            if key == layout::CDS_KEY {
                localize_clusters(array(&mut doc, "resources")?, d)?;
            }
            Ok((key.clone(), doc.to_string().into_bytes()))
        })
        .collect()
}

/// The emitted bootstrap, localized: what Envoy is started with.
///
/// # Errors
/// An emitter failure, or a document that does not have the emitted shape.
pub fn bootstrap(compiled: &Compiled, d: &Deployment<'_>) -> Result<Value, String> {
    let root = d
        .root
        .to_str()
        .ok_or("the temporary directory is not UTF-8")?;
    let mut bootstrap = rewrite_paths(
        parse(&emit(
            EmitKind::Envoy,
            compiled,
            &EmitOptions {
                rate_limit: RateLimitSetting::At(RateLimitService {
                    address: d.rate_limit.to_owned(),
                    ..RateLimitService::default()
                }),
                listen_ports: d.listen_ports.to_vec(),
                ..EmitOptions::default()
            },
        )?)?,
        root,
    );
    let resources = bootstrap
        .get_mut("static_resources")
        .ok_or("the bootstrap has no static_resources")?;
    for listener in array(resources, "listeners")? {
        let gateway = listener["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("gateway-"));
        // A `--listen-port` stays where the emitter bound it; the rest take a free port.
        let bound = listener
            .pointer("/address/socket_address/port_value")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| gateway && d.listen_ports.iter().any(|l| l.envoy == *p))
            .unwrap_or(0);
        listener["address"] = socket("127.0.0.1", bound);
        if gateway {
            name_test_ids(listener);
        }
        if gateway && d.attached {
            if let Some(l) = listener.as_object_mut() {
                l.remove("metadata");
            }
        }
    }
    localize_clusters(array(resources, "clusters")?, d)?;
    bootstrap["admin"]["address"] = socket("127.0.0.1", d.admin_port);
    Ok(bootstrap)
}

/// Each access log line of a Gateway listener gets the request's test id, so a case can find
/// its own line.
fn name_test_ids(listener: &mut Value) {
    let chains = listener["filter_chains"].as_array_mut();
    for chain in chains.into_iter().flatten() {
        let filters = chain["filters"].as_array_mut();
        for filter in filters.into_iter().flatten() {
            let logs = filter["typed_config"]["access_log"].as_array_mut();
            for log in logs.into_iter().flatten() {
                let format = &mut log["typed_config"]["log_format"]["json_format"];
                if let Some(fields) = format.as_object_mut() {
                    let id = format!("%REQ({TEST_ID_HEADER})%");
                    fields.insert(TEST_ID_FIELD.to_owned(), Value::String(id));
                }
            }
        }
    }
}

/// The access log field that holds a request's test id.
pub const TEST_ID_FIELD: &str = "test_id";

/// Every cluster points at its test endpoint: the admin's test port, or the echo upstream's
/// port for a backend. The rate limit service's cluster is emitted pointing at the run's
/// service already.
fn localize_clusters(clusters: &mut [Value], d: &Deployment<'_>) -> Result<(), String> {
    for cluster in clusters {
        let name = cluster["name"].as_str().unwrap_or_default().to_owned();
        if name == RATE_LIMIT_CLUSTER {
            continue;
        }
        let port = if name == layout::ADMIN_CLUSTER {
            d.admin_port
        } else {
            (d.endpoint)(&name).ok_or_else(|| format!("no test upstream for cluster {name}"))?
        };
        point_at(cluster, &name, "127.0.0.1", port);
        // The echo upstream speaks plain text; BackendTLSPolicy is checked by --emit's own
        // tests, not by routing cases.
        if let Some(c) = cluster.as_object_mut() {
            c.remove("transport_socket");
        }
    }
    Ok(())
}

/// Keeps the emitted cluster type: a backend stays `STRICT_DNS` (an IP literal resolves too),
/// so a cluster a routes update brings warms in Envoy as it would in a pod.
fn point_at(cluster: &mut Value, name: &str, host: &str, port: u16) {
    cluster["load_assignment"] = json!({
        "cluster_name": name,
        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket(host, port)}}]}],
    });
}

fn socket(address: &str, port: u16) -> Value {
    json!({"socket_address": {"address": address, "port_value": port}})
}

/// Self-signed certificates wherever an SDS file names a certificate file that does not
/// exist yet (the listener Secrets a cluster would mount).
fn write_certificates(bootstrap: &Value, root: &Path) -> Result<(), String> {
    let routes = root.join(rel(layout::ROUTES_DIR));
    let mut names = Vec::new();
    collect_server_names(bootstrap, &mut names);
    let entries =
        std::fs::read_dir(&routes).map_err(|e| format!("cannot read {}: {e}", routes.display()))?;
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let Ok(doc) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        for resource in doc["resources"].as_array().into_iter().flatten() {
            let tls = &resource["tls_certificate"];
            let (Some(chain), Some(key)) = (
                tls.pointer("/certificate_chain/filename")
                    .and_then(Value::as_str),
                tls.pointer("/private_key/filename").and_then(Value::as_str),
            ) else {
                continue;
            };
            let (cert_pem, key_pem) = certs::self_signed(&names)?;
            for (path, pem) in [(chain, cert_pem), (key, key_pem)] {
                let path = Path::new(path);
                if let Some(dir) = path.parent() {
                    mkdir(dir)?;
                }
                write(path, pem.as_bytes())?;
            }
        }
    }
    Ok(())
}

fn collect_server_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "server_names" {
                    out.extend(
                        x.as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|n| n.as_str().map(str::to_owned)),
                    );
                } else {
                    collect_server_names(x, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_server_names(x, out)),
        _ => {}
    }
}

/// Every string naming a file under `/etc/gatewasm/` now names it under `root`.
fn rewrite_paths(v: Value, root: &str) -> Value {
    match v {
        Value::String(s) => match s.strip_prefix("/etc/gatewasm/") {
            Some(rest) => Value::String(format!("{root}/{rest}")),
            None if s == "/etc/gatewasm" => Value::String(root.to_owned()),
            None => Value::String(s),
        },
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|x| rewrite_paths(x, root)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, x)| (k, rewrite_paths(x, root)))
                .collect(),
        ),
        other => other,
    }
}

/// A layout path relative to `/etc/gatewasm`.
fn rel(path: &str) -> &str {
    path.strip_prefix("/etc/gatewasm/").unwrap_or(path)
}

fn parse(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("emitted text is not UTF-8: {e}"))?;
    serde_saphyr::from_str(text).map_err(|e| format!("cannot read an emitted document: {e}"))
}

fn array<'v>(v: &'v mut Value, key: &str) -> Result<&'v mut Vec<Value>, String> {
    v.get_mut(key)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("an emitted document has no {key}"))
}

fn mkdir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_the_layout_prefix() {
        let v = json!({"a": "/etc/gatewasm/routes/x.yaml", "b": ["/etc/other", "/etc/gatewasm"]});
        let out = rewrite_paths(v, "/tmp/t");
        assert_eq!(out["a"], "/tmp/t/routes/x.yaml");
        assert_eq!(out["b"][0], "/etc/other");
        assert_eq!(out["b"][1], "/tmp/t");
    }
}
