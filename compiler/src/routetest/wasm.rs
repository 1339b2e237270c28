//! Runs requests through a filter `.wasm` in the wasmtime proxy-wasm host, configured with
//! the compiled blob exactly as Envoy would deliver it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use gatewasm_host::{Envoy, GrpcCall, GrpcStatus, Request, UpstreamResponse, WasmModule};

use super::check::{log_fields, Mirrored, Observed};
use super::driver::{
    BackendNames, Driver, Factory, Routes, SentRequest, Setup, SERVICE_TIMEOUT_MS,
};
use gatewasm_filter::config::{mirror_headers, DEFAULT_CLUSTER_HEADER};

/// A driver over one configured Envoy.
pub struct Wasm {
    envoy: Envoy,
    backends: BackendNames,
    /// Set when the filter called the rate limit service and the run has none.
    missing_service: Arc<AtomicBool>,
    /// The header naming a rule's idle timeout, when the table has any.
    idle_header: Option<String>,
}

/// The plugin configuration: the raw blob, or JSON with the blob and a rate limit service
/// timeout when the table has global limits.
fn plugin_config(c: Routes<'_>) -> Vec<u8> {
    let global = c
        .table
        .rate_limits
        .policies
        .iter()
        .any(|p| !p.global.is_empty());
    if !global {
        return c.blob.to_vec();
    }
    let blob = base64::engine::general_purpose::STANDARD.encode(c.blob);
    serde_json::json!({"blob": blob, "rateLimit": {"timeoutMs": SERVICE_TIMEOUT_MS}})
        .to_string()
        .into_bytes()
}

/// A factory that loads (and compiles) the module once and starts an Envoy per Gateway.
///
/// # Errors
/// When the module cannot be loaded.
pub fn factory(path: &Path, seed: u64) -> Result<Factory, String> {
    let module =
        WasmModule::load(path).map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    Ok(Box::new(move |c: Routes<'_>, setup: &Setup| {
        let missing_service = Arc::new(AtomicBool::new(false));
        let missing = Arc::clone(&missing_service);
        let service = setup.rate_limit_service.clone();
        let responder = move |call: &GrpcCall| -> Result<Vec<u8>, GrpcStatus> {
            match &service {
                Some(s) => s
                    .call(&call.message, call.timeout)
                    .map_err(|(code, m)| GrpcStatus::new(code, &m)),
                None => {
                    missing.store(true, Ordering::SeqCst);
                    Err(GrpcStatus::new(14, "no rate limit service"))
                }
            }
        };
        let envoy = Envoy::builder(&module)
            .plugin_config(plugin_config(c))
            .workers(setup.workers.max(1))
            .clusters(
                c.table
                    .backends
                    .iter()
                    .map(|b| b.cluster.clone())
                    .chain([gatewasm_filter::ratelimit::DEFAULT_CLUSTER.to_owned()]),
            )
            .mirror_headers(mirror_headers(
                DEFAULT_CLUSTER_HEADER,
                c.table.mirror_slots(),
            ))
            .grpc_responder(responder)
            .random_seed(seed)
            .build()
            .map_err(|e| format!("the host could not start the filter: {e}"))?;
        envoy
            .configure_result()
            .map_err(|e| format!("the filter refused the blob: {e}"))?;
        Ok(Box::new(Wasm {
            envoy,
            backends: BackendNames::of(c.table),
            missing_service,
            idle_header: (!c.table.idle.is_empty())
                .then(|| gatewasm_filter::blob::idle_header(DEFAULT_CLUSTER_HEADER)),
        }) as Box<dyn Driver>)
    }))
}

/// The host's request for `req`, with the upstream's answer.
fn host_request(req: &SentRequest) -> Request {
    let get = |name: &str| {
        req.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let url = format!("{}://{}{}", get(":scheme"), get(":authority"), get(":path"));
    let mut r = Request::new(get(":method"), &url)
        .port(req.port)
        .worker(req.worker);
    if !req.body.is_empty() {
        r = r
            .header("content-length", req.body.len().to_string())
            .body(req.body.clone());
    }
    for (n, v) in req.headers.iter().filter(|(n, _)| !n.starts_with(':')) {
        r = r.header(n, v);
    }
    if let Some(sni) = &req.sni {
        r = r.sni(sni);
    }
    if let Some(source) = &req.source {
        r = r.source(source);
    }
    let mut upstream = UpstreamResponse::ok();
    for (n, v) in &req.upstream_response_headers {
        upstream = upstream.header(&n.to_ascii_lowercase(), v);
    }
    r.upstream_response(upstream)
}

impl Driver for Wasm {
    fn send(&mut self, req: &SentRequest) -> Result<Observed, String> {
        self.missing_service.store(false, Ordering::SeqCst);
        let ex = self.envoy.send(host_request(req));
        if let Some(trap) = &ex.trap {
            return Err(format!("the filter trapped: {trap}"));
        }
        if !ex.host_errors.is_empty() {
            return Err(format!("host errors: {}", ex.host_errors.join("; ")));
        }
        let mut seen = Observed {
            status: ex.response.status,
            grpc_status: ex.response.grpc_status,
            local: ex.response.local,
            response_headers: ex
                .response
                .headers
                .to_vec()
                .into_iter()
                .filter(|(n, _)| !n.starts_with(':'))
                .collect(),
            needs_rate_limit_service: self.missing_service.load(Ordering::SeqCst),
            log: log_fields(
                ex.filter_state
                    .iter()
                    .map(|(n, v)| (n.as_slice(), v.as_slice())),
            ),
            ..Observed::default()
        };
        if let Some(up) = &ex.upstream {
            if req.times_out(|name| up.header(name), self.idle_header.as_deref()) {
                // The backend got the request, but Envoy answers before it does.
                seen.status = 504;
                seen.grpc_status = req.is_grpc().then_some(14);
                seen.response_headers.clear();
            }
            seen.backend = Some(self.backends.name(&up.cluster));
            seen.backend_path = Some(up.path());
            seen.backend_host = Some(up.authority());
            seen.request_headers = up.headers.to_vec();
            seen.mirrors = up
                .mirrors
                .iter()
                .map(|m| Mirrored {
                    backend: self.backends.name(&m.cluster),
                    path: m.path(),
                    body: m.body.clone(),
                })
                .collect();
            if req.is_grpc() && seen.grpc_status.is_none() {
                seen.grpc_status = Some(0);
            }
        }
        Ok(seen)
    }

    fn advance_clock(&mut self, by: Duration) {
        self.envoy.advance_clock(by);
    }
}
