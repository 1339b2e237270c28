//! An in-process echo server standing in for every backend cluster of a route test run.
//!
//! Each cluster gets its own port, so the port a request lands on tells which cluster Envoy
//! routed it to. Requests are recorded under their `x-gatewasm-test-id` header so that
//! concurrent or mirrored cases can be told apart.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The request header whose value files a request under a test case.
pub const TEST_ID_HEADER: &str = "x-gatewasm-test-id";

/// One request as the upstream received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The cluster whose port the request arrived on.
    pub cluster: String,
    /// Unique and increasing across the upstream; echoed as response header `x-echo-seq`.
    pub seq: u64,
    pub method: String,
    /// Path and query exactly as received (the HTTP/1 request-target, or the h2 `:path`).
    pub path: String,
    /// The HTTP/1 `Host` header or the h2 `:authority`.
    pub authority: String,
    /// Lowercase names; repeated names are grouped at their first position; no `host`.
    pub headers: Vec<(String, String)>,
    /// The whole body: mirror tests check that bodies arrive complete.
    pub body: Vec<u8>,
    pub http2: bool,
}

#[derive(Default)]
struct Records {
    next_seq: u64,
    by_id: HashMap<String, Vec<Received>>,
}

#[derive(Default)]
struct Shared {
    records: Mutex<Records>,
    response_headers: Mutex<HashMap<String, Vec<(String, String)>>>,
    delays: Mutex<HashMap<String, std::time::Duration>>,
    in_flight: AtomicUsize,
}

/// Poisoning only means another handler panicked mid-update; the maps stay usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts a request as in flight for as long as its handler future exists, including
/// when the connection is dropped mid-body.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: &Arc<Shared>) -> InFlight {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct EchoUpstream {
    ports: HashMap<String, u16>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl EchoUpstream {
    /// Binds one 127.0.0.1:0 listener per cluster name and serves them on `rt`.
    pub fn start(
        rt: &tokio::runtime::Handle,
        clusters: &[String],
    ) -> std::io::Result<EchoUpstream> {
        let mut upstream = EchoUpstream {
            ports: HashMap::new(),
            shared: Arc::new(Shared::default()),
            tasks: Vec::new(),
        };
        for cluster in clusters {
            upstream.add(rt, cluster)?;
        }
        Ok(upstream)
    }

    /// Serves `cluster` on a port of its own, unless it is served already.
    pub fn add(&mut self, rt: &tokio::runtime::Handle, cluster: &str) -> std::io::Result<()> {
        if self.ports.contains_key(cluster) {
            return Ok(());
        }
        // `from_std` registers with the reactor of the current runtime context.
        let _context = rt.enter();
        let bind_err = |e: std::io::Error| {
            std::io::Error::new(
                e.kind(),
                format!("echo upstream for cluster {cluster}: {e}"),
            )
        };
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(bind_err)?;
        std_listener.set_nonblocking(true).map_err(bind_err)?;
        let port = std_listener.local_addr().map_err(bind_err)?.port();
        let listener = TcpListener::from_std(std_listener).map_err(bind_err)?;
        self.ports.insert(cluster.to_owned(), port);
        let task = rt.spawn(serve(listener, cluster.to_owned(), self.shared.clone()));
        self.tasks.push(task);
        Ok(())
    }

    /// The port serving `cluster`.
    pub fn port(&self, cluster: &str) -> Option<u16> {
        self.ports.get(cluster).copied()
    }

    /// Response headers added to every answer to requests carrying `x-gatewasm-test-id: <id>`.
    pub fn set_response_headers(&self, id: &str, headers: Vec<(String, String)>) {
        lock(&self.shared.response_headers).insert(id.to_string(), headers);
    }

    /// How long to wait before answering requests carrying `x-gatewasm-test-id: <id>`.
    pub fn set_delay(&self, id: &str, delay: std::time::Duration) {
        lock(&self.shared.delays).insert(id.to_string(), delay);
    }

    /// Removes and returns every request received so far with `x-gatewasm-test-id: <id>`
    /// (`""` for requests without it), in arrival order.
    pub fn take(&self, id: &str) -> Vec<Received> {
        lock(&self.shared.records)
            .by_id
            .remove(id)
            .unwrap_or_default()
    }

    /// Requests currently being served (for quiescence checks).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        // Aborting an accept loop drops its JoinSet, which aborts its connections too.
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn serve(listener: TcpListener, cluster: String, shared: Arc<Shared>) {
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Per-connection failures (a reset before accept, fd exhaustion) must not end the
            // listener; back off briefly so a persistent error does not spin.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let cluster = cluster.clone();
        let shared = shared.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| handle(req, cluster.clone(), shared.clone()));
            // A client misbehaving only ends its own connection.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type EchoBody = BoxBody<Bytes, Infallible>;

async fn handle(
    req: Request<Incoming>,
    cluster: String,
    shared: Arc<Shared>,
) -> Result<Response<EchoBody>, Infallible> {
    let _in_flight = InFlight::new(&shared);
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        // The client went away mid-body: nothing complete to record.
        Err(e) => return Ok(plain(StatusCode::BAD_REQUEST, format!("reading body: {e}"))),
    };

    let http2 = parts.version == Version::HTTP_2;
    let header_str = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let id = header_str(TEST_ID_HEADER).unwrap_or_default();
    let host = header_str("host");
    let (path, authority) = if http2 {
        let path = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_default();
        let authority = parts.uri.authority().map(|a| a.as_str().to_string());
        (path, authority.or(host).unwrap_or_default())
    } else {
        // An origin-form target displays as itself; absolute-form keeps scheme and authority.
        (parts.uri.to_string(), host.unwrap_or_default())
    };
    let grpc = header_str("content-type").is_some_and(|ct| ct.starts_with("application/grpc"));
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| *name != http::header::HOST)
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();

    let seq = {
        // Numbering under the same lock as the append keeps `take` order equal to seq order.
        let mut records = lock(&shared.records);
        records.next_seq += 1;
        let seq = records.next_seq;
        records.by_id.entry(id.clone()).or_default().push(Received {
            cluster: cluster.clone(),
            seq,
            method: parts.method.as_str().to_string(),
            path,
            authority,
            headers,
            body: body.to_vec(),
            http2,
        });
        seq
    };

    let extra = lock(&shared.response_headers)
        .get(&id)
        .cloned()
        .unwrap_or_default();
    let delay = lock(&shared.delays).get(&id).copied();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    Ok(echo_response(grpc, seq, &cluster, &extra))
}

/// The echo's answer: OK (gRPC OK for gRPC), numbered by `seq`, naming its cluster, with the
/// `extra` headers the test asked for.
fn echo_response(
    grpc: bool,
    seq: u64,
    cluster: &str,
    extra: &[(String, String)],
) -> Response<EchoBody> {
    let mut response = if grpc {
        grpc_ok()
    } else {
        plain(StatusCode::OK, "ok".into())
    };
    let headers = response.headers_mut();
    headers.insert("x-echo-seq", HeaderValue::from(seq));
    if let Ok(value) = HeaderValue::from_str(cluster) {
        headers.insert("x-echo-cluster", value);
    }
    for (name, value) in extra {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            // Fail loudly so the test shows the bad header rather than silently lacking it.
            _ => {
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("invalid upstream response header {name:?}: {value:?}"),
                );
            }
        }
    }
    response
}

fn plain(status: StatusCode, body: String) -> Response<EchoBody> {
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

/// One empty length-prefixed message and `grpc-status: 0` trailers: a successful unary call.
fn grpc_ok() -> Response<EchoBody> {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let body = Full::new(Bytes::from_static(&[0u8; 5]))
        .with_trailers(std::future::ready(Some(Ok(trailers))))
        .boxed();
    let mut response = Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}
