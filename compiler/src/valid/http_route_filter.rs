//! Validated HTTPRouteFilter: the regular-expression path rewrite an `ExtensionRef` brings
//! into a rule. Only `urlRewrite.path` is compiled; validation refuses everything else.

/// A validated HTTPRouteFilter spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRouteFilter {
    /// `urlRewrite.path.replaceRegexMatch`.
    pub path: Option<RegexRewrite>,
}

/// Every match of `pattern` in the path is replaced by `substitution`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexRewrite {
    /// The expression; it compiles and fits the program size limit.
    pub pattern: String,
    /// Its group references name groups the expression has.
    pub substitution: String,
}
