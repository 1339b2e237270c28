//! The release filter `.wasm` in the wasmtime host, configured the way Envoy configures it:
//! the example shop's routes end to end, and bad configurations refused.

mod common;

use common::{module, repo};

use base64::Engine as _;
use gatewasm::compile::{compile, Compiled};
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm_host::{Envoy, LogLevel, Origin, Request};

fn shop() -> Compiled {
    let loaded = load::load_paths(&[repo().join("manifests/examples")]).expect("examples load");
    compile(loaded, &Options::default()).expect("examples compile")
}

fn envoy_with(config: Vec<u8>, fail_open: bool) -> Envoy {
    Envoy::builder(&module())
        .workers(2)
        .plugin_config(config)
        .fail_open(fail_open)
        .build()
        .expect("the host starts")
}

fn https(path: &str, host: &str) -> Request {
    Request::get(&format!("https://{host}{path}"))
        .port(443)
        .sni(host)
}

#[test]
fn routes_the_shop_by_path_and_host() {
    let shop = shop();
    let mut envoy = envoy_with(shop.blob.clone(), false);
    envoy.configure_result().expect("the blob is accepted");
    let cases = [
        ("/healthz", "app.example.com", Some("shop/health:8080")),
        ("/healthz/", "app.example.com", Some("shop/web:80")),
        (
            "/api/v1/orders",
            "app.example.com",
            Some("shop/api-v1:8080"),
        ),
        ("/api/v1x", "app.example.com", Some("shop/web:80")),
        ("/auth/login", "app.example.com", Some("identity/auth:9000")),
        ("/", "www.example.com", None),
    ];
    for (path, host, cluster) in cases {
        let ex = envoy.send(https(path, host));
        assert!(ex.host_errors.is_empty(), "{path}: {:?}", ex.host_errors);
        match cluster {
            Some(c) => {
                let up = ex
                    .upstream
                    .unwrap_or_else(|| panic!("{path} on {host} was not forwarded"));
                assert_eq!(up.cluster, c, "{path} on {host}");
                assert_eq!(
                    up.header("x-gatewasm-cluster"),
                    None,
                    "the router strips the cluster header"
                );
            }
            None => {
                assert_eq!(ex.response.status, 404, "{path} on {host}");
                assert_eq!(ex.response.origin, Origin::Filter);
            }
        }
    }
}

#[test]
fn splits_api_v2_by_weight() {
    let mut envoy = envoy_with(shop().blob, false);
    let mut canary = 0;
    for _ in 0..1000 {
        let ex = envoy.send(https("/api/v2/orders", "app.example.com"));
        match ex.upstream.map(|u| u.cluster).as_deref() {
            Some("shop/api-v2-canary:8080") => canary += 1,
            Some("shop/api-v2:8080") => {}
            other => panic!("unexpected cluster {other:?}"),
        }
    }
    assert!(
        (60..=140).contains(&canary),
        "10% of 1000 expected, got {canary}"
    );
}

#[test]
fn a_client_cannot_choose_the_cluster() {
    let mut envoy = envoy_with(shop().blob, false);
    let ex = envoy.send(
        https("/api/v1/orders", "app.example.com").header("x-gatewasm-cluster", "shop/admin:8080"),
    );
    assert_eq!(
        ex.upstream.map(|u| u.cluster).as_deref(),
        Some("shop/api-v1:8080")
    );
}

#[test]
fn json_configuration_with_a_custom_cluster_header() {
    let b64 = base64::engine::general_purpose::STANDARD.encode(shop().blob);
    let json = format!(r#"{{"blob": "{b64}", "clusterHeader": "x-route-to", "failOpen": false}}"#);
    let mut envoy = Envoy::builder(&module())
        .plugin_config(json.into_bytes())
        .cluster_header("x-route-to")
        .build()
        .expect("the host starts");
    envoy
        .configure_result()
        .expect("JSON configuration is accepted");
    let ex = envoy.send(https("/healthz", "app.example.com"));
    assert_eq!(
        ex.upstream.map(|u| u.cluster).as_deref(),
        Some("shop/health:8080")
    );
}

#[test]
fn listen_ports_map_an_attached_envoy_s_ports_to_the_gateway_s() {
    // An Envoy whose listeners carry no gatewasm metadata (Envoy Gateway binds 10443 for
    // the Gateway's 443): the plugin configuration's map decides the listener.
    let b64 = base64::engine::general_purpose::STANDARD.encode(shop().blob);
    let json = format!(r#"{{"blob": "{b64}", "listenPorts": {{"10443": 443, "10080": 80}}}}"#);
    let mut envoy = Envoy::builder(&module())
        .plugin_config(json.into_bytes())
        .build()
        .expect("the host starts");
    envoy.configure_result().expect("the map is accepted");
    let mapped = envoy.send(https("/healthz", "app.example.com").port(10443));
    assert_eq!(
        mapped.upstream.map(|u| u.cluster).as_deref(),
        Some("shop/health:8080")
    );
    // An unmapped port is its own number: the Gateway has no listener on 10444.
    let unmapped = envoy.send(https("/healthz", "app.example.com").port(10444));
    assert!(unmapped.upstream.is_none(), "{unmapped:?}");
    assert_eq!(unmapped.response.status, 404);
}

fn refusal(config: Vec<u8>) -> String {
    let envoy = envoy_with(config, false);
    assert!(
        envoy.configure_result().is_err(),
        "a bad configuration must be refused"
    );
    let lines: Vec<String> = envoy
        .logs()
        .into_iter()
        .filter(|l| {
            l.level == LogLevel::Error && l.message.starts_with("gatewasm: refusing configuration")
        })
        .map(|l| l.message)
        .collect();
    assert_eq!(lines.len(), 2, "one line per worker: {lines:?}");
    lines[0].clone()
}

#[test]
fn refuses_a_corrupt_blob_with_one_log_line() {
    let mut blob = shop().blob;
    let last = blob.len() - 1;
    blob[last] ^= 0xff;
    let line = refusal(blob);
    assert!(
        line.contains("(fail-closed): invalid route blob: blob checksum mismatch"),
        "{line}"
    );
}

#[test]
fn refuses_truncated_newer_and_random_blobs() {
    let blob = shop().blob;
    assert!(refusal(blob[..blob.len() / 2].to_vec()).contains("truncated or padded"));
    let mut newer = blob.clone();
    newer[4] = 9;
    assert!(refusal(newer).contains("blob format version 9 is not supported"));
    assert!(refusal(b"\x00\x01garbage".to_vec()).contains("neither a gatewasm blob nor valid JSON"));
    assert!(refusal(br#"{"blob": "!!!"}"#.to_vec()).contains("\"blob\" is not valid base64"));
}

#[test]
fn a_refused_plugin_keeps_its_failure_mode() {
    let mut blob = shop().blob;
    blob[20] ^= 1;
    let mut closed = envoy_with(blob.clone(), false);
    let ex = closed.send(https("/healthz", "app.example.com"));
    assert_eq!(
        (ex.response.status, ex.response.origin),
        (503, Origin::WasmFailStream)
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
    let json = format!(r#"{{"blob": "{b64}", "failOpen": true}}"#).into_bytes();
    let envoy = envoy_with(json.clone(), true);
    let line = envoy
        .logs()
        .into_iter()
        .find(|l| l.level == LogLevel::Error)
        .expect("logged")
        .message;
    assert!(line.contains("(fail-open)"), "{line}");
    let mut open = envoy_with(json, true);
    let ex = open.send(https("/healthz", "app.example.com"));
    assert_ne!(
        ex.response.origin,
        Origin::WasmFailStream,
        "fail-open passes the request on"
    );
}

/// Every call between Envoy and the module crosses into or out of V8 and costs more than the
/// routing decision, so a forwarded request makes few: Envoy calls only the callbacks the
/// module exports (no `on_log`, `on_done`, body or trailer callbacks), and the module reads
/// the header map once, the listener's port (here from the socket, as the host has no
/// listener metadata), the server name of a TLS listener, writes what decided the request for
/// the access log, counts it, and writes its edits.
#[test]
fn a_forwarded_request_crosses_into_the_module_and_back_few_times() {
    let shop = shop();
    let crossings = |config: Vec<u8>, request: Request| {
        let mut envoy = Envoy::builder(&module())
            .plugin_config(config)
            .trace(true)
            .build()
            .expect("the host starts");
        envoy.configure_result().expect("configures");
        let ex = envoy.send(request);
        assert_eq!(
            ex.upstream.map(|u| u.cluster).as_deref(),
            Some("shop/api-v1:8080")
        );
        let trace = envoy.trace(0);
        let configured = trace
            .iter()
            .rposition(|l| l.starts_with("[host<-vm] proxy_on_configure"))
            .expect("configured");
        let name = |l: &str| l.split('(').next().unwrap_or(l).to_owned();
        let (mut callbacks, mut calls) = (Vec::new(), Vec::new());
        for line in &trace[configured + 1..] {
            if let Some(c) = line.strip_prefix("[host->vm] ") {
                callbacks.push(name(c));
            } else if let Some(c) = line.strip_prefix("[vm->host] ") {
                calls.push(name(c));
            }
        }
        (callbacks, calls)
    };
    let request = || {
        https("/api/v1/orders", "app.example.com")
            .header("authorization", "Bearer secret")
            .header("cookie", "session=1")
    };
    let (callbacks, calls) = crossings(shop.blob, request());
    assert_eq!(
        callbacks,
        [
            "proxy_on_context_create",
            "proxy_on_request_headers",
            "proxy_on_response_headers",
            "proxy_on_delete"
        ]
    );
    let edit = "proxy_replace_header_map_value";
    // The decision for the access log (listener, route, rule, and this rule's name) and the
    // rule's request count; the counter is defined on its first use only.
    let record = [
        "proxy_set_property",
        "proxy_set_property",
        "proxy_set_property",
        "proxy_set_property",
        "proxy_define_metric",
        "proxy_increment_metric",
    ];
    let mut expected = vec![
        "proxy_get_property",
        "proxy_get_property",
        "proxy_get_header_map_pairs",
        "proxy_get_property",
    ];
    expected.extend(record);
    expected.extend([edit, edit]);
    assert_eq!(calls, expected);
}

/// `gatewasm test --blob --wasm`: the example shop's cases against the blob of an emitted
/// routes ConfigMap, through the release filter.
#[test]
fn route_tests_run_against_a_deployed_configmap_through_the_filter() {
    let cm = std::env::temp_dir().join(format!("gatewasm-wasm-blob-{}.yaml", std::process::id()));
    let gatewasm = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gatewasm"));
        cmd.current_dir(repo());
        cmd
    };
    let o = gatewasm()
        .args(["compile", "manifests/examples", "--emit"])
        .arg(format!("configmap={}", cm.display()))
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = gatewasm()
        .args(["test", "manifests/tests/example-shop.yaml", "--blob"])
        .arg(&cm)
        .arg("--wasm")
        .arg(common::release_wasm())
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.starts_with("driver: wasm host"), "{out}");
    assert!(
        out.contains("cases: 16 passed, 0 failed, 0 skipped"),
        "{out}"
    );
    let _ = std::fs::remove_file(cm);
}
