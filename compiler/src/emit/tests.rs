//! Emitter tests: each kind from one small Gateway, asserting what a deployment depends on
//! (names that must agree across documents, the blob round trip, TLS and HTTP/2 choices).
//! Whether Envoy and the API server accept the documents is `scripts/validate-emitted.py`'s
//! job.

use base64::Engine as _;
use serde_json::Value;

use super::{emit, EmitKind, EmitOptions, EmitTarget, RateLimitService, RateLimitSetting};
use crate::compile::{compile, Compiled};
use crate::load;
use crate::resolve::Options;

const INPUT: &str = "
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  gatewayClassName: gatewasm
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - name: a
    port: 443
    protocol: HTTPS
    hostname: a.example.com
    tls: {certificateRefs: [{name: a-tls}]}
    allowedRoutes: {namespaces: {from: All}}
  - name: b
    port: 443
    protocol: HTTPS
    hostname: '*.b.example.com'
    tls: {certificateRefs: [{name: b-tls}, {name: a-tls}]}
    allowedRoutes: {namespaces: {from: All}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: edge}]
  rules:
  - backendRefs: [{name: web, port: 8080}]
  - matches: [{path: {value: /secure}}]
    backendRefs: [{name: vault, port: 8443}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: rpc, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: edge, sectionName: a}]
  rules:
  - backendRefs: [{name: rpc, port: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: rpc, namespace: app}
spec: {ports: [{port: 9000}]}
---
apiVersion: v1
kind: Service
metadata: {name: vault, namespace: app}
spec: {clusterIP: None, ports: [{name: tls, port: 8443, targetPort: 9443}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: vault, namespace: app}
spec:
  targetRefs: [{group: '', kind: Service, name: vault, sectionName: tls}]
  validation:
    caCertificateRefs: [{group: '', kind: ConfigMap, name: vault-ca}]
    hostname: vault.internal
";

fn compiled() -> Compiled {
    let loaded = load::load_str("t.yaml", INPUT).expect("loads");
    compile(loaded, &Options::default()).expect("compiles")
}

fn render(kind: EmitKind, compiled: &Compiled, options: &EmitOptions) -> String {
    String::from_utf8(emit(kind, compiled, options).expect("emits")).expect("UTF-8")
}

fn documents(text: &str) -> Vec<Value> {
    text.split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).expect("parses back"))
        .collect()
}

/// The backend clusters: the CDS file of the routes ConfigMap.
fn cds_clusters(c: &Compiled) -> Vec<Value> {
    let cm = &documents(&render(EmitKind::ConfigMap, c, &EmitOptions::default()))[0];
    let cds: Value =
        serde_saphyr::from_str(cm["data"]["clusters.yaml"].as_str().expect("CDS file"))
            .expect("parses");
    assert_eq!(
        cds["type_url"],
        "type.googleapis.com/envoy.config.cluster.v3.Cluster"
    );
    cds["resources"].as_array().expect("clusters").clone()
}

/// The forwarding routes: the RDS file of the routes ConfigMap.
fn rds_routes(c: &Compiled) -> Vec<Value> {
    let cm = &documents(&render(EmitKind::ConfigMap, c, &EmitOptions::default()))[0];
    let rds: Value = serde_saphyr::from_str(cm["data"]["routes.yaml"].as_str().expect("RDS file"))
        .expect("parses");
    let table = &rds["resources"][0];
    assert_eq!(table["name"], "gatewasm");
    table["virtual_hosts"][0]["routes"]
        .as_array()
        .expect("routes")
        .clone()
}

fn blob_of(config: &Value) -> Vec<u8> {
    let b64 = config["blob"].as_str().expect("blob is a string");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64")
}

#[test]
fn targets_parse_with_and_without_a_path() {
    let t: EmitTarget = "envoy=out/envoy.yaml".parse().expect("parses");
    assert_eq!(t.kind, EmitKind::Envoy);
    assert_eq!(t.path.as_deref(), Some("out/envoy.yaml"));
    let t: EmitTarget = "envoy-gateway".parse().expect("parses");
    assert_eq!((t.kind, t.path), (EmitKind::EnvoyGateway, None));
    let e = "nginx".parse::<EmitTarget>().unwrap_err();
    assert!(
        e.contains("unknown kind `nginx`") && e.contains("istio"),
        "{e}"
    );
    assert!("blob=".parse::<EmitTarget>().is_err());
}

#[test]
fn blob_is_the_compiled_blob() {
    let c = compiled();
    let bytes = emit(EmitKind::Blob, &c, &EmitOptions::default()).expect("emits");
    assert_eq!(bytes, c.blob);
}

#[test]
fn bootstrap_binds_each_port_once_with_a_tls_chain_per_hostname() {
    let c = compiled();
    let doc = &documents(&render(EmitKind::Envoy, &c, &EmitOptions::default()))[0];
    let listeners = doc["static_resources"]["listeners"]
        .as_array()
        .expect("listeners");
    let names: Vec<&str> = listeners
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["gateway-80", "gateway-443", "stats", "gatewasm-ready"]
    );
    // The readiness listener runs the filter, which answers it; without a table the request
    // falls through to a 503.
    let ready = &listeners[3];
    assert_eq!(
        ready["metadata"]["filter_metadata"]["gatewasm"]["port"],
        "ready"
    );
    let hcm = &ready["filter_chains"][0]["filters"][0]["typed_config"];
    assert_eq!(hcm["http_filters"][0]["name"], "gatewasm");
    let fallback = &hcm["route_config"]["virtual_hosts"][0]["routes"][0];
    assert_eq!(fallback["direct_response"]["status"], 503);
    let chains = listeners[1]["filter_chains"].as_array().expect("chains");
    let sni: Vec<&Value> = chains
        .iter()
        .map(|c| &c["filter_chain_match"]["server_names"][0])
        .collect();
    assert_eq!(sni, ["a.example.com", "*.b.example.com"]);
    let tls = &chains[1]["transport_socket"]["typed_config"]["common_tls_context"];
    let secrets: Vec<&Value> = tls["tls_certificate_sds_secret_configs"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| &s["sds_config"]["path_config_source"]["path"])
        .collect();
    assert_eq!(
        secrets,
        [
            "/etc/gatewasm/routes/sds.edge.b-tls.yaml",
            "/etc/gatewasm/routes/sds.edge.a-tls.yaml"
        ]
    );
    assert_eq!(
        doc["admin"]["address"]["socket_address"]["address"],
        "127.0.0.1"
    );
}

#[test]
fn bootstrap_routes_on_the_cluster_header_to_every_backend_cluster() {
    let c = compiled();
    let doc = &documents(&render(EmitKind::Envoy, &c, &EmitOptions::default()))[0];
    let hcm =
        &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
    // The forwarding routes come by RDS from the routes ConfigMap.
    let rds = &hcm["rds"];
    assert_eq!(rds["route_config_name"], "gatewasm");
    assert_eq!(
        rds["config_source"]["path_config_source"]["path"],
        "/etc/gatewasm/routes/routes.yaml"
    );
    let routes = rds_routes(&c);
    assert_eq!(routes.len(), 1);
    let route = &routes[0];
    assert_eq!(route["match"]["prefix"], "/");
    assert_eq!(route["route"]["cluster_header"], "x-gatewasm-cluster");
    assert_eq!(route["request_headers_to_remove"][0], "x-gatewasm-cluster");
    assert_eq!(hcm["http_filters"][0]["name"], "gatewasm");
    assert_eq!(hcm["normalize_path"], true);
    // Only the admin is static; the backends come by CDS from the routes ConfigMap, which
    // the bootstrap watches like the ECDS file.
    let names = |clusters: &[Value]| -> Vec<String> {
        clusters
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect()
    };
    let statics = doc["static_resources"]["clusters"]
        .as_array()
        .expect("clusters");
    assert_eq!(names(statics), ["gatewasm-admin"]);
    let cds = &doc["dynamic_resources"]["cds_config"]["path_config_source"];
    assert_eq!(cds["path"], "/etc/gatewasm/routes/clusters.yaml");
    assert_eq!(cds["watched_directory"]["path"], "/etc/gatewasm/routes");
    let expected: Vec<String> = c.table.backends.iter().map(|b| b.cluster.clone()).collect();
    let clusters = cds_clusters(&c);
    assert_eq!(names(&clusters), expected);
    assert!(clusters
        .iter()
        .all(|c| c["@type"] == "type.googleapis.com/envoy.config.cluster.v3.Cluster"));
}

#[test]
fn clusters_speak_h2_to_grpc_and_tls_where_a_policy_asks() {
    let c = compiled();
    let clusters = cds_clusters(&c);
    let cluster = |name: &str| -> Value {
        clusters
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no cluster {name}"))
    };
    let h2 = "/typed_extension_protocol_options/envoy.extensions.upstreams.http.v3.HttpProtocolOptions/explicit_http_config/http2_protocol_options";
    assert!(cluster("app/rpc:9000").pointer(h2).is_some());
    assert!(cluster("app/web:8080").pointer(h2).is_none());
    let vault = cluster("app/vault:8443");
    let tls = &vault["transport_socket"]["typed_config"];
    assert_eq!(tls["sni"], "vault.internal");
    let validation = &tls["common_tls_context"]["validation_context"];
    assert_eq!(
        validation["trusted_ca"]["filename"],
        "/etc/gatewasm/ca/app/vault-ca/ca.crt"
    );
    assert_eq!(
        validation["match_typed_subject_alt_names"][0]["matcher"]["exact"],
        "vault.internal"
    );
    // Headless: the cluster reaches the pods, on the target port.
    let address = &vault["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        ["address"]["socket_address"];
    assert_eq!(address["port_value"], 9443);
    assert!(cluster("app/web:8080").get("transport_socket").is_none());
}

#[test]
fn configmap_carries_the_blob_by_ecds_and_the_certificates_by_sds() {
    let c = compiled();
    let text = render(EmitKind::ConfigMap, &c, &EmitOptions::default());
    assert!(text.contains("# The filter module is not included (no --wasm)"));
    let cm = &documents(&text)[0];
    assert_eq!(cm["metadata"]["name"], "gatewasm-routes");
    assert_eq!(cm["metadata"]["namespace"], "edge");
    let ecds: Value =
        serde_saphyr::from_str(cm["data"]["gatewasm.yaml"].as_str().expect("ECDS")).expect("YAML");
    let resource = &ecds["resources"][0];
    assert_eq!(resource["name"], "gatewasm");
    let value = resource["typed_config"]["config"]["configuration"]["value"]
        .as_str()
        .expect("StringValue");
    let config: Value = serde_json::from_str(value).expect("JSON");
    assert_eq!(blob_of(&config), c.blob);
    assert_eq!(
        ecds["version_info"],
        cm["metadata"]["annotations"]["gatewasm.dev/blob-version"]
    );
    let keys: Vec<&String> = cm["data"].as_object().expect("data").keys().collect();
    assert_eq!(
        keys,
        [
            "gatewasm.yaml",
            "clusters.yaml",
            "routes.yaml",
            "sds.edge.a-tls.yaml",
            "sds.edge.b-tls.yaml"
        ]
    );
}

#[test]
fn configmap_ships_the_wasm_when_given() {
    let c = compiled();
    let wasm = b"\0asm\x01\0\0\0".to_vec();
    let options = EmitOptions {
        wasm: Some(wasm.clone()),
        ..EmitOptions::default()
    };
    let docs = documents(&render(EmitKind::ConfigMap, &c, &options));
    assert_eq!(docs.len(), 2);
    let b64 = docs[1]["binaryData"]["gatewasm_filter.wasm"]
        .as_str()
        .expect("binaryData");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64"),
        wasm
    );
}

#[test]
fn policies_attach_to_the_gateway_with_the_blob() {
    let c = compiled();
    let wasm = b"\0asm\x01\0\0\0".to_vec();
    let sha = super::plugin::sha256_hex(&wasm);
    let options = EmitOptions {
        wasm: Some(wasm),
        ..EmitOptions::default()
    };
    let eg = &documents(&render(EmitKind::EnvoyGateway, &c, &options))[0];
    assert_eq!(eg["spec"]["targetRefs"][0]["name"], "gw");
    let w = &eg["spec"]["wasm"][0];
    assert_eq!(blob_of(&w["config"]), c.blob);
    assert_eq!(w["code"]["http"]["sha256"], sha.as_str());
    assert_eq!(w["failOpen"], false);
    let istio = &documents(&render(EmitKind::Istio, &c, &EmitOptions::default()))[0];
    assert_eq!(istio["spec"]["targetRefs"][0]["kind"], "Gateway");
    assert_eq!(blob_of(&istio["spec"]["pluginConfig"]), c.blob);
    assert_eq!(istio["spec"]["failStrategy"], "FAIL_CLOSE");
    assert!(istio["spec"].get("sha256").is_none());
}

#[test]
fn global_limits_need_a_rate_limit_service_or_an_explicit_fail_open() {
    let text = format!(
        "{INPUT}---\napiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\n\
         metadata: {{name: rl, namespace: edge}}\nspec:\n  targetRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, name: gw}}]\n\
         \x20 rateLimit:\n    type: Global\n    global:\n      rules:\n      - limit: {{requests: 5, unit: Minute}}\n"
    );
    let c = compile(
        load::load_str("t.yaml", &text).expect("loads"),
        &Options::default(),
    )
    .expect("compiles");
    for kind in [EmitKind::Envoy, EmitKind::ConfigMap, EmitKind::Istio] {
        let e = emit(kind, &c, &EmitOptions::default()).expect_err("no service");
        assert!(e.contains("--ratelimit-service HOST:PORT"), "{e}");
        assert!(e.contains("--ratelimit-fail-open"), "{e}");
    }
    let at = EmitOptions {
        rate_limit: RateLimitSetting::At(RateLimitService {
            address: "ratelimit.infra:8081".into(),
            timeout_ms: Some(250),
            fail_closed: true,
        }),
        ..EmitOptions::default()
    };
    let bootstrap = &documents(&render(EmitKind::Envoy, &c, &at))[0];
    let clusters = bootstrap["static_resources"]["clusters"]
        .as_array()
        .expect("clusters");
    let rls = clusters
        .iter()
        .find(|c| c["name"] == "ratelimit")
        .expect("the service's cluster");
    assert_eq!(rls["type"], "STRICT_DNS");
    let address = &rls["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"];
    assert_eq!(address["socket_address"]["address"], "ratelimit.infra");
    assert_eq!(address["socket_address"]["port_value"], 8081);
    let istio = &documents(&render(EmitKind::Istio, &c, &at))[0];
    let config = &istio["spec"]["pluginConfig"]["rateLimit"];
    assert_eq!(config["cluster"], "ratelimit");
    assert_eq!(config["timeoutMs"], 250);
    assert_eq!(config["failClosed"], true);
    let open = EmitOptions {
        rate_limit: RateLimitSetting::FailOpen,
        ..EmitOptions::default()
    };
    let bootstrap = &documents(&render(EmitKind::Envoy, &c, &open))[0];
    let names: Vec<&Value> = bootstrap["static_resources"]["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert!(!names.iter().any(|n| *n == "ratelimit"), "{names:?}");
}

#[test]
fn listen_ports_move_the_bound_port_and_map_it_back() {
    let c = compiled();
    let options = EmitOptions {
        listen_ports: vec!["443=8443".parse().expect("parses")],
        ..EmitOptions::default()
    };
    let boot = &documents(&render(EmitKind::Envoy, &c, &options))[0];
    let bound: Vec<(String, u64, String)> = boot["static_resources"]["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .filter(|l| {
            l["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("gateway-"))
        })
        .map(|l| {
            (
                l["name"].as_str().unwrap_or_default().to_owned(),
                l["address"]["socket_address"]["port_value"]
                    .as_u64()
                    .unwrap_or_default(),
                l["metadata"]["filter_metadata"]["gatewasm"]["port"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    // The listener keeps its Gateway name and port tag; only the bound port moves.
    assert_eq!(
        bound,
        vec![
            ("gateway-80".to_owned(), 80, "80".to_owned()),
            ("gateway-443".to_owned(), 8443, "443".to_owned()),
        ]
    );
    let cm = &documents(&render(EmitKind::ConfigMap, &c, &options))[0];
    let ecds: Value = serde_saphyr::from_str(cm["data"]["gatewasm.yaml"].as_str().expect("ECDS"))
        .expect("parses");
    let config: Value = serde_json::from_str(
        ecds["resources"][0]["typed_config"]["config"]["configuration"]["value"]
            .as_str()
            .expect("JSON configuration"),
    )
    .expect("JSON");
    assert_eq!(config["listenPorts"], serde_json::json!({"8443": 443}));

    // Envoy Gateway binds 80 and 443 at 10080 and 10443 unless told otherwise.
    let eg = &documents(&render(EmitKind::EnvoyGateway, &c, &EmitOptions::default()))[0];
    assert_eq!(
        eg["spec"]["wasm"][0]["config"]["listenPorts"],
        serde_json::json!({"10080": 80, "10443": 443})
    );
    let eg = &documents(&render(EmitKind::EnvoyGateway, &c, &options))[0];
    assert_eq!(
        eg["spec"]["wasm"][0]["config"]["listenPorts"],
        serde_json::json!({"8443": 443})
    );
    // Istio's gateways bind the Gateway's own ports.
    let istio = &documents(&render(EmitKind::Istio, &c, &EmitOptions::default()))[0];
    assert!(istio["spec"]["pluginConfig"].get("listenPorts").is_none());
}

#[test]
fn listen_ports_must_name_a_gateway_port_and_bind_apart() {
    let c = compiled();
    for (ports, want) in [
        (
            &["8080=9080"][..],
            "--listen-port 8080=9080: the Gateway has no HTTP or HTTPS listener on port 8080 (its ports: 80, 443)",
        ),
        (&["80=443"], "Envoy port 443 would serve both Gateway port 443 and Gateway port 80"),
        (&["80=19002"], "Envoy port 19002 would serve both Gateway port 80 and the readiness listener"),
        (&["80=8080", "80=8081"], "--listen-port maps Gateway port 80 more than once"),
    ] {
        let options = EmitOptions {
            listen_ports: ports.iter().map(|p| p.parse().expect("parses")).collect(),
            ..EmitOptions::default()
        };
        let e = emit(EmitKind::Envoy, &c, &options).expect_err("refused");
        assert!(e.starts_with(want), "{e}");
    }
    for bad in ["80", "80=", "http=8080", "0=8080", "80=70000"] {
        let e = bad.parse::<super::ListenPort>().expect_err("refused");
        assert!(e.contains("is not GATEWAY_PORT=ENVOY_PORT"), "{bad}: {e}");
    }
}

#[test]
fn controllers_get_the_forwarding_route_first_and_gatewasm_s_clusters() {
    let c = compiled();
    let eg = documents(&render(EmitKind::EnvoyGateway, &c, &EmitOptions::default()));
    assert_eq!(eg.len(), 2);
    let epp = &eg[1];
    assert_eq!(epp["kind"], "EnvoyPatchPolicy");
    assert_eq!(epp["spec"]["targetRef"]["name"], "gw");
    let patches = epp["spec"]["jsonPatches"].as_array().expect("patches");
    let routes: Vec<&str> = patches
        .iter()
        .filter(|p| {
            p["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("RouteConfiguration"))
        })
        .map(|p| p["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(routes, ["edge/gw/http", "edge/gw/a", "edge/gw/b"]);
    let route = &patches[0]["operation"]["value"];
    assert_eq!(route["match"]["headers"][0]["name"], "x-gatewasm-cluster");
    assert_eq!(route["match"]["headers"][0]["present_match"], true);
    assert_eq!(route["route"]["cluster_header"], "x-gatewasm-cluster");
    assert_eq!(route["request_headers_to_remove"][0], "x-gatewasm-cluster");
    let clusters: Vec<&str> = patches
        .iter()
        .filter(|p| p["type"].as_str().is_some_and(|t| t.ends_with("Cluster")))
        .map(|p| p["operation"]["value"]["name"].as_str().unwrap_or_default())
        .collect();
    let expected: Vec<&str> = c
        .table
        .backends
        .iter()
        .map(|b| b.cluster.as_str())
        .collect();
    assert_eq!(clusters, expected);

    let istio = documents(&render(EmitKind::Istio, &c, &EmitOptions::default()));
    let filter = &istio[1];
    assert_eq!(filter["kind"], "EnvoyFilter");
    let patch = &filter["spec"]["configPatches"][0];
    assert_eq!(patch["applyTo"], "HTTP_ROUTE");
    assert_eq!(patch["patch"]["operation"], "INSERT_FIRST");
    assert_eq!(patch["patch"]["value"], *route);
}

#[test]
fn every_tcp_service_port_of_the_input_gets_a_cluster_before_a_route_names_it() {
    let input = format!(
        "{INPUT}---
apiVersion: v1
kind: Service
metadata: {{name: later, namespace: app}}
spec: {{ports: [{{name: app, port: 7000}}, {{name: dns, port: 53, protocol: UDP}}]}}
"
    );
    let c = compile(
        load::load_str("t.yaml", &input).expect("loads"),
        &Options::default(),
    )
    .expect("compiles");
    assert!(c.table.backends.iter().all(|b| b.name != "later"));
    let names: Vec<String> = cds_clusters(&c)
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"app/later:7000".to_owned()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.ends_with(":53")),
        "UDP ports carry no HTTP: {names:?}"
    );
    assert_eq!(names.len(), c.table.backends.len() + 1);
}

/// The test Gateway with a BackendTrafficPolicy `timeout` on the route `web`.
fn with_timeout(timeout: &str) -> load::Loaded {
    let input = format!(
        "{INPUT}---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {{name: timeouts, namespace: app}}
spec:
  targetRefs: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}}]
  timeout: {timeout}
"
    );
    load::load_str("t.yaml", &input).expect("loads")
}

/// Each stream idle timeout a rule uses gets a forwarding route of its own, before the
/// catch-all, taken on the header the filter sets; controllers get the routes in that order.
#[test]
fn each_idle_timeout_gets_a_forwarding_route() {
    let c = compile(
        with_timeout("{http: {streamIdleTimeout: 1h}}"),
        &Options::default(),
    )
    .expect("compiles");
    assert_eq!(c.table.format_version(), 4);
    let routes = rds_routes(&c);
    assert_eq!(routes.len(), 2);
    let idle = &routes[0];
    assert_eq!(idle["route"]["idle_timeout"], "3600.000s");
    assert_eq!(idle["route"]["cluster_header"], "x-gatewasm-cluster");
    let header = &idle["match"]["headers"][0];
    assert_eq!(header["name"], "x-gatewasm-cluster-idle-timeout");
    assert_eq!(header["string_match"]["exact"], "3600000");
    assert_eq!(
        idle["request_headers_to_remove"],
        serde_json::json!(["x-gatewasm-cluster", "x-gatewasm-cluster-idle-timeout"])
    );
    assert!(routes[1]["match"].get("headers").is_none());

    let eg = documents(&render(EmitKind::EnvoyGateway, &c, &EmitOptions::default()));
    let patches = eg[1]["spec"]["jsonPatches"].as_array().expect("patches");
    let first: Vec<(&str, &str)> = patches
        .iter()
        .filter(|p| p["name"] == "edge/gw/http")
        .map(|p| {
            let op = &p["operation"];
            (
                op["path"].as_str().unwrap_or_default(),
                op["value"]["name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        first,
        [
            ("routes/0", "gatewasm-idle-3600000ms"),
            ("routes/1", "gatewasm")
        ]
    );
    let istio = documents(&render(EmitKind::Istio, &c, &EmitOptions::default()));
    let inserted: Vec<&str> = istio[1]["spec"]["configPatches"]
        .as_array()
        .expect("patches")
        .iter()
        .map(|p| p["patch"]["value"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(inserted, ["gatewasm", "gatewasm-idle-3600000ms"]);
}

/// A rule governed by a connect timeout sends to a copy of its Service's cluster carrying the
/// timeout; other rules keep the shared cluster. With Istio's cluster names nothing is copied.
#[test]
fn a_connect_timeout_gets_its_rules_a_cluster_of_their_own() {
    let loaded = with_timeout("{tcp: {connectTimeout: 5s}}");
    let c = compile(loaded.clone(), &Options::default()).expect("compiles");
    let cluster_of = |c: &Compiled, route: &str| -> Vec<String> {
        let table = &c.table;
        table
            .rules
            .iter()
            .filter(|r| table.routes[r.route.index()].name == route)
            .flat_map(|r| &r.backends)
            .filter_map(|b| b.backend)
            .map(|b| table.backends[b.index()].cluster.clone())
            .collect()
    };
    assert_eq!(
        cluster_of(&c, "web"),
        [
            "app/web:8080~connect-5000ms",
            "app/vault:8443~connect-5000ms"
        ]
    );
    assert_eq!(cluster_of(&c, "rpc"), ["app/rpc:9000"]);
    let clusters = cds_clusters(&c);
    let timeout = |name: &str| {
        clusters
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["connect_timeout"].clone())
    };
    assert_eq!(
        timeout("app/web:8080~connect-5000ms"),
        Some("5.000s".into())
    );
    assert_eq!(timeout("app/rpc:9000"), Some("2s".into()));

    let istio = Options {
        cluster_template: crate::resolve::ClusterTemplate(
            crate::resolve::ClusterTemplate::ISTIO.to_owned(),
        ),
        ..Options::default()
    };
    let c = compile(loaded, &istio).expect("compiles");
    assert!(c.connect_timeouts.is_empty());
    assert!(c.diagnostics.iter().any(|d| d
        .message
        .contains("with Istio's cluster names the clusters are Istio's")));
}
