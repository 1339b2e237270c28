//! The seam between route tests and what runs them: a [`Driver`] takes a request and
//! reports what was [`Observed`]. The native engine, the `.wasm` in the test host and a real
//! Envoy are the drivers; the cases cannot tell them apart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::check::Observed;
use super::format::CaseRequest;
use super::ratelimit_service::InMemory;
use gatewasm_filter::blob::RouteTable;

/// The address a request without a Host header is sent to (the corpus' `host: null`).
pub const GATEWAY_ADDRESS: &str = "192.0.2.10";

/// A request ready to send: connection facts and the header list as Envoy would hand it to
/// a filter (lowercase names, pseudo-headers first).
#[derive(Debug, Clone)]
pub struct SentRequest {
    /// Listener port.
    pub port: u16,
    /// TLS SNI.
    pub sni: Option<String>,
    /// Client address `ip:port`.
    pub source: Option<String>,
    /// The worker VM that serves the request (`workers:` cases spread requests over them).
    pub worker: usize,
    /// Request headers including `:method`, `:scheme`, `:authority`, `:path`.
    pub headers: Vec<(String, String)>,
    /// Headers the backend adds to its response.
    pub upstream_response_headers: Vec<(String, String)>,
    /// How long the backend waits before it answers.
    pub upstream_delay: Option<std::time::Duration>,
    /// The case checks the access log, which a driver that writes one must then read.
    pub wants_log: bool,
    /// `HTTP/2` or `h2c` when the case asks for it (gRPC always goes over HTTP/2).
    pub protocol: Option<String>,
    /// The request body.
    pub body: Vec<u8>,
}

impl SentRequest {
    /// Builds the request a case describes.
    pub fn from_case(
        req: &CaseRequest,
        upstream_response_headers: &[(String, String)],
    ) -> SentRequest {
        let method = if req.grpc.is_some() {
            "POST".to_owned()
        } else {
            req.method.clone()
        };
        let path = req.target();
        let mut headers = vec![
            (":method".to_owned(), method),
            (":scheme".to_owned(), req.scheme.clone()),
            (
                ":authority".to_owned(),
                req.host
                    .clone()
                    .unwrap_or_else(|| GATEWAY_ADDRESS.to_owned()),
            ),
            (":path".to_owned(), path),
        ];
        if req.grpc.is_some() {
            headers.push(("content-type".to_owned(), "application/grpc".to_owned()));
            headers.push(("te".to_owned(), "trailers".to_owned()));
        }
        headers.extend(
            req.headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone())),
        );
        SentRequest {
            port: req.port,
            sni: req.sni.clone(),
            source: None,
            worker: 0,
            headers,
            upstream_response_headers: upstream_response_headers.to_vec(),
            upstream_delay: None,
            wants_log: false,
            protocol: req.protocol.clone(),
            body: req.body.clone().unwrap_or_default().into_bytes(),
        }
    }

    /// Whether Envoy's router gives up on the backend before it answers, as the drivers that
    /// model the router decide it: the backend's delay is longer than the request timeout,
    /// the per-try timeout or the stream idle timeout the forwarded request carries (`header`
    /// reads it; `idle_header` names the filter's idle timeout header). Zero disables each.
    pub fn times_out(
        &self,
        header: impl Fn(&str) -> Option<String>,
        idle_header: Option<&str>,
    ) -> bool {
        let Some(delay) = self.upstream_delay else {
            return false;
        };
        let names = [
            "x-envoy-upstream-rq-timeout-ms",
            "x-envoy-upstream-rq-per-try-timeout-ms",
        ];
        names
            .into_iter()
            .chain(idle_header)
            .filter_map(|name| header(name)?.parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .any(|ms| delay > std::time::Duration::from_millis(ms))
    }

    /// True for gRPC calls.
    pub fn is_grpc(&self) -> bool {
        self.headers
            .iter()
            .any(|(n, v)| n == "content-type" && v.starts_with("application/grpc"))
    }
}

/// Answers a `ShouldRateLimit` call: the encoded `RateLimitRequest` and the filter's timeout
/// in, the encoded `RateLimitResponse` or a gRPC status code and message out.
#[derive(Clone)]
pub struct RateLimitService {
    call: Arc<ServiceCall>,
    /// The service when it runs in this process, whose clock a test can move.
    in_memory: Option<Arc<InMemory>>,
}

/// One `ShouldRateLimit` round trip (see [`RateLimitService`]).
pub type ServiceCall = dyn Fn(&[u8], Duration) -> Result<Vec<u8>, (u32, String)> + Send + Sync;

impl RateLimitService {
    /// A service reached through `call` (a real one, over gRPC).
    pub fn remote(call: Arc<ServiceCall>) -> RateLimitService {
        RateLimitService {
            call,
            in_memory: None,
        }
    }

    /// A fresh in-process service counting as envoyproxy/ratelimit does.
    pub fn in_memory() -> RateLimitService {
        let service = InMemory::new();
        let counter = Arc::clone(&service);
        RateLimitService {
            call: Arc::new(move |message, _timeout| counter.call(message)),
            in_memory: Some(service),
        }
    }

    /// Makes one call.
    ///
    /// # Errors
    /// The gRPC status code and message of a failed call.
    pub fn call(&self, message: &[u8], timeout: Duration) -> Result<Vec<u8>, (u32, String)> {
        (self.call)(message, timeout)
    }

    /// The counters of an in-process service (`None`: a remote one), for another front end
    /// to serve (Envoy calls them over gRPC).
    pub fn in_process(&self) -> Option<Arc<InMemory>> {
        self.in_memory.clone()
    }

    /// Moves the service's clock, when it is an in-process one (a remote service keeps its
    /// own time).
    pub fn advance_clock(&self, by: Duration) {
        if let Some(service) = &self.in_memory {
            service.advance(by);
        }
    }
}

impl std::fmt::Debug for RateLimitService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimitService")
    }
}

/// How the filter for one file is set up.
#[derive(Clone, Default)]
pub struct Setup {
    /// Worker VMs sharing one shared-data store (at least 1).
    pub workers: usize,
    /// The rate limit service global limits call, if one is running.
    pub rate_limit_service: Option<RateLimitService>,
}

/// `namespace/service` of each cluster in a route table: how every driver reports which
/// backend got a request.
#[derive(Debug, Clone, Default)]
pub struct BackendNames(HashMap<String, String>);

impl BackendNames {
    /// The names of `table`'s backends.
    pub fn of(table: &RouteTable) -> BackendNames {
        BackendNames(
            table
                .backends
                .iter()
                .map(|b| (b.cluster.clone(), format!("{}/{}", b.namespace, b.name)))
                .collect(),
        )
    }

    /// The backend behind `cluster`, if the table has it.
    pub fn get(&self, cluster: &str) -> Option<&String> {
        self.0.get(cluster)
    }

    /// The backend behind `cluster`, or the cluster's own name when the table has none
    /// (a request that reached a cluster no route names shows as such).
    pub fn name(&self, cluster: &str) -> String {
        self.get(cluster)
            .cloned()
            .unwrap_or_else(|| cluster.to_owned())
    }
}

/// The plugin timeout for rate limit service calls in route tests: generous, because a test
/// asserts admission counts, not latency.
pub const SERVICE_TIMEOUT_MS: u64 = 5000;

/// What a driver runs: a blob and its table, and the compile that made them unless they
/// came deployed (`test --blob`).
#[derive(Clone, Copy)]
pub struct Routes<'a> {
    /// The blob the filter loads.
    pub blob: &'a [u8],
    /// The table inside it.
    pub table: &'a RouteTable,
    /// The compile, for a driver that deploys more than the blob (Envoy).
    pub compiled: Option<&'a crate::compile::Compiled>,
}

impl<'a> From<&'a crate::compile::Compiled> for Routes<'a> {
    fn from(c: &'a crate::compile::Compiled) -> Routes<'a> {
        Routes {
            blob: &c.blob,
            table: &c.table,
            compiled: Some(c),
        }
    }
}

/// Makes a driver for one Gateway's routes; shared by the threads that run files at once.
pub type Factory = Box<dyn Fn(Routes<'_>, &Setup) -> Result<Box<dyn Driver>, String> + Send + Sync>;

/// Something that can run requests against one compiled Gateway.
pub trait Driver {
    /// Sends one request and reports what happened.
    ///
    /// # Errors
    /// A message when the driver itself failed (not when the request was answered badly).
    fn send(&mut self, req: &SentRequest) -> Result<Observed, String>;

    /// Moves the host clock forward (rate-limit windows refill).
    fn advance_clock(&mut self, by: Duration);

    /// Takes the next state of the same Gateway (a route-test phase) in place, as an operator
    /// applies a new routes ConfigMap. `Ok(false)`: this driver cannot, make a new one.
    ///
    /// # Errors
    /// The new configuration was refused.
    fn reload(
        &mut self,
        _compiled: &crate::compile::Compiled,
        _setup: &Setup,
    ) -> Result<bool, String> {
        Ok(false)
    }

    /// Called after the last case of a state: a problem that happened outside any one
    /// response (a crash, a wasm trap in the proxy's log) fails the file.
    ///
    /// # Errors
    /// What went wrong.
    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}
