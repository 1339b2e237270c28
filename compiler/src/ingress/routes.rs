//! The HTTPRoutes that stand for one Ingress: one per host, attached to the HTTPS listener
//! of a host with a certificate (and a twin on HTTP that redirects to it) or to the HTTP
//! listener. A host's first Ingress answers the paths no Ingress of the host matches with
//! its `spec.defaultBackend`, as ingress-nginx's implicit `/` location does.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::canary::{self, Canaries};
use super::cors;
use super::envoy_gateway;
use super::gateway::HTTP_LISTENER;
use super::grpc;
use super::limits;
use super::redirect::{self, Redirect};
use super::rewrite;
use super::settings;
use super::source_range;
use super::timeouts;
use super::upstream_tls;
use super::{at, Origin, Served, GATEWAY_NAMESPACE};
use crate::diag::{Diagnostics, Severity};
use crate::load::Loaded;
use crate::model::{Body, HttpIngressPath, IngressBackend, IngressPathType, Kind, ObjectKey};
use crate::warning::Warning;

/// The annotation on each converted object naming the Ingress it stands for.
pub const SOURCE_ANNOTATION: &str = "gatewasm.dev/ingress";

/// ingress-nginx's HTTP-to-HTTPS redirect (`ssl-redirect`, on by default for a host with a
/// certificate): a permanent redirect that keeps the method.
const SSL_REDIRECT_CODE: u16 = 308;

/// Paths under this prefix are served over HTTP on a host with a certificate, not
/// redirected: where ACME HTTP-01 challenges are answered (ingress-nginx's
/// `no-tls-redirect-locations`).
const ACME_PATH: &str = "/.well-known/acme-challenge";

/// What the routes of one Ingress need to know of its class's other Ingresses.
pub struct ClassHosts<'a> {
    /// The canaries of the class's paths.
    pub canaries: Canaries<'a>,
    /// Hosts whose paths are all expressions (`""`: the host-less rules), because some
    /// Ingress of the host has `use-regex` or a `rewrite-target`: ingress-nginx writes every
    /// location of such a host as a case-insensitive expression.
    pub regex_hosts: BTreeSet<String>,
    /// Host → the HTTPS listener serving it.
    pub tls: BTreeMap<String, String>,
    /// Hosts some Ingress of the class gives a `/` Prefix path.
    pub rooted: BTreeSet<String>,
    /// Host → the Ingress that names it first, whose `spec.defaultBackend` answers the paths
    /// no Ingress of the host matches.
    pub creator: BTreeMap<String, ObjectKey>,
}

/// The rules of one host: the host's field, and each rule with the Ingress path it is for.
struct Host<'a> {
    name: Option<&'a str>,
    field: String,
    rules: Vec<Value>,
    origins: Vec<String>,
    /// This Ingress names the host first, so its settings hold for the host's unmatched paths.
    creates: bool,
    /// The HTTPRouteFilters its rules name (and the SecurityPolicy of its routes), each with
    /// the annotation it stands for.
    route_filters: Vec<(Value, &'static str)>,
}

/// The HTTPRoutes for `served`, each with the Ingress fields it comes from.
pub fn routes(
    served: &Served<'_>,
    class: &ClassHosts<'_>,
    loaded: &Loaded,
    diagnostics: &mut Diagnostics,
) -> Vec<(Value, Origin)> {
    let settings = settings::read(served.object, diagnostics);
    let rewrite = rewrite::read(served.object, diagnostics);
    let redirect = redirect::read(served.object, diagnostics);
    // nginx returns the redirect before it would rewrite: no rewrite is written then.
    let rewrite = rewrite.filter(|_| redirect.is_none());
    let mut hosts = host_rules(served, class, rewrite.as_ref(), loaded, diagnostics);
    let app_root = redirect::app_root(served.object, diagnostics);
    let cors = cors::read(served.object, diagnostics);
    for host in &mut hosts {
        complete(served, class, &settings, host, loaded, diagnostics);
        if let Some(cors) = &cors {
            add_filter(host, cors);
        }
        if let Some(r) = &redirect {
            redirect_paths(served, class, r, host);
        }
        if let Some(r) = &app_root {
            answer_root(served, r, host);
        }
    }
    let many = hosts.len() > 1;
    let mut out = Vec::new();
    let mut route_filters = Vec::new();
    for (n, mut host) in hosts.into_iter().enumerate() {
        let name = if many {
            format!("{}-{n}", served.object.meta.name)
        } else {
            served.object.meta.name.clone()
        };
        route_filters.append(&mut host.route_filters);
        out.extend(host_routes(served, class, &settings, &name, host));
    }
    if grpc::wanted(served.object) {
        out = out
            .into_iter()
            .filter_map(|(route, origin)| {
                let (route, rules) = grpc::route(served.object, route, &origin.rules, diagnostics)?;
                Some((route, Origin { rules, ..origin }))
            })
            .collect();
    }
    if upstream_tls::wanted(served.object) {
        for backend in upstream_tls::reroute(served, &mut out, diagnostics) {
            route_filters.push((backend, "backend-protocol"));
        }
    }
    route_filters.extend(policies(served, &out, diagnostics));
    // One object for each filter, however many hosts name it.
    let mut named = BTreeSet::new();
    for (filter, annotation) in route_filters {
        if !named.insert(filter["metadata"]["name"].clone().to_string()) {
            continue;
        }
        let origin = Origin {
            ingress: served.object.source.clone(),
            rules: Vec::new(),
            host: None,
            whole: Some(annotation_field(annotation)),
        };
        out.push((filter, origin));
    }
    out
}

/// The SecurityPolicy (source ranges) and BackendTrafficPolicy (limits) of the Ingress's
/// routes `out`, each with the annotation it stands for.
fn policies(
    served: &Served<'_>,
    out: &[(Value, Origin)],
    diagnostics: &mut Diagnostics,
) -> Vec<(Value, &'static str)> {
    let names: Vec<(String, String)> = out
        .iter()
        .filter_map(|(m, _)| {
            let kind = m["kind"].as_str().filter(|k| k.ends_with("Route"))?;
            Some((kind.to_owned(), m["metadata"]["name"].as_str()?.to_owned()))
        })
        .collect();
    let mut policies = Vec::new();
    let ranges = source_range::read(served.object, diagnostics);
    if let Some(ranges) = ranges.filter(|_| !names.is_empty()) {
        let name = format!("{}-source-range", served.object.meta.name);
        policies.push((ranges.policy(served, &name, &names), ranges.annotation));
    }
    if names.is_empty() {
        return policies;
    }
    // Envoy Gateway applies one BackendTrafficPolicy to a route: limits and timeouts share it.
    let limits = limits::read(served.object, diagnostics);
    let timeouts = timeouts::read(served.object, diagnostics);
    let ingress = &served.object.meta.name;
    let mut traffic = match (&limits, timeouts) {
        (Some(limits), _) => {
            let name = format!("{ingress}-limits");
            (limits.policy(served, &name, &names), limits.annotation())
        }
        (None, Some(timeouts)) => {
            let name = format!("{ingress}-timeouts");
            let spec = json!({"targetRefs": envoy_gateway::target_refs(&names)});
            let policy = envoy_gateway::object(served, "BackendTrafficPolicy", &name, spec);
            (policy, timeouts.annotation())
        }
        (None, None) => return policies,
    };
    if let Some(timeouts) = timeouts {
        traffic.0["spec"]["timeout"] = timeouts.timeout();
    }
    policies.push(traffic);
    policies
}

/// `filter` appended to every rule of the host that forwards.
fn add_filter(host: &mut Host<'_>, filter: &Value) {
    let forwarding = host
        .rules
        .iter_mut()
        .filter(|r| r.get("backendRefs").is_some());
    for rule in forwarding {
        match rule["filters"].as_array_mut() {
            Some(filters) => filters.push(filter.clone()),
            None => rule["filters"] = json!([filter]),
        }
    }
}

/// The field of the ingress-nginx annotation `short`.
fn annotation_field(short: &str) -> String {
    crate::source::join_key(
        "metadata.annotations",
        &format!("{}{short}", super::annotations::PREFIX),
    )
}

/// Every path of the host answered with the Ingress's `permanent-redirect` or
/// `temporal-redirect` instead of forwarded, and, when the Ingress creates the host and no
/// Ingress gives it a `/` path, the host's unmatched paths too: nginx's implicit `/`
/// location carries the creating Ingress's annotations.
fn redirect_paths(served: &Served<'_>, class: &ClassHosts<'_>, r: &Redirect, host: &mut Host<'_>) {
    let name = format!("{}-redirect", served.object.meta.name);
    let answer = json!([envoy_gateway::extension_ref(&name)]);
    let mut answers_root = false;
    for (rule, origin) in host.rules.iter_mut().zip(&host.origins) {
        if let Some(rule) = rule
            .as_object_mut()
            .filter(|r| r.contains_key("backendRefs"))
        {
            rule.remove("backendRefs");
            rule.insert("filters".into(), answer.clone());
            answers_root |= origin == "spec.defaultBackend";
        }
    }
    let unrooted = host.name.is_some_and(|h| !class.rooted.contains(h));
    if host.creates && unrooted && !answers_root {
        host.rules.push(json!({
            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
            "filters": answer,
        }));
        host.origins.push(annotation_field(r.annotation));
    }
    host.route_filters
        .push((r.route_filter(served, &name), r.annotation));
}

/// The host's `/` answered with the Ingress's `app-root` redirect, before any path: nginx
/// checks it at server level, before it chooses a location.
fn answer_root(served: &Served<'_>, r: &Redirect, host: &mut Host<'_>) {
    let name = format!("{}-app-root", served.object.meta.name);
    host.rules.insert(
        0,
        json!({
            "matches": [{"path": {"type": "Exact", "value": "/"}}],
            "filters": [envoy_gateway::extension_ref(&name)],
        }),
    );
    host.origins.insert(0, annotation_field("app-root"));
    host.route_filters
        .push((r.route_filter(served, &name), "app-root"));
}

/// A host's rules with what the Ingress adds to all of them: its `upstream-vhost`, and, for a
/// host it names first and no Ingress gives a `/` path, its `spec.defaultBackend` for the
/// paths that match nothing.
fn complete(
    served: &Served<'_>,
    class: &ClassHosts<'_>,
    settings: &settings::Settings,
    host: &mut Host<'_>,
    loaded: &Loaded,
    diagnostics: &mut Diagnostics,
) {
    if let Some(vhost) = &settings.upstream_vhost {
        let vhost = json!({"type": "URLRewrite", "urlRewrite": {"hostname": vhost}});
        add_filter(host, &vhost);
    }
    let Some(name) = host.name else {
        return;
    };
    host.creates = class.creator.get(name) == Some(&served.object.key());
    if let (true, false, Some(backend)) = (
        host.creates,
        class.rooted.contains(name),
        &served.spec.default_backend,
    ) {
        let field = "spec.defaultBackend";
        if let Some(backend) = backend_ref(served, backend, field, loaded, diagnostics) {
            host.rules.push(json!({
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [backend],
            }));
            host.origins.push(field.to_owned());
        }
    }
}

/// The routes of one host: on its HTTPS listener and on HTTP, or, when this Ingress's paths
/// redirect to HTTPS, an HTTP route that answers them (and the host's unmatched paths, when
/// this Ingress names the host first) with the redirect.
fn host_routes(
    served: &Served<'_>,
    class: &ClassHosts<'_>,
    settings: &settings::Settings,
    name: &str,
    host: Host<'_>,
) -> Vec<(Value, Origin)> {
    let tls = host.name.and_then(|h| tls_listener(&class.tls, h));
    let redirects = settings.redirects(tls.is_some());
    // ingress-nginx's implicit `/` of a host carries its first Ingress's settings.
    let unmatched =
        redirects && host.creates && host.name.is_some_and(|h| !class.rooted.contains(h));
    if host.rules.is_empty() && !unmatched {
        return Vec::new();
    }
    let origin = Origin {
        ingress: served.object.source.clone(),
        rules: host.origins.clone(),
        host: Some(host.field.clone()),
        whole: None,
    };
    if !redirects {
        let listeners: Vec<&str> = tls.into_iter().chain([HTTP_LISTENER]).collect();
        return vec![(
            route(served, name, host.name, &listeners, host.rules),
            origin,
        )];
    }
    let mut out = Vec::new();
    let (http, http_origins) = ssl_redirect(&host.rules, &host.origins, unmatched);
    let http_name = match tls {
        Some(listener) => {
            if !host.rules.is_empty() {
                let https = route(served, name, host.name, &[listener], host.rules);
                out.push((https, origin.clone()));
            }
            format!("{name}-ssl-redirect")
        }
        None => name.to_owned(),
    };
    let origin = Origin {
        rules: http_origins,
        ..origin
    };
    out.push((
        route(served, &http_name, host.name, &[HTTP_LISTENER], http),
        origin,
    ));
    out
}

/// The Ingress's rules by host, in order of first appearance (a `None` name is every host).
fn host_rules<'a>(
    served: &Served<'a>,
    class: &ClassHosts<'_>,
    rewrite: Option<&rewrite::Rewrite>,
    loaded: &Loaded,
    diagnostics: &mut Diagnostics,
) -> Vec<Host<'a>> {
    let mut hosts: Vec<Host<'a>> = Vec::new();
    for (i, rule) in served.spec.rules.iter().enumerate() {
        let name = rule.host.as_deref().filter(|h| !h.is_empty());
        let at = match hosts.iter().position(|h| h.name == name) {
            Some(at) => at,
            None => {
                hosts.push(Host {
                    name,
                    field: format!("spec.rules[{i}].host"),
                    rules: Vec::new(),
                    origins: Vec::new(),
                    creates: false,
                    route_filters: Vec::new(),
                });
                hosts.len() - 1
            }
        };
        let paths = rule.http.iter().flat_map(|h| h.paths.iter()).enumerate();
        for (j, path) in paths {
            let field = format!("spec.rules[{i}].http.paths[{j}]");
            let at_path = Place {
                host: name,
                field: &field,
            };
            let mut converted = route_rules(served, path, &at_path, class, loaded, diagnostics);
            let value = path
                .path
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or("/");
            let filter_name = format!("{}-rewrite-{i}-{j}", served.object.meta.name);
            let rewritten = rewrite.and_then(|r| r.for_path(served, value, &filter_name));
            if let Some(host) = hosts.get_mut(at) {
                if let Some((filters, route_filter)) = rewritten {
                    let forwarding = converted
                        .iter_mut()
                        .filter(|r| r.get("backendRefs").is_some());
                    for rule in forwarding {
                        rule["filters"] = json!(filters);
                    }
                    host.route_filters.push((route_filter, "rewrite-target"));
                }
                for rule in converted {
                    host.rules.push(rule);
                    host.origins.push(field.clone());
                }
            }
        }
    }
    hosts
}

/// What a host answers over HTTP when this Ingress's paths redirect to HTTPS: its ACME
/// challenge paths as over HTTPS, each other path a 308 to HTTPS, and, when `unmatched`, the
/// host's unmatched paths too. Each rule comes with its origin.
fn ssl_redirect(rules: &[Value], origins: &[String], unmatched: bool) -> (Vec<Value>, Vec<String>) {
    let to_https = |matches: &Value| {
        json!({
            "matches": matches,
            "filters": [{"type": "RequestRedirect", "requestRedirect": {
                "scheme": "https",
                "statusCode": SSL_REDIRECT_CODE,
            }}],
        })
    };
    let mut out: Vec<(Value, String)> = rules
        .iter()
        .zip(origins)
        .map(|(rule, origin)| {
            // The location's path, also on a regex host, where it is `(?i)<path>.*`.
            let acme = rule["matches"][0]["path"]["value"]
                .as_str()
                .map(|p| p.strip_prefix("(?i)").unwrap_or(p))
                .is_some_and(|p| p.starts_with(ACME_PATH));
            let answer = if acme || rule.get("backendRefs").is_none() {
                rule.clone()
            } else {
                to_https(&rule["matches"])
            };
            (answer, origin.clone())
        })
        .collect();
    let everything = json!([{"path": {"type": "PathPrefix", "value": "/"}}]);
    // A redirect annotation may already answer the unmatched paths, before nginx's HTTPS one.
    let answered = rules.iter().any(|r| r["matches"] == everything);
    if unmatched && !answered {
        out.push((to_https(&everything), "spec.tls".to_owned()));
    }
    out.into_iter().unzip()
}

/// The HTTPS listener for `host`: the one for that name, else one whose wildcard covers it.
fn tls_listener<'a>(tls_hosts: &'a BTreeMap<String, String>, host: &str) -> Option<&'a str> {
    if let Some(listener) = tls_hosts.get(host) {
        return Some(listener);
    }
    let (_, parent) = host.split_once('.')?;
    tls_hosts.get(&format!("*.{parent}")).map(String::as_str)
}

fn route(
    served: &Served<'_>,
    name: &str,
    host: Option<&str>,
    listeners: &[&str],
    rules: Vec<Value>,
) -> Value {
    let meta = &served.object.meta;
    let mut metadata = json!({
        "name": name,
        "namespace": meta.namespace,
        "annotations": {SOURCE_ANNOTATION: format!("{}/{}", meta.namespace, meta.name)},
    });
    if let Some(created) = &meta.creation_timestamp {
        metadata["creationTimestamp"] = json!(created);
    }
    let mut spec = json!({
        "parentRefs": listeners
            .iter()
            .map(|l| json!({"name": served.class, "namespace": GATEWAY_NAMESPACE, "sectionName": l}))
            .collect::<Vec<_>>(),
        "rules": rules,
    });
    if let Some(host) = host {
        spec["hostnames"] = json!([host]);
    }
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": metadata,
        "spec": spec,
    })
}

/// One path as HTTPRoute rules (none, with a diagnostic, when it cannot route). A Prefix
/// path written with a trailing slash also gets nginx's answer to the path without it: 301
/// to the path with it.
/// Where an Ingress path is: its host and its field.
struct Place<'a> {
    host: Option<&'a str>,
    field: &'a str,
}

fn route_rules(
    served: &Served<'_>,
    path: &HttpIngressPath,
    place: &Place<'_>,
    class: &ClassHosts<'_>,
    loaded: &Loaded,
    diagnostics: &mut Diagnostics,
) -> Vec<Value> {
    let field = place.field;
    let value = path
        .path
        .as_deref()
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    let Some(path_type) = path.path_type else {
        diagnostics.push(at(
            served.object,
            Severity::Error,
            &format!("{field}.pathType"),
            "pathType is required (Exact, Prefix or ImplementationSpecific)",
        ));
        return Vec::new();
    };
    let backend = backend_ref(
        served,
        &path.backend,
        &format!("{field}.backend"),
        loaded,
        diagnostics,
    );
    let Some(backend) = backend else {
        return Vec::new();
    };
    let regex_mode = class.regex_hosts.contains(place.host.unwrap_or(""));
    let matched = if regex_mode {
        // nginx's `location ~* "^<path>"`: the path as written is an expression, matched
        // from the start, in any case, to any end. Longer paths are tried first there, as
        // longer expressions are here.
        json!({"type": "RegularExpression", "value": format!("(?i){value}.*")})
    } else {
        match path_type {
            IngressPathType::Exact => json!({"type": "Exact", "value": value}),
            // ingress-nginx treats ImplementationSpecific as Prefix (without use-regex).
            IngressPathType::Prefix | IngressPathType::ImplementationSpecific => {
                json!({"type": "PathPrefix", "value": value})
            }
        }
    };
    let kind = matched["type"].as_str().unwrap_or_default().to_owned();
    let main = json!({
        "matches": [{"path": matched}],
        "backendRefs": [backend],
    });
    let canary = class
        .canaries
        .of(place.host, value, path_type)
        .and_then(|found| {
            let field = format!("{}.backend", found.field);
            let backend = backend_ref(found.served, found.backend, &field, loaded, diagnostics)?;
            Some(canary::rules(&main, &backend, found.settings))
        });
    let mut rules = canary.unwrap_or_else(|| vec![main]);
    if let Some(bare) = value
        .strip_suffix('/')
        .filter(|b| kind == "PathPrefix" && !b.is_empty())
    {
        rules.push(json!({
            "matches": [{"path": {"type": "Exact", "value": bare}}],
            "filters": [{"type": "RequestRedirect", "requestRedirect": {
                "path": {"type": "ReplaceFullPath", "replaceFullPath": value},
                "statusCode": 301,
            }}],
        }));
    }
    rules
}

/// A Service backend as a backendRef (a named port looked up in the Service).
pub fn backend_ref(
    served: &Served<'_>,
    backend: &IngressBackend,
    field: &str,
    loaded: &Loaded,
    diagnostics: &mut Diagnostics,
) -> Option<Value> {
    let object = served.object;
    let Some(service) = &backend.service else {
        let (severity, message) = if backend.resource.is_some() {
            (
                Severity::Warning(Warning::InvalidKind),
                "a resource backend: gatewasm routes only to Services; this path is left out",
            )
        } else {
            (Severity::Error, "a backend needs a service")
        };
        diagnostics.push(at(object, severity, field, message));
        return None;
    };
    let port = service.port.as_ref();
    let number = match (
        port.and_then(|p| p.number),
        port.and_then(|p| p.name.as_deref()),
    ) {
        (Some(n), _) => n,
        (None, Some(name)) => match named_port(loaded, &object.meta.namespace, &service.name, name)
        {
            Some(n) => n,
            None => {
                diagnostics.push(at(
                    object,
                    Severity::Error,
                    &format!("{field}.service.port.name"),
                    format!("port {name} of Service {}/{} is not in the input: a Gateway API backendRef needs the port number", object.meta.namespace, service.name),
                ).with_help("add the Service to the input, or name the port by number"));
                return None;
            }
        },
        (None, None) => {
            diagnostics.push(at(
                object,
                Severity::Error,
                &format!("{field}.service"),
                "a service backend needs a port (number or name)",
            ));
            return None;
        }
    };
    Some(json!({"name": service.name, "port": number}))
}

/// The number of the port `name` of the Service `namespace/service`, if it is in the input.
fn named_port(loaded: &Loaded, namespace: &str, service: &str, name: &str) -> Option<i32> {
    loaded
        .of_kind(Kind::Service)
        .filter(|o| o.meta.namespace == namespace && o.meta.name == service)
        .find_map(|o| match &o.body {
            Body::Service(spec) => spec
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name))
                .map(|p| p.port),
            _ => None,
        })
}

/// The route of the class's catch-all: the `spec.defaultBackend` of its first Ingress that
/// has no rules, which ingress-nginx gives every request for a host no Ingress names. Later
/// ones are warned about; so is a host whose unmatched paths reach it here but get 404 from
/// ingress-nginx.
pub fn catch_all(
    ingresses: &[Served<'_>],
    class: &ClassHosts<'_>,
    loaded: &Loaded,
    diagnostics: &mut Diagnostics,
) -> Option<(Value, Origin)> {
    let mut defaults = ingresses
        .iter()
        .filter(|s| s.spec.rules.is_empty() && s.spec.default_backend.is_some());
    let first = defaults.next()?;
    for later in defaults {
        diagnostics.push(at(
            later.object,
            Severity::Warning(Warning::UnsupportedFeature),
            "spec.defaultBackend",
            format!(
                "ingress-nginx uses only the first Ingress's defaultBackend for unknown hosts, {}'s",
                first.object.label()
            ),
        ));
    }
    let field = "spec.defaultBackend";
    let backend = first.spec.default_backend.as_ref()?;
    let backend = backend_ref(first, backend, field, loaded, diagnostics)?;
    let unrooted: Vec<&str> = class
        .creator
        .keys()
        .filter(|h| !class.rooted.contains(*h))
        .map(String::as_str)
        .collect();
    if !unrooted.is_empty() {
        diagnostics.push(at(
            first.object,
            Severity::Warning(Warning::UnsupportedFeature),
            field,
            format!(
                "requests for {} that match none of its paths reach this backend here; ingress-nginx answers them 404",
                unrooted.join(", ")
            ),
        ).with_help("give those hosts a `/` path, or accept the difference"));
    }
    let rule = json!({
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [backend],
    });
    let name = format!("{}-default-backend", first.object.meta.name);
    let origin = Origin {
        ingress: first.object.source.clone(),
        rules: vec![field.to_owned()],
        host: None,
        whole: None,
    };
    Some((
        route(first, &name, None, &[HTTP_LISTENER], vec![rule]),
        origin,
    ))
}

/// The hosts some Ingress with `use-regex`, or a `rewrite-target` other than one of its
/// paths, has a path on (ingress-nginx's `enforceRegexModifier`).
fn regex_hosts(ingresses: &[Served<'_>]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for served in ingresses {
        let use_regex = settings::flag(served.object, "use-regex");
        let rewrite = settings::value(served.object, "rewrite-target")
            .filter(|target| rewrite::nginx_reads(target));
        for rule in &served.spec.rules {
            let host = rule.host.clone().unwrap_or_default();
            let paths = rule.http.iter().flat_map(|h| h.paths.iter());
            let regex = paths.into_iter().any(|p| {
                let path = p.path.as_deref().unwrap_or("/");
                use_regex || rewrite.is_some_and(|target| target != path)
            });
            if regex {
                out.insert(host);
            }
        }
    }
    out
}

/// The hosts the class's Ingresses name, each with the first Ingress to name it, and the
/// hosts some Ingress gives a `/` Prefix path.
pub fn class_hosts<'a>(
    ingresses: &[Served<'_>],
    tls: BTreeMap<String, String>,
    canaries: Canaries<'a>,
) -> ClassHosts<'a> {
    let mut rooted = BTreeSet::new();
    let mut creator = BTreeMap::new();
    for served in ingresses {
        for rule in &served.spec.rules {
            let Some(host) = rule.host.as_deref().filter(|h| !h.is_empty()) else {
                continue;
            };
            creator
                .entry(host.to_owned())
                .or_insert_with(|| served.object.key());
            let paths = rule.http.iter().flat_map(|h| h.paths.iter());
            let root = paths.into_iter().any(|p| {
                p.path.as_deref().unwrap_or("/") == "/"
                    && p.path_type != Some(IngressPathType::Exact)
            });
            if root {
                rooted.insert(host.to_owned());
            }
        }
    }
    ClassHosts {
        canaries,
        regex_hosts: regex_hosts(ingresses),
        tls,
        rooted,
        creator,
    }
}
