//! Envoy Gateway's HTTPRouteFilter as written (`api/v1alpha1/httproutefilter_types.go`,
//! v1.9), the object an HTTPRoute's `ExtensionRef` filter names for what Gateway API cannot
//! say. gatewasm compiles its `urlRewrite.path` (a regular-expression rewrite) and a
//! `directResponse` that redirects; every other field is kept aside in
//! [`HttpRouteFilterSpec::other`] so validation can say that it is not compiled instead of
//! dropping it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::HeaderModifier;

/// `spec` of an HTTPRouteFilter.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteFilterSpec {
    /// Path and hostname rewrites.
    #[serde(default)]
    pub url_rewrite: Option<EgUrlRewrite>,
    /// A response the proxy sends itself.
    #[serde(default)]
    pub direct_response: Option<EgDirectResponse>,
    /// Every other field (`credentialInjection`, `requestMirror`, `matches`): not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `HTTPURLRewriteFilter`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EgUrlRewrite {
    /// A path rewrite.
    #[serde(default)]
    pub path: Option<EgPathModifier>,
    /// `hostname`, `appendXForwardedHost`: not compiled.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `HTTPPathModifier`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgPathModifier {
    /// `ReplaceRegexMatch`, the only type.
    pub r#type: String,
    /// Required with that type.
    #[serde(default)]
    pub replace_regex_match: Option<ReplaceRegexMatch>,
}

/// `ReplaceRegexMatch`: every match of `pattern` in the path is replaced by `substitution`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplaceRegexMatch {
    /// An RE2 expression, searched for anywhere in the path.
    pub pattern: String,
    /// What replaces each match; `\1` names a capture group.
    pub substitution: String,
}

/// `HTTPDirectResponseFilter`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgDirectResponse {
    /// The Content-Type of the body.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The body (`CustomResponseBody`), untyped: gatewasm sends none.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// The status; default 200.
    #[serde(default)]
    pub status_code: Option<i32>,
    /// The response's headers (`remove` is refused by the CRD).
    #[serde(default)]
    pub header: Option<HeaderModifier>,
}
