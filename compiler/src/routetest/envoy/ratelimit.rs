//! The rate limit service Envoy calls when the run names none: `ShouldRateLimit` over
//! plain-text HTTP/2 on a loopback port, answered by the file's in-process counters
//! ([`InMemory`]), so Global rate-limit cases run through Envoy without Redis or a service
//! process, and a case's `advanceClock` moves the clock this service counts with.
//!
//! One unary method is served on hyper's h2 server directly rather than through tonic,
//! which would add its codegen and tower stack to the default build. The gRPC framing is
//! small: the request body is one length-prefixed message (a compressed flag byte, a
//! big-endian `u32` length, the protobuf); the answer is one such message and
//! `grpc-status: 0` trailers, or a failed call's status and message alone.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::routetest::ratelimit_service::InMemory;

/// The one method served.
const SHOULD_RATE_LIMIT: &str = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";

/// gRPC status codes the service answers with besides OK.
const INTERNAL: u32 = 13;
const UNIMPLEMENTED: u32 = 12;

/// A running service; it stops when dropped.
pub struct RateLimitServer {
    port: u16,
    task: JoinHandle<()>,
}

impl RateLimitServer {
    /// Serves `counters` on a free 127.0.0.1 port, on `rt`.
    ///
    /// # Errors
    /// No loopback port could be bound.
    pub fn start(
        rt: &tokio::runtime::Handle,
        counters: Arc<InMemory>,
    ) -> Result<RateLimitServer, String> {
        // `from_std` registers with the reactor of the current runtime context.
        let _context = rt.enter();
        let bind = || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            let port = listener.local_addr()?.port();
            Ok::<_, std::io::Error>((TcpListener::from_std(listener)?, port))
        };
        let (listener, port) =
            bind().map_err(|e| format!("cannot start the rate limit service: {e}"))?;
        let task = rt.spawn(serve(listener, counters));
        Ok(RateLimitServer { port, task })
    }

    /// `127.0.0.1:PORT`, for the rate limit cluster to point at.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for RateLimitServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts its connections too.
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, counters: Arc<InMemory>) {
    let builder = Arc::new(http2::Builder::new(TokioExecutor::new()));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            // A failed accept (a reset, fd exhaustion) must not end the service; back off so
            // a persistent error does not spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let builder = Arc::clone(&builder);
        let counters = Arc::clone(&counters);
        connections.spawn(async move {
            let service = service_fn(move |req| handle(req, Arc::clone(&counters)));
            // A client misbehaving only ends its own connection.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type GrpcBody = BoxBody<Bytes, Infallible>;

async fn handle(
    req: Request<Incoming>,
    counters: Arc<InMemory>,
) -> Result<Response<GrpcBody>, Infallible> {
    if req.uri().path() != SHOULD_RATE_LIMIT {
        let why = format!("only {SHOULD_RATE_LIMIT} is served");
        return Ok(failed(UNIMPLEMENTED, &why));
    }
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Ok(failed(INTERNAL, &format!("reading the request: {e}"))),
    };
    Ok(match unframe(&body).and_then(|m| counters.call(m)) {
        Ok(answer) => answered(&answer),
        Err((code, why)) => failed(code, &why),
    })
}

/// The protobuf inside a unary call's one length-prefixed message.
fn unframe(body: &[u8]) -> Result<&[u8], (u32, String)> {
    match body {
        [0, a, b, c, d, message @ ..]
            if usize::try_from(u32::from_be_bytes([*a, *b, *c, *d])) == Ok(message.len()) =>
        {
            Ok(message)
        }
        [1, ..] => Err((
            UNIMPLEMENTED,
            "compressed messages are not served".to_owned(),
        )),
        _ => Err((
            INTERNAL,
            format!(
                "the request is not one length-prefixed message ({} bytes)",
                body.len()
            ),
        )),
    }
}

/// A successful call: the framed `message`, then `grpc-status: 0`.
fn answered(message: &[u8]) -> Response<GrpcBody> {
    let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut framed = Vec::with_capacity(5 + message.len());
    framed.push(0);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(message);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from(0));
    let body = Full::new(Bytes::from(framed))
        .with_trailers(std::future::ready(Some(Ok(trailers))))
        .boxed();
    grpc_response(body)
}

/// A failed call, trailers-only: its status and message in the headers, no body.
fn failed(code: u32, why: &str) -> Response<GrpcBody> {
    let mut response = grpc_response(Full::new(Bytes::new()).boxed());
    let headers = response.headers_mut();
    headers.insert("grpc-status", HeaderValue::from(code));
    // Header values are visible ASCII; the messages here are, and any other is dropped.
    if let Ok(message) = HeaderValue::from_str(why) {
        headers.insert("grpc-message", message);
    }
    response
}

fn grpc_response(body: GrpcBody) -> Response<GrpcBody> {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gatewasm_filter::ratelimit::rls::{
        Entry, RateLimitDescriptor, RateLimitOverride, RateLimitRequest, RateLimitResponse,
        CODE_OK, CODE_OVER_LIMIT,
    };
    use prost::Message as _;

    use super::super::client::{Client, Incoming, Outgoing, Protocol};
    use super::*;

    /// One request a minute for the descriptor `client: a` of domain `domain`.
    fn request(domain: &str) -> Vec<u8> {
        RateLimitRequest {
            domain: domain.into(),
            descriptors: vec![RateLimitDescriptor {
                entries: vec![Entry {
                    key: "client".into(),
                    value: "a".into(),
                }],
                // 2: a minute.
                limit: Some(RateLimitOverride {
                    requests_per_unit: 1,
                    unit: 2,
                }),
                hits_addend: None,
            }],
            hits_addend: 0,
        }
        .encode_to_vec()
    }

    fn framed(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut body = vec![flag];
        body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        body.extend_from_slice(message);
        body
    }

    struct Call<'a> {
        rt: &'a tokio::runtime::Runtime,
        client: Client,
        port: u16,
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    impl<'a> Call<'a> {
        /// A client of `server`.
        fn to(rt: &'a tokio::runtime::Runtime, server: &RateLimitServer) -> Call<'a> {
            let port = server
                .address()
                .rsplit_once(':')
                .unwrap()
                .1
                .parse()
                .unwrap();
            Call {
                rt,
                client: Client::new(),
                port,
            }
        }

        fn post(&mut self, path: &str, body: Vec<u8>) -> Incoming {
            let out = Outgoing {
                source: None,
                port: self.port,
                tls: None,
                protocol: Protocol::Http2,
                method: "POST".into(),
                path: path.into(),
                authority: "ratelimit".into(),
                headers: vec![("content-type".into(), "application/grpc".into())],
                body,
                connection: 0,
            };
            self.rt.block_on(self.client.send(&out)).unwrap()
        }

        /// The overall code of a successful call.
        fn code(&mut self, body: Vec<u8>) -> i32 {
            let got = self.post(SHOULD_RATE_LIMIT, body);
            assert_eq!(grpc_status(&got.trailers), Some("0".into()), "{got:?}");
            let message = unframe(&got.body).unwrap();
            RateLimitResponse::decode(message).unwrap().overall_code
        }

        /// The status of a failed call.
        fn failure(&mut self, path: &str, body: Vec<u8>) -> String {
            let got = self.post(path, body);
            assert!(got.body.is_empty(), "{got:?}");
            grpc_status(&got.headers).unwrap()
        }
    }

    fn grpc_status(headers: &[(String, String)]) -> Option<String> {
        headers
            .iter()
            .find(|(n, _)| n == "grpc-status")
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn calls_count_in_the_files_counters_on_the_files_clock() {
        let rt = runtime();
        let counters = InMemory::new();
        let server = RateLimitServer::start(rt.handle(), Arc::clone(&counters)).unwrap();
        let mut call = Call::to(&rt, &server);
        assert_eq!(call.code(framed(0, &request("edge"))), CODE_OK);
        assert_eq!(call.code(framed(0, &request("edge"))), CODE_OVER_LIMIT);
        // A case's `advanceClock` moves these counters' clock into the next minute.
        counters.advance(Duration::from_secs(60));
        assert_eq!(call.code(framed(0, &request("edge"))), CODE_OK);
    }

    #[test]
    fn bad_calls_get_a_grpc_status() {
        let rt = runtime();
        let server = RateLimitServer::start(rt.handle(), InMemory::new()).unwrap();
        let mut call = Call::to(&rt, &server);
        let good = framed(0, &request("edge"));
        assert_eq!(call.failure("/other.Service/Call", good.clone()), "12");
        assert_eq!(call.failure(SHOULD_RATE_LIMIT, framed(1, b"")), "12");
        assert_eq!(call.failure(SHOULD_RATE_LIMIT, good[..6].to_vec()), "13");
        // INVALID_ARGUMENT from the counting itself: a request without a domain.
        assert_eq!(
            call.failure(SHOULD_RATE_LIMIT, framed(0, &request(""))),
            "3"
        );
    }
}
