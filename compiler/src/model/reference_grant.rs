//! ReferenceGrant as written (`apis/v1beta1/referencegrant_types.go`, also served as v1).
//! A grant lives in the namespace of the objects it exposes (`to`) and names who may refer to
//! them (`from`).

use serde::Deserialize;

use super::meta::nullable;

/// `spec` of a ReferenceGrant.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReferenceGrantSpec {
    /// Who may refer (1–16 entries, OR'ed).
    #[serde(default, deserialize_with = "nullable")]
    pub from: Vec<ReferenceGrantFrom>,
    /// What may be referred to in this namespace (1–16 entries, OR'ed).
    #[serde(default, deserialize_with = "nullable")]
    pub to: Vec<ReferenceGrantTo>,
}

/// `from[]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReferenceGrantFrom {
    /// API group of the referring kind (`gateway.networking.k8s.io` for routes).
    pub group: String,
    /// Referring kind, such as `HTTPRoute`.
    pub kind: String,
    /// Namespace of the referring objects.
    pub namespace: String,
}

/// `to[]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReferenceGrantTo {
    /// API group of the target kind (`""` for Services).
    pub group: String,
    /// Target kind, such as `Service`.
    pub kind: String,
    /// Target name; every object of the kind when absent.
    pub name: Option<String>,
}
