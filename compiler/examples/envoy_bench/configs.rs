//! The four Envoy configurations a table is measured in, each laid out once in its own
//! directory and started again for every run: Envoy's own router (`native`), what users
//! deploy (`gatewasm`), the same bootstrap with a filter that decides nothing (`noop`, the
//! floor of any wasm filter) and without any filter (`none`, the floor of Envoy itself).
//! Every cluster points at the benchmark's upstream, and the Gateway listener binds a port
//! chosen here, so a run can poll it from the moment Envoy is started.

use std::path::{Path, PathBuf};

use gatewasm::compile::Compiled;
use gatewasm::emit::{backend_clusters, layout, native_routes, nativize_bootstrap, sha256_hex};
use gatewasm::routetest::envoy::deploy::{self, Deployment};
use gatewasm::routetest::envoy::kubelet;
use gatewasm::routetest::envoy::process::free_port;
use gatewasm_filter::config::DEFAULT_CLUSTER_HEADER;
use serde_json::{json, Map, Value};

/// One of the four configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Config {
    Native,
    Gatewasm,
    Noop,
    None,
}

impl Config {
    pub const ALL: [Config; 4] = [Config::Native, Config::Gatewasm, Config::Noop, Config::None];

    pub fn name(self) -> &'static str {
        match self {
            Config::Native => "native",
            Config::Gatewasm => "gatewasm",
            Config::Noop => "noop",
            Config::None => "none",
        }
    }

    /// Whether the configuration routes by the table (and so answers a miss with 404);
    /// `noop` and `none` forward everything to one cluster.
    pub fn routes(self) -> bool {
        matches!(self, Config::Native | Config::Gatewasm)
    }
}

/// The files of a ConfigMap volume: key and content.
pub type Files = Vec<(String, Vec<u8>)>;

/// The modules and the upstream the configurations use.
pub struct Context<'a> {
    pub wasm: &'a Path,
    pub noop: &'a Path,
    pub upstream_port: u16,
}

/// A configuration laid out on disk.
pub struct Deployed {
    pub config: Config,
    pub root: PathBuf,
    pub bootstrap: PathBuf,
    pub admin_port: u16,
    /// The Gateway listener's port.
    pub port: u16,
}

impl Deployed {
    /// The directory a table swap updates the way the kubelet updates a ConfigMap volume.
    pub fn routes_dir(&self) -> PathBuf {
        self.root.join(rel(layout::ROUTES_DIR))
    }
}

/// Lays out `config` for the table `c` under `root`.
///
/// # Errors
/// An emitter failure or a file that cannot be written.
pub fn lay_out(
    config: Config,
    c: &Compiled,
    root: &Path,
    cx: &Context<'_>,
) -> Result<Deployed, String> {
    std::fs::create_dir_all(root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let admin_port = free_port()?;
    let endpoint = |_: &str| Some(cx.upstream_port);
    let rate_limit = format!("127.0.0.1:{}", cx.upstream_port);
    let d = deployment(root, cx.wasm, admin_port, &endpoint, &rate_limit);
    let mut bootstrap = match config {
        Config::Native => native(c, &d)?,
        Config::Gatewasm => deploy::lay_out(c, &d)?,
        Config::Noop => noop(c, &d, cx.noop)?,
        Config::None => no_filter(c, &d)?,
    };
    let port = free_port()?;
    bind(&mut bootstrap, port)?;
    let path = root.join("envoy.json");
    std::fs::write(&path, bootstrap.to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Deployed {
        config,
        root: root.to_owned(),
        bootstrap: path,
        admin_port,
        port,
    })
}

/// The files a swap to the table `c` writes into [`Deployed::routes_dir`]; `None` for a
/// configuration whose table is not swapped (the floors route no table).
///
/// # Errors
/// An emitter failure.
pub fn table_files(d: &Deployed, c: &Compiled, cx: &Context<'_>) -> Result<Option<Files>, String> {
    let endpoint = |_: &str| Some(cx.upstream_port);
    let rate_limit = format!("127.0.0.1:{}", cx.upstream_port);
    let deployment = deployment(&d.root, cx.wasm, d.admin_port, &endpoint, &rate_limit);
    match d.config {
        Config::Gatewasm => deploy::routes_files(c, &deployment).map(Some),
        Config::Native => native_files(c, &deployment).map(Some),
        Config::Noop | Config::None => Ok(None),
    }
}

fn deployment<'a>(
    root: &'a Path,
    wasm: &'a Path,
    admin_port: u16,
    endpoint: &'a dyn Fn(&str) -> Option<u16>,
    rate_limit: &'a str,
) -> Deployment<'a> {
    Deployment {
        root,
        wasm,
        admin_port,
        endpoint,
        rate_limit,
        listen_ports: &[],
        attached: false,
    }
}

/// Envoy's route table in the routes directory, read by RDS.
const NATIVE_ROUTES_KEY: &str = "native-routes.json";

const ROUTE_CONFIGURATION: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

/// The deployed bootstrap routing with Envoy's own router on the `--emit envoy-routes`
/// table, read by RDS from a file in the routes directory, so that a swap replaces it the
/// way it replaces gatewasm's (the emitted tables are inline in the bootstrap).
fn native(c: &Compiled, d: &Deployment<'_>) -> Result<Value, String> {
    let dir = d.root.join(rel(layout::ROUTES_DIR));
    kubelet::update(&dir, &native_files(c, d)?)?;
    let mut bootstrap = deploy::bootstrap(c, d)?;
    nativize_bootstrap(&mut bootstrap, &native_routes(c)?)?;
    let source = json!({
        "path_config_source": {
            "path": dir.join(NATIVE_ROUTES_KEY),
            "watched_directory": {"path": dir},
        },
        "resource_api_version": "V3",
    });
    for listener in listeners(&mut bootstrap)?
        .iter_mut()
        .filter(|l| is_gateway(l))
    {
        for manager in managers(listener) {
            let name = manager["route_config"]["name"].clone();
            if let Some(m) = manager.as_object_mut() {
                m.remove("route_config");
                m.insert(
                    "rds".to_owned(),
                    json!({"route_config_name": name, "config_source": source}),
                );
            }
        }
    }
    Ok(bootstrap)
}

/// The routes ConfigMap's files (its clusters, by CDS) and Envoy's route table for `c`.
fn native_files(c: &Compiled, d: &Deployment<'_>) -> Result<Files, String> {
    let mut files = deploy::routes_files(c, d)?;
    let resources: Vec<Value> = native_routes(c)?
        .as_array()
        .into_iter()
        .flatten()
        .map(|route_config| {
            let mut typed = Map::new();
            typed.insert("@type".to_owned(), json!(ROUTE_CONFIGURATION));
            typed.extend(route_config.as_object().cloned().unwrap_or_default());
            Value::Object(typed)
        })
        .collect();
    let doc = json!({
        "version_info": sha256_hex(&c.blob),
        "type_url": ROUTE_CONFIGURATION,
        "resources": resources,
    });
    files.push((NATIVE_ROUTES_KEY.to_owned(), doc.to_string().into_bytes()));
    Ok(files)
}

/// The deployed bootstrap and routes with the no-op module, configured to send every
/// request to the table's first cluster.
fn noop(c: &Compiled, d: &Deployment<'_>, module: &Path) -> Result<Value, String> {
    let bytes =
        std::fs::read(module).map_err(|e| format!("cannot read {}: {e}", module.display()))?;
    deploy::swap_wasm(d.root, bytes)?;
    let header = format!("{DEFAULT_CLUSTER_HEADER}: {}", first_cluster(c)?);
    let mut files = deploy::routes_files(c, d)?;
    for (key, text) in &mut files {
        if key == layout::ECDS_KEY {
            let mut doc: Value = serde_json::from_slice(text)
                .map_err(|e| format!("cannot read the emitted {key}: {e}"))?;
            let value = doc
                .pointer_mut("/resources/0/typed_config/config/configuration/value")
                .ok_or_else(|| format!("the emitted {key} has no plugin configuration"))?;
            *value = Value::String(header.clone());
            *text = doc.to_string().into_bytes();
        }
    }
    kubelet::update(&d.root.join(rel(layout::ROUTES_DIR)), &files)?;
    deploy::bootstrap(c, d)
}

/// The deployed bootstrap without the filter (nor the readiness listener that runs it):
/// every Gateway listener's one route forwards to the table's first cluster. The clusters
/// still come by CDS from the routes files.
fn no_filter(c: &Compiled, d: &Deployment<'_>) -> Result<Value, String> {
    deploy::swap_routes(c, d)?;
    let mut bootstrap = deploy::bootstrap(c, d)?;
    let cluster = first_cluster(c)?;
    let listeners = listeners(&mut bootstrap)?;
    listeners.retain(|l| l["name"] != layout::READY_LISTENER);
    for manager in listeners.iter_mut().flat_map(managers) {
        if let Some(filters) = manager["http_filters"].as_array_mut() {
            filters.retain(|f| f["name"] != layout::FILTER_NAME);
        }
        // The Gateway listeners' routes come by RDS; the readiness and stats listeners' are
        // inline. Either way, one route table with the one route replaces them.
        if let Some(m) = manager.as_object_mut() {
            m.remove("rds");
        }
        manager["route_config"] = json!({
            // The cluster arrives by CDS after the listeners.
            "validate_clusters": false,
            "virtual_hosts": [{
                "name": "all",
                "domains": ["*"],
                "routes": [{
                    "match": {"prefix": "/"},
                    "route": {"cluster": cluster, "timeout": "0s"},
                }],
            }],
        });
    }
    Ok(bootstrap)
}

/// The HTTP connection managers' configurations of a listener.
fn managers(listener: &mut Value) -> impl Iterator<Item = &mut Value> {
    listener["filter_chains"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .flat_map(|chain| chain["filters"].as_array_mut().into_iter().flatten())
        .map(|filter| &mut filter["typed_config"])
}

fn listeners(bootstrap: &mut Value) -> Result<&mut Vec<Value>, String> {
    bootstrap
        .pointer_mut("/static_resources/listeners")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| "the bootstrap has no listeners".to_owned())
}

/// The Gateway's one listener binds `port` on loopback.
fn bind(bootstrap: &mut Value, port: u16) -> Result<(), String> {
    let gateway: Vec<&mut Value> = listeners(bootstrap)?
        .iter_mut()
        .filter(|l| is_gateway(l))
        .collect();
    let [listener] = <[_; 1]>::try_from(gateway).map_err(|found| {
        format!(
            "the bootstrap has {} Gateway listeners, not one",
            found.len()
        )
    })?;
    listener["address"]["socket_address"]["port_value"] = json!(port);
    Ok(())
}

fn is_gateway(listener: &Value) -> bool {
    listener["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("gateway-"))
}

fn first_cluster(c: &Compiled) -> Result<String, String> {
    backend_clusters(c)
        .into_iter()
        .next()
        .ok_or_else(|| "the table has no backend cluster".to_owned())
}

/// A layout path relative to `/etc/gatewasm`, where the deployment's root stands instead.
fn rel(path: &str) -> &str {
    path.strip_prefix("/etc/gatewasm/").unwrap_or(path)
}
