//! HTTPRouteFilter: the CRD rules of Envoy Gateway v1.9's `urlRewrite.path`, the regex and
//! its substitution checked as Envoy checks them; a `directResponse` compiled when it is a
//! redirect (a 3xx status and a Location, nothing else); and an error for every field
//! gatewasm cannot honour, so nothing is silently dropped.

use gatewasm_filter::blob::substitution_error;

use super::Ctx;
use crate::model::{EgDirectResponse, EgPathModifier, HttpRouteFilterSpec};
use crate::quote::{code, quote};
use crate::valid::{HttpRouteFilter, LocationRedirect, RegexRewrite};

/// Validates an HTTPRouteFilter.
pub(super) fn http_route_filter(ctx: &mut Ctx, spec: &HttpRouteFilterSpec) -> HttpRouteFilter {
    let rewrite = spec.url_rewrite.as_ref();
    let others = spec.other.keys().map(|k| format!("spec.{k}"));
    let rewrite_others = rewrite
        .into_iter()
        .flat_map(|r| r.other.keys().map(|k| format!("spec.urlRewrite.{k}")));
    for field in others.chain(rewrite_others) {
        ctx.not_compiled(
            &field,
            "gatewasm only compiles `urlRewrite.path` and a `directResponse` that redirects from an HTTPRouteFilter",
            "remove it, or keep this filter for routes Envoy Gateway serves",
        );
    }
    if rewrite.is_some() && spec.direct_response.is_some() {
        ctx.error(
            "spec",
            "an HTTPRouteFilter has at most one of urlRewrite and directResponse",
        );
        return HttpRouteFilter::default();
    }
    HttpRouteFilter {
        path: rewrite
            .and_then(|r| r.path.as_ref())
            .and_then(|p| path(ctx, p)),
        redirect: spec.direct_response.as_ref().and_then(|d| redirect(ctx, d)),
    }
}

/// A `directResponse` as the redirect it must be for gatewasm to compile it.
fn redirect(ctx: &mut Ctx, d: &EgDirectResponse) -> Option<LocationRedirect> {
    let at = "spec.directResponse";
    let help = "gatewasm compiles a directResponse only as a redirect: statusCode 301, 302, 303, 307 or 308 and one header.set entry, Location";
    let status = d.status_code.unwrap_or(200);
    let status = match u16::try_from(status) {
        Ok(s @ (301 | 302 | 303 | 307 | 308)) => s,
        _ => {
            ctx.error_help(
                &format!("{at}.statusCode"),
                format!("status {status} is not compiled"),
                help,
            );
            return None;
        }
    };
    for (field, set) in [
        ("contentType", d.content_type.is_some()),
        ("body", d.body.is_some()),
    ] {
        if set {
            ctx.error_help(
                &format!("{at}.{field}"),
                format!(
                    "{} is not compiled: gatewasm's redirects carry no body",
                    code(field)
                ),
                help,
            );
        }
    }
    let header = d.header.clone().unwrap_or_default();
    if !header.remove.is_empty() {
        ctx.error(
            &format!("{at}.header"),
            "header.remove is not supported for DirectResponse",
        );
    }
    let location = match (header.set.as_slice(), header.add.is_empty()) {
        ([only], true) if only.name.eq_ignore_ascii_case("location") => only.value.clone(),
        _ => {
            ctx.error_help(
                &format!("{at}.header"),
                "the headers are not compiled unless they are exactly one `set` entry, Location",
                help,
            );
            return None;
        }
    };
    if location.is_empty() || location.len() > 4096 || location.chars().any(char::is_control) {
        ctx.error(
            &format!("{at}.header.set[0].value"),
            format!(
                "Location {} must be 1 to 4096 characters without control characters",
                quote(&location)
            ),
        );
        return None;
    }
    Some(LocationRedirect { status, location })
}

/// A `urlRewrite.path`, checked.
fn path(ctx: &mut Ctx, path: &EgPathModifier) -> Option<RegexRewrite> {
    let at = "spec.urlRewrite.path";
    if path.r#type != "ReplaceRegexMatch" {
        ctx.error(
            &format!("{at}.type"),
            format!(
                "unsupported value {}: supported value is \"ReplaceRegexMatch\"",
                quote(&path.r#type)
            ),
        );
        return None;
    }
    let Some(m) = &path.replace_regex_match else {
        ctx.error(
            at,
            "If HTTPPathModifier type is ReplaceRegexMatch, replaceRegexMatch field needs to be set.",
        );
        return None;
    };
    let pattern_at = format!("{at}.replaceRegexMatch.pattern");
    if m.pattern.is_empty() {
        ctx.error(&pattern_at, "must be at least 1 character long");
        return None;
    }
    let errors = ctx.diagnostics.error_count();
    ctx.regex(&pattern_at, &m.pattern);
    if ctx.diagnostics.error_count() > errors {
        return None;
    }
    let groups = regex_lite::Regex::new(&m.pattern).map_or(1, |r| r.captures_len());
    if let Some(problem) = substitution_error(&m.substitution, groups) {
        ctx.error(
            &format!("{at}.replaceRegexMatch.substitution"),
            format!("substitution {} {problem}", quote(&m.substitution)),
        );
        return None;
    }
    Some(RegexRewrite {
        pattern: m.pattern.clone(),
        substitution: m.substitution.clone(),
    })
}
