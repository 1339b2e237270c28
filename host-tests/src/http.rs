//! The HTTP values tests speak in: the downstream [`Request`], the [`Response`] the client
//! sees, and the upstream side ([`UpstreamRequest`], [`UpstreamResponse`]).

use std::fmt;
use std::sync::Arc;

use crate::pairs::HeaderMap;

/// A downstream request as Envoy's HTTP connection manager hands it to the filter chain.
#[derive(Clone, Debug)]
pub struct Request {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<Vec<u8>>,
    pub(crate) trailers: HeaderMap,
    pub(crate) conn: Connection,
    pub(crate) worker: Option<usize>,
    pub(crate) properties: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) upstream: Option<UpstreamResponse>,
}

/// Connection-level facts behind `source.*`, `destination.*` and `connection.*` properties.
#[derive(Clone, Debug)]
pub(crate) struct Connection {
    pub source: String,
    pub destination: String,
    pub sni: Option<String>,
    pub protocol: String,
}

impl Request {
    /// A request for `url` (`scheme://authority/path?query`, or just `/path` for
    /// `http://localhost`). Pseudo-headers are set as Envoy's codec does; `Host` is `:authority`.
    pub fn new(method: &str, url: &str) -> Request {
        let (scheme, rest) = match url.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => ("http".to_string(), url),
        };
        let (authority, path) = if rest.starts_with('/') {
            ("localhost".to_string(), rest.to_string())
        } else {
            match rest.find('/') {
                Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
                None => match rest.find('?') {
                    Some(i) => (rest[..i].to_string(), format!("/{}", &rest[i..])),
                    None => (rest.to_string(), "/".to_string()),
                },
            }
        };
        let port = if scheme == "https" { 443 } else { 80 };
        let mut headers = HeaderMap::new();
        headers.add(":authority", authority);
        headers.add(":path", path);
        headers.add(":method", method);
        headers.add(":scheme", &scheme);
        Request {
            headers,
            body: Vec::new(),
            trailers: HeaderMap::new(),
            conn: Connection {
                source: "10.0.0.7:50000".to_string(),
                destination: format!("10.0.0.1:{port}"),
                sni: None,
                protocol: "HTTP/1.1".to_string(),
            },
            worker: None,
            properties: Vec::new(),
            upstream: None,
        }
    }

    /// `GET url`.
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// `POST url`.
    pub fn post(url: &str) -> Request {
        Request::new("POST", url)
    }

    /// A unary gRPC request (`POST /service/method`, `content-type: application/grpc`, HTTP/2)
    /// carrying `message` framed with the 5-byte gRPC prefix.
    pub fn grpc(authority: &str, service: &str, method: &str, message: &[u8]) -> Request {
        let mut framed = Vec::with_capacity(message.len() + 5);
        framed.push(0);
        framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
        framed.extend_from_slice(message);
        Request::post(&format!("http://{authority}/{service}/{method}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .protocol("HTTP/2")
            .body(framed)
    }

    /// Appends a header (names are lowercased like Envoy's maps; `host` becomes `:authority`).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        if name.eq_ignore_ascii_case("host") {
            self.headers.replace(":authority", value);
        } else {
            self.headers.add(name, value);
        }
        self
    }

    /// Replaces every value of a header (pseudo-headers included).
    pub fn set_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        self.headers.replace(name, value);
        self
    }

    /// Removes a header (for example `:scheme` to test odd requests).
    pub fn remove_header(mut self, name: &str) -> Request {
        self.headers.remove(name);
        self
    }

    /// Sets the body as one chunk.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = vec![body.into()];
        self
    }

    /// Appends a body chunk; each chunk is one `proxy_on_request_body` call.
    pub fn chunk(mut self, chunk: impl Into<Vec<u8>>) -> Request {
        self.body.push(chunk.into());
        self
    }

    /// Appends a request trailer.
    pub fn trailer(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        self.trailers.add(name, value);
        self
    }

    /// Local (destination) port the request arrived on.
    pub fn port(mut self, port: u16) -> Request {
        let host = self
            .conn
            .destination
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_else(|| "10.0.0.1".to_string());
        self.conn.destination = format!("{host}:{port}");
        self
    }

    /// Local address `ip:port` the request arrived on.
    pub fn destination(mut self, address: &str) -> Request {
        self.conn.destination = address.to_string();
        self
    }

    /// Downstream peer address `ip:port`.
    pub fn source(mut self, address: &str) -> Request {
        self.conn.source = address.to_string();
        self
    }

    /// TLS SNI (`connection.requested_server_name`); none by default.
    pub fn sni(mut self, sni: &str) -> Request {
        self.conn.sni = Some(sni.to_string());
        self
    }

    /// `request.protocol` ("HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3").
    pub fn protocol(mut self, protocol: &str) -> Request {
        self.conn.protocol = protocol.to_string();
        self
    }

    /// Pins the request to a worker (otherwise round-robin).
    pub fn worker(mut self, worker: usize) -> Request {
        self.worker = Some(worker);
        self
    }

    /// An extra property for this request only; `path` segments as the filter names them.
    pub fn property(mut self, path: &[&str], value: impl Into<Vec<u8>>) -> Request {
        self.properties
            .push((path.join("\0").into_bytes(), value.into()));
        self
    }

    /// The upstream answer for this request only (overrides the Envoy-wide upstream).
    pub fn upstream_response(mut self, response: UpstreamResponse) -> Request {
        self.upstream = Some(response);
        self
    }

    /// The request headers as they will reach the filter.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub(crate) fn is_grpc(&self) -> bool {
        self.headers
            .get_bytes("content-type")
            .is_some_and(|ct| ct.starts_with(b"application/grpc"))
    }
}

/// Who produced the response the client received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The simulated upstream answered.
    Upstream,
    /// The filter sent a local reply (`proxy_send_local_response`).
    Filter,
    /// The simulated router replied (no cluster header, unknown cluster).
    Router,
    /// The wasm VM had failed and the plugin is fail-closed (`wasm_fail_stream`).
    WasmFailStream,
    /// The filter paused and never resumed: Envoy's stream idle timeout would fire.
    IdleTimeout,
    /// The filter reset the stream (`proxy_close_stream`).
    Reset,
}

/// The response the downstream client receives.
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status (`:status`).
    pub status: u16,
    /// Final response headers, `:status` included.
    pub headers: HeaderMap,
    /// Final response body.
    pub body: Vec<u8>,
    /// Response trailers (gRPC responses from an upstream).
    pub trailers: HeaderMap,
    /// True for any locally generated reply (filter, router, wasm failure, timeout).
    pub local: bool,
    /// Who produced it.
    pub origin: Origin,
    /// Response code details (`%RESPONSE_CODE_DETAILS%`): the filter's details string,
    /// `cluster_not_found`, `wasm_fail_stream`, `via_upstream`, ...
    pub details: String,
    /// `grpc-status` from trailers or from a trailers-only response.
    pub grpc_status: Option<u32>,
}

impl Response {
    /// The first value of a response header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The request the simulated upstream received (after the router removed the cluster header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamRequest {
    /// Cluster picked by the `cluster_header` route.
    pub cluster: String,
    /// Final headers, pseudo-headers included.
    pub headers: HeaderMap,
    /// Final body (all chunks joined).
    pub body: Vec<u8>,
    /// Final trailers.
    pub trailers: HeaderMap,
    /// The copies Envoy's router sent with it to the route's mirror clusters
    /// (`request_mirror_policies`): the same headers (authority `-shadow`) and body.
    pub mirrors: Vec<UpstreamRequest>,
}

impl UpstreamRequest {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name)
    }

    /// `:path` (with query).
    pub fn path(&self) -> String {
        self.header(":path").unwrap_or_default()
    }

    /// `:authority`.
    pub fn authority(&self) -> String {
        self.header(":authority").unwrap_or_default()
    }

    /// `:method`.
    pub fn method(&self) -> String {
        self.header(":method").unwrap_or_default()
    }
}

/// What the simulated upstream (or an HTTP callout target) answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: HeaderMap,
}

impl UpstreamResponse {
    /// `status` with no headers and no body.
    pub fn status(status: u16) -> UpstreamResponse {
        UpstreamResponse {
            status,
            headers: HeaderMap::new(),
            body: Vec::new(),
            trailers: HeaderMap::new(),
        }
    }

    /// 200, no headers, no body (the default upstream).
    pub fn ok() -> UpstreamResponse {
        UpstreamResponse::status(200)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> UpstreamResponse {
        self.headers.add(name, value);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> UpstreamResponse {
        self.body = body.into();
        self
    }

    /// Adds a trailer.
    pub fn trailer(mut self, name: &str, value: impl AsRef<[u8]>) -> UpstreamResponse {
        self.trailers.add(name, value);
        self
    }

    /// The map Envoy hands the filter: `:status` first, then the headers.
    pub(crate) fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.add(":status", self.status.to_string());
        for (k, v) in self.headers.iter() {
            if k != b":status" {
                map.add(k, v);
            }
        }
        map
    }
}

/// How the simulated upstream answers routed requests.
#[derive(Clone)]
pub enum Upstream {
    /// Always the same response.
    Fixed(UpstreamResponse),
    /// Computed from the request.
    Fn(Arc<dyn Fn(&UpstreamRequest) -> UpstreamResponse + Send + Sync>),
}

impl Upstream {
    pub(crate) fn respond(&self, request: &UpstreamRequest) -> UpstreamResponse {
        match self {
            Upstream::Fixed(r) => r.clone(),
            Upstream::Fn(f) => f(request),
        }
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upstream::Fixed(r) => f.debug_tuple("Fixed").field(r).finish(),
            Upstream::Fn(_) => f.write_str("Fn(..)"),
        }
    }
}

/// Envoy's HTTP → gRPC status mapping (`Grpc::Utility::httpToGrpcStatus`).
pub fn http_to_grpc_status(http: u16) -> u32 {
    match http {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing() {
        let r = Request::get("https://App.example.com/api/v1/x?q=1").header("Host", "h2");
        assert_eq!(r.headers.get(":authority").as_deref(), Some("h2"));
        assert_eq!(r.headers.get(":path").as_deref(), Some("/api/v1/x?q=1"));
        assert_eq!(r.headers.get(":scheme").as_deref(), Some("https"));
        assert_eq!(r.conn.destination, "10.0.0.1:443");
        let r = Request::get("/only/path").port(8080);
        assert_eq!(r.headers.get(":authority").as_deref(), Some("localhost"));
        assert_eq!(r.conn.destination, "10.0.0.1:8080");
        let r = Request::get("http://a.b?x");
        assert_eq!(r.headers.get(":path").as_deref(), Some("/?x"));
    }

    #[test]
    fn grpc_mapping() {
        assert_eq!(http_to_grpc_status(404), 12);
        assert_eq!(http_to_grpc_status(503), 14);
        assert_eq!(http_to_grpc_status(401), 16);
        assert_eq!(http_to_grpc_status(500), 2);
        assert!(Request::grpc("a", "s.S", "M", b"x").is_grpc());
    }
}
