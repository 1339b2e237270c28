//! Validated HTTPRouteFilter: the regular-expression path rewrite or the redirect an
//! `ExtensionRef` brings into a rule. Only `urlRewrite.path` and a `directResponse` that
//! redirects are compiled; validation refuses everything else.

/// A validated HTTPRouteFilter spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRouteFilter {
    /// `urlRewrite.path.replaceRegexMatch`.
    pub path: Option<RegexRewrite>,
    /// A `directResponse` with a 3xx status and a Location header.
    pub redirect: Option<LocationRedirect>,
}

/// A redirect to a Location as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationRedirect {
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
    /// The Location header's value.
    pub location: String,
}

/// Every match of `pattern` in the path is replaced by `substitution`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexRewrite {
    /// The expression; it compiles and fits the program size limit.
    pub pattern: String,
    /// Its group references name groups the expression has.
    pub substitution: String,
}
