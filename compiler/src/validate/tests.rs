//! Table tests for the validate stage: every default, every limit (with the exact rendered
//! diagnostic), and the whole conformance corpus validating cleanly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::validate;
use crate::load::{load_route_test_resources, load_str, Loader};
use crate::model::{StringMatchType, TlsModeType};
use crate::valid::{
    BackendRef, HeaderMatch, HttpFilter, HttpMatch, MirrorFraction, ParentRef, PathMatch,
    RouteNamespaces, StringMatch, Validated,
};

const HTTP_HEAD: &str =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\n  namespace: ns\nspec:\n";
const GRPC_HEAD: &str =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata:\n  name: g\n  namespace: ns\nspec:\n";
const GW_HEAD: &str =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: gw\n  namespace: ns\nspec:\n  gatewayClassName: c\n";

fn ok(text: &str) -> Validated {
    match validate(load_str("t.yaml", text).unwrap_or_else(|d| panic!("{d}"))) {
        Ok(v) => v,
        Err(d) => panic!("{d}"),
    }
}

/// The header line of every diagnostic for `text`.
fn problems(text: &str) -> Vec<String> {
    let mut loader = Loader::new();
    loader.add_str("t.yaml", text);
    match validate(loader.finish()) {
        Ok(v) => v.diagnostics.iter().map(|d| d.to_string()).collect(),
        Err(d) => d
            .iter()
            .map(|d| d.to_string().lines().next().unwrap_or("").to_string())
            .collect(),
    }
}

#[test]
fn http_route_defaults() {
    let v = ok(&format!(
        "{HTTP_HEAD}  parentRefs:\n  - name: gw\n  rules:\n  - matches:\n    - headers:\n      - name: x\n        value: \"1\"\n      queryParams:\n      - name: q\n        value: v\n    - path: {{type: Exact}}\n    filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m, port: 80}}\n        fraction: {{numerator: 5}}\n    - type: CORS\n      cors: {{allowOrigins: ['*']}}\n    backendRefs:\n    - name: svc\n      port: 8080\n  - filters:\n    - type: RequestRedirect\n      requestRedirect: {{}}\n"
    ));
    let route = &v.http_routes[0].spec;
    assert_eq!(
        route.parent_refs,
        [ParentRef {
            group: "gateway.networking.k8s.io".into(),
            kind: "Gateway".into(),
            namespace: "ns".into(),
            name: "gw".into(),
            section_name: None,
            port: None,
        }]
    );
    let rule = &route.rules[0];
    assert_eq!(
        rule.matches,
        [
            HttpMatch {
                path: PathMatch::PathPrefix("/".into()),
                headers: vec![HeaderMatch {
                    name: "x".into(),
                    value: StringMatch::Exact("1".into())
                }],
                query_params: vec![HeaderMatch {
                    name: "q".into(),
                    value: StringMatch::Exact("v".into())
                }],
                method: None,
            },
            HttpMatch {
                path: PathMatch::Exact("/".into()),
                headers: vec![],
                query_params: vec![],
                method: None,
            },
        ]
    );
    let backend = &rule.backends[0];
    assert_eq!(
        backend.backend,
        BackendRef {
            group: String::new(),
            kind: "Service".into(),
            name: "svc".into(),
            namespace: "ns".into(),
            port: Some(8080),
        }
    );
    assert_eq!(backend.weight, 1);
    match &rule.filters[..] {
        [HttpFilter::RequestMirror(m), HttpFilter::Cors(c)] => {
            assert_eq!(
                m.fraction,
                MirrorFraction {
                    numerator: 5,
                    denominator: 100
                }
            );
            assert_eq!(m.backend.namespace, "ns");
            assert_eq!((c.max_age, c.allow_credentials), (5, false));
        }
        other => panic!("{other:?}"),
    }
    // A rule without matches gets PathPrefix "/"; a redirect defaults to 302.
    assert_eq!(
        route.rules[1].matches[0].path,
        PathMatch::PathPrefix("/".into())
    );
    match &route.rules[1].filters[..] {
        [HttpFilter::RequestRedirect(r)] => assert_eq!(r.status_code, 302),
        other => panic!("{other:?}"),
    }
}

#[test]
fn omitted_rules_default_to_one_prefix_rule_and_mirror_to_all() {
    let v = ok(&format!("{HTTP_HEAD}  hostnames: [a.example.com]\n"));
    let rules = &v.http_routes[0].spec.rules;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].matches[0].path, PathMatch::PathPrefix("/".into()));
    assert!(rules[0].backends.is_empty());
    let v = ok(&format!(
        "{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m, port: 80}}\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m, port: 80}}\n        percent: 25\n"
    ));
    let fractions: Vec<MirrorFraction> = v.http_routes[0].spec.rules[0]
        .filters
        .iter()
        .filter_map(|f| match f {
            HttpFilter::RequestMirror(m) => Some(m.fraction),
            _ => None,
        })
        .collect();
    assert_eq!(
        fractions,
        [
            MirrorFraction {
                numerator: 100,
                denominator: 100
            },
            MirrorFraction {
                numerator: 25,
                denominator: 100
            }
        ]
    );
}

#[test]
fn timeouts_parse() {
    let v = ok(&format!(
        "{HTTP_HEAD}  rules:\n  - timeouts:\n      request: 1m\n      backendRequest: 500ms\n  - timeouts:\n      request: 0s\n      backendRequest: 1h\n"
    ));
    let t = v.http_routes[0].spec.rules[0].timeouts;
    assert_eq!(
        (t.request, t.backend_request),
        (
            Some(Duration::from_secs(60)),
            Some(Duration::from_millis(500))
        )
    );
}

#[test]
fn grpc_and_gateway_defaults() {
    let v = ok(&format!(
        "{GRPC_HEAD}  rules:\n  - matches:\n    - method: {{service: foo.Bar}}\n    backendRefs:\n    - name: s\n      port: 9000\n      weight: 0\n"
    ));
    let rule = &v.grpc_routes[0].spec.rules[0];
    let method = rule.matches[0].method.as_ref().unwrap();
    assert_eq!(method.r#type, StringMatchType::Exact);
    assert_eq!(rule.backends[0].weight, 0);

    let v = ok(&format!(
        "{GW_HEAD}  listeners:\n  - name: http\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n      kinds: [{{kind: HTTPRoute}}]\n  - name: https\n    port: 443\n    protocol: HTTPS\n    tls:\n      certificateRefs: [{{name: cert}}]\n"
    ));
    let listeners = &v.gateways[0].spec.listeners;
    assert_eq!(
        listeners[0].allowed_routes.namespaces,
        RouteNamespaces::Same
    );
    assert_eq!(
        listeners[0].allowed_routes.kinds[0].group,
        "gateway.networking.k8s.io"
    );
    let tls = listeners[1].tls.as_ref().unwrap();
    assert_eq!(tls.mode, TlsModeType::Terminate);
    let cert = &tls.certificate_refs[0];
    assert_eq!(
        (
            cert.group.as_str(),
            cert.kind.as_str(),
            cert.namespace.as_str()
        ),
        ("", "Secret", "ns")
    );
}

#[test]
fn namespaces_get_the_metadata_name_label() {
    let v = ok("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n");
    let labels = &v.namespaces[0].meta.labels;
    assert_eq!(
        labels
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("app")
    );
}

/// One violation per row: the manifest and the exact header of the diagnostic it yields.
#[test]
fn every_limit_is_enforced() {
    let many = |item: &str, n: usize| -> String {
        (0..n)
            .map(|i| item.replace("{i}", &i.to_string()))
            .collect()
    };
    let cases: Vec<(String, &str)> = vec![
        // Hostnames and parents.
        (format!("{HTTP_HEAD}  hostnames:\n{}", many("  - h{i}.com\n", 17)), "error: t.yaml:7: HTTPRoute ns/r: spec.hostnames: at most 16 hostnames are allowed, found 17"),
        (format!("{HTTP_HEAD}  hostnames: [Foo.com]\n"), "error: t.yaml:7: HTTPRoute ns/r: spec.hostnames[0]: invalid hostname `Foo.com`: must be a lowercase RFC 1123 host name"),
        (format!("{HTTP_HEAD}  hostnames: ['*.*.com']\n"), "error: t.yaml:7: HTTPRoute ns/r: spec.hostnames[0]: invalid hostname `*.*.com`: a wildcard must be a whole leading `*.` label"),
        (format!("{HTTP_HEAD}  hostnames: [1.2.3.4]\n"), "error: t.yaml:7: HTTPRoute ns/r: spec.hostnames[0]: invalid hostname `1.2.3.4`: IP addresses are not allowed"),
        (format!("{HTTP_HEAD}  parentRefs:\n{}", many("  - name: g{i}\n", 33)), "error: t.yaml:7: HTTPRoute ns/r: spec.parentRefs: at most 32 parentRefs are allowed, found 33"),
        (format!("{HTTP_HEAD}  parentRefs:\n  - name: g\n    sectionName: a\n  - name: g\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.parentRefs[1]: sectionName must be set on every parentRef to the same parent, or on none"),
        (format!("{HTTP_HEAD}  parentRefs:\n  - name: g\n    sectionName: a\n  - name: g\n    sectionName: a\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.parentRefs[1]: duplicate parentRef: same parent, sectionName and port"),
        (format!("{HTTP_HEAD}  parentRefs:\n  - name: g\n    port: 80\n  - name: g\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.parentRefs[1]: port must be set on every parentRef to the same parent, or on none"),
        (format!("{HTTP_HEAD}  parentRefs:\n  - name: g\n    sectionName: Bad\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.parentRefs[0].sectionName: invalid name `Bad`: must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"),
        (format!("{HTTP_HEAD}  parentRefs:\n  - name: g\n    port: 0\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.parentRefs[0].port: port must be between 1 and 65535, not 0"),
        (format!("{HTTP_HEAD}  parentRefs:\n  - name: g\n    namespace: Bad_NS\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.parentRefs[0].namespace: invalid name `Bad_NS`: must be lowercase letters, digits and '-', starting and ending with a letter or digit"),
        (format!("{HTTP_HEAD}  parentRefs:\n  - name: g\n    kind: 9Gateway\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.parentRefs[0].kind: invalid kind `9Gateway`"),
        // Rules and matches.
        (format!("{HTTP_HEAD}  rules: []\n"), "error: t.yaml:7: HTTPRoute ns/r: spec.rules: at least one rule is required"),
        (format!("{HTTP_HEAD}  rules:\n{}", many("  - name: r{i}\n", 17)), "error: t.yaml:7: HTTPRoute ns/r: spec.rules: at most 16 rules are allowed, found 17"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n{}", many("    - path: {value: /a{i}}\n", 65)), "error: t.yaml:8: HTTPRoute ns/r: spec.rules[0].matches: at most 64 matches per rule are allowed, found 65"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n{}  - matches:\n{}  - matches:\n{}", many("    - path: {value: /a{i}}\n", 43), many("    - path: {value: /b{i}}\n", 43), many("    - path: {value: /c{i}}\n", 43)), "error: t.yaml:7: HTTPRoute ns/r: spec.rules: at most 128 matches across all rules are allowed, found 129"),
        (format!("{HTTP_HEAD}  rules:\n  - name: a\n  - name: a\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[1].name: duplicate rule name `a`"),
        (format!("{HTTP_HEAD}  rules:\n  - name: A\n"), "error: t.yaml:8: HTTPRoute ns/r: spec.rules[0].name: invalid name `A`: must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n{}", many("    - type: ExtensionRef\n      extensionRef: {group: x.io, kind: K, name: n{i}}\n", 17)), "error: t.yaml:8: HTTPRoute ns/r: spec.rules[0].filters: at most 16 filters are allowed, found 17"),
        (format!("{HTTP_HEAD}  rules:\n  - backendRefs:\n{}", many("    - {name: s{i}, port: 80}\n", 17)), "error: t.yaml:8: HTTPRoute ns/r: spec.rules[0].backendRefs: at most 16 backendRefs are allowed, found 17"),
        (format!("{HTTP_HEAD}  rules:\n  - backendRefs:\n    - name: s\n      port: 80\n      filters:\n{}", many("      - type: ExtensionRef\n        extensionRef: {group: x.io, kind: K, name: n{i}}\n", 17)), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].backendRefs[0].filters: at most 16 filters are allowed, found 17"),
        // Path matches.
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - path:\n        value: foo\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].matches[0].path.value: must start with '/'"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - path:\n        type: Exact\n        value: /a//b\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].matches[0].path.value: must not contain `//`"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - path:\n        value: /a/..\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].matches[0].path.value: must not end with `/..`"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - path:\n        value: /a b\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].matches[0].path.value: may only contain the characters [-A-Za-z0-9/._~!$&'()*+,;=:@] and %XX escapes"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - path:\n        value: /{}\n", "a".repeat(1024)), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].matches[0].path.value: must be at most 1024 characters, not 1025"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - path:\n        type: RegularExpression\n        value: /(a\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].matches[0].path.value: invalid regular expression: found open group without closing ')'"),
        // Header, query and method matches.
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - headers:\n{}", many("      - {name: h{i}, value: v}\n", 17)), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].matches[0].headers: at most 16 headers are allowed, found 17"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - headers:\n      - name: ':method'\n        value: GET\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].matches[0].headers[0].name: invalid header name `:method`"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - headers:\n      - {{name: a, value: x}}\n      - {{name: a, value: y}}\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].matches[0].headers[1].name: duplicate name `a`"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - headers:\n      - {{name: a, value: ''}}\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].matches[0].headers[0].value: must not be empty"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - headers:\n      - {{name: a, value: '[', type: RegularExpression}}\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].matches[0].headers[0].value: invalid regular expression: found unclosed character class"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - queryParams:\n{}", many("      - {name: q{i}, value: v}\n", 17)), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].matches[0].queryParams: at most 16 query parameters are allowed, found 17"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - queryParams:\n      - {{name: q, value: {}}}\n", "v".repeat(1025)), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].matches[0].queryParams[0].value: must be at most 1024 characters, not 1025"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - method: FETCH\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].matches[0].method: unknown value `FETCH`"),
        // Filters.
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: Rewrite\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].filters[0].type: unknown value `Rewrite`"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestHeaderModifier\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].filters[0]: `requestHeaderModifier` must be set when type is RequestHeaderModifier"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier: {{}}\n      urlRewrite: {{}}\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].urlRewrite: must not be set when type is RequestHeaderModifier"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: CORS\n      cors: {{}}\n    - type: CORS\n      cors: {{}}\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[1].type: at most one CORS filter is allowed"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect: {{}}\n    - type: URLRewrite\n      urlRewrite: {{}}\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[1]: RequestRedirect and URLRewrite filters cannot be used together"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect: {{}}\n    backendRefs:\n    - {{name: s, port: 80}}\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].filters[0]: a RequestRedirect filter cannot be used together with backendRefs"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - path: {{type: Exact, value: /a}}\n    filters:\n    - type: URLRewrite\n      urlRewrite:\n        path: {{type: ReplacePrefixMatch, replacePrefixMatch: /b}}\n"), "error: t.yaml:13: HTTPRoute ns/r: spec.rules[0].filters[0].urlRewrite.path.type: ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix"),
        (format!("{HTTP_HEAD}  rules:\n  - matches:\n    - path: {{value: /a}}\n    - path: {{value: /b}}\n    filters:\n    - type: RequestRedirect\n      requestRedirect:\n        path: {{type: ReplacePrefixMatch, replacePrefixMatch: /b}}\n"), "error: t.yaml:14: HTTPRoute ns/r: spec.rules[0].filters[0].requestRedirect.path.type: ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix"),
        // Header modifiers.
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier:\n        set:\n{}", many("        - {name: h{i}, value: v}\n", 17)), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].requestHeaderModifier.set: at most 16 headers are allowed, found 17"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: ResponseHeaderModifier\n      responseHeaderModifier:\n        add:\n        - {{name: a, value: ''}}\n"), "error: t.yaml:12: HTTPRoute ns/r: spec.rules[0].filters[0].responseHeaderModifier.add[0].value: must not be empty"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier:\n        remove: [a, a]\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].requestHeaderModifier.remove[1]: duplicate header `a`"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier:\n        set:\n        - {{name: a, value: '{}'}}\n", "v".repeat(4097)), "error: t.yaml:12: HTTPRoute ns/r: spec.rules[0].filters[0].requestHeaderModifier.set[0].value: must be at most 4096 characters, not 4097"),
        // Redirect and rewrite.
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n        scheme: ftp\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].requestRedirect.scheme: unknown value `ftp`"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n        hostname: '*.example.com'\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].requestRedirect.hostname: invalid hostname `*.example.com`: wildcards are not allowed here"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n        port: 70000\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].requestRedirect.port: port must be between 1 and 65535, not 70000"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n        statusCode: 304\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].requestRedirect.statusCode: statusCode must be 301, 302, 303, 307 or 308, not 304"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: URLRewrite\n      urlRewrite:\n        path:\n          type: ReplaceFullPath\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].urlRewrite.path: `replaceFullPath` must be set when type is ReplaceFullPath"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: URLRewrite\n      urlRewrite:\n        path:\n          type: ReplaceFullPath\n          replaceFullPath: /a\n          replacePrefixMatch: /b\n"), "error: t.yaml:14: HTTPRoute ns/r: spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch: must not be set when type is ReplaceFullPath"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: URLRewrite\n      urlRewrite:\n        hostname: Bad.com\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].urlRewrite.hostname: invalid hostname `Bad.com`: must be a lowercase RFC 1123 host name"),
        // Mirror.
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m, port: 80}}\n        percent: 101\n"), "error: t.yaml:12: HTTPRoute ns/r: spec.rules[0].filters[0].requestMirror.percent: percent must be between 0 and 100, not 101"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m, port: 80}}\n        percent: 5\n        fraction: {{numerator: 1}}\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].filters[0].requestMirror: percent and fraction cannot both be set"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m, port: 80}}\n        fraction: {{numerator: 3, denominator: 2}}\n"), "error: t.yaml:12: HTTPRoute ns/r: spec.rules[0].filters[0].requestMirror.fraction: numerator (3) must not exceed denominator (2)"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m, port: 80}}\n        fraction: {{numerator: 0, denominator: 0}}\n"), "error: t.yaml:12: HTTPRoute ns/r: spec.rules[0].filters[0].requestMirror.fraction.denominator: denominator must be at least 1"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m, port: 80}}\n        fraction: {{numerator: -1}}\n"), "error: t.yaml:12: HTTPRoute ns/r: spec.rules[0].filters[0].requestMirror.fraction.numerator: numerator must not be negative"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {{name: m}}\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].requestMirror.backendRef.port: port is required for a Service backend"),
        // Backends.
        (format!("{HTTP_HEAD}  rules:\n  - backendRefs:\n    - name: s\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].backendRefs[0].port: port is required for a Service backend"),
        (format!("{HTTP_HEAD}  rules:\n  - backendRefs:\n    - {{name: s, port: 80, weight: 1000001}}\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].backendRefs[0].weight: weight must be between 0 and 1000000, not 1000001"),
        (format!("{HTTP_HEAD}  rules:\n  - backendRefs:\n    - {{name: s, port: 80, weight: -1}}\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].backendRefs[0].weight: weight must be between 0 and 1000000, not -1"),
        (format!("{HTTP_HEAD}  rules:\n  - backendRefs:\n    - {{name: s, port: 65536}}\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].backendRefs[0].port: port must be between 1 and 65535, not 65536"),
        // CORS.
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: CORS\n      cors:\n        allowOrigins:\n{}", many("        - https://h{i}.com\n", 65)), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].cors.allowOrigins: at most 64 entries are allowed, found 65"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: CORS\n      cors:\n        allowMethods: [GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, GET]\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].cors.allowMethods: at most 9 entries are allowed, found 10"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: CORS\n      cors:\n        allowOrigins: ['*', 'https://a.com']\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].cors.allowOrigins: `*` must be the only entry when it is used"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: CORS\n      cors:\n        allowHeaders: ['*', x-a]\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].cors.allowHeaders: `*` must be the only entry when it is used"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: CORS\n      cors:\n        allowMethods: [FETCH]\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].cors.allowMethods[0]: unknown method `FETCH`: expected one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, *"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: CORS\n      cors:\n        maxAge: 0\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].cors.maxAge: maxAge must be at least 1, not 0"),
        (format!("{HTTP_HEAD}  rules:\n  - filters:\n    - type: CORS\n      cors:\n        allowOrigins: [ftp://a.com]\n"), "error: t.yaml:11: HTTPRoute ns/r: spec.rules[0].filters[0].cors.allowOrigins[0]: invalid origin `ftp://a.com`: expected `*` or `scheme://host[:port]`"),
        // Timeouts and retry.
        (format!("{HTTP_HEAD}  rules:\n  - timeouts:\n      request: 1d\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].timeouts.request: invalid duration `1d`: expected up to four parts like `1h`, `30m`, `10s`, `500ms`"),
        (format!("{HTTP_HEAD}  rules:\n  - timeouts:\n      request: 1s\n      backendRequest: 2s\n"), "error: t.yaml:10: HTTPRoute ns/r: spec.rules[0].timeouts.backendRequest: backendRequest must not be longer than request"),
        (format!("{HTTP_HEAD}  rules:\n  - retry:\n      codes: [399]\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].retry.codes[0]: retry codes must be between 400 and 599, not 399"),
        (format!("{HTTP_HEAD}  rules:\n  - retry:\n      attempts: 0\n"), "error: t.yaml:9: HTTPRoute ns/r: spec.rules[0].retry.attempts: attempts must be at least 1, not 0"),
        (format!("{HTTP_HEAD}  rules:\n  - sessionPersistence:\n      cookieConfig: {{lifetimeType: Permanent}}\n"), "error: t.yaml:8: HTTPRoute ns/r: spec.rules[0].sessionPersistence.absoluteTimeout: absoluteTimeout must be set when cookieConfig.lifetimeType is Permanent"),
        // GRPCRoute.
        (format!("{GRPC_HEAD}  hostnames:\n{}", many("  - h{i}.com\n", 17)), "error: t.yaml:7: GRPCRoute ns/g: spec.hostnames: at most 16 hostnames are allowed, found 17"),
        (format!("{GRPC_HEAD}  rules:\n{}", many("  - name: r{i}\n", 17)), "error: t.yaml:7: GRPCRoute ns/g: spec.rules: at most 16 rules are allowed, found 17"),
        (format!("{GRPC_HEAD}  rules:\n  - matches:\n    - method: {{type: Exact}}\n"), "error: t.yaml:9: GRPCRoute ns/g: spec.rules[0].matches[0].method: at least one of service and method must be set"),
        (format!("{GRPC_HEAD}  rules:\n  - matches:\n    - method: {{service: 'foo..Bar'}}\n"), "error: t.yaml:9: GRPCRoute ns/g: spec.rules[0].matches[0].method.service: invalid gRPC service name `foo..Bar`"),
        (format!("{GRPC_HEAD}  rules:\n  - matches:\n    - method: {{method: 'Do-It'}}\n"), "error: t.yaml:9: GRPCRoute ns/g: spec.rules[0].matches[0].method.method: invalid gRPC method name `Do-It`"),
        (format!("{GRPC_HEAD}  rules:\n  - matches:\n    - method: {{type: RegularExpression, service: '(x'}}\n"), "error: t.yaml:9: GRPCRoute ns/g: spec.rules[0].matches[0].method.service: invalid regular expression: found open group without closing ')'"),
        (format!("{GRPC_HEAD}  rules:\n  - matches:\n    - method: {{service: s, method: {}}}\n", "m".repeat(1025)), "error: t.yaml:9: GRPCRoute ns/g: spec.rules[0].matches[0].method.method: must be at most 1024 characters, not 1025"),
        (format!("{GRPC_HEAD}  rules:\n  - matches:\n    - headers:\n      - {{name: 'a b', value: v}}\n"), "error: t.yaml:10: GRPCRoute ns/g: spec.rules[0].matches[0].headers[0].name: invalid header name `a b`"),
        (format!("{GRPC_HEAD}  rules:\n  - filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier: {{}}\n    - type: RequestHeaderModifier\n      requestHeaderModifier: {{}}\n"), "error: t.yaml:11: GRPCRoute ns/g: spec.rules[0].filters[1].type: at most one RequestHeaderModifier filter is allowed"),
        (format!("{GRPC_HEAD}  rules:\n  - filters:\n    - type: URLRewrite\n"), "error: t.yaml:9: GRPCRoute ns/g: spec.rules[0].filters[0].type: unknown value `URLRewrite`"),
        // Gateway.
        (GW_HEAD.to_string(), "error: t.yaml:6: Gateway ns/gw: spec.listeners: at least one listener is required"),
        (format!("{GW_HEAD}  listeners:\n{}", many("  - {name: l{i}, port: 80, protocol: HTTP, hostname: h{i}.com}\n", 65)), "error: t.yaml:8: Gateway ns/gw: spec.listeners: at most 64 listeners are allowed, found 65"),
        (format!("{GW_HEAD}  listeners:\n  - {{name: a, port: 80, protocol: HTTP}}\n  - {{name: a, port: 81, protocol: HTTP}}\n"), "error: t.yaml:10: Gateway ns/gw: spec.listeners[1].name: duplicate listener name `a`"),
        (format!("{GW_HEAD}  listeners:\n  - {{name: a, port: 80, protocol: HTTP}}\n  - {{name: b, port: 80, protocol: HTTP}}\n"), "error: t.yaml:10: Gateway ns/gw: spec.listeners[1]: port, protocol and hostname must be unique among listeners"),
        (format!("{GW_HEAD}  listeners:\n  - {{name: a, port: 0, protocol: HTTP}}\n"), "error: t.yaml:9: Gateway ns/gw: spec.listeners[0].port: port must be between 1 and 65535, not 0"),
        (format!("{GW_HEAD}  listeners:\n  - {{name: a, port: 80, protocol: QUIC}}\n"), "error: t.yaml:9: Gateway ns/gw: spec.listeners[0].protocol: unknown value `QUIC`"),
        (format!("{GW_HEAD}  listeners:\n  - {{name: a, port: 80, protocol: TCP, hostname: a.com}}\n"), "error: t.yaml:9: Gateway ns/gw: spec.listeners[0].hostname: hostname must not be set for protocol TCP"),
        (format!("{GW_HEAD}  listeners:\n  - {{name: a, port: 80, protocol: HTTP, hostname: 'a.*.com'}}\n"), "error: t.yaml:9: Gateway ns/gw: spec.listeners[0].hostname: invalid hostname `a.*.com`: a wildcard must be a whole leading `*.` label"),
        (format!("{GW_HEAD}  listeners:\n  - name: a\n    port: 80\n    protocol: HTTP\n    tls: {{certificateRefs: [{{name: c}}]}}\n"), "error: t.yaml:12: Gateway ns/gw: spec.listeners[0].tls: tls must not be set for protocol HTTP"),
        (format!("{GW_HEAD}  listeners:\n  - name: a\n    port: 443\n    protocol: HTTPS\n    tls: {{mode: Passthrough, certificateRefs: [{{name: c}}]}}\n"), "error: t.yaml:12: Gateway ns/gw: spec.listeners[0].tls.mode: tls mode must be Terminate for protocol HTTPS"),
        (format!("{GW_HEAD}  listeners:\n  - name: a\n    port: 443\n    protocol: HTTPS\n    tls: {{}}\n"), "error: t.yaml:12: Gateway ns/gw: spec.listeners[0].tls: certificateRefs or options must be set when mode is Terminate"),
        (format!("{GW_HEAD}  listeners:\n  - name: a\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n      kinds:\n{}", many("      - kind: K{i}\n", 9)), "error: t.yaml:13: Gateway ns/gw: spec.listeners[0].allowedRoutes.kinds: at most 8 kinds are allowed, found 9"),
        (format!("{GW_HEAD}  listeners:\n  - name: a\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n      namespaces: {{from: Selector}}\n"), "error: t.yaml:13: Gateway ns/gw: spec.listeners[0].allowedRoutes.namespaces: selector must be set when from is Selector"),
        (format!("{GW_HEAD}  listeners:\n  - name: a\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n      namespaces:\n        from: Selector\n        selector:\n          matchExpressions:\n          - {{key: k, operator: In}}\n"), "error: t.yaml:17: Gateway ns/gw: spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].values: values must be set for In and NotIn"),
        // ReferenceGrant, Service, metadata, duplicates.
        ("apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: g, namespace: ns}\nspec:\n  from: []\n  to: [{group: '', kind: Service}]\n".to_string(), "error: t.yaml:5: ReferenceGrant ns/g: spec.from: at least one `from` entry is required"),
        (format!("apiVersion: gateway.networking.k8s.io/v1\nkind: ReferenceGrant\nmetadata: {{name: g, namespace: ns}}\nspec:\n  from: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: a}}]\n  to:\n{}", many("  - {group: '', kind: Service, name: s{i}}\n", 17)), "error: t.yaml:6: ReferenceGrant ns/g: spec.to: at most 16 entries are allowed, found 17"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: 80\n  - port: 81\n".to_string(), "error: t.yaml:6: Service default/s: spec.ports[0].name: name is required when a Service has several ports"),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Bad\n".to_string(), "error: t.yaml:4: Namespace Bad: metadata.name: invalid name `Bad`: must be lowercase letters, digits and '-', starting and ending with a letter or digit"),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  creationTimestamp: yesterday\n".to_string(), "error: t.yaml:5: Namespace a: metadata.creationTimestamp: invalid timestamp `yesterday`: expected RFC 3339, such as 2024-01-31T12:00:00Z"),
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n".to_string(), "error: t.yaml:5: Namespace a: defined more than once"),
    ];
    let mut failures = Vec::new();
    for (text, want) in &cases {
        let got = problems(text);
        if got.first().map(String::as_str) != Some(*want) {
            failures.push(format!("want: {want}\n got: {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reports_every_problem_sorted_with_snippet_and_help() {
    let text = format!(
        "{HTTP_HEAD}  hostnames: [Bad.com]\n  rules:\n  - name: a\n  - name: a\n    matches:\n    - path: {{value: x}}\n"
    );
    let err = validate(load_str("t.yaml", &text).unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: t.yaml:7: HTTPRoute ns/r: spec.hostnames[0]: invalid hostname `Bad.com`: must be a lowercase RFC 1123 host name\n  |\n7 |   hostnames: [Bad.com]\n  |               ^\n\
         error: t.yaml:10: HTTPRoute ns/r: spec.rules[1].name: duplicate rule name `a`\n   |\n10 |   - name: a\n   |     ^\nhelp: spec.rules[0] has the same name\n\
         error: t.yaml:12: HTTPRoute ns/r: spec.rules[1].matches[0].path.value: must start with '/'\n   |\n12 |     - path: {value: x}\n   |              ^"
    );
}

#[test]
fn load_errors_and_validation_errors_are_reported_together() {
    let text = format!(
        "{HTTP_HEAD}  hostnames: [Bad.com]\n---\n{}  bogus: 1\n",
        HTTP_HEAD.replace("name: r", "name: s")
    );
    let mut loader = Loader::new();
    loader.add_str("t.yaml", &text);
    let got: Vec<String> = validate(loader.finish())
        .unwrap_err()
        .iter()
        .map(|d| d.to_string().lines().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        got,
        [
            "error: t.yaml:7: HTTPRoute ns/r: spec.hostnames[0]: invalid hostname `Bad.com`: must be a lowercase RFC 1123 host name",
            "error: t.yaml:15: HTTPRoute ns/s: spec.bogus: unknown field `bogus`",
        ]
    );
}

#[test]
fn case_insensitive_duplicate_headers_warn() {
    let got = problems(&format!(
        "{HTTP_HEAD}  rules:\n  - matches:\n    - headers:\n      - {{name: X-A, value: x}}\n      - {{name: x-a, value: y}}\n"
    ));
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("warning[GW0018 DuplicateHeaderMatch]: t.yaml:11: HTTPRoute ns/r: spec.rules[0].matches[0].headers[1].name: `x-a` is the same header as spec.rules[0].matches[0].headers[0]; only the first is used"), "{got:?}");
}

/// Every resource and phase object of the conformance corpus loads and validates cleanly.
#[test]
fn conformance_corpus_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: {} is absent", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 61, "expected the 60 tests and base.yaml");
    let mut objects = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.display().to_string();
        let (resources, phases) = if file.ends_with("base.yaml") {
            (load_str(&name, &text), Vec::new())
        } else {
            match load_route_test_resources(&name, &text) {
                Ok(r) => (Ok(r.resources), r.phase_applies),
                Err(d) => (Err(d), Vec::new()),
            }
        };
        let mut state = resources.unwrap_or_else(|d| panic!("{d}"));
        objects += state.objects.len();
        let v = validate(state.clone()).unwrap_or_else(|d| panic!("{d}"));
        assert!(!v.diagnostics.has_errors());
        for apply in phases {
            for object in apply {
                state.apply(object);
            }
            validate(state.clone()).unwrap_or_else(|d| panic!("{d}"));
        }
    }
    assert!(objects > 400, "{objects}");
}
