//! BackendTrafficPolicy: the CRD rules of Envoy Gateway v1.9's `rateLimit` (limits, enums,
//! Distinct without value or invert, at least one condition per client selector), and an
//! error for every field gatewasm cannot honour, so nothing is silently dropped.

use std::collections::BTreeMap;

use gatewasm_filter::blob::{Cidr, Unit, MAX_SLOTS};

use super::{syntax, Ctx};
use crate::model::{
    BackendTrafficPolicySpec, MethodSelector, ObjectMeta, PathSelector, PolicyTargetReference,
    RateLimitCost, RateLimitRule as RawRule, RateLimitSelectCondition, SourceSelector, TimeoutSpec,
    ValueSelector, GATEWAY_GROUP,
};
use crate::quote::{clean, code, quote, SHOWN};
use crate::valid::{
    BackendTrafficPolicy, LocalCounting, PathMatch, PolicyTarget, RateLimitRule, RateLimitSelector,
    SelectorValue, TargetKind, TargetSelector,
};

/// The annotation that sizes the slot table of Distinct rules.
pub const SLOTS_ANNOTATION: &str = "gatewasm.io/ratelimit-slots";
/// The annotation that makes local rules refill continuously with a burst, as ingress-nginx's
/// `limit_req … burst=B nodelay` counts (B = requests × the multiplier).
pub const BURST_ANNOTATION: &str = "gatewasm.io/ratelimit-burst-multiplier";
/// The annotation that sets the status of a request local rules deny (429 by default).
pub const STATUS_ANNOTATION: &str = "gatewasm.io/ratelimit-status";
/// Slots per Distinct rule unless annotated.
pub const DEFAULT_SLOTS: u32 = 4096;

/// Validates and defaults a BackendTrafficPolicy.
pub(super) fn backend_traffic_policy(
    ctx: &mut Ctx,
    meta: &ObjectMeta,
    spec: &BackendTrafficPolicySpec,
) -> BackendTrafficPolicy {
    for field in spec.other.keys() {
        ctx.not_compiled(
            &format!("spec.{field}"),
            "gatewasm only compiles `rateLimit` and `timeout.http.streamIdleTimeout` from a BackendTrafficPolicy",
            "move this setting into a separate BackendTrafficPolicy applied by Envoy Gateway, or remove it",
        );
    }
    let (targets, selectors) = targets(
        ctx,
        spec.target_ref.as_ref(),
        &spec.target_refs,
        &spec.target_selectors,
    );
    if targets.is_empty() && selectors.is_empty() && spec.other.is_empty() {
        ctx.error("spec", "a policy needs `targetRefs` or `targetSelectors`");
    }
    let slots = slots(ctx, meta);
    let style = style(ctx, meta);
    let mut policy = BackendTrafficPolicy {
        targets,
        selectors,
        local: Vec::new(),
        global: Vec::new(),
        slots,
        style,
        idle: spec.timeout.as_ref().and_then(|t| idle_timeout(ctx, t)),
        connect: spec.timeout.as_ref().and_then(|t| connect_timeout(ctx, t)),
    };
    let Some(rl) = &spec.rate_limit else {
        if spec.other.is_empty() && spec.timeout.is_none() {
            ctx.error(
                "spec.rateLimit",
                "the policy has no `rateLimit` or `timeout`: nothing to compile",
            );
        }
        return policy;
    };
    rate_limit(ctx, rl, &mut policy);
    policy
}

/// Reports each field of `other` (under `at`) as a timeout gatewasm does not compile.
fn timeouts_not_compiled(ctx: &mut Ctx, at: &str, other: &BTreeMap<String, serde_json::Value>) {
    for field in other.keys() {
        ctx.not_compiled(
            &format!("{at}.{field}"),
            "gatewasm compiles only `timeout.http.streamIdleTimeout` and `timeout.tcp.connectTimeout`",
            "apply this setting with Envoy Gateway, or remove it",
        );
    }
}

/// `timeout.http.streamIdleTimeout`, reporting every other timeout.
fn idle_timeout(ctx: &mut Ctx, timeout: &TimeoutSpec) -> Option<std::time::Duration> {
    timeouts_not_compiled(ctx, "spec.timeout", &timeout.other);
    let http = timeout.http.as_ref()?;
    timeouts_not_compiled(ctx, "spec.timeout.http", &http.other);
    let value = http.stream_idle_timeout.as_deref()?;
    Some(ctx.duration("spec.timeout.http.streamIdleTimeout", value))
}

/// `timeout.tcp.connectTimeout`, reporting the rest of `tcp`. Zero would leave Envoy's
/// default in place, so it is refused rather than read as "no timeout".
fn connect_timeout(ctx: &mut Ctx, timeout: &TimeoutSpec) -> Option<std::time::Duration> {
    const FIELD: &str = "spec.timeout.tcp.connectTimeout";
    let tcp = timeout.tcp.as_ref()?;
    timeouts_not_compiled(ctx, "spec.timeout.tcp", &tcp.other);
    let text = tcp.connect_timeout.as_deref()?;
    match super::syntax::duration(text) {
        Ok(d) if d.is_zero() => ctx.error(FIELD, "a connect timeout must be longer than 0"),
        Ok(d) => return Some(d),
        Err(message) => ctx.error(FIELD, message),
    }
    None
}

/// An Envoy Gateway policy's targets: by name (`targetRef`, `targetRefs`) and by label
/// (`targetSelectors`), each checked.
pub(super) fn targets(
    ctx: &mut Ctx,
    target_ref: Option<&PolicyTargetReference>,
    target_refs: &[PolicyTargetReference],
    target_selectors: &[crate::model::TargetSelector],
) -> (Vec<PolicyTarget>, Vec<TargetSelector>) {
    let mut targets = Vec::new();
    if let Some(t) = target_ref {
        targets.extend(target(ctx, "spec.targetRef", t));
    }
    for (i, t) in target_refs.iter().enumerate() {
        targets.extend(target(ctx, &format!("spec.targetRefs[{i}]"), t));
    }
    (targets, selectors(ctx, target_selectors))
}

fn selectors(
    ctx: &mut Ctx,
    target_selectors: &[crate::model::TargetSelector],
) -> Vec<TargetSelector> {
    let mut selectors = Vec::new();
    for (i, s) in target_selectors.iter().enumerate() {
        let at = format!("spec.targetSelectors[{i}]");
        if s.group.as_deref().is_some_and(|g| g != GATEWAY_GROUP) {
            ctx.error(
                &format!("{at}.group"),
                format!("gatewasm targets only {GATEWAY_GROUP} kinds"),
            );
        }
        if let Some(kind) = target_kind(ctx, &format!("{at}.kind"), &s.kind) {
            selectors.push(TargetSelector {
                kind,
                labels: crate::model::LabelSelector {
                    match_labels: s.match_labels.clone(),
                    match_expressions: s.match_expressions.clone(),
                },
            });
        }
    }
    selectors
}

/// How local rules count when the gatewasm annotations ask for more than Envoy's windows.
fn style(ctx: &mut Ctx, meta: &ObjectMeta) -> Option<LocalCounting> {
    let mut number = |name: &str, range: std::ops::RangeInclusive<u32>, what: &str| {
        let v = meta.annotations.get(name)?;
        match v.parse::<u32>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                ctx.error(
                    &format!("metadata.annotations[{name:?}]"),
                    format!(
                        "must be {what} from {} to {}, not {}",
                        range.start(),
                        range.end(),
                        quote(v)
                    ),
                );
                None
            }
        }
    };
    let burst_multiplier = number(BURST_ANNOTATION, 0..=1_000_000, "a multiplier");
    let status = number(STATUS_ANNOTATION, 400..=599, "an HTTP status");
    if burst_multiplier.is_none() && status.is_none() {
        return None;
    }
    Some(LocalCounting {
        burst_multiplier,
        status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(429),
    })
}

/// The slot count the annotation asks for, or the default.
fn slots(ctx: &mut Ctx, meta: &ObjectMeta) -> u32 {
    match meta.annotations.get(SLOTS_ANNOTATION) {
        None => DEFAULT_SLOTS,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_SLOTS).contains(&n) => n,
            _ => {
                ctx.error(
                    &format!("metadata.annotations[{SLOTS_ANNOTATION:?}]"),
                    format!(
                        "must be a number of slots from 1 to {MAX_SLOTS}, not {}",
                        quote(v)
                    ),
                );
                DEFAULT_SLOTS
            }
        },
    }
}

/// `spec.rateLimit`: its `local` and `global` rules, as its `type` selects them.
fn rate_limit(ctx: &mut Ctx, rl: &crate::model::RateLimitSpec, policy: &mut BackendTrafficPolicy) {
    let (use_local, use_global) = match rl.type_.as_deref() {
        None => (true, true),
        Some("Local") => (true, false),
        Some("Global") => (false, true),
        Some(other) => {
            ctx.error(
                "spec.rateLimit.type",
                format!("unknown type {}: expected Global or Local", code(other)),
            );
            (true, true)
        }
    };
    for (name, section, used, max) in [
        ("local", &rl.local, use_local, 16),
        ("global", &rl.global, use_global, 256),
    ] {
        let at = format!("spec.rateLimit.{name}");
        match (section, used) {
            (Some(_), false) => ctx.error(
                &at,
                format!(
                    "`type: {}` ignores `{name}`: remove `type` to use both, or remove `{name}`",
                    clean(rl.type_.as_deref().unwrap_or_default(), SHOWN)
                ),
            ),
            (None, true) if rl.type_.is_some() => ctx.error(
                &at,
                format!(
                    "`type: {}` needs `{name}`",
                    clean(rl.type_.as_deref().unwrap_or_default(), SHOWN)
                ),
            ),
            (Some(rules), true) => {
                ctx.at_most(&format!("{at}.rules"), rules.rules.len(), max, "rules");
                let list: Vec<RateLimitRule> = rules
                    .rules
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        rule(ctx, &format!("{at}.rules[{i}]"), r, name == "global")
                    })
                    .collect();
                if name == "local" {
                    if list.iter().filter(|r| r.selectors.is_empty()).count() > 1 {
                        ctx.error(&format!("{at}.rules"), "at most one local rule may have no clientSelectors (it is the route's default limit)");
                    }
                    policy.local = list;
                } else {
                    policy.global = list;
                }
            }
            _ => {}
        }
    }
    if rl.local.is_none() && rl.global.is_none() {
        ctx.error("spec.rateLimit", "needs `local` or `global` rules");
    }
}

fn target_kind(ctx: &mut Ctx, field: &str, kind: &str) -> Option<TargetKind> {
    match kind {
        "Gateway" => Some(TargetKind::Gateway),
        "HTTPRoute" => Some(TargetKind::HttpRoute),
        "GRPCRoute" => Some(TargetKind::GrpcRoute),
        other => {
            ctx.error(field, format!("gatewasm cannot apply a policy to a {}: target a Gateway, HTTPRoute or GRPCRoute", code(other)));
            None
        }
    }
}

fn target(ctx: &mut Ctx, at: &str, t: &PolicyTargetReference) -> Option<PolicyTarget> {
    if t.group != GATEWAY_GROUP {
        ctx.error(
            &format!("{at}.group"),
            format!(
                "gatewasm targets only {GATEWAY_GROUP} kinds, not {}",
                code(&t.group)
            ),
        );
        return None;
    }
    ctx.check(&format!("{at}.name"), syntax::object_name(&t.name));
    if let Some(s) = &t.section_name {
        ctx.check(&format!("{at}.sectionName"), syntax::section_name(s));
    }
    Some(PolicyTarget {
        kind: target_kind(ctx, &format!("{at}.kind"), &t.kind)?,
        name: t.name.clone(),
        section_name: t.section_name.clone(),
    })
}

fn rule(ctx: &mut Ctx, at: &str, r: &RawRule, global: bool) -> Option<RateLimitRule> {
    ctx.at_most(
        &format!("{at}.clientSelectors"),
        r.client_selectors.len(),
        8,
        "clientSelectors",
    );
    let mut selectors = Vec::new();
    for (i, c) in r.client_selectors.iter().enumerate() {
        condition(
            ctx,
            &format!("{at}.clientSelectors[{i}]"),
            c,
            &mut selectors,
        );
    }
    let requests = u32::try_from(r.limit.requests).unwrap_or_else(|_| {
        ctx.error(
            &format!("{at}.limit.requests"),
            format!("must be from 0 to {}, not {}", u32::MAX, r.limit.requests),
        );
        0
    });
    let unit = unit(ctx, at, &r.limit.unit);
    if r.limit.from_metadata.is_some() {
        ctx.error(&format!("{at}.limit.fromMetadata"), "limits from dynamic metadata are not supported: the filter cannot read Envoy's dynamic metadata");
    }
    let cost = r.cost.as_ref().map_or(1, |c| cost(ctx, at, c));
    if r.shadow_mode == Some(true) {
        ctx.error(
            &format!("{at}.shadowMode"),
            if global {
                "shadow mode is not supported by gatewasm"
            } else {
                "shadow mode is only for global rate limits (and gatewasm does not support it)"
            },
        );
    }
    let headers = match r.x_rate_limit_headers.as_deref() {
        None | Some("DraftVersion03") => true,
        Some("Off") => false,
        Some(other) => {
            ctx.error(
                &format!("{at}.xRateLimitHeaders"),
                format!(
                    "unknown value {}: expected Off or DraftVersion03",
                    code(other)
                ),
            );
            true
        }
    };
    Some(RateLimitRule {
        selectors,
        requests,
        unit,
        cost,
        shared: r.shared.unwrap_or(false),
        headers,
        field: at.to_owned(),
    })
}

fn condition(
    ctx: &mut Ctx,
    at: &str,
    c: &RateLimitSelectCondition,
    out: &mut Vec<RateLimitSelector>,
) {
    if c.headers.is_empty()
        && c.methods.is_empty()
        && c.path.is_none()
        && c.source_cidr.is_none()
        && c.query_params.is_empty()
    {
        ctx.error(
            at,
            "at least one of headers, methods, path, sourceCIDR or queryParams must be specified",
        );
    }
    ctx.at_most(&format!("{at}.headers"), c.headers.len(), 128, "headers");
    ctx.at_most(
        &format!("{at}.queryParams"),
        c.query_params.len(),
        16,
        "queryParams",
    );
    for (i, h) in c.headers.iter().enumerate() {
        let f = format!("{at}.headers[{i}]");
        ctx.check(&format!("{f}.name"), syntax::header_name(&h.name));
        if let Some((value, invert)) = value(ctx, &f, h) {
            out.push(RateLimitSelector::Header {
                name: h.name.to_ascii_lowercase(),
                value,
                invert,
            });
        }
    }
    for (i, q) in c.query_params.iter().enumerate() {
        let f = format!("{at}.queryParams[{i}]");
        ctx.check(&format!("{f}.name"), syntax::value(&q.name, 1, 256));
        if let Some((value, invert)) = value(ctx, &f, q) {
            out.push(RateLimitSelector::Query {
                name: q.name.clone(),
                value,
                invert,
            });
        }
    }
    if !c.methods.is_empty() {
        out.push(methods(ctx, at, &c.methods));
    }
    if let Some(p) = &c.path {
        out.push(path(ctx, at, p));
    }
    if let Some(s) = &c.source_cidr {
        out.extend(source(ctx, at, s));
    }
}

/// `limit.unit`.
fn unit(ctx: &mut Ctx, at: &str, unit: &str) -> Unit {
    match unit {
        "Second" => Unit::Second,
        "Minute" => Unit::Minute,
        "Hour" => Unit::Hour,
        "Day" => Unit::Day,
        "Week" => Unit::Week,
        "Month" => Unit::Month,
        "Year" => Unit::Year,
        other => {
            ctx.error(
                &format!("{at}.limit.unit"),
                format!(
                    "unknown unit {}: expected Second, Minute, Hour, Day, Week, Month or Year",
                    code(other)
                ),
            );
            Unit::Second
        }
    }
}

/// `cost`: the number a request counts for.
fn cost(ctx: &mut Ctx, at: &str, c: &RateLimitCost) -> u32 {
    let mut cost = 1;
    if c.response.is_some() {
        ctx.error(
            &format!("{at}.cost.response"),
            "response cost is not supported: gatewasm counts on the request path only",
        );
    }
    if let Some(req) = &c.request {
        match (req.from.as_str(), req.number, &req.metadata) {
            ("Number", Some(n), None) => {
                cost = u32::try_from(n).unwrap_or_else(|_| {
                    ctx.error(
                        &format!("{at}.cost.request.number"),
                        format!("must be from 0 to {}", u32::MAX),
                    );
                    1
                });
            }
            ("Number", None, _) => ctx.error(
                &format!("{at}.cost.request.number"),
                "`from: Number` needs `number`",
            ),
            ("Metadata", ..) => ctx.error(
                &format!("{at}.cost.request.from"),
                "costs from dynamic metadata are not supported",
            ),
            (_, _, Some(_)) => ctx.error(
                &format!("{at}.cost.request"),
                "only one of number or metadata can be specified",
            ),
            (other, ..) => ctx.error(
                &format!("{at}.cost.request.from"),
                format!("unknown source {}: expected Number", code(other)),
            ),
        }
    }
    cost
}

/// `methods`, which gatewasm needs to share one `invert`.
fn methods(ctx: &mut Ctx, at: &str, methods: &[MethodSelector]) -> RateLimitSelector {
    let invert = methods[0].invert.unwrap_or(false);
    if methods.iter().any(|m| m.invert.unwrap_or(false) != invert) {
        ctx.error(&format!("{at}.methods"), "gatewasm needs every method of one selector to have the same `invert`: split them into separate clientSelectors");
    }
    const METHODS: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    for (i, m) in methods.iter().enumerate() {
        if !METHODS.contains(&m.value.as_str()) {
            ctx.error(
                &format!("{at}.methods[{i}].value"),
                format!("unknown method {}", code(&m.value)),
            );
        }
    }
    RateLimitSelector::Methods {
        methods: methods.iter().map(|m| m.value.clone()).collect(),
        invert,
    }
}

/// `path`; a prefix is stored as route prefixes are.
fn path(ctx: &mut Ctx, at: &str, p: &PathSelector) -> RateLimitSelector {
    let f = format!("{at}.path");
    let v = p.value.clone().unwrap_or_else(|| "/".to_owned());
    let path = match p.type_.as_deref().unwrap_or("PathPrefix") {
        "Exact" => {
            ctx.check(&format!("{f}.value"), syntax::path(&v));
            PathMatch::Exact(v)
        }
        "PathPrefix" => {
            ctx.check(&format!("{f}.value"), syntax::path(&v));
            // Stored without a trailing slash, except `/` itself, as route prefixes are.
            let p = v.trim_end_matches('/');
            PathMatch::PathPrefix(if p.is_empty() {
                "/".to_owned()
            } else {
                p.to_owned()
            })
        }
        "RegularExpression" => {
            ctx.regex(&format!("{f}.value"), &v);
            PathMatch::RegularExpression(v)
        }
        other => {
            ctx.error(
                &format!("{f}.type"),
                format!(
                    "unknown type {}: expected Exact, PathPrefix or RegularExpression",
                    code(other)
                ),
            );
            PathMatch::Exact(v)
        }
    };
    RateLimitSelector::Path {
        path,
        invert: p.invert.unwrap_or(false),
    }
}

/// `sourceCIDR`, when its value parses.
fn source(ctx: &mut Ctx, at: &str, s: &SourceSelector) -> Option<RateLimitSelector> {
    let f = format!("{at}.sourceCIDR");
    let distinct = match s.type_.as_deref().unwrap_or("Exact") {
        "Exact" => false,
        "Distinct" => true,
        other => {
            ctx.error(
                &format!("{f}.type"),
                format!("unknown type {}: expected Exact or Distinct", code(other)),
            );
            false
        }
    };
    let invert = s.invert.unwrap_or(false);
    if distinct && invert {
        ctx.error(
            &format!("{f}.invert"),
            "a Distinct selector cannot be inverted",
        );
    }
    let cidr = parse_cidr(&s.value);
    if cidr.is_none() {
        ctx.error(
            &format!("{f}.value"),
            format!(
                "invalid CIDR {}: expected e.g. 10.0.0.0/8 or 2001:db8::/32",
                code(&s.value)
            ),
        );
    }
    Some(RateLimitSelector::Source {
        cidr: cidr?,
        distinct,
        invert,
    })
}

fn value(ctx: &mut Ctx, at: &str, v: &ValueSelector) -> Option<(SelectorValue, bool)> {
    let invert = v.invert.unwrap_or(false);
    match (v.type_.as_deref().unwrap_or("Exact"), &v.value) {
        ("Distinct", None) if invert => {
            ctx.error(
                &format!("{at}.invert"),
                "a Distinct selector cannot be inverted",
            );
            None
        }
        ("Distinct", None) => Some((SelectorValue::Distinct, false)),
        ("Distinct", Some(_)) => {
            ctx.error(
                &format!("{at}.value"),
                "a Distinct selector takes no value: every value gets its own bucket",
            );
            None
        }
        ("Exact", Some(value)) => {
            ctx.check(&format!("{at}.value"), syntax::value(value, 0, 1024));
            Some((SelectorValue::Exact(value.clone()), invert))
        }
        ("RegularExpression", Some(value)) => {
            ctx.regex(&format!("{at}.value"), value);
            Some((SelectorValue::Regex(value.clone()), invert))
        }
        ("Exact" | "RegularExpression", None) => {
            ctx.error(
                &format!("{at}.value"),
                "needs a value (or use `type: Distinct`)",
            );
            None
        }
        (other, _) => {
            ctx.error(
                &format!("{at}.type"),
                format!(
                    "unknown type {}: expected Exact, RegularExpression or Distinct",
                    code(other)
                ),
            );
            None
        }
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).
pub fn parse_cidr(text: &str) -> Option<Cidr> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let mut address = [0u8; 16];
    let (v4, max) = match ip {
        std::net::IpAddr::V4(v) => {
            address[..4].copy_from_slice(&v.octets());
            (true, 32)
        }
        std::net::IpAddr::V6(v) => {
            address.copy_from_slice(&v.octets());
            (false, 128)
        }
    };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some(Cidr {
        address,
        v4,
        prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_cidr;
    use crate::load::load_str;
    use crate::validate::validate;

    /// The error lines validating a policy with `spec` gives.
    fn errors(spec: &str) -> Vec<String> {
        let text = format!(
            "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata: {{name: p, namespace: a}}\nspec:\n  targetRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, name: gw}}]\n{spec}"
        );
        match load_str("p.yaml", &text).map(validate) {
            Ok(Ok(_)) => Vec::new(),
            Ok(Err(d)) | Err(d) => d.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn what_cannot_be_honoured_is_an_error_at_its_field() {
        let cases = [
            (
                "  retry: {numRetries: 3}\n  rateLimit:\n    local: {rules: [{limit: {requests: 1, unit: Second}}]}\n",
                "p.yaml:6: BackendTrafficPolicy a/p: spec.retry: `retry` is not compiled",
            ),
            (
                "  rateLimit:\n    global:\n      rules:\n      - limit: {requests: 1, unit: Second}\n        cost: {response: {from: Number, number: 1}}\n",
                "spec.rateLimit.global.rules[0].cost.response: response cost is not supported",
            ),
            (
                "  rateLimit:\n    local:\n      rules:\n      - clientSelectors: [{headers: [{name: x-k, type: Distinct, invert: true}]}]\n        limit: {requests: 1, unit: Second}\n",
                "spec.rateLimit.local.rules[0].clientSelectors[0].headers[0].invert: a Distinct selector cannot be inverted",
            ),
            (
                "  rateLimit:\n    type: Global\n    global: {rules: [{limit: {requests: 1, unit: Second}}]}\n    local: {rules: [{limit: {requests: 1, unit: Second}}]}\n",
                "spec.rateLimit.local: `type: Global` ignores `local`",
            ),
            (
                "  rateLimit:\n    local: {rules: [{limit: {requests: 1, unit: Fortnight}}]}\n",
                "spec.rateLimit.local.rules[0].limit.unit: unknown unit `Fortnight`",
            ),
            (
                "  rateLimit:\n    local: {rules: [{clientSelectors: [{}], limit: {requests: 1, unit: Second}}]}\n",
                "at least one of headers, methods, path, sourceCIDR or queryParams must be specified",
            ),
            (
                "  rateLimit:\n    global: {rules: [{shadowMode: true, limit: {requests: 1, unit: Second}}]}\n",
                "spec.rateLimit.global.rules[0].shadowMode: shadow mode is not supported",
            ),
            (
                "  rateLimit:\n    local: {rules: [{clientSelectors: [{sourceCIDR: {value: 10.0.0.0/40}}], limit: {requests: 1, unit: Second}}]}\n",
                "sourceCIDR.value: invalid CIDR `10.0.0.0/40`",
            ),
            (
                "  timeout: {http: {requestTimeout: 5s, streamIdleTimeout: 1m}}\n",
                "spec.timeout.http.requestTimeout: `requestTimeout` is not compiled",
            ),
            (
                "  timeout: {tcp: {connectTimeout: 0s}}\n",
                "spec.timeout.tcp.connectTimeout: a connect timeout must be longer than 0",
            ),
            (
                "  timeout: {http: {streamIdleTimeout: 5 minutes}}\n",
                "spec.timeout.http.streamIdleTimeout: invalid duration",
            ),
        ];
        for (spec, want) in cases {
            let got = errors(spec);
            assert!(
                got.iter().any(|e| e.contains(want)),
                "{want}\n got: {got:#?}"
            );
        }
    }

    #[test]
    fn unknown_fields_inside_rate_limit_are_refused() {
        let got = errors(
            "  rateLimit:\n    local: {rules: [{limit: {requests: 1, unit: Second}, burst: 5}]}\n",
        );
        assert!(got.iter().any(|e| e.contains("burst")), "{got:#?}");
    }

    #[test]
    fn a_valid_policy_passes() {
        let got = errors("  rateLimit:\n    local:\n      rules:\n      - clientSelectors: [{headers: [{name: x-user-tier, value: free}], methods: [{value: GET}], path: {value: /api}, queryParams: [{name: q, type: Distinct}]}]\n        limit: {requests: 10, unit: Minute}\n        cost: {request: {from: Number, number: 2}}\n");
        assert_eq!(got, Vec::<String>::new());
    }

    #[test]
    fn cidrs_parse() {
        assert_eq!(
            parse_cidr("10.0.0.0/8").map(|c| (c.v4, c.prefix)),
            Some((true, 8))
        );
        assert_eq!(
            parse_cidr("2001:db8::/32").map(|c| (c.v4, c.prefix)),
            Some((false, 32))
        );
        assert_eq!(parse_cidr("10.0.0.7").map(|c| c.prefix), Some(32));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("nope/8").is_none());
    }
}
