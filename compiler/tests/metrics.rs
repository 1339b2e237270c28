//! The filter's own counters and the decision it keeps for the access log, through the
//! release `.wasm` in the wasmtime host: requests per route rule, its answers by reason, the
//! mirror copies it asks for, and the configuration it loaded (docs/metrics.md).

mod common;

use gatewasm::compile::compile;
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm_host::{Envoy, Request};

const ROUTES: &str = "
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  gatewayClassName: gatewasm
  listeners: [{name: web, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: store, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /cart}}]
    backendRefs: [{name: app, port: 8080}]
  - matches: [{path: {value: /old}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /cart}}
  - matches: [{path: {value: /search}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 8080}}
    backendRefs: [{name: app, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: shop}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: shadow, namespace: shop}
spec: {ports: [{port: 8080}]}
";

#[test]
fn counters_name_the_rule_the_reply_and_the_loaded_table() {
    let loaded = load::load_str("routes.yaml", ROUTES).expect("loads");
    let compiled = compile(loaded, &Options::default()).expect("compiles");
    let mut envoy = Envoy::builder(&common::module())
        .plugin_config(compiled.blob.clone())
        .clusters(["shop/app:8080", "shop/shadow:8080"])
        .build()
        .expect("the host starts");
    envoy.configure_result().expect("the blob is accepted");
    let mut send =
        |path: &str| envoy.send(Request::get(&format!("http://shop.example.com{path}")).port(80));
    for _ in 0..3 {
        send("/cart/items");
    }
    let redirect = send("/old/items");
    assert_eq!(redirect.response.status, 302);
    let mirrored = send("/search?q=x");
    assert_eq!(mirrored.response.status, 200);
    assert_eq!(send("/nowhere").response.status, 404);
    // What the access log prints of the redirect's decision.
    let state = |name: &str| {
        redirect
            .filter_state
            .get(name.as_bytes())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(state("gatewasm_route").as_deref(), Some("shop/store"));
    assert_eq!(state("gatewasm_rule").as_deref(), Some("1"));
    assert_eq!(state("gatewasm_listener").as_deref(), Some("web"));

    let rule = |i: usize| envoy.counter(&format!("gatewasm.route.shop/store.rule_{i}.requests"));
    assert_eq!((rule(0), rule(1), rule(2)), (Some(3), Some(1), Some(1)));
    assert_eq!(envoy.counter("gatewasm.replies.redirect"), Some(1));
    assert_eq!(envoy.counter("gatewasm.replies.no_route"), Some(1));
    assert_eq!(envoy.counter("gatewasm.mirror.requested"), Some(1));
    assert_eq!(envoy.counter("gatewasm.config.accepted"), Some(1));
    let crc = u32::from_le_bytes(compiled.blob[12..16].try_into().expect("header"));
    assert_eq!(
        envoy.gauge("gatewasm.config.table_crc"),
        Some(u64::from(crc))
    );
}

#[test]
fn a_refused_configuration_is_counted() {
    let envoy = Envoy::builder(&common::module())
        .plugin_config(b"GWSM not a blob".to_vec())
        .build()
        .expect("the host starts");
    assert!(envoy.configure_result().is_err());
    assert_eq!(envoy.counter("gatewasm.config.refused"), Some(1));
    assert_eq!(envoy.gauge("gatewasm.config.table_crc"), None);
}
