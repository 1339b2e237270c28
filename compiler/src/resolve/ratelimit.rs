//! BackendTrafficPolicy rate limits → the blob's [`RateLimits`]: which policy governs each
//! attached rule on each listener, and the policy's rules in the blob's form.
//!
//! Precedence follows Envoy Gateway: a policy on a route rule (`sectionName` of a route)
//! beats one on the route, which beats one on a listener (`sectionName` of the Gateway),
//! which beats one on the Gateway. Between two policies at the same level the older one
//! (earlier in the input) wins and the other gets a warning, as Envoy Gateway reports it
//! `Conflicted`. A policy whose targets are not in the input is reported too; it may belong
//! to another Gateway.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use gatewasm_filter::blob::{
    self, ListenerId, PathCondition, RegexId, RlBinding, RlPolicy, RlRule, RouteKind, RouteTable,
    RuleId, Selector, ValueMatch,
};

use super::attach::selector_matches;
use super::Attachment;
use crate::diag::{Diagnostics, Severity};
use crate::quote::quote;
use crate::valid::{
    self, BackendTrafficPolicy, Gateway, PathMatch, RateLimitSelector, SelectorValue, TargetKind,
    Valid, Validated,
};

/// The rate limit service domain every global descriptor is sent in.
pub const DOMAIN: &str = "gatewasm";

/// How specific a policy's attachment is: lower wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    RouteRule,
    Route,
    Listener,
    Gateway,
}

/// Fills `table.rate_limits` for the routes attached to `gateway`.
pub fn build(
    input: &Validated,
    gateway: &Valid<Gateway>,
    table: &mut RouteTable,
    attachments: &[Attachment],
    diagnostics: &mut Diagnostics,
) {
    let policies = &input.backend_traffic_policies;
    // For each (listener, rule): the best (level, policy position) found so far.
    let mut best: BTreeMap<(ListenerId, RuleId), (Level, usize)> = BTreeMap::new();
    let mut conflicts: Vec<(usize, usize)> = Vec::new();
    for (pi, p) in policies.iter().enumerate() {
        for (level, listener, rule) in targets(input, gateway, table, attachments, p, diagnostics) {
            match best.entry((listener, rule)) {
                Entry::Vacant(v) => {
                    v.insert((level, pi));
                }
                Entry::Occupied(mut o) => {
                    let (l, older) = *o.get();
                    if level < l {
                        o.insert((level, pi));
                    } else if level == l && older != pi {
                        // Policies come in input order: the one already there is older.
                        conflicts.push((older, pi));
                    }
                }
            }
        }
    }
    conflicts.sort_unstable();
    conflicts.dedup();
    for (winner, loser) in conflicts {
        let (w, l) = (&policies[winner], &policies[loser]);
        let mut d = l.source.diagnostic(
            Severity::Warning,
            &l.label(),
            "spec",
            format!(
                "conflicts with {} on the same targets; the older policy wins there",
                w.label()
            ),
        );
        d.help = Some(format!(
            "{} is at {}:{}",
            w.label(),
            w.source.file.name,
            w.source.line()
        ));
        diagnostics.push(d);
    }
    let mut index: HashMap<usize, u32> = HashMap::new();
    let mut regexes: HashMap<String, RegexId> = table
        .regexes
        .iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), RegexId(i as u32)))
        .collect();
    let mut out = blob::RateLimits {
        domain: DOMAIN.to_owned(),
        ..blob::RateLimits::default()
    };
    for ((listener, rule), (_, pi)) in best {
        let policy = *index.entry(pi).or_insert_with(|| {
            let p = &policies[pi];
            out.policies
                .push(policy_blob(p, &mut table.regexes, &mut regexes));
            (out.policies.len() - 1) as u32
        });
        out.bindings.push(RlBinding {
            listener,
            rule,
            policy,
        });
    }
    table.rate_limits = out;
}

/// Every (level, listener, rule) the policy reaches on this Gateway.
fn targets(
    input: &Validated,
    gateway: &Valid<Gateway>,
    table: &RouteTable,
    attachments: &[Attachment],
    p: &Valid<BackendTrafficPolicy>,
    diagnostics: &mut Diagnostics,
) -> Vec<(Level, ListenerId, RuleId)> {
    let ns = &p.meta.namespace;
    let on_gateway = gateway.meta.namespace == *ns;
    let mut out = Vec::new();
    let rules_of = |route: usize| {
        table
            .rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.route.index() == route)
            .map(|(i, r)| (RuleId(i as u32), r))
    };
    let reach_route = |out: &mut Vec<_>, route: usize, section: Option<&str>| -> bool {
        let mut hit = false;
        for a in attachments.iter().filter(|a| a.route.index() == route) {
            for (id, r) in rules_of(route) {
                match section {
                    Some(s) if r.name.as_deref() != Some(s) => {}
                    Some(_) => {
                        out.push((Level::RouteRule, a.listener, id));
                        hit = true;
                    }
                    None => {
                        out.push((Level::Route, a.listener, id));
                        hit = true;
                    }
                }
            }
        }
        hit
    };
    let reach_listeners = |out: &mut Vec<_>, section: Option<&str>| -> bool {
        let mut hit = false;
        for a in attachments {
            let l = &table.listeners[a.listener];
            if section.is_some_and(|s| s != l.name) {
                continue;
            }
            let level = if section.is_some() {
                Level::Listener
            } else {
                Level::Gateway
            };
            for (id, _) in rules_of(a.route.index()) {
                out.push((level, a.listener, id));
                hit = true;
            }
        }
        hit
    };
    let route_index = |kind: TargetKind, name: &str| {
        let want = match kind {
            TargetKind::HttpRoute => RouteKind::Http,
            TargetKind::GrpcRoute => RouteKind::Grpc,
            TargetKind::Gateway => return None,
        };
        table
            .routes
            .iter()
            .position(|r| r.kind == want && r.namespace == *ns && r.name == name)
    };
    for (i, t) in p.spec.targets.iter().enumerate() {
        let reached = match t.kind {
            TargetKind::Gateway if on_gateway && t.name == gateway.meta.name => {
                let hit = reach_listeners(&mut out, t.section_name.as_deref());
                if !hit && t.section_name.is_some() {
                    diagnostics.push(p.source.diagnostic(
                        Severity::Warning,
                        &p.label(),
                        &format!("spec.targetRefs[{i}].sectionName"),
                        format!(
                            "Gateway {}/{} has no listener {} with attached routes",
                            gateway.meta.namespace,
                            gateway.meta.name,
                            quote(t.section_name.as_deref().unwrap_or_default())
                        ),
                    ));
                }
                true
            }
            TargetKind::Gateway => false,
            kind => match route_index(kind, &t.name) {
                Some(r) => {
                    if !reach_route(&mut out, r, t.section_name.as_deref()) {
                        diagnostics.push(p.source.diagnostic(
                            Severity::Warning,
                            &p.label(),
                            &format!("spec.targetRefs[{i}].sectionName"),
                            format!(
                                "route {}/{} has no rule named {}",
                                ns,
                                t.name,
                                quote(t.section_name.as_deref().unwrap_or_default())
                            ),
                        ));
                    }
                    true
                }
                None => route_exists(input, kind, ns, &t.name),
            },
        };
        if !reached {
            diagnostics.push(p.source.diagnostic(
                Severity::Note,
                &p.label(),
                &format!("spec.targetRefs[{i}]"),
                format!(
                    "target {}/{} is not attached to Gateway {}/{} in the input: the policy does not apply to it here",
                    ns, t.name, gateway.meta.namespace, gateway.meta.name
                ),
            ));
        }
    }
    for s in &p.spec.selectors {
        match s.kind {
            TargetKind::Gateway => {
                if on_gateway && selector_matches(&s.labels, &gateway.meta.labels) {
                    reach_listeners(&mut out, None);
                }
            }
            kind => {
                for (ri, r) in table.routes.iter().enumerate() {
                    let labels = route_labels(input, r.kind, &r.namespace, &r.name);
                    if r.namespace == *ns
                        && route_index(kind, &r.name) == Some(ri)
                        && labels.is_some_and(|l| selector_matches(&s.labels, l))
                    {
                        reach_route(&mut out, ri, None);
                    }
                }
            }
        }
    }
    out
}

fn route_exists(input: &Validated, kind: TargetKind, ns: &str, name: &str) -> bool {
    match kind {
        TargetKind::HttpRoute => input
            .http_routes
            .iter()
            .any(|r| r.meta.namespace == ns && r.meta.name == name),
        TargetKind::GrpcRoute => input
            .grpc_routes
            .iter()
            .any(|r| r.meta.namespace == ns && r.meta.name == name),
        TargetKind::Gateway => false,
    }
}

fn route_labels<'v>(
    input: &'v Validated,
    kind: RouteKind,
    ns: &str,
    name: &str,
) -> Option<&'v BTreeMap<String, String>> {
    let find = |meta: &'v crate::model::ObjectMeta| {
        (meta.namespace == ns && meta.name == name).then_some(&meta.labels)
    };
    match kind {
        RouteKind::Http => input.http_routes.iter().find_map(|r| find(&r.meta)),
        RouteKind::Grpc => input.grpc_routes.iter().find_map(|r| find(&r.meta)),
    }
}

fn policy_blob(
    p: &Valid<BackendTrafficPolicy>,
    regex_table: &mut Vec<String>,
    regexes: &mut HashMap<String, RegexId>,
) -> RlPolicy {
    let mut regex = |pattern: &str| {
        *regexes.entry(pattern.to_owned()).or_insert_with(|| {
            regex_table.push(pattern.to_owned());
            RegexId((regex_table.len() - 1) as u32)
        })
    };
    let mut rules = |list: &[valid::RateLimitRule]| -> Vec<RlRule> {
        list.iter()
            .enumerate()
            .map(|(i, r)| {
                let selectors: Vec<Selector> = r
                    .selectors
                    .iter()
                    .map(|s| selector(s, &mut regex))
                    .collect();
                let distinct = selectors.iter().any(Selector::is_distinct);
                RlRule {
                    index: i as u16,
                    selectors,
                    requests: r.requests,
                    unit: r.unit,
                    cost: r.cost,
                    shared: r.shared,
                    headers: r.headers,
                    slots: if distinct { p.spec.slots } else { 0 },
                }
            })
            .collect()
    };
    let local = rules(&p.spec.local);
    let global = rules(&p.spec.global);
    RlPolicy {
        namespace: p.meta.namespace.clone(),
        name: p.meta.name.clone(),
        source: format!("{}:{}", p.source.file.name, p.source.line()),
        local,
        global,
    }
}

fn selector(s: &RateLimitSelector, regex: &mut impl FnMut(&str) -> RegexId) -> Selector {
    let mut value = |v: &SelectorValue| match v {
        SelectorValue::Exact(x) => ValueMatch::Exact(x.clone()),
        SelectorValue::Regex(x) => ValueMatch::Regex(regex(x)),
        SelectorValue::Distinct => ValueMatch::Distinct,
    };
    match s {
        RateLimitSelector::Header {
            name,
            value: v,
            invert,
        } => Selector::Header {
            name: name.clone(),
            value: value(v),
            invert: *invert,
        },
        RateLimitSelector::Query {
            name,
            value: v,
            invert,
        } => Selector::Query {
            name: name.clone(),
            value: value(v),
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
                PathMatch::RegularExpression(v) => PathCondition::Regex(regex(v)),
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
    }
}
