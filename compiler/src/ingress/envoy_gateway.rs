//! The Envoy Gateway objects the conversion writes for what an annotation asks and Gateway
//! API cannot say (HTTPRouteFilters, SecurityPolicies, BackendTrafficPolicies, Backends),
//! named as the routes are, and the references that point at them.

use serde_json::{json, Value};

use super::Served;

/// The Envoy Gateway object `kind` `name` with `spec`, in the namespace of `served`, naming
/// its Ingress as the routes do.
pub fn object(served: &Served<'_>, kind: &str, name: &str, spec: Value) -> Value {
    let meta = &served.object.meta;
    json!({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": meta.namespace,
            "annotations": {super::routes::SOURCE_ANNOTATION: format!("{}/{}", meta.namespace, meta.name)},
        },
        "spec": spec,
    })
}

/// The ExtensionRef filter naming the HTTPRouteFilter `name`.
pub fn extension_ref(name: &str) -> Value {
    json!({"type": "ExtensionRef", "extensionRef": {
        "group": "gateway.envoyproxy.io",
        "kind": "HTTPRouteFilter",
        "name": name,
    }})
}

/// A policy's `targetRefs` for the routes `routes`, each `(kind, name)`.
pub fn target_refs(routes: &[(String, String)]) -> Value {
    routes
        .iter()
        .map(|(kind, name)| json!({"group": "gateway.networking.k8s.io", "kind": kind, "name": name}))
        .collect()
}
