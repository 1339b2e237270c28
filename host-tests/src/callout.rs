//! Callouts a filter makes (`proxy_http_call`, `proxy_grpc_call`), as recorded for tests, and
//! the pluggable responders that answer them.
//!
//! Envoy answers callouts asynchronously on the root context; the host answers them right after
//! the guest call that issued them returns, which is the earliest moment Envoy could.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::http::UpstreamResponse;
use crate::pairs::HeaderMap;

/// One `proxy_http_call`, as the filter issued it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCall {
    /// Worker (VM index) that issued it.
    pub worker: usize,
    /// Token returned to the filter (4, 8, 12, … per VM).
    pub token: u32,
    /// Target cluster.
    pub cluster: String,
    /// Request headers (pseudo-headers included, keys lowercase).
    pub headers: HeaderMap,
    /// Request body.
    pub body: Vec<u8>,
    /// Request trailers.
    pub trailers: HeaderMap,
    /// Timeout (0 = none).
    pub timeout: Duration,
}

/// How an HTTP callout ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpCallOutcome {
    /// A response (timeouts and connect failures are responses too: 504 / 503).
    Response(UpstreamResponse),
    /// Stream reset: delivered with `num_headers == 0` and `proxy_get_status` = (11, "reset"),
    /// as Envoy does.
    Reset,
    /// Never answered (the callback never fires).
    NoReply,
}

/// Answers HTTP callouts.
pub type HttpCallResponder = Arc<dyn Fn(&HttpCall) -> HttpCallOutcome + Send + Sync>;

/// One `proxy_grpc_call`, as the filter issued it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcCall {
    /// Worker (VM index) that issued it.
    pub worker: usize,
    /// Token returned to the filter (5, 9, 13, … per VM).
    pub token: u32,
    /// Cluster name (the `GrpcService` proto form is not supported: treated as a name).
    pub cluster: String,
    /// Fully qualified service name.
    pub service: String,
    /// Method name.
    pub method: String,
    /// Initial metadata (keys lowercase).
    pub metadata: HeaderMap,
    /// The unframed request message.
    pub message: Vec<u8>,
    /// Timeout (0 = none).
    pub timeout: Duration,
}

/// A gRPC failure: status code (1–16) and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcStatus {
    pub code: u32,
    pub message: String,
}

impl GrpcStatus {
    /// A status with a message.
    pub fn new(code: u32, message: &str) -> GrpcStatus {
        GrpcStatus {
            code,
            message: message.to_string(),
        }
    }
}

/// Answers unary gRPC callouts; implement it to bridge to a real server.
pub trait GrpcResponder: Send + Sync {
    /// The unframed response message, or the failure status.
    fn respond(&self, call: &GrpcCall) -> Result<Vec<u8>, GrpcStatus>;
}

impl<F> GrpcResponder for F
where
    F: Fn(&GrpcCall) -> Result<Vec<u8>, GrpcStatus> + Send + Sync,
{
    fn respond(&self, call: &GrpcCall) -> Result<Vec<u8>, GrpcStatus> {
        self(call)
    }
}

/// The default HTTP callout answer: 200, no headers, no body.
pub(crate) fn default_http_responder() -> HttpCallResponder {
    Arc::new(|_| HttpCallOutcome::Response(UpstreamResponse::ok()))
}

/// The default gRPC answer: OK with an empty message (a valid proto3 message).
pub(crate) struct EmptyGrpcOk;

impl GrpcResponder for EmptyGrpcOk {
    fn respond(&self, _call: &GrpcCall) -> Result<Vec<u8>, GrpcStatus> {
        Ok(Vec::new())
    }
}

impl fmt::Debug for dyn GrpcResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GrpcResponder")
    }
}

/// A callout the host still has to answer.
#[derive(Clone, Debug)]
pub(crate) enum PendingCallout {
    Http(HttpCall),
    Grpc(GrpcCall),
}
