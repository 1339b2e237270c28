//! `--emit envoy-routes` tests: the route tables Envoy's router would run, asserting what
//! decides a request there (which virtual host, which route first, which action). Whether
//! Envoy accepts them is `scripts/validate-emitted.py`'s job, and whether they route as the
//! engine does is the Envoy driver's (`gatewasm test --envoy --native-routes`).

use serde_json::{json, Value};

use super::{native_routes, translate};
use crate::compile::{compile, Compiled};
use crate::emit::{emit, EmitKind, EmitOptions};
use crate::load;
use crate::resolve::Options;

const INPUT: &str = "
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  gatewayClassName: gatewasm
  listeners:
  - {name: any, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - {name: shop, port: 8080, protocol: HTTP, hostname: '*.shop.example', allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: exact, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: edge, sectionName: shop}]
  hostnames: [a.shop.example]
  rules:
  - matches: [{path: {type: Exact, value: /only}}]
    backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: edge, sectionName: shop}]
  rules: [{matches: [{path: {value: /shop}}], backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: wide, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: edge, sectionName: any}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /old/}, method: POST, queryParams: [{name: v, value: '2'}]}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
    backendRefs: [{name: web, port: 80, weight: 100}, {name: api, port: 80, weight: 0}]
  - matches: [{path: {type: RegularExpression, value: '/r/[0-9]+'}, headers: [{name: X-Env, value: canary}]}]
    backendRefs: [{name: web, port: 80, weight: 1}, {name: missing, port: 80, weight: 1}]
  - matches: [{path: {value: /go}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /gone}}}]
  - matches: [{path: {value: /none}}]
    backendRefs: [{name: missing, port: 80}]
---
{apiVersion: v1, kind: Service, metadata: {name: web, namespace: app}, spec: {ports: [{port: 80}]}}
---
{apiVersion: v1, kind: Service, metadata: {name: api, namespace: app}, spec: {ports: [{port: 80}]}}
";

fn compiled(input: &str) -> Compiled {
    let loaded = load::load_str("t.yaml", input).expect("loads");
    compile(loaded, &Options::default()).expect("compiles")
}

/// The routes of the virtual host for `domain` in the table of `port`, by name.
fn routes(tables: &Value, port: u16, domain: &str) -> Vec<Value> {
    let table = tables
        .as_array()
        .expect("a list")
        .iter()
        .find(|t| t["name"] == super::route_config_name(port))
        .expect("the port's table");
    let host = table["virtual_hosts"]
        .as_array()
        .expect("virtual hosts")
        .iter()
        .find(|v| v["domains"] == json!([domain]))
        .unwrap_or_else(|| panic!("no virtual host for {domain}: {table}"));
    host["routes"].as_array().expect("routes").clone()
}

fn names(routes: &[Value]) -> Vec<&str> {
    routes
        .iter()
        .map(|r| r["name"].as_str().expect("named"))
        .collect()
}

#[test]
fn a_host_falls_through_to_its_listener_s_broader_groups_only() {
    let tables = native_routes(&compiled(INPUT)).expect("translates");
    // The exact host's own route first, then what its listener (`*.shop.example`, the one
    // the engine picks for it) has for every host, never the hostname-less listener's routes.
    assert_eq!(
        names(&routes(&tables, 8080, "a.shop.example")),
        ["app/exact rule 0", "app/shop rule 0"]
    );
    assert_eq!(
        names(&routes(&tables, 8080, "*.shop.example")),
        ["app/shop rule 0"]
    );
    // In precedence order: the expression, then the longer prefixes.
    assert_eq!(
        names(&routes(&tables, 8080, "*")),
        [
            "app/wide rule 1",
            "app/wide rule 3",
            "app/wide rule 0",
            "app/wide rule 2"
        ]
    );
}

#[test]
fn matches_and_actions_are_envoy_s_spelling_of_the_engine_s() {
    let tables = native_routes(&compiled(INPUT)).expect("translates");
    let any = routes(&tables, 8080, "*");
    let by_name = |n: &str| any.iter().find(|r| r["name"] == n).expect(n).clone();
    let prefix = by_name("app/wide rule 0");
    assert_eq!(prefix["match"]["path_separated_prefix"], "/old");
    assert_eq!(
        prefix["match"]["headers"],
        json!([{"name": ":method", "string_match": {"exact": "POST"}}])
    );
    assert_eq!(
        prefix["match"]["query_parameters"],
        json!([{"name": "v", "string_match": {"exact": "2"}}])
    );
    // 100/0: the only backend that can be drawn is the cluster; `/old/x` becomes `/x`.
    assert_eq!(prefix["route"]["cluster"], "app/web:80");
    assert_eq!(
        prefix["route"]["regex_rewrite"],
        json!({"pattern": {"regex": "^/old/*"}, "substitution": "/"})
    );
    assert_eq!(prefix["route"]["timeout"], "0s");
    let regex = by_name("app/wide rule 1");
    assert_eq!(regex["match"]["safe_regex"]["regex"], "/r/[0-9]+");
    assert_eq!(regex["match"]["headers"][0]["name"], "x-env");
    // Half the traffic goes to a missing Service: Envoy answers it 500, as the engine does.
    assert_eq!(
        regex["route"]["weighted_clusters"]["clusters"],
        json!([{"name": "app/web:80", "weight": 1}, {"name": super::super::INVALID_BACKEND_CLUSTER, "weight": 1}])
    );
    assert_eq!(
        regex["route"]["cluster_not_found_response_code"],
        "INTERNAL_SERVER_ERROR"
    );
    // The listener is on 8080: the Location keeps that port, as Gateway API says.
    assert_eq!(
        by_name("app/wide rule 2")["redirect"],
        json!({"response_code": "FOUND", "port_redirect": 8080, "path_redirect": "/gone"})
    );
    assert_eq!(
        by_name("app/wide rule 3")["direct_response"],
        json!({"status": 500})
    );
}

#[test]
fn prefix_rewrites_join_at_a_segment_boundary() {
    use super::super::native_route::prefix_rewrite;
    let rw = |m, r| {
        let v = prefix_rewrite(m, r);
        (v["pattern"]["regex"].clone(), v["substitution"].clone())
    };
    assert_eq!(rw("/foo", "/bar/"), (json!("^/foo"), json!("/bar")));
    assert_eq!(rw("/foo", "/"), (json!("^/foo/*"), json!("/")));
    assert_eq!(rw("/", "/bar"), (json!("^/"), json!("/bar/")));
    assert_eq!(rw("/a.b", "x"), (json!("^/a\\.b"), json!("/x")));
}

#[test]
fn what_a_route_cannot_say_is_a_warning_naming_the_rule() {
    let input = format!(
        "{INPUT}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: cors, namespace: app}}
spec:
  parentRefs: [{{name: gw, namespace: edge, sectionName: any}}]
  rules:
  - matches: [{{path: {{value: /c}}}}]
    filters: [{{type: CORS, cors: {{allowOrigins: ['https://a.example']}}}}]
    backendRefs: [{{name: web, port: 80}}]
"
    );
    let c = compiled(&input);
    let native = translate(&c).expect("translates");
    assert_eq!(native.warnings.len(), 1, "{:?}", native.warnings);
    assert!(
        native.warnings[0].starts_with("app/cors rule 0: CORS"),
        "{:?}",
        native.warnings
    );
    let text =
        String::from_utf8(emit(EmitKind::EnvoyRoutes, &c, &EmitOptions::default()).expect("emits"))
            .expect("UTF-8");
    assert!(
        text.starts_with("# warning: app/cors rule 0: CORS"),
        "{text}"
    );
    let doc: Value = serde_saphyr::from_str(&text).expect("parses back");
    assert_eq!(doc, Value::Array(native.route_configs));
}

#[test]
fn the_native_bootstrap_routes_without_the_filter() {
    let c = compiled(INPUT);
    let doc = super::native_bootstrap(&c, &EmitOptions::default()).expect("emits");
    let text = doc.to_string();
    assert!(
        !text.contains("envoy.extensions.filters.http.wasm"),
        "{text}"
    );
    assert!(!text.contains("config_discovery"), "{text}");
    let hcm =
        &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
    assert_eq!(hcm["route_config"]["name"], "gatewasm-native-8080");
    assert_eq!(hcm["strip_any_host_port"], true);
    // The backend clusters still come by CDS, under the names the routes use.
    assert!(doc["dynamic_resources"]["cds_config"].is_object());
}
