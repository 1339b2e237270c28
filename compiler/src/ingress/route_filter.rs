//! Envoy Gateway HTTPRouteFilters, which carry what an annotation asks and Gateway API cannot
//! say (a regex rewrite, a Location as written), and the ExtensionRef filters that name them.

use serde_json::{json, Value};

use super::Served;

/// The HTTPRouteFilter `name` with `spec`, in the namespace of `served`, naming it as routes do.
pub fn manifest(served: &Served<'_>, name: &str, spec: Value) -> Value {
    let meta = &served.object.meta;
    json!({
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "HTTPRouteFilter",
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
