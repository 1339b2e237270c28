//! GRPCRoute defaults and rules: method match type and names, header matches, filter types
//! and multiplicity.

use super::route::{self, at_most_once, filter_fields};
use super::{syntax, Ctx};
use crate::model::{
    GrpcRouteFilter, GrpcRouteFilterType as T, GrpcRouteMatch, GrpcRouteRule, GrpcRouteSpec,
    StringMatchType,
};
use crate::valid::{GrpcFilter, GrpcMatch, GrpcMethodMatch, GrpcRoute, GrpcRule};

/// Validates and defaults a GRPCRoute spec.
pub(super) fn grpc_route(ctx: &mut Ctx, spec: &GrpcRouteSpec) -> GrpcRoute {
    let parent_refs = route::parent_refs(ctx, &spec.parent_refs);
    let hostnames = route::hostnames(ctx, &spec.hostnames);
    ctx.at_most("spec.rules", spec.rules.len(), 16, "rules");
    route::rule_names(ctx, spec.rules.iter().map(|r| r.name.as_ref()));
    route::match_counts(ctx, spec.rules.iter().map(|r| r.matches.len()));
    let rules = spec
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| rule(ctx, &format!("spec.rules[{i}]"), r))
        .collect();
    GrpcRoute {
        parent_refs,
        hostnames,
        rules,
    }
}

fn rule(ctx: &mut Ctx, p: &str, r: &GrpcRouteRule) -> GrpcRule {
    let matches = r
        .matches
        .iter()
        .enumerate()
        .map(|(i, m)| grpc_match(ctx, &format!("{p}.matches[{i}]"), m))
        .collect();
    let rule_filters = filters(ctx, &format!("{p}.filters"), &r.filters);
    let backends = route::backend_refs(ctx, p, &r.backend_refs, filters);
    if let Some(sp) = &r.session_persistence {
        route::session_persistence(ctx, &format!("{p}.sessionPersistence"), sp);
    }
    GrpcRule {
        name: r.name.clone(),
        matches,
        filters: rule_filters,
        backends,
        session_persistence: r.session_persistence.clone(),
    }
}

fn grpc_match(ctx: &mut Ctx, p: &str, m: &GrpcRouteMatch) -> GrpcMatch {
    let method = m.method.as_ref().map(|method| {
        let mp = format!("{p}.method");
        let r#type = method.r#type.unwrap_or(StringMatchType::Exact);
        if method.service.is_none() && method.method.is_none() {
            ctx.error(&mp, "at least one of service and method must be set");
        }
        for (field, value) in [("service", &method.service), ("method", &method.method)] {
            let Some(value) = value else { continue };
            let fp = format!("{mp}.{field}");
            let check = match (r#type, field) {
                (StringMatchType::Exact, "service") => syntax::grpc_service(value),
                (StringMatchType::Exact, _) => syntax::grpc_method(value),
                (StringMatchType::RegularExpression, _) => syntax::value(value, 0, 1024),
            };
            if check.is_ok() && r#type == StringMatchType::RegularExpression {
                ctx.regex(&fp, value);
            }
            ctx.check(&fp, check);
        }
        GrpcMethodMatch {
            r#type,
            service: method.service.clone(),
            method: method.method.clone(),
        }
    });
    GrpcMatch {
        method,
        headers: route::header_matches(ctx, &format!("{p}.headers"), &m.headers, 4096, "headers"),
    }
}

fn filters(ctx: &mut Ctx, path: &str, list: &[GrpcRouteFilter]) -> Vec<GrpcFilter> {
    ctx.at_most(path, list.len(), 16, "filters");
    at_most_once(
        ctx,
        path,
        list.iter().map(|f| f.r#type.as_str()),
        &["RequestHeaderModifier", "ResponseHeaderModifier"],
    );
    list.iter()
        .enumerate()
        .filter_map(|(i, f)| filter(ctx, &format!("{path}[{i}]"), f))
        .collect()
}

fn filter(ctx: &mut Ctx, p: &str, f: &GrpcRouteFilter) -> Option<GrpcFilter> {
    let wanted = match f.r#type {
        T::RequestHeaderModifier => "requestHeaderModifier",
        T::ResponseHeaderModifier => "responseHeaderModifier",
        T::RequestMirror => "requestMirror",
        T::ExtensionRef => "extensionRef",
    };
    let present = [
        ("requestHeaderModifier", f.request_header_modifier.is_some()),
        (
            "responseHeaderModifier",
            f.response_header_modifier.is_some(),
        ),
        ("requestMirror", f.request_mirror.is_some()),
        ("extensionRef", f.extension_ref.is_some()),
    ];
    if !filter_fields(ctx, p, f.r#type.as_str(), wanted, &present) {
        return None;
    }
    let fp = format!("{p}.{wanted}");
    Some(match f.r#type {
        T::RequestHeaderModifier => GrpcFilter::RequestHeaderModifier(route::header_modifier(
            ctx,
            &fp,
            f.request_header_modifier.as_ref()?,
        )),
        T::ResponseHeaderModifier => GrpcFilter::ResponseHeaderModifier(route::header_modifier(
            ctx,
            &fp,
            f.response_header_modifier.as_ref()?,
        )),
        T::RequestMirror => {
            GrpcFilter::RequestMirror(route::mirror(ctx, &fp, f.request_mirror.as_ref()?))
        }
        T::ExtensionRef => {
            GrpcFilter::ExtensionRef(route::extension_ref(ctx, &fp, f.extension_ref.as_ref()?))
        }
    })
}
