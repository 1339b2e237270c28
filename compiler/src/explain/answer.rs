//! What the client really receives: Envoy stands between the filter's decision and the
//! client, so a connection can be refused before the filter runs, and a gRPC call never sees
//! the HTTP status the filter chose.

use std::fmt::Write as _;

use gatewasm_filter::blob::RouteTable;
use gatewasm_filter::engine::{grpc_code, request_host, Reply};

/// Whether the request reaches the filter at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reach {
    /// Envoy has a filter chain for the connection: the filter decides.
    Filter,
    /// No listener binds the port, so Envoy has no socket there: the connection is refused.
    NoPort,
    /// TLS, and no HTTPS listener on the port serves the SNI: the bootstrap gives each HTTPS
    /// listener a filter chain matched on its hostname, so the handshake finds none.
    NoTlsChain(String),
}

/// How Envoy receives a request on `port` with `sni` (present for TLS).
pub(super) fn reach(t: &RouteTable, port: u16, sni: Option<&str>) -> Reach {
    let on_port = || t.listeners.iter().filter(move |l| l.port == port);
    if on_port().next().is_none() {
        return Reach::NoPort;
    }
    let Some(sni) = sni.filter(|s| !s.is_empty()) else {
        return Reach::Filter;
    };
    let name = request_host(sni);
    let served = on_port().any(|l| l.tls && l.hostname.as_ref().is_none_or(|h| h.matches(&name)));
    if served {
        Reach::Filter
    } else {
        Reach::NoTlsChain(name)
    }
}

/// The `action:` line for a request that never reaches the filter.
pub(super) fn tell_unreached(reach: &Reach, port: u16, out: &mut String) {
    match reach {
        Reach::Filter => {}
        Reach::NoPort => {
            let _ = writeln!(
                out,
                "action:   none: no listener of the Gateway binds port {port}, so Envoy refuses the connection \
                 (the client sees a connection error, no HTTP response)"
            );
        }
        Reach::NoTlsChain(sni) => {
            let _ = writeln!(
                out,
                "action:   none: no HTTPS listener on port {port} serves SNI {sni}, so Envoy \
                 refuses the TLS handshake (the client sees a TLS error, no HTTP response)"
            );
        }
    }
}

/// The `action:` line of a reply: what the client sees. Envoy turns a local reply to a gRPC
/// call into a trailers-only response, HTTP 200 carrying the gRPC status.
pub(super) fn tell_answer(r: &Reply, out: &mut String) {
    match r.grpc_status {
        Some(g) => {
            let _ = writeln!(
                out,
                "action:   answer 200, grpc-status: {g} ({}): {}\n          \
                 a gRPC client gets a trailers-only response: HTTP 200 with the gRPC status, \
                 never the filter's {}",
                grpc_code::name(g),
                r.reason.as_str(),
                r.status
            );
        }
        None => {
            let _ = writeln!(out, "action:   answer {}: {}", r.status, r.reason.as_str());
        }
    }
}
