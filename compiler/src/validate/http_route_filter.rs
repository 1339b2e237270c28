//! HTTPRouteFilter: the CRD rules of Envoy Gateway v1.9's `urlRewrite.path`, the regex and
//! its substitution checked as Envoy checks them, and an error for every field gatewasm
//! cannot honour, so nothing is silently dropped.

use gatewasm_filter::blob::substitution_error;

use super::Ctx;
use crate::model::HttpRouteFilterSpec;
use crate::quote::{code, quote};
use crate::valid::{HttpRouteFilter, RegexRewrite};

/// Validates an HTTPRouteFilter.
pub(super) fn http_route_filter(ctx: &mut Ctx, spec: &HttpRouteFilterSpec) -> HttpRouteFilter {
    let rewrite = spec.url_rewrite.as_ref();
    let others = spec.other.keys().map(|k| format!("spec.{k}"));
    let rewrite_others = rewrite
        .into_iter()
        .flat_map(|r| r.other.keys().map(|k| format!("spec.urlRewrite.{k}")));
    for field in others.chain(rewrite_others) {
        let name = field.rsplit('.').next().unwrap_or_default().to_owned();
        ctx.error_help(
            &field,
            format!(
                "{} is not compiled: gatewasm only compiles `urlRewrite.path` from an HTTPRouteFilter",
                code(&name)
            ),
            "remove it, or keep this filter for routes Envoy Gateway serves",
        );
    }
    let Some(path) = rewrite.and_then(|r| r.path.as_ref()) else {
        return HttpRouteFilter::default();
    };
    let at = "spec.urlRewrite.path";
    if path.r#type != "ReplaceRegexMatch" {
        ctx.error(
            &format!("{at}.type"),
            format!(
                "unsupported value {}: supported value is \"ReplaceRegexMatch\"",
                quote(&path.r#type)
            ),
        );
        return HttpRouteFilter::default();
    }
    let Some(m) = &path.replace_regex_match else {
        ctx.error(
            at,
            "If HTTPPathModifier type is ReplaceRegexMatch, replaceRegexMatch field needs to be set.",
        );
        return HttpRouteFilter::default();
    };
    let pattern_at = format!("{at}.replaceRegexMatch.pattern");
    if m.pattern.is_empty() {
        ctx.error(&pattern_at, "must be at least 1 character long");
        return HttpRouteFilter::default();
    }
    let errors = ctx.diagnostics.error_count();
    ctx.regex(&pattern_at, &m.pattern);
    if ctx.diagnostics.error_count() > errors {
        return HttpRouteFilter::default();
    }
    let groups = regex_lite::Regex::new(&m.pattern).map_or(1, |r| r.captures_len());
    if let Some(problem) = substitution_error(&m.substitution, groups) {
        ctx.error(
            &format!("{at}.replaceRegexMatch.substitution"),
            format!("substitution {} {problem}", quote(&m.substitution)),
        );
        return HttpRouteFilter::default();
    }
    HttpRouteFilter {
        path: Some(RegexRewrite {
            pattern: m.pattern.clone(),
            substitution: m.substitution.clone(),
        }),
    }
}
