//! HTTPRoute defaults and rules: the default rule and match, path values, filter types,
//! multiplicity and exclusivity, redirects, rewrites, CORS, timeouts and retries.

use super::route::{self, at_most_once, filter_fields};
use super::{syntax, Ctx};
use crate::model::{
    HttpPathModifier, HttpRequestRedirect, HttpRouteFilter, HttpRouteFilterType as T,
    HttpRouteMatch, HttpRouteRetry, HttpRouteRule, HttpRouteSpec, HttpRouteTimeouts, PathMatchType,
    PathModifierType,
};
use crate::quote::code;
use crate::valid::{
    Cors, HttpFilter, HttpMatch, HttpRoute, HttpRule, PathMatch, PathModifier, Redirect, Retry,
    Rewrite, Timeouts,
};

/// Filter types that may appear at most once per list.
const ONCE: [&str; 5] = [
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestRedirect",
    "URLRewrite",
    "CORS",
];

/// CORS `allowMethods` values.
const CORS_METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*",
];

/// Validates and defaults an HTTPRoute spec.
pub(super) fn http_route(ctx: &mut Ctx, spec: &HttpRouteSpec) -> HttpRoute {
    let parent_refs = route::parent_refs(ctx, &spec.parent_refs);
    let hostnames = route::hostnames(ctx, &spec.hostnames);
    let default_rules = [HttpRouteRule {
        name: None,
        matches: Vec::new(),
        filters: Vec::new(),
        backend_refs: Vec::new(),
        timeouts: None,
        retry: None,
        session_persistence: None,
    }];
    let raw_rules: &[HttpRouteRule] = match &spec.rules {
        None => &default_rules,
        Some(rules) => {
            if rules.is_empty() {
                ctx.error("spec.rules", "at least one rule is required");
            }
            ctx.at_most("spec.rules", rules.len(), 16, "rules");
            rules
        }
    };
    route::rule_names(ctx, raw_rules.iter().map(|r| r.name.as_ref()));
    route::match_counts(ctx, raw_rules.iter().map(|r| r.matches.len()));
    let rules = raw_rules
        .iter()
        .enumerate()
        .map(|(i, r)| rule(ctx, &format!("spec.rules[{i}]"), r))
        .collect();
    HttpRoute {
        parent_refs,
        hostnames,
        rules,
    }
}

fn rule(ctx: &mut Ctx, p: &str, r: &HttpRouteRule) -> HttpRule {
    let matches: Vec<HttpMatch> = if r.matches.is_empty() {
        vec![default_match()]
    } else {
        r.matches
            .iter()
            .enumerate()
            .map(|(i, m)| http_match(ctx, &format!("{p}.matches[{i}]"), m))
            .collect()
    };
    let rule_filters = filters(ctx, &format!("{p}.filters"), &r.filters);
    filter_rules(ctx, p, r, &matches);
    let backends = route::backend_refs(ctx, p, &r.backend_refs, filters);
    let timeouts = r
        .timeouts
        .as_ref()
        .map_or_else(Timeouts::default, |t| timeouts(ctx, p, t));
    let retry = r.retry.as_ref().map(|x| retry(ctx, p, x));
    if let Some(sp) = &r.session_persistence {
        route::session_persistence(ctx, &format!("{p}.sessionPersistence"), sp);
    }
    HttpRule {
        name: r.name.clone(),
        matches,
        filters: rule_filters,
        backends,
        timeouts,
        retry,
        session_persistence: r.session_persistence.clone(),
    }
}

/// The CEL rules on a rule's filters, evaluated after defaulting (so an omitted match
/// counts as one PathPrefix match).
fn filter_rules(ctx: &mut Ctx, p: &str, r: &HttpRouteRule, matches: &[HttpMatch]) {
    for (i, f) in r.filters.iter().enumerate() {
        let fp = format!("{p}.filters[{i}]");
        if f.r#type == T::RequestRedirect && !r.backend_refs.is_empty() {
            ctx.error_help(
                &fp,
                "a RequestRedirect filter cannot be used together with backendRefs",
                "remove the backendRefs, or move the redirect into a backendRef's filters",
            );
        }
        let modifier = match f.r#type {
            T::RequestRedirect => f.request_redirect.as_ref().and_then(|x| x.path.as_ref()),
            T::UrlRewrite => f.url_rewrite.as_ref().and_then(|x| x.path.as_ref()),
            _ => None,
        };
        let single_prefix = matches!(matches, [m] if matches!(m.path, PathMatch::PathPrefix(_)));
        if modifier.is_some_and(|m| m.r#type == PathModifierType::ReplacePrefixMatch)
            && !single_prefix
        {
            let field = if f.r#type == T::RequestRedirect {
                "requestRedirect"
            } else {
                "urlRewrite"
            };
            ctx.error_help(
                &format!("{fp}.{field}.path.type"),
                "ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix",
                format!("this rule has {} matches", matches.len()),
            );
        }
    }
}

/// `timeouts`: a backend request may not outlast the request.
fn timeouts(ctx: &mut Ctx, p: &str, t: &HttpRouteTimeouts) -> Timeouts {
    let tp = format!("{p}.timeouts");
    let request = t
        .request
        .as_ref()
        .map(|d| ctx.duration(&format!("{tp}.request"), d));
    let backend_request = t
        .backend_request
        .as_ref()
        .map(|d| ctx.duration(&format!("{tp}.backendRequest"), d));
    if let (Some(req), Some(backend)) = (request, backend_request) {
        if !req.is_zero() && backend > req {
            ctx.error(
                &format!("{tp}.backendRequest"),
                "backendRequest must not be longer than request",
            );
        }
    }
    Timeouts {
        request,
        backend_request,
    }
}

/// `retry`: codes are HTTP errors, attempts at least one.
fn retry(ctx: &mut Ctx, p: &str, retry: &HttpRouteRetry) -> Retry {
    let rp = format!("{p}.retry");
    let codes = retry
        .codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            if !(400..=599).contains(code) {
                ctx.error(
                    &format!("{rp}.codes[{i}]"),
                    format!("retry codes must be between 400 and 599, not {code}"),
                );
            }
            u16::try_from(*code).unwrap_or(0)
        })
        .collect();
    if let Some(attempts) = retry.attempts.filter(|a| *a < 1) {
        ctx.error(
            &format!("{rp}.attempts"),
            format!("attempts must be at least 1, not {attempts}"),
        );
    }
    Retry {
        codes,
        attempts: retry.attempts.and_then(|a| u32::try_from(a).ok()),
        backoff: retry
            .backoff
            .as_ref()
            .map(|d| ctx.duration(&format!("{rp}.backoff"), d)),
    }
}

fn default_match() -> HttpMatch {
    HttpMatch {
        path: PathMatch::PathPrefix("/".to_string()),
        headers: Vec::new(),
        query_params: Vec::new(),
        method: None,
    }
}

fn http_match(ctx: &mut Ctx, p: &str, m: &HttpRouteMatch) -> HttpMatch {
    let path = match &m.path {
        None => PathMatch::PathPrefix("/".to_string()),
        Some(path) => {
            let value = path.value.clone().unwrap_or_else(|| "/".to_string());
            let vp = format!("{p}.path.value");
            match path.r#type.unwrap_or(PathMatchType::PathPrefix) {
                PathMatchType::Exact => {
                    ctx.check(&vp, syntax::path(&value));
                    PathMatch::Exact(value)
                }
                PathMatchType::PathPrefix => {
                    ctx.check(&vp, syntax::path(&value));
                    PathMatch::PathPrefix(value)
                }
                PathMatchType::RegularExpression => {
                    ctx.check(&vp, syntax::value(&value, 0, 1024));
                    ctx.regex(&vp, &value);
                    PathMatch::RegularExpression(value)
                }
            }
        }
    };
    HttpMatch {
        path,
        headers: route::header_matches(ctx, &format!("{p}.headers"), &m.headers, 4096, "headers"),
        query_params: route::header_matches(
            ctx,
            &format!("{p}.queryParams"),
            &m.query_params,
            1024,
            "query parameters",
        ),
        method: m.method,
    }
}

/// A filter list (of a rule or a backendRef) at `path`.
fn filters(ctx: &mut Ctx, path: &str, list: &[HttpRouteFilter]) -> Vec<HttpFilter> {
    ctx.at_most(path, list.len(), 16, "filters");
    at_most_once(ctx, path, list.iter().map(|f| f.r#type.as_str()), &ONCE);
    let redirect = list.iter().position(|f| f.r#type == T::RequestRedirect);
    let rewrite = list.iter().position(|f| f.r#type == T::UrlRewrite);
    if let (Some(redirect), Some(rewrite)) = (redirect, rewrite) {
        ctx.error_help(
            &format!("{path}[{}]", redirect.max(rewrite)),
            "RequestRedirect and URLRewrite filters cannot be used together",
            format!("{path}[{}] is the other one", redirect.min(rewrite)),
        );
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, f)| filter(ctx, &format!("{path}[{i}]"), f))
        .collect()
}

fn filter(ctx: &mut Ctx, p: &str, f: &HttpRouteFilter) -> Option<HttpFilter> {
    let wanted = match f.r#type {
        T::RequestHeaderModifier => "requestHeaderModifier",
        T::ResponseHeaderModifier => "responseHeaderModifier",
        T::RequestMirror => "requestMirror",
        T::RequestRedirect => "requestRedirect",
        T::UrlRewrite => "urlRewrite",
        T::Cors => "cors",
        T::ExternalAuth => "externalAuth",
        T::ExtensionRef => "extensionRef",
    };
    let present = [
        ("requestHeaderModifier", f.request_header_modifier.is_some()),
        (
            "responseHeaderModifier",
            f.response_header_modifier.is_some(),
        ),
        ("requestMirror", f.request_mirror.is_some()),
        ("requestRedirect", f.request_redirect.is_some()),
        ("urlRewrite", f.url_rewrite.is_some()),
        ("cors", f.cors.is_some()),
        ("externalAuth", f.external_auth.is_some()),
        ("extensionRef", f.extension_ref.is_some()),
    ];
    if !filter_fields(ctx, p, f.r#type.as_str(), wanted, &present) {
        return None;
    }
    let fp = format!("{p}.{wanted}");
    Some(match f.r#type {
        T::RequestHeaderModifier => HttpFilter::RequestHeaderModifier(route::header_modifier(
            ctx,
            &fp,
            f.request_header_modifier.as_ref()?,
        )),
        T::ResponseHeaderModifier => HttpFilter::ResponseHeaderModifier(route::header_modifier(
            ctx,
            &fp,
            f.response_header_modifier.as_ref()?,
        )),
        T::RequestMirror => {
            HttpFilter::RequestMirror(route::mirror(ctx, &fp, f.request_mirror.as_ref()?))
        }
        T::RequestRedirect => {
            HttpFilter::RequestRedirect(redirect(ctx, &fp, f.request_redirect.as_ref()?))
        }
        T::UrlRewrite => {
            let r = f.url_rewrite.as_ref()?;
            if let Some(h) = &r.hostname {
                ctx.check(&format!("{fp}.hostname"), syntax::precise_hostname(h));
            }
            HttpFilter::UrlRewrite(Rewrite {
                hostname: r.hostname.clone(),
                path: r
                    .path
                    .as_ref()
                    .map(|m| path_modifier(ctx, &format!("{fp}.path"), m)),
            })
        }
        T::Cors => HttpFilter::Cors(cors(ctx, &fp, f.cors.as_ref()?)),
        T::ExternalAuth => HttpFilter::ExternalAuth(f.external_auth.clone()?),
        T::ExtensionRef => {
            HttpFilter::ExtensionRef(route::extension_ref(ctx, &fp, f.extension_ref.as_ref()?))
        }
    })
}

/// A `requestRedirect`; the status code defaults to 302.
fn redirect(ctx: &mut Ctx, fp: &str, r: &HttpRequestRedirect) -> Redirect {
    if let Some(h) = &r.hostname {
        ctx.check(&format!("{fp}.hostname"), syntax::precise_hostname(h));
    }
    let status_code = r.status_code.unwrap_or(302);
    if ![301, 302, 303, 307, 308].contains(&status_code) {
        ctx.error(
            &format!("{fp}.statusCode"),
            format!("statusCode must be 301, 302, 303, 307 or 308, not {status_code}"),
        );
    }
    Redirect {
        scheme: r.scheme,
        hostname: r.hostname.clone(),
        path: r
            .path
            .as_ref()
            .map(|m| path_modifier(ctx, &format!("{fp}.path"), m)),
        port: r.port.map(|port| ctx.port(&format!("{fp}.port"), port)),
        status_code: u16::try_from(status_code).unwrap_or(302),
    }
}

fn path_modifier(ctx: &mut Ctx, p: &str, m: &HttpPathModifier) -> PathModifier {
    let (wanted, other, value) = match m.r#type {
        PathModifierType::ReplaceFullPath => (
            "replaceFullPath",
            ("replacePrefixMatch", m.replace_prefix_match.is_some()),
            &m.replace_full_path,
        ),
        PathModifierType::ReplacePrefixMatch => (
            "replacePrefixMatch",
            ("replaceFullPath", m.replace_full_path.is_some()),
            &m.replace_prefix_match,
        ),
    };
    if other.1 {
        ctx.error(
            &format!("{p}.{}", other.0),
            format!("must not be set when type is {}", type_name(m.r#type)),
        );
    }
    let value = match value {
        Some(v) => {
            ctx.check(&format!("{p}.{wanted}"), syntax::value(v, 0, 1024));
            v.clone()
        }
        None => {
            ctx.error(
                p,
                format!(
                    "`{wanted}` must be set when type is {}",
                    type_name(m.r#type)
                ),
            );
            String::new()
        }
    };
    match m.r#type {
        PathModifierType::ReplaceFullPath => PathModifier::ReplaceFullPath(value),
        PathModifierType::ReplacePrefixMatch => PathModifier::ReplacePrefixMatch(value),
    }
}

fn type_name(t: PathModifierType) -> &'static str {
    match t {
        PathModifierType::ReplaceFullPath => "ReplaceFullPath",
        PathModifierType::ReplacePrefixMatch => "ReplacePrefixMatch",
    }
}

fn cors(ctx: &mut Ctx, p: &str, c: &crate::model::HttpCors) -> Cors {
    let lists: [(&str, &Vec<String>, usize); 4] = [
        ("allowOrigins", &c.allow_origins, 64),
        ("allowMethods", &c.allow_methods, 9),
        ("allowHeaders", &c.allow_headers, 64),
        ("exposeHeaders", &c.expose_headers, 64),
    ];
    for (name, list, max) in lists {
        let lp = format!("{p}.{name}");
        ctx.at_most(&lp, list.len(), max, "entries");
        if list.len() > 1 && list.iter().any(|v| v == "*") {
            ctx.error(&lp, "`*` must be the only entry when it is used");
        }
        for (i, v) in list.iter().enumerate() {
            let ip = format!("{lp}[{i}]");
            match name {
                "allowOrigins" => ctx.check(&ip, syntax::cors_origin(v)),
                "allowMethods" if !CORS_METHODS.contains(&v.as_str()) => ctx.error(
                    &ip,
                    format!(
                        "unknown method {}: expected one of {}",
                        code(v),
                        CORS_METHODS.join(", ")
                    ),
                ),
                "allowMethods" => {}
                _ => ctx.check(&ip, syntax::header_name(v)),
            }
        }
    }
    let max_age = c.max_age.unwrap_or(5);
    if max_age < 1 {
        ctx.error(
            &format!("{p}.maxAge"),
            format!("maxAge must be at least 1, not {max_age}"),
        );
    }
    Cors {
        allow_origins: c.allow_origins.clone(),
        allow_credentials: c.allow_credentials.unwrap_or(false),
        allow_methods: c.allow_methods.clone(),
        allow_headers: c.allow_headers.clone(),
        expose_headers: c.expose_headers.clone(),
        max_age: u32::try_from(max_age).unwrap_or(5),
    }
}
