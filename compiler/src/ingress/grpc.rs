//! `backend-protocol: GRPC`: nginx passes every location of the Ingress to its backend with
//! `grpc_pass`, gRPC over HTTP/2 without TLS. Gateway API says that with a GRPCRoute, whose
//! backends gatewasm's clusters speak HTTP/2 to, so each route of such an Ingress becomes one:
//! a path `/` matches every call, `/<service>` (Prefix) the calls of a service and
//! `/<service>/<method>` (Exact) one method; header matches (canaries) and weights carry
//! over. What a GRPCRoute cannot do is warned about and left out: other paths, redirects
//! (a gRPC client does not follow them, so a host's HTTP-to-HTTPS twin is dropped), rewrites
//! and CORS.

use serde_json::{json, Map, Value};

use super::settings::{unread, value};
use crate::diag::Diagnostics;
use crate::model::Object;

/// Whether `object` asks for gRPC to its backends (`GRPCS` over TLS, [`super::upstream_tls`]).
pub fn wanted(object: &Object) -> bool {
    value(object, "backend-protocol")
        .is_some_and(|v| v.eq_ignore_ascii_case("GRPC") || v.eq_ignore_ascii_case("GRPCS"))
}

/// The GRPCRoute standing for the converted HTTPRoute `route` of a gRPC Ingress, with the
/// Ingress fields its rules stand for (`origins`, one per rule of `route`), or `None` when
/// none of its rules forwards a call. What is left out is warned about once.
pub fn route(
    object: &Object,
    route: Value,
    origins: &[String],
    diagnostics: &mut Diagnostics,
) -> Option<(Value, Vec<String>)> {
    let mut said = std::collections::BTreeSet::new();
    let mut kept = Vec::new();
    for (rule, origin) in route["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(origins)
    {
        if rule.get("backendRefs").is_none() {
            continue;
        }
        if let Some(r) = grpc_rule(rule, &mut |m| {
            said.insert(m);
        }) {
            kept.push((r, origin.clone()));
        }
    }
    for message in said {
        diagnostics.push(unread(object, "backend-protocol", message));
    }
    if kept.is_empty() {
        return None;
    }
    let (rules, origins): (Vec<Value>, Vec<String>) = kept.into_iter().unzip();
    let mut out = route;
    out["kind"] = json!("GRPCRoute");
    out["spec"]["rules"] = json!(rules);
    Some((out, origins))
}

fn grpc_rule(rule: &Value, warn: &mut impl FnMut(String)) -> Option<Value> {
    let matched = &rule["matches"][0];
    let path = matched["path"]["value"].as_str().unwrap_or("/");
    let kind = matched["path"]["type"].as_str().unwrap_or("PathPrefix");
    let method = match method(kind, path) {
        Ok(method) => method,
        Err(()) => {
            warn(format!("backend-protocol GRPC: the path {path} is not `/`, `/<service>` or `/<service>/<method>`, so no GRPCRoute can match it: it is left out"));
            return None;
        }
    };
    let mut m = Map::new();
    if let Some(method) = method {
        m.insert("method".into(), method);
    }
    if let Some(headers) = matched.get("headers") {
        m.insert("headers".into(), headers.clone());
    }
    let mut out = json!({"backendRefs": rule["backendRefs"]});
    if !m.is_empty() {
        out["matches"] = json!([Value::Object(m)]);
    }
    let (kept, dropped): (Vec<Value>, Vec<Value>) = rule["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .cloned()
        .partition(|f| {
            matches!(
                f["type"].as_str(),
                Some("RequestHeaderModifier" | "ResponseHeaderModifier" | "RequestMirror")
            )
        });
    for f in dropped {
        warn(format!(
            "backend-protocol GRPC: a GRPCRoute has no {} filter, so {path} is served without it",
            f["type"].as_str().unwrap_or("such")
        ));
    }
    if !kept.is_empty() {
        out["filters"] = json!(kept);
    }
    Some(out)
}

/// The method match of a path: `None` for every call.
fn method(kind: &str, path: &str) -> Result<Option<Value>, ()> {
    // In regex mode a path is `(?i)<path>.*`; only `/` carries over.
    let path = match kind {
        "RegularExpression" if path == "(?i)/.*" => "/",
        "RegularExpression" => return Err(()),
        _ => path,
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (kind, segments.as_slice()) {
        (_, [""]) if kind != "Exact" => Ok(None),
        ("PathPrefix", [service]) => Ok(Some(json!({"type": "Exact", "service": service}))),
        ("Exact", [service, method]) => Ok(Some(
            json!({"type": "Exact", "service": service, "method": method}),
        )),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_method_matches() {
        assert_eq!(method("PathPrefix", "/"), Ok(None));
        assert_eq!(method("RegularExpression", "(?i)/.*"), Ok(None));
        assert_eq!(
            method("PathPrefix", "/shop.Orders/"),
            Ok(Some(json!({"type": "Exact", "service": "shop.Orders"})))
        );
        assert_eq!(
            method("Exact", "/shop.Orders/Get"),
            Ok(Some(
                json!({"type": "Exact", "service": "shop.Orders", "method": "Get"})
            ))
        );
        assert_eq!(method("Exact", "/shop.Orders"), Err(()));
        assert_eq!(method("PathPrefix", "/a/b"), Err(()));
        assert_eq!(method("RegularExpression", "(?i)/v1.*"), Err(()));
    }
}
