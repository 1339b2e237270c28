//! The per-VM host state (`Store<HostState>`): everything a hostcall may read or change.
//!
//! One `HostState` per worker VM. Process-wide things (shared data, queues, metrics) sit behind
//! `shared`; the plugin's static configuration behind `plugin`. Stream-level state exists only
//! while a stream is in flight on this VM.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use wasmtime::{Memory, StoreLimits, TypedFunc};

use crate::abi::LogLevel;
use crate::callout::{GrpcCall, GrpcResponder, HttpCall, HttpCallResponder, PendingCallout};
use crate::clock::{Clock, Prng};
use crate::http::Connection;
use crate::pairs::HeaderMap;
use crate::shared::{MetricKind, SharedState};

/// Plugin-level configuration shared (read-only) by every VM of one Envoy.
pub(crate) struct Plugin {
    pub name: String,
    pub root_id: String,
    pub vm_id: String,
    pub vm_config: Vec<u8>,
    pub plugin_config: Vec<u8>,
    pub log_level: u32,
    pub clusters: Option<BTreeSet<String>>,
    pub http_responder: HttpCallResponder,
    pub grpc_responder: Arc<dyn GrpcResponder>,
    pub properties: HashMap<Vec<u8>, Vec<u8>>,
}

/// Where a log line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// `proxy_log`.
    Proxy,
    /// WASI `fd_write` to fd 1 (logged at info).
    Stdout,
    /// WASI `fd_write` to fd 2 (logged at error).
    Stderr,
    /// The host itself (traps, start-up failures).
    Host,
}

/// One captured log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Worker (VM index).
    pub worker: usize,
    pub level: LogLevel,
    pub source: LogSource,
    pub message: String,
}

/// Which restricted phase the VM is in (§1.9, §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `_initialize` / `main` / `_start`.
    Startup,
    /// Normal callbacks.
    Running,
}

/// Availability of one header map to hostcalls (§2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// No live pointer: get ⇒ BadArgument, pairs ⇒ empty.
    Gone,
    /// From the callback until the filter continues it.
    Live,
    /// Access-log snapshot: readable, not writable.
    ReadOnly,
}

/// A local reply the filter asked for; applied after the guest call returns.
#[derive(Clone, Debug)]
pub(crate) struct LocalReply {
    pub status: u16,
    pub details: String,
    pub body: Vec<u8>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub grpc_status: Option<u32>,
}

/// Deferred stream effects (Envoy applies them after the current guest call).
#[derive(Clone, Debug, Default)]
pub(crate) struct Effects {
    pub continue_request: bool,
    pub continue_response: bool,
    pub local_reply: Option<LocalReply>,
    pub reset: bool,
}

/// The HTTP stream in flight on this VM.
#[derive(Debug)]
pub(crate) struct StreamState {
    pub ctx: u32,
    pub conn: Connection,
    pub properties: HashMap<Vec<u8>, Vec<u8>>,
    /// Maps 0–3: request headers, request trailers, response headers, response trailers.
    pub maps: [HeaderMap; 4],
    pub access: [Access; 4],
    /// The body chunk (or buffered body) visible during a body callback; index 0 request,
    /// 1 response. `None` outside the callback.
    pub bodies: [Option<Vec<u8>>; 2],
    pub effects: Effects,
    /// Mutations of request headers: each one clears Envoy's route cache (ABI 0.2.1).
    pub route_cache_clears: u32,
    pub filter_state: HashMap<Vec<u8>, Vec<u8>>,
    pub response_code: Option<u16>,
    pub response_details: Option<String>,
    /// A local reply was sent already (a second one is ignored, envoy #28826).
    pub local_reply_sent: bool,
    /// Inside `proxy_on_log`: unavailable maps answer NotFound instead of BadArgument.
    pub in_log: bool,
}

impl StreamState {
    pub fn new(ctx: u32, conn: Connection, properties: HashMap<Vec<u8>, Vec<u8>>) -> StreamState {
        StreamState {
            ctx,
            conn,
            properties,
            maps: Default::default(),
            access: [Access::Gone; 4],
            bodies: [None, None],
            effects: Effects::default(),
            route_cache_clears: 0,
            filter_state: HashMap::new(),
            response_code: None,
            response_details: None,
            local_reply_sent: false,
            in_log: false,
        }
    }
}

/// The answer visible while a callout callback runs (maps 4–7, buffers 4–5).
#[derive(Debug, Default)]
pub(crate) struct CalloutView {
    pub headers: HeaderMap,
    pub trailers: HeaderMap,
    pub body: Vec<u8>,
    pub grpc_message: Option<Vec<u8>>,
}

/// A metric id defined by this VM.
#[derive(Clone, Debug)]
pub(crate) struct MetricDef {
    pub kind: MetricKind,
    pub name: String,
}

/// The wasmtime store data of one worker VM.
pub(crate) struct HostState {
    pub worker: usize,
    pub plugin: Arc<Plugin>,
    pub shared: Arc<Mutex<SharedState>>,
    pub clock: Clock,
    pub rng: Prng,
    pub limits: StoreLimits,
    pub memory: Option<Memory>,
    pub allocator: Option<TypedFunc<i32, i32>>,
    pub phase: Phase,
    /// Inside the guest allocator: only log/fd_write/clock/poll are allowed.
    pub in_allocator: bool,
    pub root_context: u32,
    /// True only while `proxy_on_configure` runs: the plugin configuration is readable.
    pub configuring: bool,
    /// Context the host called into.
    pub current_context: u32,
    /// Set by `proxy_set_effective_context`; reset to 0 on every host→guest call.
    pub effective_context: u32,
    pub live_contexts: BTreeSet<u32>,
    pub next_context: u32,
    pub next_http_token: u32,
    pub next_grpc_token: u32,
    pub next_grpc_stream_token: u32,
    pub next_metric: [u32; 3],
    pub metrics: HashMap<u32, MetricDef>,
    pub tick_period_ms: u32,
    pub next_tick_nanos: Option<u64>,
    pub stream: Option<StreamState>,
    pub callout: Option<CalloutView>,
    /// `proxy_get_status` answer of the root context (last callout status).
    pub status: (u32, Vec<u8>),
    pub pending: VecDeque<PendingCallout>,
    pub http_calls: Vec<HttpCall>,
    pub grpc_calls: Vec<GrpcCall>,
    pub logs: Vec<LogLine>,
    pub host_errors: Vec<String>,
    pub host_calls: u64,
    pub fuel_used: u64,
    pub trace: Option<Vec<String>>,
    pub grpc_streams: BTreeSet<u32>,
}

impl HostState {
    /// The context hostcalls act on (§1.8).
    pub fn active_context(&self) -> u32 {
        if self.effective_context != 0 {
            self.effective_context
        } else {
            self.current_context
        }
    }

    /// The in-flight stream, if hostcalls currently act on it.
    pub fn active_stream(&mut self) -> Option<&mut StreamState> {
        let ctx = self.active_context();
        self.stream.as_mut().filter(|s| s.ctx == ctx)
    }

    pub fn shared(&self) -> MutexGuard<'_, SharedState> {
        // A poisoned lock only means another test thread panicked; the data is still usable.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn log(&mut self, level: LogLevel, source: LogSource, message: String) {
        // Envoy drops lines below its `wasm` logger level.
        if (level as u32) < self.plugin.log_level {
            return;
        }
        self.logs.push(LogLine {
            worker: self.worker,
            level,
            source,
            message,
        });
    }

    pub fn host_error(&mut self, message: String) {
        self.host_errors.push(message);
    }

    pub fn trace(&mut self, line: impl FnOnce() -> String) {
        if let Some(t) = self.trace.as_mut() {
            t.push(line());
        }
    }
}
