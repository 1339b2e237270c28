//! The proxy-wasm adapter: SDK callbacks in, [`crate::stream`] calls out.
//!
//! Only host calls that return `Result` are used, so a host that refuses something (a map
//! that is no longer available, an unknown cluster) becomes a [`HostError`] and follows the
//! fail-open / fail-closed setting instead of trapping the VM.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType, Status};

use crate::config::{self, PluginConfig};
use crate::engine::{Dice, Reply};
use crate::host::{Host, HostError, ListenerRole, Side};
use crate::metrics;
use crate::pairs;
use crate::stream::{self, Stream, Verdict};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// What a root context holds: a loaded configuration, or none (not configured yet, or the
/// last configuration was refused).
enum State {
    Ready(Rc<PluginConfig>),
    Refused,
}

struct Root {
    state: State,
    dice: Rc<RefCell<Dice>>,
}

impl Default for Root {
    fn default() -> Self {
        // std's RandomState draws from the host's random_get, so a test host with a fixed
        // seed makes weighted choices repeatable.
        let seed = RandomState::new().hash_one(0x6761_7465_7761_736d_u64);
        Root {
            state: State::Refused,
            dice: Rc::new(RefCell::new(Dice::new(seed))),
        }
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten();
        match config::parse(bytes) {
            Ok(cfg) => {
                let t = cfg.router.table();
                log(
                    LogLevel::Info,
                    &format!(
                        "gatewasm: loaded routes for gateway {}: {} listeners, {} routes, {} rules, {} backends",
                        t.gateway,
                        t.listeners.len(),
                        t.routes.len(),
                        t.rules.len(),
                        t.backends.len()
                    ),
                );
                count_configuration(metrics::CONFIG_ACCEPTED, Some(cfg.table_crc));
                self.state = State::Ready(Rc::new(cfg));
                true
            }
            Err(e) => {
                // Names the mode the configuration asked for; what happens to requests is
                // Envoy's failure policy, and the filter itself, left without a configuration,
                // fails closed (`stream::unconfigured`).
                let fail_open = e.fail_open.unwrap_or(false);
                log(
                    LogLevel::Error,
                    &format!(
                        "gatewasm: refusing configuration ({}): {e}",
                        if fail_open {
                            "fail-open"
                        } else {
                            "fail-closed"
                        }
                    ),
                );
                count_configuration(metrics::CONFIG_REFUSED, None);
                self.state = State::Refused;
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = match &self.state {
            State::Ready(cfg) => Some(Rc::clone(cfg)),
            State::Refused => None,
        };
        Some(Box::new(Http {
            config,
            dice: Rc::clone(&self.dice),
            stream: Stream::default(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    /// The configuration; `None` answers every request 503.
    config: Option<Rc<PluginConfig>>,
    dice: Rc<RefCell<Dice>>,
    stream: Stream,
}

impl Context for Http {
    fn on_grpc_call_response(&mut self, _token_id: u32, status_code: u32, response_size: usize) {
        let Some(config) = &self.config else {
            return;
        };
        let config = Rc::clone(config);
        // A successful unary call delivers its message; a failed one only its status.
        let body = if status_code == crate::engine::grpc_code::OK {
            hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, 0, response_size)
                .ok()
                .flatten()
        } else {
            None
        };
        let verdict =
            self.stream
                .on_rate_limit_response(&config, status_code, body.as_deref(), &mut SdkHost);
        if verdict == Verdict::Continue {
            let _ = hostcalls::resume_http_request();
        }
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(config) = self.config.as_ref().map(Rc::clone) else {
            return action(stream::unconfigured(&mut SdkHost));
        };
        let Ok(mut dice) = self.dice.try_borrow_mut() else {
            return Action::Continue;
        };
        action(
            self.stream
                .on_request_headers(&config, &mut dice, &mut SdkHost),
        )
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match &self.config {
            Some(cfg) => action(self.stream.on_response_headers(cfg, &mut SdkHost)),
            None => Action::Continue,
        }
    }
}

fn action(v: Verdict) -> Action {
    match v {
        Verdict::Continue => Action::Continue,
        Verdict::Stop | Verdict::Wait => Action::Pause,
    }
}

fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

/// [`Host`] over the SDK's `Result`-returning host calls.
struct SdkHost;

/// Where the emitted bootstrap puts a listener's Gateway port (a string in the listener's
/// `filter_metadata`). Envoy's top-level `listener_metadata` property is empty in an HTTP
/// stream; the `xds` attributes carry the listener the connection was accepted on.
const LISTENER_PORT: [&str; 5] = [
    "xds",
    "listener_metadata",
    "filter_metadata",
    "gatewasm",
    "port",
];

fn host_err(what: &str) -> impl Fn(Status) -> HostError + '_ {
    move |status| HostError(format!("{what}: {status:?}"))
}

fn map(side: Side) -> MapType {
    match side {
        Side::Request => MapType::HttpRequestHeaders,
        Side::Response => MapType::HttpResponseHeaders,
    }
}

impl Host for SdkHost {
    fn log_error(&mut self, message: &str) {
        log(LogLevel::Error, message);
    }

    fn request_headers(&mut self) -> Result<Vec<u8>, HostError> {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: the host writes a pointer it allocated with this module's allocator and the
        // length of that allocation, or leaves both empty.
        let status = unsafe {
            proxy_get_header_map_pairs(MapType::HttpRequestHeaders, &mut data, &mut size)
        };
        if status != 0 {
            return Err(HostError(format!("request headers: status {status}")));
        }
        if data.is_null() {
            return Ok(Vec::new());
        }
        // SAFETY: as above; the Vec takes ownership and frees it.
        Ok(unsafe { Vec::from_raw_parts(data, size, size) })
    }

    fn listener(&mut self) -> Result<ListenerRole, HostError> {
        // Envoy may listen on other port numbers than the Gateway's (a Service targetPort,
        // Envoy Gateway's 10080, a test's free port): the emitted bootstrap names the
        // Gateway port in the listener's metadata; elsewhere `listenPorts` maps the socket's.
        let tag = hostcalls::get_property(LISTENER_PORT.to_vec())
            .map_err(host_err("xds.listener_metadata"))?;
        if let Some(role) = tag.as_deref().and_then(ListenerRole::from_tag) {
            return Ok(role);
        }
        let bytes = hostcalls::get_property(vec!["destination", "port"])
            .map_err(host_err("destination.port"))?;
        Ok(ListenerRole::Socket(
            bytes
                .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                .and_then(|b| u16::try_from(i64::from_le_bytes(b)).ok())
                .unwrap_or(0),
        ))
    }

    fn sni(&mut self) -> Result<Option<String>, HostError> {
        let bytes = hostcalls::get_property(vec!["connection", "requested_server_name"])
            .map_err(host_err("connection.requested_server_name"))?;
        Ok(bytes.and_then(|b| String::from_utf8(b).ok()))
    }

    fn set_header(&mut self, side: Side, name: &str, value: &[u8]) -> Result<(), HostError> {
        hostcalls::set_map_value_bytes(map(side), name, Some(value)).map_err(host_err(name))
    }

    fn add_header(&mut self, side: Side, name: &str, value: &[u8]) -> Result<(), HostError> {
        hostcalls::add_map_value_bytes(map(side), name, value).map_err(host_err(name))
    }

    fn remove_header(&mut self, side: Side, name: &str) -> Result<(), HostError> {
        hostcalls::remove_map_value(map(side), name).map_err(host_err(name))
    }

    fn send_reply(&mut self, reply: &Reply) -> Result<(), HostError> {
        let headers: Vec<(&str, &[u8])> = reply
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        // A gRPC reply is HTTP 200 with the status in the trailers-only answer; its message
        // is the reason.
        let (status, body, grpc) = match reply.grpc_status {
            Some(code) => (200, reply.reason.as_str().as_bytes(), code as i32),
            None => (u32::from(reply.status), &[][..], -1),
        };
        local_response(status, reply.reason.as_str(), body, &headers, grpc)
            .map_err(host_err("local reply"))
    }

    fn source_address(&mut self) -> Result<Option<String>, HostError> {
        let bytes = hostcalls::get_property(vec!["source", "address"])
            .map_err(host_err("source.address"))?;
        Ok(bytes.and_then(|b| String::from_utf8(b).ok()))
    }

    fn now_nanos(&mut self) -> Result<u64, HostError> {
        let now = hostcalls::get_current_time().map_err(host_err("current time"))?;
        let since = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| HostError("the clock is before 1970".to_owned()))?;
        u64::try_from(since.as_nanos()).map_err(|_| HostError("the clock is past 2554".to_owned()))
    }

    fn shared_get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError> {
        hostcalls::get_shared_data(key).map_err(host_err(key))
    }

    fn shared_set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<bool, HostError> {
        match hostcalls::set_shared_data(key, Some(value), Some(cas)) {
            Ok(()) => Ok(true),
            Err(Status::CasMismatch) => Ok(false),
            Err(status) => Err(host_err(key)(status)),
        }
    }

    fn dispatch_rate_limit(
        &mut self,
        cluster: &str,
        message: &[u8],
        timeout: Duration,
    ) -> Result<(), HostError> {
        hostcalls::dispatch_grpc_call(
            cluster,
            crate::ratelimit::rls::SERVICE,
            crate::ratelimit::rls::METHOD,
            vec![],
            Some(message),
            timeout,
        )
        .map(|_| ())
        .map_err(host_err("rate limit service call"))
    }

    fn set_state(&mut self, name: &str, value: &[u8]) -> Result<(), HostError> {
        hostcalls::set_property(vec![name], Some(value)).map_err(host_err(name))
    }

    fn count(&mut self, name: &str) -> Result<(), HostError> {
        let id = metric(MetricType::Counter, name)?;
        hostcalls::increment_metric(id, 1).map_err(host_err(name))
    }
}

/// The id of the metric `name`: `proxy_define_metric` once per name and VM.
fn metric(kind: MetricType, name: &str) -> Result<u32, HostError> {
    if let Some(id) = METRICS.with(|m| m.borrow().get(name).copied()) {
        return Ok(id);
    }
    let id = hostcalls::define_metric(kind, name).map_err(host_err(name))?;
    METRICS.with(|m| m.borrow_mut().insert(name.to_owned(), id));
    Ok(id)
}

/// Counts a configuration accepted or refused, and sets the gauge of the loaded table. A
/// refusal leaves the gauge alone: Envoy keeps serving the previous table.
fn count_configuration(counter: &str, table_crc: Option<u32>) {
    // Nothing to tell a request about: a metric the host refuses only goes missing.
    if let Ok(id) = metric(MetricType::Counter, counter) {
        let _ = hostcalls::increment_metric(id, 1);
    }
    let Some(crc) = table_crc else {
        return;
    };
    if let Ok(id) = metric(MetricType::Gauge, metrics::CONFIG_TABLE) {
        let _ = hostcalls::record_metric(id, u64::from(crc));
    }
}

thread_local! {
    /// Metric ids by name, so each name is defined once per VM whatever the table's size.
    static METRICS: RefCell<BTreeMap<String, u32>> = const { RefCell::new(BTreeMap::new()) };
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        details_data: *const u8,
        details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
}

/// `proxy_send_local_response` with response code details, which the SDK's wrappers leave
/// empty: Envoy's access log (`%RESPONSE_CODE_DETAILS%`) then names the filter's reason, and
/// a refusal is an error rather than the SDK's panic.
fn local_response(
    status: u32,
    details: &str,
    body: &[u8],
    headers: &[(&str, &[u8])],
    grpc_status: i32,
) -> Result<(), Status> {
    let pairs = pairs::encode(headers);
    // SAFETY: every pointer and length describes a live slice for the duration of the call;
    // the host copies what it needs before returning.
    let status = unsafe {
        proxy_send_local_response(
            status,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            pairs.as_ptr(),
            pairs.len(),
            grpc_status,
        )
    };
    match status {
        0 => Ok(()),
        2 => Err(Status::BadArgument),
        _ => Err(Status::InternalFailure),
    }
}
