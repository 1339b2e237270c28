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
mod istio;
pub mod layout;
mod plugin;
mod ratelimit_config;
mod upstream_tls;

use std::fmt;

use crate::compile::Compiled;
use crate::model::TlsModeType;
use crate::valid::{Gateway, Listener, SecretRef, Valid};

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
}

impl EmitKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [EmitKind; 6] = [
        EmitKind::Blob,
        EmitKind::Envoy,
        EmitKind::ConfigMap,
        EmitKind::EnvoyGateway,
        EmitKind::Istio,
        EmitKind::RatelimitConfig,
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
}

/// Renders one document kind.
///
/// # Errors
/// A one-line explanation when the kind cannot be produced for this input.
pub fn emit(kind: EmitKind, compiled: &Compiled, options: &EmitOptions) -> Result<Vec<u8>, String> {
    let text = match kind {
        EmitKind::Blob => return Ok(compiled.blob.clone()),
        EmitKind::Envoy => yaml(&bootstrap::bootstrap(compiled, options)?)?,
        EmitKind::ConfigMap => configmap::configmaps(compiled, options)?,
        EmitKind::EnvoyGateway => envoy_gateway::policy(compiled, options)?,
        EmitKind::Istio => istio::wasm_plugin(compiled, options)?,
        EmitKind::RatelimitConfig => yaml(&ratelimit_config::ratelimit_config(compiled)?)?,
    };
    Ok(text.into_bytes())
}

/// Renders a document as YAML.
fn yaml(doc: &serde_json::Value) -> Result<String, String> {
    serde_saphyr::to_string(doc).map_err(|e| format!("cannot render YAML: {e}"))
}

/// The compiled Gateway as `(namespace, name)`.
fn gateway_name(compiled: &Compiled) -> (&str, &str) {
    compiled
        .table
        .gateway
        .split_once('/')
        .unwrap_or(("default", compiled.table.gateway.as_str()))
}

/// The compiled Gateway's validated object.
fn gateway(compiled: &Compiled) -> Result<&Valid<Gateway>, String> {
    let (namespace, name) = gateway_name(compiled);
    compiled
        .validated
        .gateways
        .iter()
        .find(|g| g.meta.namespace == namespace && g.meta.name == name)
        .ok_or_else(|| format!("Gateway {namespace}/{name} is not in the input"))
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
