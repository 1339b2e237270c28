//! Routes whose hostnames take the request's host but that are not attached to the listener
//! that got it: the usual reason for a 404 the author did not expect.

use std::collections::HashSet;
use std::fmt::Write as _;

use gatewasm_filter::blob::{Listener, ListenerId, RouteKind, RouteTable};

use serde_json::{json, Value};

use crate::compile::Compiled;
use crate::resolve::hostnames;
use crate::status::{Condition, RouteParentStatus, RouteStatus};
use crate::warning::Warning;

/// A route that would take the host, and what each of its parentRefs came to.
pub(super) struct Unattached<'c> {
    route: &'c RouteStatus,
    /// `namespace/name` of the Gateway explained.
    gateway: String,
    /// The Gateway's listeners the route is attached to, as `name (port N)`.
    elsewhere: Vec<String>,
}

/// The routes of the input whose hostnames cover `host` (or that have none) and that are not
/// attached to `listener`.
pub(super) fn unattached<'c>(
    c: &'c Compiled,
    listener: Option<ListenerId>,
    host: &str,
) -> Vec<Unattached<'c>> {
    let t = &c.table;
    let on: Vec<_> = t.listeners.iter().map(|l| attached(t, l)).collect();
    let key = |r: &'c RouteStatus| (r.kind.as_str(), &r.namespace, &r.name);
    c.status
        .routes
        .iter()
        .filter(|&r| listener.is_none_or(|l| !on[l.index()].contains(&key(r))))
        .filter(|r| hostnames_of(c, r).is_some_and(|h| takes(h, host)))
        .map(|route| Unattached {
            route,
            gateway: t.gateway.clone(),
            elsewhere: t
                .listeners
                .iter()
                .zip(&on)
                .filter(|(_, routes)| routes.contains(&key(route)))
                .map(|(l, _)| format!("{} (port {})", l.name, l.port))
                .collect(),
        })
        .collect()
}

/// `(kind, namespace, name)` of every route with a match on listener `l`.
fn attached<'t>(t: &'t RouteTable, l: &'t Listener) -> HashSet<(&'t str, &'t String, &'t String)> {
    l.host_groups
        .iter()
        .flat_map(|&g| &t.host_groups[g].matches)
        .map(|&m| &t.routes[t.rules[t.matches[m].rule].route])
        .map(|r| {
            let kind = match r.kind {
                RouteKind::Http => "HTTPRoute",
                RouteKind::Grpc => "GRPCRoute",
            };
            (kind, &r.namespace, &r.name)
        })
        .collect()
}

fn hostnames_of<'c>(c: &'c Compiled, r: &RouteStatus) -> Option<&'c [String]> {
    let v = &c.validated;
    let same = |ns: &str, name: &str| ns == r.namespace && name == r.name;
    match r.kind.as_str() {
        "HTTPRoute" => v
            .http_routes
            .iter()
            .find(|x| same(&x.meta.namespace, &x.meta.name))
            .map(|x| x.spec.hostnames.as_slice()),
        "GRPCRoute" => v
            .grpc_routes
            .iter()
            .find(|x| same(&x.meta.namespace, &x.meta.name))
            .map(|x| x.spec.hostnames.as_slice()),
        _ => None,
    }
}

fn takes(hostnames: &[String], host: &str) -> bool {
    hostnames.is_empty()
        || hostnames
            .iter()
            .any(|h| hostnames::pattern(h).matches(host))
}

/// The `not attached:` lines: each route, and why each parentRef did not bring it here.
pub(super) fn tell_unattached(routes: &[Unattached<'_>], host: &str, out: &mut String) {
    if routes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "not attached here, though their hostnames take {host}:"
    );
    for u in routes {
        let r = u.route;
        let _ = writeln!(
            out,
            "  - {} {}/{} at {}",
            r.kind, r.namespace, r.name, r.source
        );
        if r.parents.is_empty() {
            let _ = writeln!(out, "      it has no parentRef");
        }
        for p in &r.parents {
            let _ = writeln!(out, "      {}", parent(p, u));
        }
    }
}

/// The unattached routes as data: each with its status (every parentRef's conditions) and
/// what each parentRef came to.
pub(super) fn unattached_data(routes: &[Unattached<'_>]) -> Vec<Value> {
    routes
        .iter()
        .map(|u| {
            let parents: Vec<String> = u.route.parents.iter().map(|p| parent(p, u)).collect();
            json!({"route": u.route, "parents": parents})
        })
        .collect()
}

/// What one parentRef came to: the condition that refused it, or where it did attach.
fn parent(p: &RouteParentStatus, u: &Unattached<'_>) -> String {
    let r = &p.parent_ref;
    let mut named = format!("parentRef {} {}/{}", r.kind, r.namespace, r.name);
    if let Some(s) = &r.section_name {
        let _ = write!(named, " sectionName {s}");
    }
    if let Some(port) = r.port {
        let _ = write!(named, " port {port}");
    }
    match p.conditions.iter().find(|c| !c.is_true()) {
        Some(refused) => format!("{named}: {}", condition(refused)),
        None if format!("{}/{}", r.namespace, r.name) != u.gateway => format!(
            "{named}: accepted there, and that is not the Gateway explained ({})",
            u.gateway
        ),
        None if u.elsewhere.is_empty() => {
            format!("{named}: accepted, on another listener than this request's")
        }
        None => format!(
            "{named}: attached to listener {}, not to this request's",
            u.elsewhere.join(", ")
        ),
    }
}

fn condition(c: &Condition) -> String {
    let code = Warning::parse(&c.reason)
        .map(|w| format!(" ({})", w.code()))
        .unwrap_or_default();
    format!(
        "{} {}, reason {}{code}: {}",
        c.condition_type, c.status, c.reason, c.message
    )
}
