//! Envoy Gateway's SecurityPolicy as written (`api/v1alpha1/securitypolicy_types.go` and
//! `authorization_types.go`, v1.9). gatewasm compiles its `authorization` rules on client
//! addresses (`principal.clientCIDRs`); every other field is kept aside so validation can say
//! that it is not compiled instead of dropping it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::meta::nullable;
use super::{PolicyTargetReference, TargetSelector};

/// `spec` of a SecurityPolicy.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityPolicySpec {
    /// The deprecated single target.
    #[serde(default)]
    pub target_ref: Option<PolicyTargetReference>,
    /// Targets by name.
    #[serde(default, deserialize_with = "nullable")]
    pub target_refs: Vec<PolicyTargetReference>,
    /// Targets by label.
    #[serde(default, deserialize_with = "nullable")]
    pub target_selectors: Vec<TargetSelector>,
    /// Authorization rules.
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// Every other field (`cors`, `jwt`, `basicAuth`, `extAuth`, `oidc`, ...): not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `Authorization`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Authorization {
    /// Tried in order; the first that matches decides.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<AuthorizationRule>,
    /// `Allow` or `Deny` (default) for a request no rule matches.
    #[serde(default)]
    pub default_action: Option<String>,
}

/// `AuthorizationRule`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationRule {
    /// A name for the rule.
    #[serde(default)]
    pub name: Option<String>,
    /// `Allow` or `Deny`.
    pub action: String,
    /// Who the rule is about.
    pub principal: Principal,
    /// `operation` and anything else: not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `Principal`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// Client addresses, `10.0.0.0/8` or `2001:db8::/32`.
    #[serde(default, rename = "clientCIDRs", deserialize_with = "nullable")]
    pub client_cidrs: Vec<String>,
    /// `jwt`, `headers`, ...: not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}
