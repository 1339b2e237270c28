//! One HTTP stream, independent of the proxy: read the request from a [`Host`], ask the
//! engine, and apply the [`Decision`] back through the host.
//!
//! The proxy-wasm glue implements [`Host`] with real host calls; the CLI's native test runner
//! implements it over an in-memory request. Everything between reading headers and writing
//! them back lives here, so both paths do exactly the same thing.

use std::time::Duration;

use crate::blob::HeaderModifier;
use crate::config::PluginConfig;
use crate::engine::{Decision, Dice, Forward, HeaderList, Reply, ReplyReason, Request};

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

/// The proxy operations a stream needs.
pub trait Host {
    /// The first value of a request header (`name` lowercase).
    fn request_header(&mut self, name: &str) -> Result<Option<Vec<u8>>, HostError>;
    /// All request headers (lowercase names, in order); read only to copy a mirrored request.
    fn request_headers(&mut self) -> Result<Vec<(String, Vec<u8>)>, HostError>;
    /// The destination port of the downstream connection.
    fn destination_port(&mut self) -> Result<Option<u16>, HostError>;
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
    /// Fires a request copy at a cluster and ignores the answer.
    fn dispatch_mirror(
        &mut self,
        cluster: &str,
        headers: &[(&str, &[u8])],
        timeout: Duration,
    ) -> Result<(), HostError>;
}

/// What the proxy should do after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the request or response continue.
    Continue,
    /// Stop: the filter answered locally.
    Stop,
}

/// How long a mirrored request may take before Envoy gives up on it.
const MIRROR_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-stream state kept between the request and the response phase.
#[derive(Debug, Default)]
pub struct Stream {
    /// Response edits chosen in the request phase.
    response: Option<ResponseEdits>,
}

#[derive(Debug)]
struct ResponseEdits {
    rule: crate::blob::RuleId,
    backend: usize,
    cors: Vec<(String, String)>,
}

impl Stream {
    /// Handles the request headers.
    pub fn on_request_headers(
        &mut self,
        config: &PluginConfig,
        dice: &mut Dice,
        host: &mut impl Host,
    ) -> Verdict {
        match self.route_request(config, dice, host) {
            Ok(verdict) => verdict,
            Err(_) if config.fail_open => {
                // Passing through must not let the client pick a cluster itself.
                let _ = host.remove_header(Side::Request, &config.cluster_header);
                Verdict::Continue
            }
            Err(_) => {
                let _ = host.send_reply(&Reply {
                    reason: ReplyReason::Internal,
                    status: 503,
                    grpc_status: None,
                    headers: Vec::new(),
                    rule: None,
                });
                Verdict::Stop
            }
        }
    }

    fn route_request(
        &mut self,
        config: &PluginConfig,
        dice: &mut Dice,
        host: &mut impl Host,
    ) -> Result<Verdict, HostError> {
        // Only the headers some rule can look at cross the host boundary.
        let mut headers = Vec::with_capacity(config.router.header_names().len());
        for name in config.router.header_names() {
            if let Some(value) = host.request_header(name)? {
                headers.push((name.clone(), value));
            }
        }
        let port = host.destination_port()?.unwrap_or(0);
        let sni = host.sni()?;
        let text = |name: &str| -> &str {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| std::str::from_utf8(v).ok())
                .unwrap_or("")
        };
        let req = Request {
            port,
            sni: sni.as_deref(),
            scheme: text(":scheme"),
            authority: text(":authority"),
            method: text(":method"),
            path: text(":path"),
            headers: &headers,
        };
        match config.router.evaluate(&req, dice) {
            Decision::Reply(reply) => {
                host.send_reply(&reply)?;
                Ok(Verdict::Stop)
            }
            Decision::Forward(fwd) => {
                apply_forward(config, &fwd, host)?;
                self.response = Some(ResponseEdits {
                    rule: fwd.rule,
                    backend: fwd.backend_index,
                    cors: fwd.cors_headers,
                });
                Ok(Verdict::Continue)
            }
        }
    }

    /// Handles the response headers (including those of the filter's own local replies,
    /// which carry no edits).
    pub fn on_response_headers(&mut self, config: &PluginConfig, host: &mut impl Host) -> Verdict {
        let Some(edits) = self.response.take() else {
            return Verdict::Continue;
        };
        let rule = &config.router.table().rules[edits.rule];
        let layers = [
            Some(&rule.filters),
            rule.backends.get(edits.backend).map(|b| &b.filters),
        ];
        for modifier in layers
            .into_iter()
            .flatten()
            .filter_map(|f| f.response_headers.as_ref())
        {
            // A failed edit on the response cannot be answered any better than by letting the
            // response through as the backend sent it.
            let _ = edit_headers(host, Side::Response, modifier);
        }
        for (name, value) in &edits.cors {
            let _ = host.set_header(Side::Response, name, value.as_bytes());
        }
        Verdict::Continue
    }
}

fn apply_forward(
    config: &PluginConfig,
    fwd: &Forward<'_>,
    host: &mut impl Host,
) -> Result<(), HostError> {
    if !fwd.mirrors.is_empty() {
        // Copy the request as the client sent it, before this filter's edits.
        let original = host.request_headers()?;
        mirror(config, fwd, &original, host);
    }
    for modifier in &fwd.request_headers {
        edit_headers(host, Side::Request, modifier)?;
    }
    if let Some(path) = &fwd.path {
        host.set_header(Side::Request, ":path", path.as_bytes())?;
    }
    if let Some(authority) = &fwd.authority {
        host.set_header(Side::Request, ":authority", authority.as_bytes())?;
    }
    if let Some(ms) = fwd.timeouts.request_ms {
        host.set_header(
            Side::Request,
            "x-envoy-upstream-rq-timeout-ms",
            ms.to_string().as_bytes(),
        )?;
    }
    if let Some(ms) = fwd.timeouts.backend_request_ms {
        host.set_header(
            Side::Request,
            "x-envoy-upstream-rq-per-try-timeout-ms",
            ms.to_string().as_bytes(),
        )?;
    }
    host.set_header(
        Side::Request,
        &config.cluster_header,
        fwd.cluster.as_bytes(),
    )
}

fn mirror(config: &PluginConfig, fwd: &Forward<'_>, original: &HeaderList, host: &mut impl Host) {
    let path = fwd.path.as_deref().map(str::as_bytes);
    let copy: Vec<(&str, &[u8])> = original
        .iter()
        .filter(|(n, _)| *n != config.cluster_header)
        .map(|(n, v)| match (n.as_str(), path) {
            (":path", Some(p)) => (n.as_str(), p),
            _ => (n.as_str(), v.as_slice()),
        })
        .collect();
    for cluster in &fwd.mirrors {
        // Mirrors are fire-and-forget: a mirror the host refuses must not fail the request.
        let _ = host.dispatch_mirror(cluster, &copy, MIRROR_TIMEOUT);
    }
}

fn edit_headers(host: &mut impl Host, side: Side, m: &HeaderModifier) -> Result<(), HostError> {
    for (name, value) in &m.set {
        host.set_header(side, name, value.as_bytes())?;
    }
    for (name, value) in &m.add {
        host.add_header(side, name, value.as_bytes())?;
    }
    for name in &m.remove {
        host.remove_header(side, name)?;
    }
    Ok(())
}
