//! The host boundary: what the filter needs from the proxy, as one trait. The proxy-wasm
//! glue implements it with the SDK's `Result`-returning host calls, the CLI's native test
//! runner over an in-memory request; the stream and the rate limits see only this.

use std::time::Duration;

use crate::engine::Reply;

/// Something the host could not do (a failed host call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

/// Which header map an edit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Headers going upstream.
    Request,
    /// Headers going back to the client.
    Response,
}

/// What an Envoy listener serves, from the `gatewasm.port` value in its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerRole {
    /// The Gateway listeners of the port the listener's metadata names.
    Gateway(u16),
    /// A listener without that metadata (one the filter was attached to): the connection's
    /// destination port (0 when unknown), which the configuration's `listenPorts` maps to
    /// a Gateway port.
    Socket(u16),
    /// The readiness probe (`port: ready`): answered 200 by a filter that holds a route
    /// table. Without one, the request reaches the listener's own 503 route, or Envoy's 500
    /// for a filter whose configuration it refused, so the pod is not Ready.
    Readiness,
}

impl ListenerRole {
    /// The role a `gatewasm.port` value names: `ready`, or a port number.
    pub fn from_tag(tag: &[u8]) -> Option<ListenerRole> {
        if tag == b"ready" {
            return Some(ListenerRole::Readiness);
        }
        let port = std::str::from_utf8(tag).ok()?.parse::<u16>().ok()?;
        Some(ListenerRole::Gateway(port))
    }
}

/// The proxy operations a stream needs.
pub trait Host {
    /// The request's header map in the proxy-wasm map encoding ([`crate::pairs`]), names
    /// lowercase: one read however many headers a rule looks at, since each host call costs
    /// more than copying a header.
    fn request_headers(&mut self) -> Result<Vec<u8>, HostError>;
    /// What the listener the request arrived on serves (see [`ListenerRole`]).
    fn listener(&mut self) -> Result<ListenerRole, HostError>;
    /// The TLS SNI of the downstream connection.
    fn sni(&mut self) -> Result<Option<String>, HostError>;
    /// Replaces every value of a header with one value.
    fn set_header(&mut self, side: Side, name: &str, value: &[u8]) -> Result<(), HostError>;
    /// Appends a value to a header.
    fn add_header(&mut self, side: Side, name: &str, value: &[u8]) -> Result<(), HostError>;
    /// Removes a header.
    fn remove_header(&mut self, side: Side, name: &str) -> Result<(), HostError>;
    /// Sends a local reply and ends the request phase.
    fn send_reply(&mut self, reply: &Reply) -> Result<(), HostError>;
    /// The client address (`source.address`, `ip:port`), for source CIDR rate limits.
    fn source_address(&mut self) -> Result<Option<String>, HostError>;
    /// The host's wall clock in nanoseconds since the Unix epoch.
    fn now_nanos(&mut self) -> Result<u64, HostError>;
    /// A shared-data value and its CAS (`None` values: the key is absent or empty).
    fn shared_get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError>;
    /// Writes a shared-data value if its CAS is still `cas` (a missing key is created);
    /// `Ok(false)` when another writer got there first.
    fn shared_set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<bool, HostError>;
    /// Calls `ShouldRateLimit` on the rate limit service cluster; the answer arrives through
    /// [`Stream::on_rate_limit_response`].
    fn dispatch_rate_limit(
        &mut self,
        cluster: &str,
        message: &[u8],
        timeout: Duration,
    ) -> Result<(), HostError>;
    /// Adds 1 to the counter `name` (defined on first use).
    fn count(&mut self, name: &str) -> Result<(), HostError>;
    /// Keeps `value` under `name` in the request's filter state, where Envoy's access log
    /// reads it (`%FILTER_STATE(wasm.<name>:PLAIN)%`).
    fn set_state(&mut self, name: &str, value: &[u8]) -> Result<(), HostError>;
    /// Writes one line to the proxy's log at error level (a failed host call; nothing to
    /// report if this fails too).
    fn log_error(&mut self, message: &str);
}
