//! Global rate limits through the release filter `.wasm`, with `proxy_grpc_call` bridged to
//! a real rate limit service over gRPC: OK, OVER_LIMIT, a service that is down, one that
//! never answers, and fail-closed. Needs the `ratelimit-service` feature and, for the cases
//! that count, `GATEWASM_RLS=HOST:PORT` of a running `ratelimit-server` with Redis behind it
//! (scripts/test-ratelimit starts both).

#![cfg(feature = "ratelimit-service")]

mod common;

use common::module;
use std::net::TcpListener;
use std::time::Instant;

use base64::Engine as _;
use gatewasm::compile::{compile, Compiled};
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm_host::rls::RlsClient;
use gatewasm_host::{Envoy, Request};

fn service() -> String {
    std::env::var("GATEWASM_RLS")
        .expect("GATEWASM_RLS=HOST:PORT must name a running rate limit service (scripts/test-ratelimit starts one)")
}

/// A Gateway, a route `/` and a policy `name` on the Gateway with a Distinct x-api-key limit
/// of `per_key` a minute and a route cap of `cap` a minute.
fn compiled(name: &str, per_key: u32, cap: u32) -> Compiled {
    let text = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: gw, namespace: default}}\n\
         spec:\n  gatewayClassName: gc\n  listeners:\n  - {{name: http, port: 80, protocol: HTTP}}\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: app, namespace: default}}\n\
         spec:\n  parentRefs: [{{name: gw}}]\n  rules:\n  - backendRefs: [{{name: app, port: 80}}]\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {{name: app, namespace: default}}\nspec:\n  ports: [{{port: 80}}]\n---\n\
         apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata: {{name: {name}, namespace: default}}\n\
         spec:\n  targetRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, name: gw}}]\n  rateLimit:\n    global:\n      rules:\n\
         \x20     - clientSelectors: [{{headers: [{{name: x-api-key, type: Distinct}}]}}]\n        limit: {{requests: {per_key}, unit: Minute}}\n\
         \x20     - limit: {{requests: {cap}, unit: Minute}}\n"
    );
    let loaded = load::load_str("policy.yaml", &text).expect("loads");
    compile(loaded, &Options::default()).expect("compiles")
}

/// An Envoy with `workers` VMs whose gRPC callouts go to the service at `address`.
fn envoy(c: &Compiled, workers: usize, address: &str, extra: &str) -> Envoy {
    let blob = base64::engine::general_purpose::STANDARD.encode(&c.blob);
    let config = format!(r#"{{"blob": "{blob}", "rateLimit": {{"timeoutMs": 2000{extra}}}}}"#);
    let envoy = Envoy::builder(&module())
        .workers(workers)
        .plugin_config(config)
        .clusters(["default/app:80", "ratelimit"])
        .grpc_responder(RlsClient::connect(address).expect("a client"))
        .build()
        .expect("the host starts");
    envoy
        .configure_result()
        .expect("the configuration is accepted");
    envoy
}

fn get(key: Option<&str>) -> Request {
    let r = Request::get("http://app.example.com/orders").port(80);
    match key {
        Some(k) => r.header("x-api-key", k),
        None => r,
    }
}

fn statuses(envoy: &mut Envoy, n: usize, workers: usize, key: Option<&str>) -> Vec<u16> {
    (0..n)
        .map(|i| {
            let ex = envoy.send(get(key).worker(i % workers));
            assert!(
                ex.trap.is_none() && ex.host_errors.is_empty(),
                "{:?} {:?}",
                ex.trap,
                ex.host_errors
            );
            assert_eq!(
                ex.grpc_calls.len(),
                1,
                "one ShouldRateLimit call per request"
            );
            ex.response.status
        })
        .collect()
}

fn count(s: &[u16], status: u16) -> usize {
    s.iter().filter(|x| **x == status).count()
}

#[test]
fn the_service_admits_exactly_the_limit_across_workers() {
    let c = compiled("exact", 100, 1000);
    let mut envoy = envoy(&c, 4, &service(), "");
    let a = statuses(&mut envoy, 120, 4, Some("alice"));
    assert_eq!((count(&a, 200), count(&a, 429)), (100, 20));
    let b = statuses(&mut envoy, 101, 4, Some("bob"));
    assert_eq!(
        (count(&b, 200), count(&b, 429)),
        (100, 1),
        "bob has his own counter"
    );
    // The route cap counts every request, admitted or not: 221 so far.
    let rest = statuses(&mut envoy, 800, 4, None);
    assert_eq!((count(&rest, 200), count(&rest, 429)), (779, 21));
    assert_eq!(
        envoy.counter("gatewasm.ratelimit.default/exact.global.rule_0.limited"),
        Some(21)
    );
    assert_eq!(
        envoy.counter("gatewasm.ratelimit.default/exact.global.rule_1.limited"),
        Some(21)
    );
}

#[test]
fn over_limit_answers_429_with_the_services_numbers() {
    let c = compiled("headers", 2, 1000);
    let mut envoy = envoy(&c, 1, &service(), "");
    let ok = envoy.send(get(Some("k")));
    assert_eq!(ok.response.status, 200);
    assert_eq!(
        ok.response.header("x-ratelimit-limit").as_deref(),
        Some("2, 2;w=60")
    );
    assert_eq!(
        ok.response.header("x-ratelimit-remaining").as_deref(),
        Some("1")
    );
    envoy.send(get(Some("k")));
    let denied = envoy.send(get(Some("k")));
    assert_eq!(denied.response.status, 429);
    assert!(denied.upstream.is_none());
    assert_eq!(
        denied.response.header("x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    let reset: u64 = denied
        .response
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((1..=60).contains(&reset), "retry-after {reset}");
    let call = &denied.grpc_calls[0];
    assert_eq!(
        (call.cluster.as_str(), call.method.as_str()),
        ("ratelimit", "ShouldRateLimit")
    );
}

#[test]
fn a_service_that_is_down_fails_open_by_default_and_closed_when_asked() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let down = format!("127.0.0.1:{port}");
    let c = compiled("down", 1, 1);
    let mut open = envoy(&c, 1, &down, "");
    assert_eq!(statuses(&mut open, 3, 1, Some("k")), [200, 200, 200]);
    assert_eq!(
        open.counter("gatewasm.ratelimit.default/down.global.service_error"),
        Some(3)
    );
    // Each admitted without the service's answer: a fail-open decision.
    assert_eq!(open.counter("gatewasm.fail_open"), Some(3));
    let mut closed = envoy(&c, 1, &down, r#", "failClosed": true"#);
    assert_eq!(statuses(&mut closed, 2, 1, Some("k")), [500, 500]);
    assert_eq!(closed.counter("gatewasm.fail_open"), None);
}

#[test]
fn a_service_that_never_answers_times_out_and_fails_open() {
    // Accepts connections and never speaks HTTP/2: every call runs into its timeout.
    let silent = TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = silent.local_addr().expect("address").to_string();
    let hold = std::thread::spawn(move || {
        let conns: Vec<_> = silent.incoming().take(1).collect();
        std::thread::sleep(std::time::Duration::from_secs(5));
        drop(conns);
    });
    let c = compiled("silent", 1, 1);
    let blob = base64::engine::general_purpose::STANDARD.encode(&c.blob);
    let mut envoy = Envoy::builder(&module())
        .plugin_config(format!(
            r#"{{"blob": "{blob}", "rateLimit": {{"timeoutMs": 200}}}}"#
        ))
        .clusters(["default/app:80", "ratelimit"])
        .grpc_responder(RlsClient::connect(&address).expect("a client"))
        .build()
        .expect("the host starts");
    let ex = envoy.send(get(Some("k")));
    assert_eq!(ex.response.status, 200, "fail open on DEADLINE_EXCEEDED");
    assert_eq!(
        envoy.counter("gatewasm.ratelimit.default/silent.global.service_error"),
        Some(1)
    );
    drop(hold);
}

#[test]
fn per_request_cost_of_a_global_limit() {
    let c = compiled("cost", u32::MAX, u32::MAX);
    let mut envoy = envoy(&c, 1, &service(), "");
    envoy.send(get(Some("warm")));
    let n = 500u64;
    let start = Instant::now();
    let fuel: u64 = (0..n)
        .map(|i| envoy.send(get(Some(&format!("k{}", i % 10)))).fuel)
        .sum();
    println!(
        "route with a global limit: {} fuel, {:?} per request (including the gRPC round trip)",
        fuel / n,
        start.elapsed() / n as u32
    );
}
