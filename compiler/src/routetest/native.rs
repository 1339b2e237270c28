//! Runs requests through the engine natively, with a small stand-in for Envoy around it:
//! the same [`gatewasm_filter::stream::Stream`] the `.wasm` runs, a header map, the
//! `cluster_header` catch-all route, an echoing backend, and for rate limits a clock, one
//! shared-data store with Envoy's CAS rules, counters, and the rate limit service if the run
//! has one (a Global case without a service is reported as needing one).

use std::collections::HashMap;
use std::time::Duration;

use gatewasm_filter::config::PluginConfig;
use gatewasm_filter::engine::{Dice, Reply};
use gatewasm_filter::host::{Host, HostError, ListenerRole, Side};
use gatewasm_filter::stream::{Stream, Verdict};

use super::check::{log_fields, Mirrored, Observed};
use super::driver::{BackendNames, Driver, RateLimitService, SentRequest};

/// 2026-01-01T00:00:00Z, where the wasm host's clock starts too.
const EPOCH_NANOS: u64 = 1_767_225_600 * 1_000_000_000;

/// The native driver: one loaded configuration, a seeded random source, and the state that
/// outlives a request (clock, shared data, counters).
pub struct Native {
    config: PluginConfig,
    dice: Dice,
    backends: BackendNames,
    shared: Shared,
    service: Option<RateLimitService>,
}

/// Shared data as Envoy keeps it: value and CAS per key, CAS numbers from one counter.
#[derive(Default)]
struct Shared {
    now: u64,
    data: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
    counters: HashMap<String, u64>,
}

impl Native {
    /// A driver that calls `service` for global rate limits.
    pub fn with_service(mut self, service: Option<RateLimitService>) -> Native {
        self.service = service;
        self
    }

    /// Counter values by name (rate-limit metrics).
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.shared.counters.get(name).copied()
    }

    /// A driver over a decoded configuration.
    pub fn new(config: PluginConfig, seed: u64) -> Native {
        let backends = BackendNames::of(config.router.table());
        Native {
            config,
            dice: Dice::new(seed),
            backends,
            shared: Shared {
                now: EPOCH_NANOS,
                next_cas: 1,
                ..Shared::default()
            },
            service: None,
        }
    }
}

struct MemoryHost<'s> {
    port: u16,
    sni: Option<String>,
    source: Option<String>,
    request: Vec<(String, Vec<u8>)>,
    response: Vec<(String, Vec<u8>)>,
    reply: Option<Reply>,
    shared: &'s mut Shared,
    rate_limit_call: Option<(Vec<u8>, Duration)>,
    /// What the filter kept in the request's filter state.
    state: Vec<(String, Vec<u8>)>,
}

impl MemoryHost<'_> {
    fn map(&mut self, side: Side) -> &mut Vec<(String, Vec<u8>)> {
        match side {
            Side::Request => &mut self.request,
            Side::Response => &mut self.response,
        }
    }
}

impl Host for MemoryHost<'_> {
    // Its calls cannot fail, so there is nothing to log.
    fn log_error(&mut self, _message: &str) {}

    fn request_headers(&mut self) -> Result<Vec<u8>, HostError> {
        let view = gatewasm_filter::engine::borrow_headers(&self.request);
        Ok(gatewasm_filter::pairs::encode(&view))
    }

    fn listener(&mut self) -> Result<ListenerRole, HostError> {
        Ok(ListenerRole::Gateway(self.port))
    }

    fn sni(&mut self) -> Result<Option<String>, HostError> {
        Ok(self.sni.clone())
    }

    fn set_header(&mut self, side: Side, name: &str, value: &[u8]) -> Result<(), HostError> {
        let map = self.map(side);
        match map.iter().position(|(n, _)| n == name) {
            Some(first) => {
                map[first].1 = value.to_vec();
                let mut i = first + 1;
                while i < map.len() {
                    if map[i].0 == name {
                        map.remove(i);
                    } else {
                        i += 1;
                    }
                }
            }
            None => map.push((name.to_owned(), value.to_vec())),
        }
        Ok(())
    }

    fn add_header(&mut self, side: Side, name: &str, value: &[u8]) -> Result<(), HostError> {
        self.map(side).push((name.to_owned(), value.to_vec()));
        Ok(())
    }

    fn remove_header(&mut self, side: Side, name: &str) -> Result<(), HostError> {
        self.map(side).retain(|(n, _)| n != name);
        Ok(())
    }

    fn send_reply(&mut self, reply: &Reply) -> Result<(), HostError> {
        self.reply = Some(reply.clone());
        Ok(())
    }

    fn source_address(&mut self) -> Result<Option<String>, HostError> {
        Ok(self.source.clone())
    }

    fn now_nanos(&mut self) -> Result<u64, HostError> {
        Ok(self.shared.now)
    }

    fn shared_get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError> {
        Ok(match self.shared.data.get(key) {
            Some((v, cas)) => ((!v.is_empty()).then(|| v.clone()), Some(*cas)),
            None => (None, None),
        })
    }

    fn shared_set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<bool, HostError> {
        let shared = &mut *self.shared;
        if let Some((_, current)) = shared.data.get(key) {
            if cas != 0 && cas != *current {
                return Ok(false);
            }
        }
        let next = shared.next_cas;
        shared.next_cas = shared.next_cas.checked_add(1).unwrap_or(1);
        shared.data.insert(key.to_owned(), (value.to_vec(), next));
        Ok(true)
    }

    fn dispatch_rate_limit(
        &mut self,
        _cluster: &str,
        message: &[u8],
        timeout: Duration,
    ) -> Result<(), HostError> {
        self.rate_limit_call = Some((message.to_vec(), timeout));
        Ok(())
    }

    fn count(&mut self, name: &str) -> Result<(), HostError> {
        *self.shared.counters.entry(name.to_owned()).or_default() += 1;
        Ok(())
    }

    fn set_state(&mut self, name: &str, value: &[u8]) -> Result<(), HostError> {
        self.state.retain(|(n, _)| n != name);
        self.state.push((name.to_owned(), value.to_vec()));
        Ok(())
    }
}

impl<'s> MemoryHost<'s> {
    /// A host holding `req`'s headers, before the filter has seen them.
    fn for_request(req: &SentRequest, shared: &'s mut Shared) -> MemoryHost<'s> {
        MemoryHost {
            port: req.port,
            sni: req.sni.clone(),
            source: req.source.clone(),
            request: req
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
                .collect(),
            response: Vec::new(),
            reply: None,
            shared,
            rate_limit_call: None,
            state: Vec::new(),
        }
    }
}

/// Hands the filter's pending rate limit call to the run's service and the answer back to
/// the stream. A run without a service fails the call and records that it needed one.
fn answer_rate_limit_call(
    service: Option<&RateLimitService>,
    config: &PluginConfig,
    stream: &mut Stream,
    host: &mut MemoryHost<'_>,
    seen: &mut Observed,
) -> Verdict {
    let (message, timeout) = host.rate_limit_call.take().unwrap_or_default();
    let answer = match service {
        Some(service) => service.call(&message, timeout),
        None => {
            seen.needs_rate_limit_service = true;
            Err((14, "no rate limit service".to_owned()))
        }
    };
    match answer {
        Ok(body) => stream.on_rate_limit_response(config, 0, Some(&body), host),
        Err((code, _)) => stream.on_rate_limit_response(config, code, None, host),
    }
}

/// What the client sees of a reply the filter sent itself.
fn take_local_reply(reply: &Reply, grpc: bool, host: &mut MemoryHost<'_>, seen: &mut Observed) {
    seen.local = true;
    // Envoy turns a local reply to a gRPC call into a trailers-only 200.
    match reply.grpc_status.filter(|_| grpc) {
        Some(code) => {
            seen.status = 200;
            seen.grpc_status = Some(code);
        }
        None => seen.status = reply.status,
    }
    host.response = reply
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
        .collect();
}

/// The gRPC status Envoy gives a local reply of 504 (its HTTP to gRPC mapping).
const GRPC_UNAVAILABLE: u32 = 14;

/// Envoy's router after the filter: the `cluster_header` route to the cluster the filter
/// named, copies to the mirror slots, and the echoing backend's response.
fn route_upstream(
    config: &PluginConfig,
    backends: &BackendNames,
    req: &SentRequest,
    host: &mut MemoryHost<'_>,
    seen: &mut Observed,
) {
    let cluster_header = &config.cluster_header;
    let cluster = host
        .request
        .iter()
        .find(|(n, _)| n == cluster_header)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    host.request.retain(|(n, _)| n != cluster_header);
    // Envoy's router mirrors to the cluster in each filled slot (the slot headers
    // stay on the request and its copies).
    let mirror_clusters: Vec<String> = config
        .mirror_headers
        .iter()
        .filter_map(|name| host.request.iter().find(|(n, _)| n == name))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    let request = text(&host.request);
    let header = |name: &str| {
        request
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let timed_out = req.times_out(header, config.idle_header.as_deref());
    match cluster.and_then(|c| backends.get(&c)) {
        Some(backend) => {
            seen.status = 200;
            seen.grpc_status = req.is_grpc().then_some(0);
            seen.backend = Some(backend.clone());
            let upstream = text(&host.request);
            let pseudo = |name: &str| {
                upstream
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            seen.backend_path = pseudo(":path");
            seen.mirrors = mirror_clusters
                .iter()
                .map(|cluster| Mirrored {
                    backend: backends.name(cluster),
                    path: seen.backend_path.clone().unwrap_or_default(),
                    body: req.body.clone(),
                })
                .collect();
            seen.backend_host = pseudo(":authority");
            seen.request_headers = upstream;
            host.response = req
                .upstream_response_headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
                .collect();
            if timed_out {
                // The backend got the request, but Envoy answers before it does.
                seen.status = 504;
                seen.grpc_status = req.is_grpc().then_some(GRPC_UNAVAILABLE);
                host.response.clear();
            }
        }
        // Envoy's cluster_header route answers 503 when the cluster is missing.
        None => seen.status = 503,
    }
}

fn text(pairs: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

impl Driver for Native {
    fn send(&mut self, req: &SentRequest) -> Result<Observed, String> {
        let mut host = MemoryHost::for_request(req, &mut self.shared);
        let mut stream = Stream::default();
        let mut verdict = stream.on_request_headers(&self.config, &mut self.dice, &mut host);
        let mut seen = Observed::default();
        if verdict == Verdict::Wait {
            verdict = answer_rate_limit_call(
                self.service.as_ref(),
                &self.config,
                &mut stream,
                &mut host,
                &mut seen,
            );
        }
        if let (Verdict::Stop | Verdict::Wait, Some(reply)) = (verdict, host.reply.take()) {
            take_local_reply(&reply, req.is_grpc(), &mut host, &mut seen);
        } else {
            route_upstream(&self.config, &self.backends, req, &mut host, &mut seen);
        }
        stream.on_response_headers(&self.config, &mut host);
        seen.response_headers = text(&host.response);
        seen.log = log_fields(host.state.iter().map(|(n, v)| (n.as_bytes(), v.as_slice())));
        Ok(seen)
    }

    fn advance_clock(&mut self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.shared.now = self.shared.now.saturating_add(nanos);
    }
}
