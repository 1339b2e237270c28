//! The headers the filter hands Envoy's router, through the release `.wasm` in the wasmtime
//! host: an HTTPRoute's `timeouts` become `x-envoy-upstream-rq-timeout-ms` (the whole request)
//! and `x-envoy-upstream-rq-per-try-timeout-ms` (each backend attempt), which the catch-all
//! route honours, since it has no timeouts of its own.

mod common;

use gatewasm::compile::compile;
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm_host::{Envoy, Request};

const ROUTES: &str = "
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: gatewasm
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /slow}}]
    timeouts: {request: 10s, backendRequest: 2s}
    backendRefs: [{name: api, port: 8080}]
  - matches: [{path: {value: /flaky}}]
    retry: {codes: [502, 503], attempts: 3}
    backendRefs: [{name: api, port: 8080}]
  - backendRefs: [{name: api, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: ns}
spec: {ports: [{port: 8080}]}
";

fn envoy() -> Envoy {
    let module = common::module();
    let loaded = load::load_str("routes.yaml", ROUTES).expect("loads");
    let compiled = compile(loaded, &Options::default()).expect("compiles");
    Envoy::builder(&module)
        .plugin_config(compiled.blob)
        .build()
        .expect("the host starts")
}

fn upstream_header(envoy: &mut Envoy, path: &str, name: &str) -> Option<String> {
    let ex = envoy.send(Request::get(&format!("http://example.com{path}")).port(80));
    let up = ex
        .upstream
        .unwrap_or_else(|| panic!("{path} was not forwarded: {}", ex.response.status));
    assert_eq!(up.cluster, "ns/api:8080");
    up.header(name)
}

#[test]
fn route_timeouts_reach_the_router_in_milliseconds() {
    let mut envoy = envoy();
    let total = upstream_header(&mut envoy, "/slow", "x-envoy-upstream-rq-timeout-ms");
    let per_try = upstream_header(
        &mut envoy,
        "/slow",
        "x-envoy-upstream-rq-per-try-timeout-ms",
    );
    assert_eq!(total.as_deref(), Some("10000"));
    assert_eq!(per_try.as_deref(), Some("2000"));
}

#[test]
fn route_retries_reach_the_router() {
    let mut envoy = envoy();
    let header = |envoy: &mut Envoy, name| upstream_header(envoy, "/flaky", name);
    assert_eq!(
        header(&mut envoy, "x-envoy-retry-on").as_deref(),
        Some("connect-failure,refused-stream,reset,retriable-status-codes")
    );
    assert_eq!(
        header(&mut envoy, "x-envoy-retriable-status-codes").as_deref(),
        Some("502,503")
    );
    assert_eq!(
        header(&mut envoy, "x-envoy-max-retries").as_deref(),
        Some("3")
    );
}

#[test]
fn a_rule_without_timeouts_sets_none() {
    let mut envoy = envoy();
    for name in [
        "x-envoy-upstream-rq-timeout-ms",
        "x-envoy-upstream-rq-per-try-timeout-ms",
        "x-envoy-retry-on",
        "x-envoy-max-retries",
    ] {
        assert_eq!(upstream_header(&mut envoy, "/other", name), None, "{name}");
    }
}

#[test]
fn a_client_cannot_set_its_own_timeout_on_a_rule_that_has_one() {
    let mut envoy = envoy();
    let ex = envoy.send(
        Request::get("http://example.com/slow")
            .port(80)
            .header("x-envoy-upstream-rq-timeout-ms", "999999"),
    );
    let up = ex.upstream.expect("forwarded");
    assert_eq!(
        up.header("x-envoy-upstream-rq-timeout-ms").as_deref(),
        Some("10000")
    );
}
