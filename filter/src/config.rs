//! The plugin configuration: how the route table and options reach the filter.
//!
//! Envoy hands the filter the bytes of its `configuration` field. Two shapes are accepted:
//! * the raw blob (a `google.protobuf.BytesValue`), recognised by its magic;
//! * JSON text (a `google.protobuf.StringValue`, which is what Envoy Gateway's
//!   EnvoyExtensionPolicy `config` and Istio's WasmPlugin `pluginConfig` deliver):
//!   `{"blob": "<base64>", "clusterHeader": "...", "failOpen": false, "rateLimit": {...},
//!   "listenPorts": {"10080": 80}}`.

use base64::Engine as _;
use serde::Deserialize;

use crate::blob::{self, DecodeError, MAGIC};
use crate::engine::Router;
use crate::quote::{clean, quote};
use crate::ratelimit::ServiceSettings;

/// The header Envoy's catch-all route reads the cluster name from, unless configured.
pub const DEFAULT_CLUSTER_HEADER: &str = "x-gatewasm-cluster";

/// The request headers that name the cluster of each of `slots` mirror slots
/// (`<cluster_header>-mirror-<slot>`): Envoy's route has one `request_mirror_policies` entry
/// per slot reading its header.
pub fn mirror_headers(cluster_header: &str, slots: usize) -> Vec<String> {
    (0..slots)
        .map(|slot| format!("{cluster_header}-mirror-{slot}"))
        .collect()
}

/// The longest library error text (serde_json's, which quotes the offending value) a
/// configuration error shows.
const MESSAGE: usize = 300;

/// A loaded configuration.
#[derive(Debug)]
pub struct PluginConfig {
    /// The routing engine over the decoded table.
    pub router: Router,
    /// Request header that carries the chosen cluster to Envoy's router.
    pub cluster_header: String,
    /// One header per mirror slot the table needs ([`mirror_headers`]).
    pub mirror_headers: Vec<String>,
    /// The CRC-32 of the table's payload, as the blob's header gives it.
    pub table_crc: u32,
    /// What the access log says of each rule ([`crate::decision_log`]).
    pub rule_names: crate::decision_log::RuleNames,
    /// The counter of each rule's requests, by rule ([`crate::metrics::rule_requests`]).
    pub rule_metrics: Vec<String>,
    /// The header naming a rule's idle timeout ([`crate::blob::idle_header`]), only when
    /// some rule has one: other tables cost no host call for it.
    pub idle_header: Option<String>,
    /// What to do when the filter cannot do its job for a request (host call failure):
    /// `true` passes the request on untouched, `false` answers 503.
    pub fail_open: bool,
    /// How requests are evaluated.
    pub engine: EngineMode,
    /// The rate limit service that global rate limits call.
    pub rate_limit: ServiceSettings,
    /// `(Envoy port, Gateway port)` pairs, sorted: which Gateway port a listener that carries
    /// no `gatewasm.port` metadata serves, when Envoy binds another number than the Gateway's
    /// (Envoy Gateway's 10080 for 80, an existing Envoy's 8080).
    pub listen_ports: Vec<(u16, u16)>,
}

impl PluginConfig {
    /// The Gateway port a connection to Envoy's `port` is for: its `listenPorts` entry, else
    /// the same number.
    pub fn gateway_port(&self, port: u16) -> u16 {
        self.listen_ports
            .binary_search_by_key(&port, |&(envoy, _)| envoy)
            .ok()
            .and_then(|i| self.listen_ports.get(i))
            .map_or(port, |&(_, gateway)| gateway)
    }
}

/// How the filter evaluates requests. Only `Indexed` is for production; the others exist so a
/// benchmark can measure the filter against its own baselines, and only a build with the
/// `bench-engines` feature lets the configuration choose them: `Off` forwards without
/// deciding, which must never be one configuration line away in a deployed filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "bench-engines", derive(Deserialize))]
#[cfg_attr(feature = "bench-engines", serde(rename_all = "lowercase"))]
pub enum EngineMode {
    /// Route as the engine's [`crate::engine::Strategy::Auto`] does: the match index, or a
    /// scan of a small listener.
    #[default]
    Indexed,
    /// Route by scanning the listener's matches in order (same verdicts, slower).
    Linear,
    /// Read the same headers and decide nothing: the cost floor of any filter.
    Off,
}

/// Why a configuration was refused. `fail_open` is the setting the configuration asked for,
/// when it could be read that far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// What is wrong, in one line.
    pub message: String,
    /// The requested failure mode, if known.
    pub fail_open: Option<bool>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonConfig<'a> {
    /// Borrowed from the configuration bytes (base64 needs no JSON escapes), so the encoded
    /// table is not copied before it is decoded.
    #[serde(borrow)]
    blob: std::borrow::Cow<'a, str>,
    #[serde(default)]
    cluster_header: Option<String>,
    #[serde(default)]
    fail_open: bool,
    #[cfg(feature = "bench-engines")]
    #[serde(default)]
    engine: EngineMode,
    #[serde(default)]
    rate_limit: Option<JsonRateLimit>,
    /// Envoy port (a JSON object key, so a string) → Gateway port.
    #[serde(default)]
    listen_ports: std::collections::BTreeMap<String, u16>,
}

/// `"rateLimit": {"cluster": "ratelimit", "timeoutMs": 100, "failClosed": false}`: where
/// global rate limits are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonRateLimit {
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    fail_closed: bool,
}

/// Parses the plugin configuration bytes (`None` when Envoy passed none).
///
/// Takes the bytes by value: a VM's linear memory never shrinks, so its size is the peak of
/// configure, and each copy of the table (the configuration text, the decoded blob, the
/// table) is dropped as soon as the next one exists.
///
/// # Errors
/// A [`ConfigError`] naming what is missing or malformed.
pub fn parse(bytes: Option<Vec<u8>>) -> Result<PluginConfig, ConfigError> {
    let bytes = bytes.filter(|b| !b.is_empty()).ok_or_else(|| ConfigError {
        message:
            "no plugin configuration: expected a gatewasm blob or JSON {\"blob\": \"<base64>\"}"
                .into(),
        fail_open: None,
    })?;
    if bytes.starts_with(&MAGIC) {
        return with_blob(bytes, Settings::default());
    }
    let (blob, settings) = from_json(&bytes)?;
    drop(bytes);
    with_blob(blob, settings)
}

/// Everything a configuration sets besides the table.
struct Settings {
    cluster_header: String,
    fail_open: bool,
    engine: EngineMode,
    rate_limit: ServiceSettings,
    listen_ports: Vec<(u16, u16)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            cluster_header: DEFAULT_CLUSTER_HEADER.to_owned(),
            fail_open: false,
            engine: EngineMode::Indexed,
            rate_limit: ServiceSettings::default(),
            listen_ports: Vec::new(),
        }
    }
}

/// The blob and settings of a JSON configuration.
fn from_json(bytes: &[u8]) -> Result<(Vec<u8>, Settings), ConfigError> {
    let json: JsonConfig<'_> = serde_json::from_slice(bytes).map_err(|e| ConfigError {
        message: format!(
            "plugin configuration is neither a gatewasm blob nor valid JSON: {}",
            clean(&e.to_string(), MESSAGE)
        ),
        fail_open: None,
    })?;
    let fail = |message: String| ConfigError {
        message,
        fail_open: Some(json.fail_open),
    };
    let blob = base64::engine::general_purpose::STANDARD
        .decode(json.blob.trim())
        .map_err(|e| fail(format!("\"blob\" is not valid base64: {e}")))?;
    #[cfg(feature = "bench-engines")]
    let engine = json.engine;
    #[cfg(not(feature = "bench-engines"))]
    let engine = EngineMode::Indexed;
    let settings = Settings {
        cluster_header: cluster_header(json.cluster_header).map_err(fail)?,
        fail_open: json.fail_open,
        engine,
        rate_limit: rate_limit(json.rate_limit).map_err(fail)?,
        listen_ports: listen_ports(&json.listen_ports).map_err(fail)?,
    };
    Ok((blob, settings))
}

/// `clusterHeader`, lowercase, or the default.
fn cluster_header(header: Option<String>) -> Result<String, String> {
    match header {
        Some(h)
            if h.is_empty()
                || h.bytes()
                    .any(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_')) =>
        {
            Err(format!(
                "\"clusterHeader\" {} is not a valid header name",
                quote(&h)
            ))
        }
        Some(h) => Ok(h.to_ascii_lowercase()),
        None => Ok(DEFAULT_CLUSTER_HEADER.to_owned()),
    }
}

/// `rateLimit`, each field defaulted on its own.
fn rate_limit(json: Option<JsonRateLimit>) -> Result<ServiceSettings, String> {
    let defaults = ServiceSettings::default();
    let Some(rl) = json else {
        return Ok(defaults);
    };
    Ok(ServiceSettings {
        cluster: match rl.cluster {
            Some(c) if c.is_empty() => return Err("\"rateLimit.cluster\" is empty".to_owned()),
            Some(c) => c,
            None => defaults.cluster,
        },
        timeout: rl
            .timeout_ms
            .map_or(defaults.timeout, std::time::Duration::from_millis),
        fail_closed: rl.fail_closed,
    })
}

/// `listenPorts` as sorted `(Envoy port, Gateway port)` pairs.
fn listen_ports(map: &std::collections::BTreeMap<String, u16>) -> Result<Vec<(u16, u16)>, String> {
    let mut ports = Vec::with_capacity(map.len());
    for (envoy, gateway) in map {
        match envoy.parse::<u16>() {
            Ok(e) if e > 0 && *gateway > 0 => ports.push((e, *gateway)),
            _ => {
                return Err(format!(
                    "\"listenPorts\" maps {} to {gateway}: both must be ports (1-65535)",
                    quote(envoy)
                ))
            }
        }
    }
    // Keys that differ only in spelling ("080" and "80") would name one port twice.
    ports.sort_unstable();
    match ports.windows(2).find_map(|w| match w {
        [(a, _), (b, _)] if a == b => Some(*a),
        _ => None,
    }) {
        Some(twice) => Err(format!("\"listenPorts\" maps Envoy port {twice} twice")),
        None => Ok(ports),
    }
}

fn with_blob(blob: Vec<u8>, settings: Settings) -> Result<PluginConfig, ConfigError> {
    let refused = |e: DecodeError| ConfigError {
        message: format!("invalid route blob: {e}"),
        fail_open: Some(settings.fail_open),
    };
    let table = blob::decode(&blob).map_err(refused)?;
    // `decode` checked the header, whose last four bytes are the payload's CRC-32.
    let table_crc = blob
        .get(12..16)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_le_bytes);
    drop(blob);
    let router = Router::new(table);
    let mirror_headers = mirror_headers(&settings.cluster_header, router.table().mirror_slots());
    let idle_header = (!router.table().idle.is_empty())
        .then(|| crate::blob::idle_header(&settings.cluster_header));
    let rule_metrics = crate::metrics::rule_requests(router.table());
    let rule_names = crate::decision_log::RuleNames::of(router.table());
    Ok(PluginConfig {
        rule_names,
        table_crc,
        rule_metrics,
        router,
        cluster_header: settings.cluster_header,
        mirror_headers,
        idle_header,
        fail_open: settings.fail_open,
        engine: settings.engine,
        rate_limit: settings.rate_limit,
        listen_ports: settings.listen_ports,
    })
}
