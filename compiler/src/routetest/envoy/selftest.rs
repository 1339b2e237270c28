//! The echo upstream, the client and the certificate helper against each other, without Envoy.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::certs;
use super::client::{Client, Incoming, Outgoing, Protocol};
use super::upstream::{EchoUpstream, TEST_ID_HEADER};

fn start_upstream() -> EchoUpstream {
    let clusters = vec!["alpha".to_string(), "beta".to_string()];
    EchoUpstream::start(&tokio::runtime::Handle::current(), &clusters).unwrap()
}

fn get(port: u16, path: &str, id: &str) -> Outgoing {
    Outgoing {
        source: None,
        port,
        tls: None,
        protocol: Protocol::Http1,
        method: "GET".into(),
        path: path.into(),
        authority: "example.com".into(),
        headers: vec![(TEST_ID_HEADER.into(), id.into())],
        body: Vec::new(),
        connection: 0,
    }
}

fn header<'a>(response: &'a Incoming, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn seq_of(response: &Incoming) -> u64 {
    header(response, "x-echo-seq").unwrap().parse().unwrap()
}

#[tokio::test]
async fn http1_sends_odd_targets_and_authority_unchanged() {
    let upstream = start_upstream();
    let mut client = Client::new();
    let port = upstream.port("alpha").unwrap();
    for path in ["/a//b?x=1", "/a/../b%2Fc?y=%20&z", "//x"] {
        let mut req = get(port, path, "odd");
        req.authority = "Example.COM:8080".into();
        req.headers.push(("X-Custom".into(), "Mixed Value".into()));
        let response = client.send(&req).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"ok");
        assert_eq!(header(&response, "x-echo-cluster"), Some("alpha"));
        let got = upstream.take("odd");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, path);
        assert_eq!(got[0].authority, "Example.COM:8080");
        assert_eq!(got[0].method, "GET");
        assert!(!got[0].http2);
        assert!(got[0]
            .headers
            .contains(&("x-custom".into(), "Mixed Value".into())));
        assert!(got[0].headers.iter().all(|(n, _)| n != "host"));
    }
}

#[tokio::test]
async fn http1_post_body_arrives_whole() {
    let upstream = start_upstream();
    let mut client = Client::new();
    let mut req = get(upstream.port("beta").unwrap(), "/upload", "post");
    req.method = "POST".into();
    req.body = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let response = client.send(&req).await.unwrap();
    assert_eq!(response.status, 200);
    let got = upstream.take("post");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].cluster, "beta");
    assert_eq!(got[0].body, req.body);
    assert!(got[0]
        .headers
        .contains(&("content-length".into(), "5000".into())));
    assert_eq!(upstream.in_flight(), 0);
}

#[tokio::test]
async fn h2c_request_keeps_authority_and_path() {
    let upstream = start_upstream();
    let mut client = Client::new();
    let mut req = get(upstream.port("beta").unwrap(), "/h2//path?q=a%2Fb", "h2c");
    req.protocol = Protocol::Http2;
    req.authority = "192.0.2.10".into();
    let response = client.send(&req).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"ok");
    let got = upstream.take("h2c");
    assert_eq!(got.len(), 1);
    assert!(got[0].http2);
    assert_eq!(got[0].authority, "192.0.2.10");
    assert_eq!(got[0].path, "/h2//path?q=a%2Fb");
    assert!(got[0].headers.iter().all(|(n, _)| !n.starts_with(':')));
}

#[tokio::test]
async fn grpc_over_h2c_gets_status_trailer() {
    let upstream = start_upstream();
    let mut client = Client::new();
    let mut req = get(upstream.port("alpha").unwrap(), "/pkg.Svc/Method", "grpc");
    req.protocol = Protocol::Http2;
    req.method = "POST".into();
    req.authority = "grpc.example.com:443".into();
    req.headers
        .push(("content-type".into(), "application/grpc".into()));
    req.headers.push(("te".into(), "trailers".into()));
    req.body = vec![0; 5];
    let response = client.send(&req).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(header(&response, "content-type"), Some("application/grpc"));
    assert_eq!(response.body, vec![0; 5]);
    assert_eq!(
        response.trailers,
        vec![("grpc-status".to_string(), "0".to_string())]
    );
    let got = upstream.take("grpc");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, vec![0; 5]);
    assert_eq!(got[0].authority, "grpc.example.com:443");
}

#[tokio::test]
async fn registered_response_headers_apply_to_their_id_only() {
    let upstream = start_upstream();
    let mut client = Client::new();
    let port = upstream.port("alpha").unwrap();
    upstream.set_response_headers("with", vec![("x-added".into(), "yes".into())]);
    let with = client.send(&get(port, "/", "with")).await.unwrap();
    let without = client.send(&get(port, "/", "without")).await.unwrap();
    assert_eq!(header(&with, "x-added"), Some("yes"));
    assert_eq!(header(&without, "x-added"), None);
}

#[tokio::test]
async fn take_returns_records_in_order_with_cluster_and_seq() {
    let upstream = start_upstream();
    let mut client = Client::new();
    let (alpha, beta) = (
        upstream.port("alpha").unwrap(),
        upstream.port("beta").unwrap(),
    );
    let mut seqs = Vec::new();
    for (port, path) in [(alpha, "/1"), (beta, "/2"), (alpha, "/3")] {
        seqs.push(seq_of(
            &client.send(&get(port, path, "order")).await.unwrap(),
        ));
    }
    let mut anonymous = get(beta, "/anon", "");
    anonymous.headers.clear();
    client.send(&anonymous).await.unwrap();

    let got = upstream.take("order");
    let summary: Vec<_> = got
        .iter()
        .map(|r| (r.cluster.as_str(), r.path.as_str(), r.seq))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("alpha", "/1", seqs[0]),
            ("beta", "/2", seqs[1]),
            ("alpha", "/3", seqs[2])
        ]
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert!(upstream.take("order").is_empty());
    let anon = upstream.take("");
    assert_eq!(anon.len(), 1);
    assert_eq!(anon[0].path, "/anon");
}

#[tokio::test]
async fn malformed_requests_are_refused_not_altered() {
    let mut client = Client::new();
    // Nothing listens on port 1; the requests must fail before connecting.
    let mut fragment = get(1, "/a#frag", "x");
    assert!(client
        .send(&fragment)
        .await
        .unwrap_err()
        .contains("would be sent as"));
    fragment.protocol = Protocol::Http2;
    assert!(client
        .send(&fragment)
        .await
        .unwrap_err()
        .contains("would be sent as"));
    let mut bad_authority = get(1, "/", "x");
    bad_authority.protocol = Protocol::Http2;
    bad_authority.authority = "bad authority".into();
    assert!(client
        .send(&bad_authority)
        .await
        .unwrap_err()
        .contains(":authority"));
}

/// A plain or TLS server that counts connections and notes each connection's SNI.
struct TestServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    snis: Arc<Mutex<Vec<Option<String>>>>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn test_server(tls: Option<TlsAcceptor>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let snis = Arc::new(Mutex::new(Vec::new()));
    let (count, seen) = (connections.clone(), snis.clone());
    let task = tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let (tls, seen) = (tls.clone(), seen.clone());
            tokio::spawn(async move {
                let builder = auto::Builder::new(TokioExecutor::new());
                let service = service_fn(answer);
                match tls {
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                    Some(acceptor) => {
                        let stream = acceptor.accept(tcp).await.unwrap();
                        let sni = stream.get_ref().1.server_name().map(str::to_string);
                        seen.lock().unwrap().push(sni);
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    TestServer {
        port,
        connections,
        snis,
        task,
    }
}

/// Reports the protocol version; `x-close` asks for the connection to be closed afterwards.
async fn answer(
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(b"hi")));
    let version = format!("{:?}", req.version());
    response
        .headers_mut()
        .insert("x-version", version.parse().unwrap());
    if req.headers().contains_key("x-close") {
        response
            .headers_mut()
            .insert("connection", "close".parse().unwrap());
    }
    Ok(response)
}

#[tokio::test]
async fn same_slot_reuses_a_connection_and_survives_server_close() {
    let server = test_server(None).await;
    let mut client = Client::new();
    let req = get(server.port, "/", "");
    client.send(&req).await.unwrap();
    client.send(&req).await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);

    let other_slot = Outgoing {
        source: None,
        connection: 1,
        ..req.clone()
    };
    client.send(&other_slot).await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);

    let mut closing = req.clone();
    closing.headers.push(("x-close".into(), "1".into()));
    let response = client.send(&closing).await.unwrap();
    assert_eq!(header(&response, "connection"), Some("close"));
    let response = client.send(&req).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);

    let mut h2 = req.clone();
    h2.protocol = Protocol::Http2;
    for _ in 0..2 {
        let response = client.send(&h2).await.unwrap();
        assert_eq!(header(&response, "x-version"), Some("HTTP/2.0"));
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn tls_with_sni_over_http1_and_h2() {
    let names = vec!["gw.example.com".to_string(), "*.example.net".to_string()];
    let (cert, key) = certs::self_signed(&names).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let server = test_server(Some(TlsAcceptor::from(Arc::new(config)))).await;
    let mut client = Client::new();

    let mut h1 = get(server.port, "/tls", "");
    h1.tls = Some("gw.example.com".into());
    let response = client.send(&h1).await.unwrap();
    assert_eq!(header(&response, "x-version"), Some("HTTP/1.1"));

    let mut h2 = h1.clone();
    h2.protocol = Protocol::Http2;
    h2.tls = Some("a.example.net".into());
    let response = client.send(&h2).await.unwrap();
    assert_eq!(header(&response, "x-version"), Some("HTTP/2.0"));
    assert_eq!(response.body, b"hi");

    let mut no_sni = h1.clone();
    no_sni.tls = Some("192.0.2.1".into());
    client.send(&no_sni).await.unwrap();
    let mut empty_sni = h1.clone();
    empty_sni.tls = Some(String::new());
    empty_sni.connection = 1;
    client.send(&empty_sni).await.unwrap();

    assert_eq!(
        *server.snis.lock().unwrap(),
        vec![
            Some("gw.example.com".to_string()),
            Some("a.example.net".to_string()),
            None,
            None
        ]
    );
}

#[test]
fn self_signed_defaults_to_localhost() {
    let (cert, key) = certs::self_signed(&[]).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(key.contains("PRIVATE KEY"));
    CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
}
