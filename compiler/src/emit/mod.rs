//! The emit stage: turns a [`Compiled`] Gateway into the documents a deployment consumes —
//! the raw blob, a runnable Envoy bootstrap, the ConfigMaps that deliver the blob to a running
//! Envoy by ECDS, and the policy objects Envoy Gateway and Istio attach a wasm filter with.
//!
//! Every document is built as a `serde_json::Value` (never a text template) and rendered by
//! serde-saphyr, so it is well-formed by construction; `scripts/validate-emitted.py` then
//! checks each against Envoy's protobuf types or the official CRD schemas. Each kind lives in
//! its own module; the file layout they agree on (where the wasm, the routes and the
//! certificates are mounted) is in [`layout`].

mod bootstrap;
mod clusters;
mod configmap;
mod envoy_gateway;
mod forward;
mod istio;
pub mod layout;
mod native_route;
mod native_routes;
pub use native_route::INVALID_BACKEND_CLUSTER;
pub use native_routes::{
    native_bootstrap, native_routes, nativize_bootstrap, route_config_name, translate, NativeRoutes,
};
mod plugin;
pub use plugin::sha256_hex;
mod ratelimit_config;
mod upstream_tls;

use std::fmt;

use crate::compile::Compiled;
use crate::model::{ProtocolType, TlsModeType};
use crate::valid::{Gateway, Listener, SecretRef, Valid};

/// Milliseconds as a protobuf JSON Duration.
fn duration(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// What `--emit` can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitKind {
    /// The raw blob.
    Blob,
    /// A complete Envoy bootstrap for the compiled Gateway.
    Envoy,
    /// The ConfigMap with the ECDS file (plus the `.wasm` as a second one when given).
    ConfigMap,
    /// An Envoy Gateway EnvoyExtensionPolicy.
    EnvoyGateway,
    /// An Istio WasmPlugin.
    Istio,
    /// The rate limit service's descriptor configuration.
    RatelimitConfig,
    /// Envoy's own route tables for the same routes (for comparison with the filter).
    EnvoyRoutes,
}

impl EmitKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [EmitKind; 7] = [
        EmitKind::Blob,
        EmitKind::Envoy,
        EmitKind::ConfigMap,
        EmitKind::EnvoyGateway,
        EmitKind::Istio,
        EmitKind::RatelimitConfig,
        EmitKind::EnvoyRoutes,
    ];

    /// The spelling on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EmitKind::Blob => "blob",
            EmitKind::Envoy => "envoy",
            EmitKind::ConfigMap => "configmap",
            EmitKind::EnvoyGateway => "envoy-gateway",
            EmitKind::Istio => "istio",
            EmitKind::RatelimitConfig => "ratelimit-config",
            EmitKind::EnvoyRoutes => "envoy-routes",
        }
    }
}

impl fmt::Display for EmitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `--emit KIND[=PATH]`: what to write and where (`None`: standard output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmitTarget {
    /// The document kind.
    pub kind: EmitKind,
    /// The file to write, or standard output.
    pub path: Option<String>,
}

impl std::str::FromStr for EmitTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<EmitTarget, String> {
        let (name, path) = match s.split_once('=') {
            Some((_, "")) => return Err(format!("`{s}`: the path after `=` is empty")),
            Some((name, path)) => (name, Some(path.to_owned())),
            None => (s, None),
        };
        let kind = EmitKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = EmitKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown kind `{name}`; expected one of {}",
                    known.join(", ")
                )
            })?;
        Ok(EmitTarget { kind, path })
    }
}

/// Inputs the compile itself does not provide.
#[derive(Clone, Debug, Default)]
pub struct EmitOptions {
    /// The filter `.wasm` (`--wasm PATH`): shipped as a ConfigMap and its sha256 filled into
    /// the policies. Without it the documents say where the user must put it.
    pub wasm: Option<Vec<u8>>,
    /// Where global rate limits are checked.
    pub rate_limit: RateLimitSetting,
    /// `--listen-port GATEWAY=ENVOY`: the ports Envoy binds instead of the Gateway's.
    pub listen_ports: Vec<ListenPort>,
}

/// Envoy listens on `envoy` for the Gateway listeners of port `gateway` (a Service
/// targetPort, an unprivileged port, Envoy Gateway's +10000 shift).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenPort {
    /// The Gateway listener port.
    pub gateway: u16,
    /// The port Envoy binds.
    pub envoy: u16,
}

impl std::str::FromStr for ListenPort {
    type Err = String;

    fn from_str(s: &str) -> Result<ListenPort, String> {
        let port = |p: &str| p.trim().parse::<u16>().ok().filter(|&p| p > 0);
        s.split_once('=')
            .and_then(|(g, e)| {
                Some(ListenPort {
                    gateway: port(g)?,
                    envoy: port(e)?,
                })
            })
            .ok_or_else(|| format!("`{s}` is not GATEWAY_PORT=ENVOY_PORT (e.g. 443=8443)"))
    }
}

/// Where Envoy's rate limit service is and how the filter treats it.
#[derive(Clone, Debug, Default)]
pub struct RateLimitService {
    /// `HOST:PORT` of its gRPC endpoint.
    pub address: String,
    /// How long one `ShouldRateLimit` call may take (`--ratelimit-timeout`); the filter's
    /// default (100 ms) when `None`.
    pub timeout_ms: Option<u64>,
    /// Answer 500 when the service fails instead of admitting (`--ratelimit-fail-closed`).
    pub fail_closed: bool,
}

/// The rate limit service a Gateway with Global limits needs (`--ratelimit-service`,
/// `--ratelimit-fail-open`).
#[derive(Clone, Debug, Default)]
pub enum RateLimitSetting {
    /// None named: emitting deployables for Global limits is an error.
    #[default]
    Missing,
    /// Envoy's rate limit service: a cluster in the bootstrap.
    At(RateLimitService),
    /// Knowingly none: the filter admits what Global limits would count.
    FailOpen,
}

impl EmitOptions {
    /// The cluster the filter calls for Global limits, if the deployment has one.
    fn rate_limit_service(
        &self,
        compiled: &Compiled,
    ) -> Result<Option<(&'static str, &RateLimitService)>, String> {
        let global = compiled.table.rate_limits.has_global();
        match &self.rate_limit {
            RateLimitSetting::At(service) => {
                Ok(Some((gatewasm_filter::ratelimit::DEFAULT_CLUSTER, service)))
            }
            RateLimitSetting::Missing if global => Err(
                "the Gateway has Global rate limits but no rate limit service: pass \
                 --ratelimit-service HOST:PORT (Envoy's rate limit service, gRPC), or \
                 --ratelimit-fail-open to admit every request they would count"
                    .to_owned(),
            ),
            RateLimitSetting::Missing | RateLimitSetting::FailOpen => Ok(None),
        }
    }

    /// The port Envoy binds for the Gateway's `port`.
    fn envoy_port(&self, port: u16) -> u16 {
        self.listen_ports
            .iter()
            .find(|l| l.gateway == port)
            .map_or(port, |l| l.envoy)
    }

    /// Checks `--listen-port` against the Gateway: every mapped port is one of its HTTP or
    /// HTTPS listener ports, and no two Envoy listeners (nor the admin, stats and readiness
    /// listeners) end up on one port.
    fn check_listen_ports(&self, compiled: &Compiled) -> Result<(), String> {
        let ports = http_ports(compiled.gateway());
        let mut bound: Vec<(u16, String)> = vec![
            (layout::ADMIN_PORT, "Envoy's admin".to_owned()),
            (layout::STATS_PORT, "the stats listener".to_owned()),
            (layout::READY_PORT, "the readiness listener".to_owned()),
        ];
        for l in &self.listen_ports {
            if !ports.contains(&l.gateway) {
                let known: Vec<String> = ports.iter().map(u16::to_string).collect();
                return Err(format!(
                    "--listen-port {}={}: the Gateway has no HTTP or HTTPS listener on port {} (its ports: {})",
                    l.gateway,
                    l.envoy,
                    l.gateway,
                    known.join(", ")
                ));
            }
            if self
                .listen_ports
                .iter()
                .filter(|o| o.gateway == l.gateway)
                .count()
                > 1
            {
                return Err(format!(
                    "--listen-port maps Gateway port {} more than once",
                    l.gateway
                ));
            }
        }
        for port in ports {
            let envoy = self.envoy_port(port);
            if let Some((_, other)) = bound.iter().find(|(p, _)| *p == envoy) {
                return Err(format!(
                    "Envoy port {envoy} would serve both Gateway port {port} and {other}: \
                     give one of them another port with --listen-port"
                ));
            }
            bound.push((envoy, format!("Gateway port {port}")));
        }
        Ok(())
    }
}

/// The names of the backend clusters the routes ConfigMap's CDS file carries.
pub fn backend_clusters(compiled: &Compiled) -> Vec<String> {
    clusters::names(compiled)
}

/// The ports of the compiled Gateway that Envoy listens on (see [`http_ports`]).
pub fn listener_ports(compiled: &Compiled) -> Vec<u16> {
    http_ports(compiled.gateway())
}

/// The Gateway's ports with HTTP or HTTPS listeners, ascending: the ones Envoy listens on
/// (TLS passthrough, TCP and UDP listeners carry no HTTP routes for the filter).
fn http_ports(gateway: &Valid<Gateway>) -> Vec<u16> {
    let mut ports: Vec<u16> = gateway
        .spec
        .listeners
        .iter()
        .filter(|l| matches!(l.protocol, ProtocolType::Http | ProtocolType::Https))
        .map(|l| l.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Renders one document kind.
///
/// # Errors
/// A one-line explanation when the kind cannot be produced for this input.
pub fn emit(kind: EmitKind, compiled: &Compiled, options: &EmitOptions) -> Result<Vec<u8>, String> {
    options.check_listen_ports(compiled)?;
    let text = match kind {
        EmitKind::Blob => return Ok(compiled.blob.clone()),
        EmitKind::Envoy => yaml(&bootstrap::bootstrap(compiled, options)?)?,
        EmitKind::ConfigMap => configmap::configmaps(compiled, options)?,
        EmitKind::EnvoyGateway => envoy_gateway::policy(compiled, options)?,
        EmitKind::Istio => istio::wasm_plugin(compiled, options)?,
        EmitKind::RatelimitConfig => yaml(&ratelimit_config::ratelimit_config(compiled)?)?,
        EmitKind::EnvoyRoutes => native_routes::document(compiled)?,
    };
    Ok(text.into_bytes())
}

/// Renders a document as YAML.
fn yaml(doc: &serde_json::Value) -> Result<String, String> {
    serde_saphyr::to_string(doc).map_err(|e| format!("cannot render YAML: {e}"))
}

/// The compiled Gateway as `(namespace, name)`.
fn gateway_name(compiled: &Compiled) -> (&str, &str) {
    let meta = &compiled.gateway().meta;
    (&meta.namespace, &meta.name)
}

/// The certificate Secrets a listener terminates TLS with (other certificate kinds are not
/// files Envoy could watch, and resolve has already reported them).
fn listener_certificates(listener: &Listener) -> impl Iterator<Item = &SecretRef> {
    listener
        .tls
        .iter()
        .filter(|t| t.mode == TlsModeType::Terminate)
        .flat_map(|t| &t.certificate_refs)
        .filter(|r| r.group.is_empty() && r.kind == "Secret")
}

/// Every listener certificate Secret of the Gateway, each once, in listener order.
fn gateway_certificates(gateway: &Valid<Gateway>) -> Vec<&SecretRef> {
    let mut out: Vec<&SecretRef> = Vec::new();
    for r in gateway
        .spec
        .listeners
        .iter()
        .flat_map(listener_certificates)
    {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests;
