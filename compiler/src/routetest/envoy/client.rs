//! Sends one route test request as real traffic (HTTP/1.1 or HTTP/2, plaintext or TLS) and
//! returns what the client saw.
//!
//! Uses hyper's connection-level client rather than a pooled high-level one: route tests
//! need the request target and authority on the wire exactly as written, and control over
//! which requests share a connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderName, HeaderValue, Method, Request, Uri, Version};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

/// Long enough for a slow CI machine, short enough that a stuck case fails the run.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http1,
    /// h2 via ALPN over TLS, h2c with prior knowledge over plaintext.
    Http2,
}

#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Connects to 127.0.0.1:port.
    pub port: u16,
    /// `Some(sni)`: TLS, sending that SNI when it is a valid DNS name (none otherwise).
    pub tls: Option<String>,
    pub protocol: Protocol,
    pub method: String,
    /// Request target including query, sent unchanged (never normalised).
    pub path: String,
    /// The Host header or `:authority`, sent unchanged; empty sends no HTTP/1 Host header.
    pub authority: String,
    /// Extra headers; names go on the wire in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Requests with the same (port, tls, protocol, connection, source) share one keep-alive
    /// connection.
    pub connection: usize,
    /// The loopback address the connection comes from (127.0.0.1 when `None`): what Envoy
    /// reports as the client's address.
    pub source: Option<std::net::Ipv4Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub status: u16,
    /// Lowercase names, in order (repeated names grouped at their first position).
    pub headers: Vec<(String, String)>,
    pub trailers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

type Key = (
    u16,
    Option<String>,
    Protocol,
    usize,
    Option<std::net::Ipv4Addr>,
);

enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

struct Conn {
    sender: Sender,
    driver: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Why a request failed: only failures before any response may be retried, because then
/// the server cannot have answered (a closed keep-alive connection, typically).
enum Failure {
    BeforeResponse(String),
    AfterResponse(String),
}

/// Keep-alive connections by slot.
#[derive(Default)]
pub struct Client {
    pool: HashMap<Key, Conn>,
}

impl Client {
    pub fn new() -> Client {
        Client::default()
    }

    /// Sends `req` and reads the whole response, within 10 s.
    pub async fn send(&mut self, req: &Outgoing) -> Result<Incoming, String> {
        match tokio::time::timeout(SEND_TIMEOUT, self.send_inner(req)).await {
            Ok(result) => result.map_err(|e| format!("{}: {e}", describe(req))),
            Err(_) => Err(format!(
                "{}: no complete response within {} s",
                describe(req),
                SEND_TIMEOUT.as_secs()
            )),
        }
    }

    async fn send_inner(&mut self, req: &Outgoing) -> Result<Incoming, String> {
        // Built before connecting so a refused target fails as such, not as a connect error.
        let request = build_request(req)?;
        let key: Key = (
            req.port,
            req.tls.clone(),
            req.protocol,
            req.connection,
            req.source,
        );
        // Taken out while in use, so a timed-out or failed connection is never reused.
        let request = match self.pool.remove(&key) {
            Some(mut conn) => match conn.request(request).await {
                Ok(response) => {
                    self.pool.insert(key, conn);
                    return Ok(response);
                }
                Err(Failure::AfterResponse(e)) => return Err(e),
                Err(Failure::BeforeResponse(_)) => build_request(req)?,
            },
            None => request,
        };
        let mut conn = connect(req).await?;
        match conn.request(request).await {
            Ok(response) => {
                self.pool.insert(key, conn);
                Ok(response)
            }
            Err(Failure::BeforeResponse(e) | Failure::AfterResponse(e)) => Err(e),
        }
    }
}

fn describe(req: &Outgoing) -> String {
    let protocol = match (req.protocol, &req.tls) {
        (Protocol::Http1, None) => "HTTP/1.1".to_string(),
        (Protocol::Http1, Some(sni)) => format!("HTTP/1.1 over TLS (SNI {sni:?})"),
        (Protocol::Http2, None) => "h2c".to_string(),
        (Protocol::Http2, Some(sni)) => format!("h2 over TLS (SNI {sni:?})"),
    };
    format!(
        "{} {} (authority {:?}) over {protocol} to 127.0.0.1:{} on connection {}",
        req.method, req.path, req.authority, req.port, req.connection
    )
}

impl Conn {
    async fn request(&mut self, request: Request<Full<Bytes>>) -> Result<Incoming, Failure> {
        let before = |e: hyper::Error| Failure::BeforeResponse(format!("sending request: {e}"));
        let response = match &mut self.sender {
            Sender::H1(sender) => {
                sender.ready().await.map_err(before)?;
                sender.send_request(request).await.map_err(before)?
            }
            Sender::H2(sender) => {
                sender.ready().await.map_err(before)?;
                sender.send_request(request).await.map_err(before)?
            }
        };
        let (parts, body) = response.into_parts();
        let collected = body
            .collect()
            .await
            .map_err(|e| Failure::AfterResponse(format!("reading response body: {e}")))?;
        let pairs = |map: &http::HeaderMap| {
            map.iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_string(), value)
                })
                .collect::<Vec<_>>()
        };
        Ok(Incoming {
            status: parts.status.as_u16(),
            headers: pairs(&parts.headers),
            trailers: collected.trailers().map(pairs).unwrap_or_default(),
            body: collected.to_bytes().to_vec(),
        })
    }
}

/// Builds the request, refusing (rather than altering) a target or authority that would not
/// go on the wire exactly as written.
fn build_request(req: &Outgoing) -> Result<Request<Full<Bytes>>, String> {
    let method = Method::from_bytes(req.method.as_bytes())
        .map_err(|e| format!("invalid method {:?}: {e}", req.method))?;
    let mut builder = Request::builder().method(method);
    match req.protocol {
        Protocol::Http1 => {
            let uri: Uri = req
                .path
                .parse()
                .map_err(|e| format!("request target {:?} refused: {e}", req.path))?;
            // hyper writes the request-target by displaying the URI.
            let wire = uri.to_string();
            if wire != req.path {
                return Err(format!(
                    "request target {:?} would be sent as {wire:?}",
                    req.path
                ));
            }
            builder = builder.version(Version::HTTP_11).uri(uri);
            if !req.authority.is_empty() {
                let host = HeaderValue::from_bytes(req.authority.as_bytes())
                    .map_err(|e| format!("Host {:?} refused: {e}", req.authority))?;
                builder = builder.header(http::header::HOST, host);
            }
        }
        Protocol::Http2 => {
            let authority = Authority::try_from(req.authority.as_str())
                .map_err(|e| format!(":authority {:?} refused: {e}", req.authority))?;
            let path = PathAndQuery::try_from(req.path.as_str())
                .map_err(|e| format!(":path {:?} refused: {e}", req.path))?;
            // PathAndQuery drops a fragment, and h2 turns an empty path into "/".
            if path.as_str() != req.path || req.path.is_empty() {
                return Err(format!(
                    ":path {:?} would be sent as {:?}",
                    req.path,
                    path.as_str()
                ));
            }
            if authority.as_str() != req.authority {
                return Err(format!(
                    ":authority {:?} would be sent as {authority:?}",
                    req.authority
                ));
            }
            let scheme = if req.tls.is_some() {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            };
            let uri = Uri::builder()
                .scheme(scheme)
                .authority(authority)
                .path_and_query(path)
                .build()
                .map_err(|e| format!("URI for {:?}{:?} refused: {e}", req.authority, req.path))?;
            builder = builder.version(Version::HTTP_2).uri(uri);
        }
    }
    for (name, value) in &req.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("header name {name:?} refused: {e}"))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|e| format!("value {value:?} of header {name} refused: {e}"))?;
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(req.body.clone())))
        .map_err(|e| format!("building request: {e}"))
}

async fn connect(req: &Outgoing) -> Result<Conn, String> {
    let tcp = match req.source {
        None => TcpStream::connect(("127.0.0.1", req.port)).await,
        Some(source) => {
            let socket = tokio::net::TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
            socket
                .bind((source, 0).into())
                .map_err(|e| format!("binding {source}: {e}"))?;
            socket
                .connect((std::net::Ipv4Addr::LOCALHOST, req.port).into())
                .await
        }
    }
    .map_err(|e| format!("connecting: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let Some(sni) = &req.tls else {
        return handshake(TokioIo::new(tcp), req.protocol).await;
    };
    let alpn: &[u8] = match req.protocol {
        Protocol::Http1 => b"http/1.1",
        Protocol::Http2 => b"h2",
    };
    let connector = TlsConnector::from(tls_config(alpn)?);
    // rustls never sends an IP address as SNI, so an IP name is how to send none.
    let server_name = ServerName::try_from(sni.clone())
        .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let tls = connector
        .connect(server_name, tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    if req.protocol == Protocol::Http2 && tls.get_ref().1.alpn_protocol() != Some(b"h2") {
        return Err("TLS server did not negotiate h2 via ALPN".to_string());
    }
    handshake(TokioIo::new(tls), req.protocol).await
}

async fn handshake<T>(io: TokioIo<T>, protocol: Protocol) -> Result<Conn, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let failed = |e: hyper::Error| format!("{protocol:?} handshake: {e}");
    match protocol {
        Protocol::Http1 => {
            let (sender, connection) = http1::handshake(io).await.map_err(failed)?;
            Ok(Conn {
                sender: Sender::H1(sender),
                driver: tokio::spawn(async move {
                    let _ = connection.await;
                }),
            })
        }
        Protocol::Http2 => {
            let (sender, connection) = http2::Builder::new(TokioExecutor::new())
                .handshake(io)
                .await
                .map_err(failed)?;
            Ok(Conn {
                sender: Sender::H2(sender),
                driver: tokio::spawn(async move {
                    let _ = connection.await;
                }),
            })
        }
    }
}

fn tls_config(alpn: &[u8]) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS client config: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}

/// TEST ONLY: trusts every server certificate and signature. Route tests talk to a local
/// Envoy serving self-signed certificates; what they check is routing, not PKI.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
