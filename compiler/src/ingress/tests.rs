use super::*;
use crate::load::load_str;

fn converted(text: &str) -> Converted {
    convert(&load_str("in.yaml", text).expect("loads"))
}

fn kinds(c: &Converted) -> Vec<String> {
    c.manifests
        .iter()
        .map(|m| {
            format!(
                "{} {}/{}",
                m["kind"].as_str().unwrap_or(""),
                m["metadata"]["namespace"].as_str().unwrap_or(""),
                m["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Each diagnostic as `severity object field: message`.
fn said(c: &Converted) -> Vec<String> {
    c.diagnostics
        .iter()
        .map(|d| format!("{:?} {} {}: {}", d.severity, d.object, d.field, d.message))
        .collect()
}

const CLASSES: &str = "
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: traefik}
spec: {controller: traefik.io/ingress-controller}
";

fn ingress(name: &str, class: &str, host: &str) -> String {
    format!(
        "
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: {name}, namespace: app}}
spec:
  {class}
  rules:
  - host: {host}
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"
    )
}

#[test]
fn only_ingress_nginx_classes_are_converted_and_the_rest_say_why() {
    let text = [
        CLASSES,
        &ingress("a", "ingressClassName: nginx", "a.example.com"),
        &ingress("b", "ingressClassName: traefik", "b.example.com"),
        &ingress("c", "ingressClassName: missing", "c.example.com"),
        &ingress("d", "", "d.example.com"),
    ]
    .concat();
    let c = converted(&text);
    assert_eq!(
        kinds(&c),
        ["Gateway ingress-nginx/nginx", "HTTPRoute app/a"]
    );
    let said = said(&c);
    assert!(
        said[0].contains(
            "Ingress app/b spec.ingressClassName: class traefik belongs to controller traefik.io"
        ),
        "{said:?}"
    );
    assert!(
        said[1].contains(
            "Ingress app/c spec.ingressClassName: IngressClass missing is not in the input"
        ),
        "{said:?}"
    );
    assert!(
        said[2].contains("Ingress app/d spec: no ingressClassName"),
        "{said:?}"
    );
    assert!(!c.diagnostics.has_errors());
}

#[test]
fn the_default_class_and_the_annotation_name_a_class_too() {
    let default = CLASSES.replace(
        "metadata: {name: nginx}",
        "metadata: {name: nginx, annotations: {ingressclass.kubernetes.io/is-default-class: \"true\"}}",
    );
    let annotated = ingress("b", "", "b.example.com").replace(
        "namespace: app}",
        "namespace: app, annotations: {kubernetes.io/ingress.class: nginx}}",
    );
    let c = converted(
        &[
            default.as_str(),
            &ingress("a", "", "a.example.com"),
            &annotated,
        ]
        .concat(),
    );
    assert_eq!(
        kinds(&c),
        [
            "Gateway ingress-nginx/nginx",
            "HTTPRoute app/a",
            "HTTPRoute app/b"
        ]
    );
}

#[test]
fn a_certificate_gives_an_https_listener_a_grant_and_a_redirecting_twin() {
    let text = ingress("a", "ingressClassName: nginx", "a.example.com").replace(
        "  rules:",
        "  tls: [{hosts: ['*.example.com'], secretName: wild}]\n  rules:",
    );
    let c = converted(&[CLASSES, &text].concat());
    assert_eq!(
        kinds(&c),
        [
            "Gateway ingress-nginx/nginx",
            "ReferenceGrant app/ingress-nginx-nginx-certificates",
            "HTTPRoute app/a",
            "HTTPRoute app/a-ssl-redirect",
        ]
    );
    let listeners = &c.manifests[0]["spec"]["listeners"];
    assert_eq!(listeners[1]["hostname"], "*.example.com");
    assert_eq!(
        listeners[1]["tls"]["certificateRefs"][0]["namespace"],
        "app"
    );
    // The wildcard certificate covers a.example.com, whose route serves HTTPS.
    assert_eq!(
        c.manifests[2]["spec"]["parentRefs"][0]["sectionName"],
        "https-0"
    );
    let redirect = &c.manifests[3]["spec"]["rules"][0]["filters"][0]["requestRedirect"];
    assert_eq!(redirect["statusCode"], 308);
    assert_eq!(
        c.manifests[3]["spec"]["parentRefs"][0]["sectionName"],
        "http"
    );
}

#[test]
fn converted_routes_point_at_their_ingress() {
    let text = [
        CLASSES,
        &ingress("a", "ingressClassName: nginx", "a.example.com"),
    ]
    .concat();
    let loaded = translate(load_str("in.yaml", &text).expect("loads")).expect("translates");
    let route = loaded.of_kind(Kind::HttpRoute).next().expect("a route");
    assert_eq!(route.source.file.name, "in.yaml");
    // The route's rule 0 is the Ingress's first path, on line 22; its host is on line 19.
    let at = |path: &str| route.source.fields.locate(path).map(|p| p.line);
    assert_eq!(at("spec.rules[0].backendRefs[0]"), Some(22));
    assert_eq!(at("spec.hostnames[0]"), Some(19));
    assert!(loaded.of_kind(Kind::Ingress).next().is_none());
}

#[test]
fn a_canary_without_its_main_path_and_its_other_annotations_are_reported() {
    let canary = ingress("c", "ingressClassName: nginx", "a.example.com")
        .replace(
            "namespace: app}",
            "namespace: app, annotations: {nginx.ingress.kubernetes.io/canary: \"true\", nginx.ingress.kubernetes.io/canary-weight: ten, nginx.ingress.kubernetes.io/rewrite-target: /}}",
        )
        .replace("path: /,", "path: /other,");
    let text = [
        CLASSES,
        &ingress("a", "ingressClassName: nginx", "a.example.com"),
        &canary,
    ]
    .concat();
    let c = converted(&text);
    // The canary adds no route of its own.
    assert_eq!(
        kinds(&c),
        ["Gateway ingress-nginx/nginx", "HTTPRoute app/a"]
    );
    let said = said(&c);
    assert_eq!(said.len(), 3, "{said:?}");
    assert!(
        said[0].contains("rewrite-target on a canary Ingress: ingress-nginx ignores it"),
        "{said:?}"
    );
    assert!(
        said[1].contains("canary-weight is not a whole number"),
        "{said:?}"
    );
    assert!(
        said[2].contains("spec.rules[0].http.paths[0]: a canary path with no main Ingress path"),
        "{said:?}"
    );
}

#[test]
fn settings_ingress_nginx_would_not_read_keep_their_defaults_with_a_warning() {
    let text = ingress("a", "ingressClassName: nginx", "a.example.com").replace(
        "namespace: app}",
        "namespace: app, annotations: {nginx.ingress.kubernetes.io/ssl-redirect: maybe, nginx.ingress.kubernetes.io/upstream-vhost: $host.internal}}",
    );
    let c = converted(&[CLASSES, &text].concat());
    let said = said(&c);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].contains(
            "ssl-redirect is maybe, not true or false: ingress-nginx keeps its default, true"
        ),
        "{said:?}"
    );
    assert!(
        said[1].contains("upstream-vhost $host.internal uses an nginx variable"),
        "{said:?}"
    );
    // No URLRewrite: the client's Host goes upstream.
    assert!(c.manifests[1]["spec"]["rules"][0].get("filters").is_none());
}

#[test]
fn annotations_that_change_nothing_in_ingress_nginx_are_notes() {
    let text = ingress("a", "ingressClassName: nginx", "a.example.com").replace(
        "namespace: app}",
        "namespace: app, annotations: {nginx.ingress.kubernetes.io/enable-cors: \"false\", nginx.ingress.kubernetes.io/backend-protocol: http, nginx.ingress.kubernetes.io/x-forwarded-prefix: /a, nginx.ingress.kubernetes.io/backend-protocol-x: y}}",
    );
    let said = said(&converted(&[CLASSES, &text].concat()));
    assert_eq!(said.len(), 4, "{said:?}");
    assert!(
        said[0].starts_with("Note") && said[0].contains("backend-protocol is HTTP, the default"),
        "{said:?}"
    );
    assert!(
        said[1].starts_with("Warning(UnsupportedAnnotation)"),
        "{said:?}"
    );
    assert!(
        said[2].starts_with("Note") && said[2].contains("enable-cors is not true"),
        "{said:?}"
    );
    assert!(
        said[3].starts_with("Note")
            && said[3].contains("x-forwarded-prefix is sent only with a rewrite-target"),
        "{said:?}"
    );
}
