//! `backend-protocol: HTTPS` and `GRPCS`: nginx speaks TLS to the backend and, by default
//! (`proxy-ssl-verify` off), does not verify its certificate. A BackendTLSPolicy always
//! verifies, so the conversion says it with Envoy Gateway Backends instead: one per Service
//! port the Ingress forwards to, at the Service's DNS name, with `insecureSkipVerify`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::settings::value;
use super::{at, Origin, Served};
use crate::diag::{Diagnostics, Severity};
use crate::source::join_key;

/// Whether `object` asks for TLS to its backends.
pub fn wanted(object: &crate::model::Object) -> bool {
    value(object, "backend-protocol")
        .is_some_and(|v| v.eq_ignore_ascii_case("HTTPS") || v.eq_ignore_ascii_case("GRPCS"))
}

/// Points every Service backendRef of `routes` at a Backend that speaks TLS to that Service
/// port, and returns those Backends (once each) with a note that nothing is verified.
pub fn reroute(
    served: &Served<'_>,
    routes: &mut [(Value, Origin)],
    diagnostics: &mut Diagnostics,
) -> Vec<Value> {
    let ns = &served.object.meta.namespace;
    let mut backends: BTreeMap<String, Value> = BTreeMap::new();
    let refs = routes
        .iter_mut()
        .flat_map(|(r, _)| r["spec"]["rules"].as_array_mut().into_iter().flatten())
        .flat_map(|rule| rule["backendRefs"].as_array_mut().into_iter().flatten());
    for backend_ref in refs {
        let (Some(service), Some(port)) = (
            backend_ref["name"].as_str().map(str::to_owned),
            backend_ref["port"].as_u64(),
        ) else {
            continue;
        };
        let name = format!("{service}-{port}-tls");
        backend_ref["group"] = json!("gateway.envoyproxy.io");
        backend_ref["kind"] = json!("Backend");
        backend_ref["name"] = json!(name);
        backends.entry(name.clone()).or_insert_with(|| {
            let spec = json!({
                "endpoints": [{"fqdn": {"hostname": format!("{service}.{ns}.svc.cluster.local"), "port": port}}],
                "tls": {"insecureSkipVerify": true},
            });
            super::envoy_gateway::object(served, "Backend", &name, spec)
        });
    }
    if !backends.is_empty() {
        let field = join_key(
            "metadata.annotations",
            &format!("{}backend-protocol", super::annotations::PREFIX),
        );
        diagnostics.push(at(
            served.object,
            Severity::Note,
            &field,
            "TLS to the backends does not verify their certificates, as ingress-nginx does by default (proxy-ssl-verify off); to verify them, point the routes at the Services and add a BackendTLSPolicy",
        ));
    }
    backends.into_values().collect()
}
