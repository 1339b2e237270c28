//! Runs requests through a filter `.wasm` in the wasmtime proxy-wasm host, configured with
//! the compiled blob exactly as Envoy would deliver it.

use std::collections::HashMap;
use std::path::Path;

use gatewasm_host::{Envoy, Request, UpstreamResponse, WasmModule};

use super::check::Observed;
use super::driver::{Driver, Factory, SentRequest};
use crate::compile::Compiled;

/// A driver over one configured Envoy.
pub struct Wasm {
    envoy: Envoy,
    backends: HashMap<String, String>,
}

/// A factory that loads (and compiles) the module once and starts an Envoy per Gateway.
///
/// # Errors
/// When the module cannot be loaded.
pub fn factory(path: &Path, seed: u64) -> Result<Factory, String> {
    let module =
        WasmModule::load(path).map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    Ok(Box::new(move |c: &Compiled| {
        let envoy = Envoy::builder(&module)
            .plugin_config(c.blob.clone())
            .clusters(c.table.backends.iter().map(|b| b.cluster.clone()))
            .random_seed(seed)
            .build()
            .map_err(|e| format!("the host could not start the filter: {e}"))?;
        envoy
            .configure_result()
            .map_err(|e| format!("the filter refused the blob: {e}"))?;
        let backends = c
            .table
            .backends
            .iter()
            .map(|b| (b.cluster.clone(), format!("{}/{}", b.namespace, b.name)))
            .collect();
        Ok(Box::new(Wasm { envoy, backends }) as Box<dyn Driver>)
    }))
}

impl Driver for Wasm {
    fn send(&mut self, req: &SentRequest) -> Result<Observed, String> {
        let get = |name: &str| {
            req.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let url = format!("{}://{}{}", get(":scheme"), get(":authority"), get(":path"));
        let mut r = Request::new(get(":method"), &url).port(req.port);
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
        let ex = self.envoy.send(r.upstream_response(upstream));
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
            ..Observed::default()
        };
        if let Some(up) = &ex.upstream {
            seen.backend = self
                .backends
                .get(&up.cluster)
                .cloned()
                .or_else(|| Some(up.cluster.clone()));
            seen.backend_path = Some(up.path());
            seen.backend_host = Some(up.authority());
            seen.request_headers = up.headers.to_vec();
            if req.is_grpc() && seen.grpc_status.is_none() {
                seen.grpc_status = Some(0);
            }
        }
        seen.mirrors = ex
            .http_calls
            .iter()
            .map(|c| {
                let backend = self
                    .backends
                    .get(&c.cluster)
                    .cloned()
                    .unwrap_or_else(|| c.cluster.clone());
                (backend, c.headers.get(":path").unwrap_or_default())
            })
            .collect();
        Ok(seen)
    }
}
