//! BackendTrafficPolicy rate limits → the blob's [`RateLimits`]: which policy governs each
//! attached rule on each listener ([`super::targets`]), and the policy's rules in the blob's
//! form; the governing policy's stream idle timeout → the blob's idle timeouts.

use gatewasm_filter::blob::{
    self, IdlePolicy, LocalStyle, PathCondition, RegexId, RlPolicy, RlRule, Selector, ValueMatch,
};

use super::ids::TooMany;
use super::targets::{self, Policy};
use super::{Regexes, Resolved};
use crate::diag::Diagnostics;
use crate::valid::{
    self, BackendTrafficPolicy, Gateway, PathMatch, PolicyTarget, RateLimitSelector, SelectorValue,
    TargetSelector, Valid, Validated,
};

/// The rate limit service domain every global descriptor is sent in.
pub const DOMAIN: &str = "gatewasm";

/// Fills `resolved.rate_limits` for the routes attached to `gateway`; the policies' regular
/// expressions join the table's.
pub fn build(
    input: &Validated,
    gateway: &Valid<Gateway>,
    template: &super::backends::ClusterTemplate,
    resolved: &mut Resolved,
    diagnostics: &mut Diagnostics,
) -> Result<(), TooMany> {
    let policies = &input.backend_traffic_policies;
    let best = targets::bind(input, policies, gateway, resolved, diagnostics);
    super::connect::apply(&best, policies, template, resolved, diagnostics)?;
    // The policy that governs a rule governs all of it, timeouts included, as in Envoy
    // Gateway: a rule's idle timeout comes from the same policy as its limits.
    let timed = best
        .iter()
        .filter(|(_, (_, pi))| policies[*pi].spec.idle.is_some())
        .map(|(&on, &governing)| (on, governing))
        .collect();
    resolved.idle.bindings = targets::numbered(
        timed,
        &mut resolved.idle.policies,
        "idle timeout policies",
        |pi| {
            let p = &policies[pi];
            Ok(IdlePolicy {
                namespace: p.meta.namespace.clone(),
                name: p.meta.name.clone(),
                source: format!("{}:{}", p.source.file.blob_name, p.source.line()),
                idle_ms: p.spec.idle.map_or(0, |d| d.as_millis() as u64),
            })
        },
    )?;
    let mut out = blob::RateLimits {
        domain: DOMAIN.to_owned(),
        ..blob::RateLimits::default()
    };
    let regexes = &mut resolved.regexes;
    // Policies are numbered in the order they are converted.
    let mut styles = Vec::new();
    out.bindings = targets::numbered(best, &mut out.policies, "rate limit policies", |pi| {
        styles.push(policies[pi].spec.style);
        policy_blob(&policies[pi], regexes)
    })?;
    out.styles = styles
        .into_iter()
        .enumerate()
        .filter_map(|(i, style)| {
            Some(LocalStyle {
                policy: u32::try_from(i).ok()?,
                burst_multiplier: style?.burst_multiplier,
                status: style?.status,
            })
        })
        .collect();
    resolved.rate_limits = out;
    Ok(())
}

impl Policy for BackendTrafficPolicy {
    fn targets(&self) -> &[PolicyTarget] {
        &self.targets
    }

    fn selectors(&self) -> &[TargetSelector] {
        &self.selectors
    }

    fn what(&self) -> String {
        let limits: Vec<String> = self
            .local
            .iter()
            .chain(&self.global)
            .map(describe_rule)
            .collect();
        let mut what = Vec::new();
        if !limits.is_empty() {
            what.push(format!("its limits {}", limits.join("; ")));
        }
        if let Some(idle) = self.idle {
            what.push(format!(
                "its stream idle timeout of {} ms",
                idle.as_millis()
            ));
        }
        what.join(" and ")
    }
}

/// `spec.rateLimit.local.rules[0] (100 per Minute by header x-api-key)`.
fn describe_rule(r: &valid::RateLimitRule) -> String {
    let by: Vec<String> = r
        .selectors
        .iter()
        .map(|s| match s {
            RateLimitSelector::Header { name, .. } => format!("header {name}"),
            RateLimitSelector::Query { name, .. } => format!("query {name}"),
            RateLimitSelector::Methods { .. } => "method".to_owned(),
            RateLimitSelector::Path { .. } => "path".to_owned(),
            RateLimitSelector::Source { .. } => "source address".to_owned(),
        })
        .collect();
    let by = if by.is_empty() {
        String::new()
    } else {
        format!(" by {}", by.join(", "))
    };
    format!("{} ({} per {:?}{by})", r.field, r.requests, r.unit)
}

fn policy_blob(
    p: &Valid<BackendTrafficPolicy>,
    regexes: &mut Regexes,
) -> Result<RlPolicy, TooMany> {
    let mut rules = |list: &[valid::RateLimitRule]| -> Result<Vec<RlRule>, TooMany> {
        list.iter()
            .enumerate()
            .map(|(i, r)| {
                let selectors: Vec<Selector> = r
                    .selectors
                    .iter()
                    .map(|s| selector(s, &mut |pattern| regexes.id(pattern)))
                    .collect::<Result<_, _>>()?;
                let distinct = selectors.iter().any(Selector::is_distinct);
                Ok(RlRule {
                    index: i as u16,
                    selectors,
                    requests: r.requests,
                    unit: r.unit,
                    cost: r.cost,
                    shared: r.shared,
                    headers: r.headers,
                    slots: if distinct { p.spec.slots } else { 0 },
                })
            })
            .collect()
    };
    let local = rules(&p.spec.local)?;
    let global = rules(&p.spec.global)?;
    Ok(RlPolicy {
        namespace: p.meta.namespace.clone(),
        name: p.meta.name.clone(),
        source: format!("{}:{}", p.source.file.blob_name, p.source.line()),
        local,
        global,
    })
}

fn selector(
    s: &RateLimitSelector,
    regex: &mut impl FnMut(&str) -> Result<RegexId, TooMany>,
) -> Result<Selector, TooMany> {
    let mut value = |v: &SelectorValue| {
        Ok(match v {
            SelectorValue::Exact(x) => ValueMatch::Exact(x.clone()),
            SelectorValue::Regex(x) => ValueMatch::Regex(regex(x)?),
            SelectorValue::Distinct => ValueMatch::Distinct,
        })
    };
    Ok(match s {
        RateLimitSelector::Header {
            name,
            value: v,
            invert,
        } => Selector::Header {
            name: name.clone(),
            value: value(v)?,
            invert: *invert,
        },
        RateLimitSelector::Query {
            name,
            value: v,
            invert,
        } => Selector::Query {
            name: name.clone(),
            value: value(v)?,
            invert: *invert,
        },
        RateLimitSelector::Methods { methods, invert } => Selector::Methods {
            methods: methods.clone(),
            invert: *invert,
        },
        RateLimitSelector::Path { path, invert } => Selector::Path {
            path: match path {
                PathMatch::Exact(v) => PathCondition::Exact(v.clone()),
                PathMatch::PathPrefix(v) => PathCondition::Prefix(v.clone()),
                PathMatch::RegularExpression(v) => PathCondition::Regex(regex(v)?),
            },
            invert: *invert,
        },
        RateLimitSelector::Source {
            cidr,
            distinct,
            invert,
        } => Selector::SourceCidr {
            cidr: *cidr,
            distinct: *distinct,
            invert: *invert,
        },
    })
}
