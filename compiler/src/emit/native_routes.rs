//! `--emit envoy-routes`: the compiled Gateway as Envoy's own route table, so Envoy's router
//! can be measured against the filter on the same routes (and compared with it case by case).
//!
//! The document is a list of `envoy.config.route.v3.RouteConfiguration`, one per Gateway
//! port, named `gatewasm-native-<port>`. It is built from the lowered table, not from the
//! manifests, so it routes by the precedence the engine uses, and it names the backend
//! clusters exactly as the `--emit configmap` CDS file does.
//!
//! Envoy picks one virtual host by the most specific domain and never falls back to another,
//! while the engine picks the most specific listener hostname and then walks that listener's
//! host groups, falling through to less specific ones. So each domain gets a virtual host
//! whose routes are, in order, the matches of every host group of the listener the engine
//! would choose that covers the domain; every listener hostname is a domain too, so a host
//! the chosen listener serves nothing for still finds that listener (and a 404) rather than a
//! broader listener's routes.
//!
//! What Envoy's route table cannot say is not dropped silently: the route is emitted as
//! close as it can be and a warning, written as a comment above the list, names the rule and
//! the feature (see [`native_route`](super::native_route)). Also not expressed: an HTTPS
//! request whose Host belongs to another listener than its SNI is routed by its Host instead
//! of answered 421. The HTTP connection manager must strip the Host's port
//! (`strip_any_host_port`), as the filter ignores it; [`nativize_bootstrap`] sets it.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::native_route::{self, Context};
use super::{bootstrap, layout, EmitOptions};
use crate::compile::Compiled;
use gatewasm_filter::blob::{HostPattern, Listener};
use gatewasm_filter::engine::best_listener;

/// The route tables and what they could not express.
pub struct NativeRoutes {
    /// One RouteConfiguration per Gateway port, ascending.
    pub route_configs: Vec<Value>,
    /// One line per rule and feature left out or approximated.
    pub warnings: Vec<String>,
}

/// The name of the route table of Gateway port `port`.
pub fn route_config_name(port: u16) -> String {
    format!("gatewasm-native-{port}")
}

/// The route tables of the compiled Gateway as a JSON list of RouteConfiguration.
///
/// # Errors
/// A redirect status Envoy has no code for (validation allows none).
pub fn native_routes(compiled: &Compiled) -> Result<Value, String> {
    Ok(Value::Array(translate(compiled)?.route_configs))
}

/// The route tables with their warnings.
///
/// # Errors
/// As [`native_routes`].
pub fn translate(compiled: &Compiled) -> Result<NativeRoutes, String> {
    let table = &compiled.table;
    let mut ports: Vec<u16> = table.listeners.iter().map(|l| l.port).collect();
    ports.sort_unstable();
    ports.dedup();
    let mut warnings = Warnings::default();
    if !table.rate_limits.policies.is_empty() {
        warnings.push(format!(
            "{} rate limit policies: not in the route table (Envoy's rate limit filters would \
             need their own configuration); every request is admitted",
            table.rate_limits.policies.len()
        ));
    }
    let route_configs = ports
        .into_iter()
        .map(|port| route_config(compiled, port, &mut warnings))
        .collect::<Result<_, _>>()?;
    Ok(NativeRoutes {
        route_configs,
        warnings: warnings.lines,
    })
}

/// `--emit envoy-routes`: the list as YAML, its warnings as comments above it.
///
/// # Errors
/// As [`native_routes`], or the YAML cannot be rendered.
pub fn document(compiled: &Compiled) -> Result<String, String> {
    let native = translate(compiled)?;
    let mut out = String::new();
    for w in &native.warnings {
        out.push_str(&format!("# warning: {w}\n"));
    }
    out.push_str(&super::yaml(&Value::Array(native.route_configs))?);
    Ok(out)
}

/// The `--emit envoy` bootstrap routing with Envoy's own router: see [`nativize_bootstrap`].
/// The backend clusters still come by CDS from the routes ConfigMap's `clusters.yaml`.
///
/// # Errors
/// As [`native_routes`] and the bootstrap.
pub fn native_bootstrap(compiled: &Compiled, options: &EmitOptions) -> Result<Value, String> {
    let mut doc = bootstrap::bootstrap(compiled, options)?;
    nativize_bootstrap(&mut doc, &native_routes(compiled)?)?;
    Ok(doc)
}

/// Changes an `--emit envoy` bootstrap (as emitted, or relocated by a test) to route with
/// `route_configs` ([`native_routes`]): each Gateway listener `gateway-<port>` loses the
/// gatewasm filter and gets the route table of its port, with the Host's port stripped before
/// routing; the readiness listener, which asked the filter, answers 200 (Envoy's static routes
/// are there from the start).
///
/// # Errors
/// A Gateway listener with no route table of its port, or a bootstrap without the emitted
/// shape.
pub fn nativize_bootstrap(bootstrap: &mut Value, route_configs: &Value) -> Result<(), String> {
    let listeners = bootstrap
        .pointer_mut("/static_resources/listeners")
        .and_then(Value::as_array_mut)
        .ok_or("the bootstrap has no listeners")?;
    for listener in listeners {
        let name = listener["name"].as_str().unwrap_or_default().to_owned();
        let routes = if name == layout::READY_LISTENER {
            ready_routes()
        } else if let Some(port) = name.strip_prefix("gateway-") {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("listener {name} does not name a port"))?;
            let wanted = route_config_name(port);
            route_configs
                .as_array()
                .and_then(|all| all.iter().find(|r| r["name"] == wanted.as_str()))
                .cloned()
                .ok_or_else(|| format!("no route table {wanted} for listener {name}"))?
        } else {
            continue;
        };
        let chains = listener["filter_chains"]
            .as_array_mut()
            .ok_or_else(|| format!("listener {name} has no filter chains"))?;
        for chain in chains {
            let hcm = &mut chain["filters"][0]["typed_config"];
            if let Some(fields) = hcm.as_object_mut() {
                fields.remove("rds");
            }
            hcm["route_config"] = routes.clone();
            hcm["strip_any_host_port"] = json!(true);
            if let Some(filters) = hcm["http_filters"].as_array_mut() {
                filters.retain(|f| f["name"] != layout::FILTER_NAME);
            }
        }
    }
    Ok(())
}

fn ready_routes() -> Value {
    json!({"virtual_hosts": [{
        "name": "ready",
        "domains": ["*"],
        "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}],
    }]})
}

/// Warnings, each once, in the order found.
#[derive(Default)]
pub(super) struct Warnings {
    seen: HashSet<String>,
    lines: Vec<String>,
}

impl Warnings {
    pub(super) fn push(&mut self, line: String) {
        if self.seen.insert(line.clone()) {
            self.lines.push(line);
        }
    }
}

/// The route table of one Gateway port.
fn route_config(compiled: &Compiled, port: u16, warnings: &mut Warnings) -> Result<Value, String> {
    let table = &compiled.table;
    let on_port: Vec<&Listener> = table.listeners.iter().filter(|l| l.port == port).collect();
    let mut domains: Vec<Option<HostPattern>> = Vec::new();
    for l in &on_port {
        let groups = l
            .host_groups
            .iter()
            .map(|&g| table.host_groups[g].host.clone());
        for d in std::iter::once(l.hostname.clone()).chain(groups) {
            if !domains.contains(&d) {
                domains.push(d);
            }
        }
    }
    let cx = Context {
        table,
        port,
        tls: on_port.iter().any(|l| l.tls),
    };
    let mut virtual_hosts = Vec::new();
    for domain in &domains {
        let probe = representative(domain.as_ref());
        // The listener the engine picks for every host of the domain (see the module doc).
        let Some(owner) = best_listener(&table.listeners, port, &probe) else {
            continue;
        };
        let mut routes = Vec::new();
        for &g in &table.listeners[owner.index()].host_groups {
            let group = &table.host_groups[g];
            if group.host.as_ref().is_none_or(|h| h.matches(&probe)) {
                for &m in &group.matches {
                    let mut route = native_route::route(&cx, m, warnings)?;
                    // A rule's idle timeout is its listener's: the owner's serves the host.
                    let idle = table.idle.governing(owner, table.matches[m].rule);
                    if let (Some(ms), Some(action)) = (idle, route.get_mut("route")) {
                        action["idle_timeout"] = json!(super::duration(ms));
                    }
                    routes.push(route);
                }
            }
        }
        let name = domain_name(domain.as_ref());
        virtual_hosts.push(json!({"name": name, "domains": [name], "routes": routes}));
    }
    Ok(json!({
        "name": route_config_name(port),
        "virtual_hosts": virtual_hosts,
        // The clusters arrive by CDS after the listeners; an unknown cluster must not refuse
        // the table (an invalid backendRef names none on purpose, see native_route).
        "validate_clusters": false,
        // A backendRef's header edits run after its rule's, as the engine applies them.
        "most_specific_header_mutations_wins": true,
    }))
}

/// A host that every pattern covering `domain` matches and no other does: the name itself,
/// `*` in place of a wildcard's labels (no listener hostname holds a `*` there), or the empty
/// host for `*`, which only a hostname-less listener or host group takes.
fn representative(domain: Option<&HostPattern>) -> String {
    match domain {
        Some(HostPattern::Exact(name)) => name.clone(),
        Some(HostPattern::Wildcard(suffix)) => format!("*{suffix}"),
        None => String::new(),
    }
}

/// The domain as Envoy writes it: the representative, and `*` for every host.
fn domain_name(domain: Option<&HostPattern>) -> String {
    match domain {
        Some(_) => representative(domain),
        None => "*".to_owned(),
    }
}

#[cfg(test)]
#[path = "native_routes_tests.rs"]
mod tests;
