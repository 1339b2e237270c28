//! Drives one HTTP stream through a worker VM exactly in Envoy's order (§3.3): lazy context
//! creation, request headers / body / trailers, the simulated router and upstream, response
//! headers / body / trailers (also for local replies, which pass through this filter's own
//! encoder callbacks), then `on_log`, `on_done`, `on_delete`.
//!
//! After every guest call the queued callouts are answered (`Vm::pump`) and the deferred
//! effects (continue, local reply, reset) are applied: that is the whole pause/resume model.

use std::collections::HashMap;

use crate::abi::map;
use crate::http::{http_to_grpc_status, Origin, Request, Response, Upstream, UpstreamRequest};
use crate::pairs::HeaderMap;
use crate::router::{Route, Router, CLUSTER_NOT_FOUND_STATUS};
use crate::state::{Access, LocalReply, StreamState};
use crate::vm::{CallResult, Vm};

/// Map indices inside `StreamState::maps` (the ABI map ids).
const REQ_HEADERS: usize = map::HTTP_REQUEST_HEADERS as usize;
const REQ_TRAILERS: usize = map::HTTP_REQUEST_TRAILERS as usize;
const RESP_HEADERS: usize = map::HTTP_RESPONSE_HEADERS as usize;
const RESP_TRAILERS: usize = map::HTTP_RESPONSE_TRAILERS as usize;

/// What a callback (plus the callouts it triggered) decided.
enum Settle {
    Continue,
    Local(LocalReply),
    Reset,
    /// Paused and nothing left that could resume it.
    Stalled,
    /// The VM trapped.
    Failed,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

/// Stream-level settings from the Envoy.
pub(crate) struct StreamConfig<'a> {
    pub router: &'a Router,
    pub upstream: &'a Upstream,
    pub fail_open: bool,
}

/// Everything a stream produced.
pub(crate) struct StreamOutcome {
    pub context_id: u32,
    pub upstream: Option<UpstreamRequest>,
    pub response: Response,
    pub route_cache_clears: u32,
    pub filter_state: HashMap<Vec<u8>, Vec<u8>>,
}

/// A response before it reaches the client.
struct Pending {
    headers: HeaderMap,
    body: Vec<u8>,
    trailers: HeaderMap,
    origin: Origin,
    details: String,
}

struct Driver<'a, 'b> {
    vm: &'a mut Vm,
    cfg: &'a StreamConfig<'b>,
    ctx: u32,
    is_grpc: bool,
    /// False once the VM failed mid-stream: Envoy skips the plugin from then on.
    filter_active: bool,
}

/// Runs `req` on `vm`.
pub(crate) fn run(vm: &mut Vm, cfg: &StreamConfig<'_>, req: Request) -> StreamOutcome {
    let is_grpc = req.is_grpc();
    if vm.failed.is_some() {
        return failed_vm(cfg, req, is_grpc);
    }
    let ctx = {
        let st = vm.store.data_mut();
        let ctx = st.next_context;
        st.next_context += 1;
        st.live_contexts.insert(ctx);
        let mut stream = StreamState::new(
            ctx,
            req.conn.clone(),
            req.properties.iter().cloned().collect(),
        );
        stream.maps[REQ_HEADERS] = req.headers.clone();
        stream.access[REQ_HEADERS] = Access::Live;
        st.stream = Some(stream);
        ctx
    };
    let mut d = Driver {
        vm,
        cfg,
        ctx,
        is_grpc,
        filter_active: true,
    };
    let (upstream, response) = d.request(req);
    d.finish(upstream, response)
}

/// A stream on a VM that already failed: fail closed (503 `wasm_fail_stream`) or open.
fn failed_vm(cfg: &StreamConfig<'_>, req: Request, is_grpc: bool) -> StreamOutcome {
    let (upstream, response) = if cfg.fail_open {
        let mut headers = req.headers.clone();
        let body = req.body.concat();
        passthrough(
            cfg,
            &mut headers,
            body,
            req.trailers.clone(),
            req.upstream.clone(),
            is_grpc,
        )
    } else {
        (None, deliver(wasm_fail_stream(is_grpc), is_grpc))
    };
    StreamOutcome {
        context_id: 0,
        upstream,
        response,
        route_cache_clears: 0,
        filter_state: HashMap::new(),
    }
}

/// Router + upstream without the filter (fail-open).
fn passthrough(
    cfg: &StreamConfig<'_>,
    headers: &mut HeaderMap,
    body: Vec<u8>,
    trailers: HeaderMap,
    fixed: Option<crate::http::UpstreamResponse>,
    is_grpc: bool,
) -> (Option<UpstreamRequest>, Response) {
    match cfg.router.route(headers) {
        Route::ClusterNotFound => (None, deliver(cluster_not_found(is_grpc), is_grpc)),
        Route::Cluster(cluster) => {
            let mirrors = cfg.router.mirrors(headers);
            let up = upstream_request(cluster, headers.clone(), body, trailers, &mirrors);
            let r = fixed.unwrap_or_else(|| cfg.upstream.respond(&up));
            let pending = Pending {
                headers: r.header_map(),
                body: r.body,
                trailers: r.trailers,
                origin: Origin::Upstream,
                details: "via_upstream".to_string(),
            };
            (Some(up), deliver(pending, is_grpc))
        }
    }
}

impl Driver<'_, '_> {
    fn stream(&mut self) -> Option<&mut StreamState> {
        self.vm.store.data_mut().stream.as_mut()
    }

    fn call(&mut self, name: &'static str, args: &[i32]) -> CallResult {
        if !self.filter_active {
            return Ok(0);
        }
        let r = self.vm.call(name, self.ctx, args, 0);
        if r.is_err() {
            self.filter_active = false;
        }
        r
    }

    /// Answers callouts, then reads the deferred effects for `side`.
    fn settle(&mut self, side: Side, result: CallResult) -> Settle {
        let Ok(action) = result else {
            return Settle::Failed;
        };
        self.vm.pump();
        if self.vm.failed.is_some() {
            self.filter_active = false;
            return Settle::Failed;
        }
        let Some(s) = self.stream() else {
            return Settle::Failed;
        };
        let effects = std::mem::take(&mut s.effects);
        if let Some(reply) = effects.local_reply {
            s.local_reply_sent = true;
            return Settle::Local(reply);
        }
        if effects.reset {
            return Settle::Reset;
        }
        let resumed = match side {
            Side::Request => effects.continue_request,
            Side::Response => effects.continue_response,
        };
        if action == 0 || resumed {
            Settle::Continue
        } else {
            Settle::Stalled
        }
    }

    /// The decode path; returns the upstream request (if any) and the final response.
    fn request(&mut self, req: Request) -> (Option<UpstreamRequest>, Response) {
        let root = self.vm.store.data().root_context as i32;
        let created = self.call("proxy_on_context_create", &[self.ctx as i32, root]);
        if created.is_err() {
            return self.fail(Side::Request, req.headers.clone(), &req);
        }
        let has_body = !req.body.is_empty();
        let has_trailers = !req.trailers.is_empty();
        let eos = !has_body && !has_trailers;
        let n = req.headers.len() as i32;
        let r = self.call(
            "proxy_on_request_headers",
            &[self.ctx as i32, n, i32::from(eos)],
        );
        // Pause from headers is StopAllIterationAndWatermark: no body callbacks until resume,
        // then the buffered body arrives as one chunk.
        let paused = r.as_ref().is_ok_and(|a| *a != 0);
        match self.settle(Side::Request, r) {
            Settle::Continue => {}
            other => return self.abort(other, &req),
        }
        let chunks: Vec<Vec<u8>> = if paused && has_body {
            vec![req.body.concat()]
        } else {
            req.body.clone()
        };
        let mut headers = match self.stream() {
            Some(s) => {
                s.access[REQ_HEADERS] = Access::Gone;
                s.maps[REQ_HEADERS].clone()
            }
            None => req.headers.clone(),
        };
        // The router acts on the headers as they leave the filter chain.
        let cluster = match self.cfg.router.route(&mut headers) {
            Route::Cluster(c) => c,
            Route::ClusterNotFound => {
                let reply = cluster_not_found(self.is_grpc);
                return (None, self.encode(reply));
            }
        };
        let mirrors = self.cfg.router.mirrors(&headers);
        let mut forwarded = Vec::new();
        let mut buffered = Vec::new();
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.iter().enumerate() {
            let eos = i == last && !has_trailers;
            buffered.extend_from_slice(chunk);
            if let Some(s) = self.stream() {
                s.bodies[0] = Some(buffered.clone());
            }
            let r = self.call(
                "proxy_on_request_body",
                &[self.ctx as i32, buffered.len() as i32, i32::from(eos)],
            );
            if let Some(b) = self.stream().and_then(|s| s.bodies[0].take()) {
                buffered = b;
            }
            match self.settle(Side::Request, r) {
                Settle::Continue => forwarded.append(&mut buffered),
                // StopIterationAndBuffer: the next chunk's callback sees everything buffered.
                Settle::Stalled if !eos => {}
                other => return self.abort(other, &req),
            }
        }
        forwarded.append(&mut buffered);
        let mut trailers = req.trailers.clone();
        if has_trailers {
            if let Some(s) = self.stream() {
                s.maps[REQ_TRAILERS] = trailers.clone();
                s.access[REQ_TRAILERS] = Access::Live;
            }
            let r = self.call(
                "proxy_on_request_trailers",
                &[self.ctx as i32, trailers.len() as i32],
            );
            if let Some(s) = self.stream() {
                trailers = s.maps[REQ_TRAILERS].clone();
                s.access[REQ_TRAILERS] = Access::Gone;
            }
            match self.settle(Side::Request, r) {
                Settle::Continue => {}
                other => return self.abort(other, &req),
            }
        }
        let up = upstream_request(cluster, headers, forwarded, trailers, &mirrors);
        let answer = req
            .upstream
            .clone()
            .unwrap_or_else(|| self.cfg.upstream.respond(&up));
        let pending = Pending {
            headers: answer.header_map(),
            body: answer.body,
            trailers: answer.trailers,
            origin: Origin::Upstream,
            details: "via_upstream".to_string(),
        };
        let response = self.encode(pending);
        (Some(up), response)
    }

    /// A request-phase callback ended in something other than Continue.
    fn abort(&mut self, how: Settle, req: &Request) -> (Option<UpstreamRequest>, Response) {
        match how {
            Settle::Local(reply) => {
                let pending = local_reply(reply, self.is_grpc);
                (None, self.encode(pending))
            }
            Settle::Reset => (None, reset()),
            Settle::Stalled => (None, self.encode(idle_timeout(self.is_grpc))),
            Settle::Failed => {
                let headers = self
                    .stream()
                    .map(|s| s.maps[REQ_HEADERS].clone())
                    .unwrap_or_else(|| req.headers.clone());
                self.fail(Side::Request, headers, req)
            }
            Settle::Continue => (None, reset()),
        }
    }

    /// The VM trapped mid-stream: fail closed, or continue without the filter.
    fn fail(
        &mut self,
        _side: Side,
        mut headers: HeaderMap,
        req: &Request,
    ) -> (Option<UpstreamRequest>, Response) {
        self.filter_active = false;
        if self.cfg.fail_open {
            passthrough(
                self.cfg,
                &mut headers,
                req.body.concat(),
                req.trailers.clone(),
                req.upstream.clone(),
                self.is_grpc,
            )
        } else {
            (None, deliver(wasm_fail_stream(self.is_grpc), self.is_grpc))
        }
    }

    /// The encode path: response headers / body / trailers through the filter.
    fn encode(&mut self, p: Pending) -> Response {
        if !self.filter_active {
            return deliver(p, self.is_grpc);
        }
        let status = status_of(&p.headers);
        if let Some(s) = self.stream() {
            s.maps[RESP_HEADERS] = p.headers.clone();
            s.access[RESP_HEADERS] = Access::Live;
            s.response_code = Some(status);
            s.response_details = Some(p.details.clone());
        }
        let has_body = !p.body.is_empty();
        let has_trailers = !p.trailers.is_empty();
        let eos = !has_body && !has_trailers;
        let n = p.headers.len() as i32;
        let r = self.call(
            "proxy_on_response_headers",
            &[self.ctx as i32, n, i32::from(eos)],
        );
        let headers = match self.stream() {
            Some(s) => {
                s.access[RESP_HEADERS] = Access::Gone;
                s.maps[RESP_HEADERS].clone()
            }
            None => p.headers.clone(),
        };
        let local = p.origin != Origin::Upstream;
        match self.settle(Side::Response, r) {
            Settle::Continue => {}
            other => return self.encode_abort(other, p, local),
        }
        let mut body = p.body.clone();
        if has_body {
            if let Some(s) = self.stream() {
                s.bodies[1] = Some(body.clone());
            }
            let r = self.call(
                "proxy_on_response_body",
                &[self.ctx as i32, body.len() as i32, i32::from(!has_trailers)],
            );
            if let Some(b) = self.stream().and_then(|s| s.bodies[1].take()) {
                body = b;
            }
            match self.settle(Side::Response, r) {
                Settle::Continue => {}
                other => return self.encode_abort(other, p, local),
            }
        }
        let mut trailers = p.trailers.clone();
        if has_trailers {
            if let Some(s) = self.stream() {
                s.maps[RESP_TRAILERS] = trailers.clone();
                s.access[RESP_TRAILERS] = Access::Live;
            }
            let r = self.call(
                "proxy_on_response_trailers",
                &[self.ctx as i32, trailers.len() as i32],
            );
            if let Some(s) = self.stream() {
                trailers = s.maps[RESP_TRAILERS].clone();
                s.access[RESP_TRAILERS] = Access::Gone;
            }
            match self.settle(Side::Response, r) {
                Settle::Continue => {}
                other => return self.encode_abort(other, p, local),
            }
        }
        let status = status_of(&headers);
        if let Some(s) = self.stream() {
            s.response_code = Some(status);
            s.maps[RESP_HEADERS] = headers.clone();
            s.maps[RESP_TRAILERS] = trailers.clone();
        }
        deliver(
            Pending {
                headers,
                body,
                trailers,
                origin: p.origin,
                details: p.details,
            },
            self.is_grpc,
        )
    }

    /// A response-phase callback ended in something other than Continue.
    fn encode_abort(&mut self, how: Settle, p: Pending, already_local: bool) -> Response {
        match how {
            // A local reply while encoding an upstream response replaces it directly; for an
            // already-local response it was ignored by the hostcall (envoy #28826).
            Settle::Local(reply) if !already_local => {
                deliver(local_reply(reply, self.is_grpc), self.is_grpc)
            }
            Settle::Local(_) | Settle::Continue => deliver(p, self.is_grpc),
            Settle::Reset => reset(),
            Settle::Stalled => deliver(idle_timeout(self.is_grpc), self.is_grpc),
            Settle::Failed => {
                if self.cfg.fail_open {
                    deliver(p, self.is_grpc)
                } else {
                    deliver(wasm_fail_stream(self.is_grpc), self.is_grpc)
                }
            }
        }
    }

    /// Access log and teardown: `on_log`, `on_done`, `on_delete` (skipped for a failed VM).
    fn finish(mut self, upstream: Option<UpstreamRequest>, response: Response) -> StreamOutcome {
        if let Some(s) = self.stream() {
            s.in_log = true;
            s.access = [
                Access::ReadOnly,
                Access::Gone,
                Access::ReadOnly,
                Access::ReadOnly,
            ];
            s.bodies = [None, None];
            s.response_code = Some(response.status);
            s.response_details = Some(response.details.clone());
            s.maps[RESP_HEADERS] = response.headers.clone();
            s.maps[RESP_TRAILERS] = response.trailers.clone();
        }
        let ctx = self.ctx as i32;
        if self.filter_active {
            let _ = self.call("proxy_on_log", &[ctx]);
            let _ = self.call("proxy_on_done", &[ctx]);
            let _ = self.call("proxy_on_delete", &[ctx]);
            self.vm.pump();
        }
        let st = self.vm.store.data_mut();
        st.live_contexts.remove(&self.ctx);
        let stream = st.stream.take();
        let (route_cache_clears, filter_state) = stream
            .map(|s| (s.route_cache_clears, s.filter_state))
            .unwrap_or_default();
        StreamOutcome {
            context_id: self.ctx,
            upstream,
            response,
            route_cache_clears,
            filter_state,
        }
    }
}

/// The request to `cluster` and the router's copies of it for each mirror cluster.
fn upstream_request(
    cluster: String,
    headers: HeaderMap,
    body: Vec<u8>,
    trailers: HeaderMap,
    mirrors: &[String],
) -> UpstreamRequest {
    let copies = mirrors
        .iter()
        .map(|m| {
            let mut h = headers.clone();
            let authority = h.get(":authority").unwrap_or_default();
            h.replace(":authority", crate::router::shadow_authority(&authority));
            UpstreamRequest {
                cluster: m.clone(),
                headers: h,
                body: body.clone(),
                trailers: trailers.clone(),
                mirrors: Vec::new(),
            }
        })
        .collect();
    UpstreamRequest {
        cluster,
        headers,
        body,
        trailers,
        mirrors: copies,
    }
}

fn status_of(headers: &HeaderMap) -> u16 {
    headers
        .get(":status")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Envoy's local reply (`Utility::sendLocalReply`), gRPC requests becoming trailers-only.
fn local_reply(reply: LocalReply, is_grpc: bool) -> Pending {
    let mut p = synthesize(
        reply.status,
        reply.body,
        reply.grpc_status,
        &reply.details,
        is_grpc,
    );
    for (k, v) in reply.headers {
        p.headers.add(k, v);
    }
    p.origin = Origin::Filter;
    p
}

fn synthesize(
    status: u16,
    body: Vec<u8>,
    grpc_status: Option<u32>,
    details: &str,
    is_grpc: bool,
) -> Pending {
    let mut headers = HeaderMap::new();
    if is_grpc {
        headers.add(":status", "200");
        headers.add("content-type", "application/grpc");
        let code = grpc_status.unwrap_or_else(|| http_to_grpc_status(status));
        headers.add("grpc-status", code.to_string());
        if !body.is_empty() {
            headers.add("grpc-message", percent_encode(&body));
        }
        return Pending {
            headers,
            body: Vec::new(),
            trailers: HeaderMap::new(),
            origin: Origin::Filter,
            details: details.to_string(),
        };
    }
    headers.add(":status", status.to_string());
    if !body.is_empty() {
        headers.add("content-length", body.len().to_string());
        headers.add("content-type", "text/plain");
    }
    Pending {
        headers,
        body,
        trailers: HeaderMap::new(),
        origin: Origin::Filter,
        details: details.to_string(),
    }
}

/// gRPC `grpc-message` percent-encoding (Envoy's `PercentEncoding::encode` for it).
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn cluster_not_found(is_grpc: bool) -> Pending {
    let mut p = synthesize(
        CLUSTER_NOT_FOUND_STATUS,
        Vec::new(),
        None,
        "cluster_not_found",
        is_grpc,
    );
    p.origin = Origin::Router;
    p
}

fn wasm_fail_stream(is_grpc: bool) -> Pending {
    let mut p = synthesize(503, Vec::new(), None, "wasm_fail_stream", is_grpc);
    p.origin = Origin::WasmFailStream;
    p
}

fn idle_timeout(is_grpc: bool) -> Pending {
    let mut p = synthesize(
        408,
        b"stream timeout".to_vec(),
        None,
        "stream_idle_timeout",
        is_grpc,
    );
    p.origin = Origin::IdleTimeout;
    p
}

fn reset() -> Response {
    Response {
        status: 0,
        headers: HeaderMap::new(),
        body: Vec::new(),
        trailers: HeaderMap::new(),
        local: true,
        origin: Origin::Reset,
        details: "wasm_close_stream".to_string(),
        grpc_status: None,
    }
}

/// The response as the client sees it.
fn deliver(p: Pending, _is_grpc: bool) -> Response {
    let grpc_status = p
        .trailers
        .get("grpc-status")
        .or_else(|| p.headers.get("grpc-status"))
        .and_then(|s| s.parse().ok());
    Response {
        status: status_of(&p.headers),
        local: p.origin != Origin::Upstream,
        origin: p.origin,
        details: p.details,
        grpc_status,
        headers: p.headers,
        body: p.body,
        trailers: p.trailers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_local_reply_is_trailers_only() {
        let reply = LocalReply {
            status: 404,
            details: String::new(),
            body: b"no route".to_vec(),
            headers: vec![(b"x-a".to_vec(), b"1".to_vec())],
            grpc_status: None,
        };
        let r = deliver(local_reply(reply, true), true);
        assert_eq!(r.status, 200);
        assert_eq!(r.grpc_status, Some(12));
        assert_eq!(r.header("grpc-message").as_deref(), Some("no route"));
        assert_eq!(r.header("x-a").as_deref(), Some("1"));
        assert!(r.body.is_empty());
        assert!(r.local);
    }

    #[test]
    fn plain_local_reply() {
        let r = deliver(synthesize(403, b"no".to_vec(), Some(7), "d", false), false);
        assert_eq!(r.status, 403);
        assert_eq!(r.grpc_status, None);
        assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
        assert_eq!(percent_encode(b"a b%\n"), "a b%25%0A");
    }
}
