//! The multi-worker orchestration: an [`Envoy`] owns N worker VMs of one plugin over one
//! shared store, the controllable clock, the simulated router and upstream, and turns a
//! [`Request`] into an [`Exchange`] — "send this request, expect this upstream request / this
//! response" without hostcall lists.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::abi::LogLevel;
use crate::callout::{
    default_http_responder, EmptyGrpcOk, GrpcCall, GrpcResponder, HttpCall, HttpCallOutcome,
    HttpCallResponder,
};
use crate::clock::{Clock, Prng, DEFAULT_EPOCH_NANOS};
use crate::error::{Error, ErrorKind};
use crate::http::{Request, Response, Upstream, UpstreamRequest, UpstreamResponse};
use crate::module::WasmModule;
use crate::router::{Router, DEFAULT_CLUSTER_HEADER};
use crate::shared::SharedState;
use crate::state::{HostState, LogLine, Phase, Plugin};
use crate::stream::{self, StreamConfig};
use crate::vm::Vm;

/// Fuel one guest call may burn before it traps (guards against a looping filter).
const DEFAULT_FUEL_LIMIT: u64 = 2_000_000_000;

/// Configures an [`Envoy`]; see [`Envoy::builder`].
pub struct EnvoyBuilder {
    module: WasmModule,
    workers: usize,
    name: String,
    root_id: String,
    vm_id: String,
    vm_config: Vec<u8>,
    plugin_config: Vec<u8>,
    fail_open: bool,
    log_level: u32,
    cluster_header: String,
    mirror_headers: Vec<String>,
    clusters: Option<BTreeSet<String>>,
    upstream: Upstream,
    http_responder: HttpCallResponder,
    grpc_responder: Arc<dyn GrpcResponder>,
    properties: HashMap<Vec<u8>, Vec<u8>>,
    seed: u64,
    epoch_nanos: u64,
    trace: bool,
    fuel_limit: u64,
    hcm_headers: bool,
}

impl EnvoyBuilder {
    /// Number of worker VMs (default 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Plugin configuration bytes (`PluginConfig.configuration`); empty by default.
    pub fn plugin_config(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.plugin_config = bytes.into();
        self
    }

    /// VM configuration bytes (`vm_config.configuration`); empty by default.
    pub fn vm_config(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.vm_config = bytes.into();
        self
    }

    /// `PluginConfig.name` (property `plugin_name`); default `gatewasm`.
    pub fn plugin_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// `PluginConfig.root_id`; empty by default.
    pub fn root_id(mut self, id: &str) -> Self {
        self.root_id = id.to_string();
        self
    }

    /// `vm_config.vm_id` (namespaces shared data and queues); empty by default.
    pub fn vm_id(mut self, id: &str) -> Self {
        self.vm_id = id.to_string();
        self
    }

    /// Envoy-side `fail_open`: streams on a failed VM pass through instead of 503.
    pub fn fail_open(mut self, on: bool) -> Self {
        self.fail_open = on;
        self
    }

    /// Envoy's `wasm` logger level: lines below it are dropped and `proxy_get_log_level`
    /// returns it (default info).
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.log_level = level as u32;
        self
    }

    /// Header the catch-all route reads the cluster from (default `x-gatewasm-cluster`).
    pub fn cluster_header(mut self, name: &str) -> Self {
        self.cluster_header = name.to_ascii_lowercase();
        self
    }

    /// The route's mirror policies: one `cluster_header` per slot, as the emitted
    /// bootstrap's `request_mirror_policies`.
    pub fn mirror_headers(mut self, names: Vec<String>) -> Self {
        self.mirror_headers = names.into_iter().map(|n| n.to_ascii_lowercase()).collect();
        self
    }

    /// Declares the known clusters: unknown ones get 503 from the router, `BadArgument` from
    /// `proxy_http_call` and `ParseFailure` from `proxy_grpc_call`. Without it every name is
    /// accepted.
    pub fn clusters<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.clusters = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The upstream's fixed answer (default 200, no headers, no body).
    pub fn upstream_response(mut self, response: UpstreamResponse) -> Self {
        self.upstream = Upstream::Fixed(response);
        self
    }

    /// The upstream as a function of the request it receives.
    pub fn upstream<F>(mut self, f: F) -> Self
    where
        F: Fn(&UpstreamRequest) -> UpstreamResponse + Send + Sync + 'static,
    {
        self.upstream = Upstream::Fn(Arc::new(f));
        self
    }

    /// Answers `proxy_http_call`s (default: 200, empty).
    pub fn http_responder<F>(mut self, f: F) -> Self
    where
        F: Fn(&HttpCall) -> HttpCallOutcome + Send + Sync + 'static,
    {
        self.http_responder = Arc::new(f);
        self
    }

    /// Answers `proxy_grpc_call`s (default: OK with an empty message).
    pub fn grpc_responder(mut self, responder: impl GrpcResponder + 'static) -> Self {
        self.grpc_responder = Arc::new(responder);
        self
    }

    /// An extra property visible to every stream; `path` segments as the filter names them.
    pub fn property(mut self, path: &[&str], value: impl Into<Vec<u8>>) -> Self {
        self.properties
            .insert(path.join("\0").into_bytes(), value.into());
        self
    }

    /// Seed of the deterministic `random_get` (default 0); each worker derives its own stream.
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Start time in nanoseconds since the Unix epoch (default 2026-01-01T00:00:00Z).
    pub fn start_time_nanos(mut self, nanos: u64) -> Self {
        self.epoch_nanos = nanos;
        self
    }

    /// Keeps an Envoy-style `[host->vm]` / `[vm->host]` trace per worker (off by default).
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// Fuel one guest call may use before it traps (default 2·10⁹).
    pub fn fuel_limit(mut self, fuel: u64) -> Self {
        self.fuel_limit = fuel;
        self
    }

    /// Add `x-forwarded-proto` and `x-request-id` as Envoy's connection manager does before
    /// the filter chain (default on).
    pub fn hcm_headers(mut self, on: bool) -> Self {
        self.hcm_headers = on;
        self
    }

    /// Instantiates every worker VM and runs start-up and configure on each. A plugin that
    /// fails to start is *not* an error: see [`Envoy::configure_result`].
    ///
    /// # Errors
    /// Zero workers, or instantiation failure (for example the memory cap).
    pub fn build(self) -> Result<Envoy, Error> {
        if self.workers == 0 {
            return Err(Error::new(ErrorKind::Config(
                "at least one worker is needed".into(),
            )));
        }
        let plugin = Arc::new(Plugin {
            name: self.name,
            root_id: self.root_id,
            vm_id: self.vm_id,
            vm_config: self.vm_config,
            plugin_config: self.plugin_config,
            log_level: self.log_level,
            clusters: self.clusters.clone(),
            http_responder: self.http_responder,
            grpc_responder: self.grpc_responder,
            properties: self.properties,
        });
        let shared = Arc::new(Mutex::new(SharedState::default()));
        let clock = Clock::new(self.epoch_nanos);
        let mut vms = Vec::with_capacity(self.workers);
        for worker in 0..self.workers {
            let state = HostState {
                worker,
                plugin: plugin.clone(),
                shared: shared.clone(),
                clock: clock.clone(),
                rng: Prng::new(self.seed ^ (worker as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                limits: Default::default(),
                memory: None,
                allocator: None,
                phase: Phase::Startup,
                in_allocator: false,
                root_context: 0,
                configuring: false,
                current_context: 0,
                effective_context: 0,
                live_contexts: BTreeSet::new(),
                next_context: 1,
                next_http_token: 0,
                next_grpc_token: 1,
                next_grpc_stream_token: 2,
                next_metric: [0, 1, 2],
                metrics: HashMap::new(),
                tick_period_ms: 0,
                next_tick_nanos: None,
                stream: None,
                callout: None,
                status: (0, Vec::new()),
                pending: Default::default(),
                http_calls: Vec::new(),
                grpc_calls: Vec::new(),
                logs: Vec::new(),
                host_errors: Vec::new(),
                host_calls: 0,
                fuel_used: 0,
                trace: self.trace.then(Vec::new),
                grpc_streams: BTreeSet::new(),
            };
            let mut vm = Vm::instantiate(&self.module, state, self.fuel_limit)?;
            vm.start();
            vms.push(vm);
        }
        let mut envoy = Envoy {
            vms,
            shared,
            clock,
            router: Router {
                header: self.cluster_header,
                clusters: self.clusters,
                mirror_headers: self.mirror_headers,
            },
            upstream: self.upstream,
            fail_open: self.fail_open,
            next_worker: 0,
            hcm_headers: self.hcm_headers,
            requests: 0,
        };
        envoy.drain_queues();
        Ok(envoy)
    }
}

/// A simulated Envoy running one proxy-wasm plugin on N worker VMs.
pub struct Envoy {
    vms: Vec<Vm>,
    shared: Arc<Mutex<SharedState>>,
    clock: Clock,
    router: Router,
    upstream: Upstream,
    fail_open: bool,
    next_worker: usize,
    hcm_headers: bool,
    requests: u64,
}

/// Start-up / configure outcome of one worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerStatus {
    pub worker: usize,
    /// `None` if `_initialize`, `on_vm_start` and `on_configure` all succeeded.
    pub failure: Option<String>,
}

/// Everything one request produced.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// Worker that served it.
    pub worker: usize,
    /// The stream's context id in that VM (0 if the VM had failed before).
    pub context_id: u32,
    /// What the upstream received, if the request was routed.
    pub upstream: Option<UpstreamRequest>,
    /// What the client received.
    pub response: Response,
    /// HTTP callouts issued during the request (mirrors, auth checks, …).
    pub http_calls: Vec<HttpCall>,
    /// gRPC callouts issued during the request.
    pub grpc_calls: Vec<GrpcCall>,
    /// Fuel burnt by all guest calls for this request (callout callbacks included).
    pub fuel: u64,
    /// Hostcalls the guest made during the request.
    pub host_calls: u64,
    /// Log lines produced during the request.
    pub logs: Vec<LogLine>,
    /// Envoy answers the SDK cannot represent, ignored second local replies, … (should be
    /// empty in a healthy run).
    pub host_errors: Vec<String>,
    /// Request-header mutations (each clears Envoy's route cache under ABI 0.2.1).
    pub route_cache_clears: u32,
    /// `proxy_set_property` writes (filter state `wasm.<path>`), keyed by raw path.
    pub filter_state: HashMap<Vec<u8>, Vec<u8>>,
    /// Set if the VM trapped during this request.
    pub trap: Option<String>,
    /// Trace lines for this request (empty unless tracing is on).
    pub trace: Vec<String>,
}

impl Envoy {
    /// Starts configuring an Envoy for `module`.
    pub fn builder(module: &WasmModule) -> EnvoyBuilder {
        EnvoyBuilder {
            module: module.clone(),
            workers: 1,
            name: "gatewasm".to_string(),
            root_id: String::new(),
            vm_id: String::new(),
            vm_config: Vec::new(),
            plugin_config: Vec::new(),
            fail_open: false,
            log_level: LogLevel::Info as u32,
            cluster_header: DEFAULT_CLUSTER_HEADER.to_string(),
            mirror_headers: Vec::new(),
            clusters: None,
            upstream: Upstream::Fixed(UpstreamResponse::ok()),
            http_responder: default_http_responder(),
            grpc_responder: Arc::new(EmptyGrpcOk),
            properties: HashMap::new(),
            seed: 0,
            epoch_nanos: DEFAULT_EPOCH_NANOS,
            trace: false,
            fuel_limit: DEFAULT_FUEL_LIMIT,
            hcm_headers: true,
        }
    }

    /// Number of worker VMs.
    pub fn workers(&self) -> usize {
        self.vms.len()
    }

    /// Start-up/configure status of every worker (failures stay until the Envoy is rebuilt).
    pub fn worker_status(&self) -> Vec<WorkerStatus> {
        self.vms
            .iter()
            .enumerate()
            .map(|(worker, vm)| WorkerStatus {
                worker,
                failure: vm.failed.clone(),
            })
            .collect()
    }

    /// `Ok` if every worker started and configured (and has not trapped since); otherwise
    /// the first failure.
    ///
    /// # Errors
    /// The failure message of the first failed worker.
    pub fn configure_result(&self) -> Result<(), String> {
        match self.vms.iter().find_map(|vm| vm.failed.clone()) {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// Sends one request through Envoy and the filter; round-robin unless the request names a
    /// worker.
    ///
    /// # Panics
    /// If the request names a worker that does not exist.
    pub fn send(&mut self, mut req: Request) -> Exchange {
        let worker = match req.worker {
            Some(w) => w,
            None => {
                let w = self.next_worker % self.vms.len();
                self.next_worker = self.next_worker.wrapping_add(1);
                w
            }
        };
        assert!(
            worker < self.vms.len(),
            "request pinned to worker {worker}, but only {} exist",
            self.vms.len()
        );
        self.requests += 1;
        if self.hcm_headers {
            let scheme = req.headers.get(":scheme").unwrap_or_else(|| "http".into());
            if !req.headers.contains("x-forwarded-proto") {
                req.headers.add("x-forwarded-proto", scheme);
            }
            if !req.headers.contains("x-request-id") {
                req.headers.add(
                    "x-request-id",
                    format!("00000000-0000-4000-8000-{:012x}", self.requests),
                );
            }
        }
        let cfg = StreamConfig {
            router: &self.router,
            upstream: &self.upstream,
            fail_open: self.fail_open,
        };
        let vm = &mut self.vms[worker];
        let before = Snapshot::take(vm);
        let outcome = stream::run(vm, &cfg, req);
        let mut ex = before.exchange(vm, worker);
        ex.context_id = outcome.context_id;
        ex.upstream = outcome.upstream;
        ex.response = outcome.response;
        ex.route_cache_clears = outcome.route_cache_clears;
        ex.filter_state = outcome.filter_state;
        self.drain_queues();
        ex
    }

    /// Moves the clock forward, firing every due `proxy_on_tick` in time order (each VM's
    /// timer re-arms one period after it fired, as Envoy's does).
    pub fn advance_clock(&mut self, by: Duration) {
        let target = self
            .clock
            .now_nanos()
            .saturating_add(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX));
        loop {
            let due = self
                .vms
                .iter()
                .enumerate()
                .filter(|(_, vm)| vm.failed.is_none())
                .filter_map(|(i, vm)| vm.store.data().next_tick_nanos.map(|t| (t, i)))
                .filter(|(t, _)| *t <= target)
                .min();
            let Some((at, i)) = due else { break };
            if at > self.clock.now_nanos() {
                self.clock.set_nanos(at);
            }
            let vm = &mut self.vms[i];
            {
                let st = vm.store.data_mut();
                let period = u64::from(st.tick_period_ms) * 1_000_000;
                st.next_tick_nanos = (period > 0).then(|| at + period);
            }
            vm.tick();
            self.drain_queues();
        }
        self.clock.set_nanos(target.max(self.clock.now_nanos()));
    }

    /// Current host time in nanoseconds since the Unix epoch.
    pub fn now_nanos(&self) -> u64 {
        self.clock.now_nanos()
    }

    /// Sets the clock without firing ticks.
    pub fn set_time_nanos(&mut self, nanos: u64) {
        self.clock.set_nanos(nanos);
    }

    /// Tick period a worker's root context asked for (`None` if never set or disabled).
    pub fn tick_period(&self, worker: usize) -> Option<Duration> {
        let ms = self.vms.get(worker)?.store.data().tick_period_ms;
        (ms > 0).then(|| Duration::from_millis(u64::from(ms)))
    }

    /// Every log line so far, all workers, in per-worker order.
    pub fn logs(&self) -> Vec<LogLine> {
        self.vms
            .iter()
            .flat_map(|vm| vm.store.data().logs.clone())
            .collect()
    }

    /// Every host error so far, all workers.
    pub fn host_errors(&self) -> Vec<String> {
        self.vms
            .iter()
            .flat_map(|vm| vm.store.data().host_errors.clone())
            .collect()
    }

    /// Every HTTP callout so far (including ones from configure and ticks).
    pub fn http_calls(&self) -> Vec<HttpCall> {
        self.vms
            .iter()
            .flat_map(|vm| vm.store.data().http_calls.clone())
            .collect()
    }

    /// Every gRPC callout so far.
    pub fn grpc_calls(&self) -> Vec<GrpcCall> {
        self.vms
            .iter()
            .flat_map(|vm| vm.store.data().grpc_calls.clone())
            .collect()
    }

    /// A worker's trace (empty unless tracing is on).
    pub fn trace(&self, worker: usize) -> Vec<String> {
        self.vms
            .get(worker)
            .and_then(|vm| vm.store.data().trace.clone())
            .unwrap_or_default()
    }

    /// Linear memory size of each worker VM in bytes.
    pub fn memory_sizes(&self) -> Vec<usize> {
        self.vms.iter().map(Vm::memory_size).collect()
    }

    /// Total fuel each worker has burnt so far (start-up included).
    pub fn fuel_used(&self) -> Vec<u64> {
        self.vms
            .iter()
            .map(|vm| vm.store.data().fuel_used)
            .collect()
    }

    /// A counter's value aggregated over workers.
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.lock().metrics.counter(name)
    }

    /// A gauge's value.
    pub fn gauge(&self, name: &str) -> Option<u64> {
        self.lock().metrics.gauge(name)
    }

    /// A histogram's recorded samples.
    pub fn histogram(&self, name: &str) -> Option<Vec<u64>> {
        self.lock().metrics.histogram(name)
    }

    /// Shared data value and CAS for `key` in the plugin's vm_id.
    pub fn shared_data(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        let vm_id = self.vms.first()?.store.data().plugin.vm_id.clone();
        self.lock().data.get(&vm_id, key.as_bytes())
    }

    /// How many shared-data keys the plugin's vm_id holds.
    pub fn shared_data_keys(&self) -> usize {
        let Some(vm) = self.vms.first() else {
            return 0;
        };
        let vm_id = vm.store.data().plugin.vm_id.clone();
        self.lock().data.key_count(&vm_id)
    }

    /// Writes shared data as another plugin on the same vm_id would (unconditionally).
    pub fn set_shared_data(&mut self, key: &str, value: impl Into<Vec<u8>>) {
        let vm_id = self
            .vms
            .first()
            .map(|vm| vm.store.data().plugin.vm_id.clone())
            .unwrap_or_default();
        self.lock()
            .data
            .set(&vm_id, key.as_bytes(), value.into(), 0);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SharedState> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers posted `proxy_on_queue_ready` notifications to their registrants.
    fn drain_queues(&mut self) {
        for _ in 0..10_000 {
            let ready = std::mem::take(&mut self.lock().queues.ready);
            if ready.is_empty() {
                return;
            }
            for (target, id) in ready {
                if let Some(vm) = self.vms.get_mut(target.vm) {
                    vm.queue_ready(target.root_context, id);
                }
            }
        }
    }
}

/// Per-VM counters before a request, to cut out what the request produced.
struct Snapshot {
    logs: usize,
    http_calls: usize,
    grpc_calls: usize,
    host_errors: usize,
    host_calls: u64,
    fuel: u64,
    trace: usize,
    failed: bool,
}

impl Snapshot {
    fn take(vm: &Vm) -> Snapshot {
        let st = vm.store.data();
        Snapshot {
            logs: st.logs.len(),
            http_calls: st.http_calls.len(),
            grpc_calls: st.grpc_calls.len(),
            host_errors: st.host_errors.len(),
            host_calls: st.host_calls,
            fuel: st.fuel_used,
            trace: st.trace.as_ref().map_or(0, Vec::len),
            failed: vm.failed.is_some(),
        }
    }

    fn exchange(self, vm: &Vm, worker: usize) -> Exchange {
        let st = vm.store.data();
        Exchange {
            worker,
            context_id: 0,
            upstream: None,
            response: Response {
                status: 0,
                headers: Default::default(),
                body: Vec::new(),
                trailers: Default::default(),
                local: false,
                origin: crate::http::Origin::Upstream,
                details: String::new(),
                grpc_status: None,
            },
            http_calls: st.http_calls[self.http_calls..].to_vec(),
            grpc_calls: st.grpc_calls[self.grpc_calls..].to_vec(),
            fuel: st.fuel_used - self.fuel,
            host_calls: st.host_calls - self.host_calls,
            logs: st.logs[self.logs..].to_vec(),
            host_errors: st.host_errors[self.host_errors..].to_vec(),
            route_cache_clears: 0,
            filter_state: HashMap::new(),
            trap: if self.failed { None } else { vm.failed.clone() },
            trace: st
                .trace
                .as_ref()
                .map(|t| t[self.trace..].to_vec())
                .unwrap_or_default(),
        }
    }
}
