//! Which policy governs each attached rule on each listener, for Envoy Gateway's policies
//! (BackendTrafficPolicy rate limits, SecurityPolicy authorization).
//!
//! Precedence follows Envoy Gateway: a policy on a route rule (`sectionName` of a route)
//! beats one on the route, which beats one on a listener (`sectionName` of the Gateway),
//! which beats one on the Gateway. Between two policies at the same level the older one
//! (earlier in the input) wins and the other gets a warning, as Envoy Gateway reports it
//! `Conflicted`. A policy whose targets are not in the input is reported too; it may belong
//! to another Gateway.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use gatewasm_filter::blob::{Binding, ListenerId, RouteKind, RuleId};

use super::attach::selector_matches;
use super::ids::{self, TooMany};
use super::{Resolved, ResolvedRule};
use crate::diag::{Diagnostics, Severity};
use crate::quote::quote;
use crate::valid::{Gateway, PolicyTarget, TargetKind, TargetSelector, Valid, Validated};
use crate::warning::Warning;

/// A policy that targets Gateways, listeners, routes and route rules.
pub trait Policy {
    /// Targets by name.
    fn targets(&self) -> &[PolicyTarget];
    /// Targets by label.
    fn selectors(&self) -> &[TargetSelector];
    /// What requests lose when a more specific policy replaces this one.
    fn what(&self) -> String;
}

/// How specific a policy's attachment is: lower wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    RouteRule,
    Route,
    Listener,
    Gateway,
}

/// A rule on a listener: the listener, and the rule's position in [`Resolved::rules`].
pub type RuleOn = (ListenerId, usize);

/// For each rule on each listener: the level and input position of the policy that governs
/// it. Two policies at the same level are reported; the older one keeps the rule.
pub fn bind<T: Policy>(
    input: &Validated,
    policies: &[Valid<T>],
    gateway: &Valid<Gateway>,
    resolved: &Resolved,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<RuleOn, (Level, usize)> {
    let mut best: BTreeMap<RuleOn, (Level, usize)> = BTreeMap::new();
    let mut conflicts: Vec<(usize, usize)> = Vec::new();
    let mut reached: Vec<(RuleOn, Level, usize)> = Vec::new();
    for (pi, p) in policies.iter().enumerate() {
        for (level, on) in targets(input, gateway, resolved, p, diagnostics) {
            reached.push((on, level, pi));
            match best.entry(on) {
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
    warn_conflicts(policies, &conflicts, diagnostics);
    warn_overrides(policies, resolved, &best, &reached, diagnostics);
    best
}

/// The bindings of `best`, each policy put in `out` once, as `convert` makes it from its
/// input position, when a binding first names it.
///
/// # Errors
/// More rules or policies than the blob can number.
pub fn numbered<B>(
    best: BTreeMap<RuleOn, (Level, usize)>,
    out: &mut Vec<B>,
    what: &'static str,
    mut convert: impl FnMut(usize) -> Result<B, TooMany>,
) -> Result<Vec<Binding>, TooMany> {
    let mut index: std::collections::HashMap<usize, u32> = std::collections::HashMap::new();
    let mut bindings = Vec::with_capacity(best.len());
    for ((listener, rule), (_, pi)) in best {
        let policy = match index.get(&pi) {
            Some(&policy) => policy,
            None => {
                let policy = ids::push(out, convert(pi)?, |i| u32::try_from(i).ok(), what)?;
                index.insert(pi, policy);
                policy
            }
        };
        let rule = RuleId::from_index(rule).ok_or(TooMany("rules"))?;
        bindings.push(Binding {
            listener,
            rule,
            policy,
        });
    }
    Ok(bindings)
}

/// Warns each policy that replaces a less specific one on some rules: Envoy Gateway applies
/// only the most specific policy to a request, so those requests lose the other's limits.
fn warn_overrides<T: Policy>(
    policies: &[Valid<T>],
    resolved: &Resolved,
    best: &BTreeMap<RuleOn, (Level, usize)>,
    reached: &[(RuleOn, Level, usize)],
    diagnostics: &mut Diagnostics,
) {
    // (winner, loser) → the routes where the loser's limits are lost.
    let mut lost: BTreeMap<(usize, usize), BTreeSet<String>> = BTreeMap::new();
    for &((listener, rule), level, pi) in reached {
        let Some(&(best_level, winner)) = best.get(&(listener, rule)) else {
            continue;
        };
        if best_level < level && winner != pi {
            let route = &resolved.routes[resolved.rules[rule].rule.route.index()].route;
            let kind = match route.kind {
                RouteKind::Http => "HTTPRoute",
                RouteKind::Grpc => "GRPCRoute",
            };
            lost.entry((winner, pi))
                .or_default()
                .insert(format!("{kind} {}/{}", route.namespace, route.name));
        }
    }
    for ((winner, loser), routes) in lost {
        let (w, l) = (&policies[winner], &policies[loser]);
        let routes: Vec<String> = routes.into_iter().collect();
        let mut d = w.source.diagnostic(
            Severity::Warning(Warning::PolicyOverridden),
            &w.label(),
            "spec.targetRefs",
            format!(
                "replaces {} on {}: those requests lose {}",
                l.label(),
                routes.join(", "),
                l.spec.what()
            ),
        );
        d.help = Some(format!(
            "Envoy Gateway applies only the most specific policy to a request; repeat what the routes should keep in {}",
            w.label()
        ));
        d.related.push(l.source.related("spec", l.label()));
        diagnostics.push(d);
    }
}

/// Warns the younger policy of each (older, younger) pair.
fn warn_conflicts<T>(
    policies: &[Valid<T>],
    conflicts: &[(usize, usize)],
    diagnostics: &mut Diagnostics,
) {
    for &(winner, loser) in conflicts {
        let (w, l) = (&policies[winner], &policies[loser]);
        let mut d = l.source.diagnostic(
            Severity::Warning(Warning::PolicyConflict),
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
}

/// Every (level, rule on a listener) the policy reaches on this Gateway.
fn targets<T: Policy>(
    input: &Validated,
    gateway: &Valid<Gateway>,
    resolved: &Resolved,
    p: &Valid<T>,
    diagnostics: &mut Diagnostics,
) -> Vec<(Level, RuleOn)> {
    let mut reach = Reach {
        input,
        gateway,
        resolved,
        policy: p,
        found: Vec::new(),
    };
    for (i, t) in p.spec.targets().iter().enumerate() {
        let field = format!("spec.targetRefs[{i}]");
        match reach.target(i, t, diagnostics) {
            Target::Reached => {}
            Target::Elsewhere => diagnostics.push(p.source.diagnostic(
                Severity::Note,
                &p.label(),
                &field,
                format!(
                    "target {}/{} is not attached to Gateway {}/{}: the policy does not apply to it here",
                    p.meta.namespace, t.name, gateway.meta.namespace, gateway.meta.name
                ),
            )),
            Target::Missing => {
                let mut d = p.source.diagnostic(
                    Severity::Warning(Warning::PolicyTargetNotFound),
                    &p.label(),
                    &field,
                    format!(
                        "target {} {}/{} is not in the input: the policy applies to nothing",
                        t.kind.name(),
                        p.meta.namespace,
                        t.name
                    ),
                );
                d.help = Some(format!(
                    "a policy targets objects of its own namespace ({}); fix the name, or add the target's manifest to the input",
                    p.meta.namespace
                ));
                diagnostics.push(d);
            }
        }
    }
    for s in p.spec.selectors() {
        reach.selected(s);
    }
    reach.found
}

/// Where one targetRef of a policy points.
enum Target {
    /// At routes or listeners of the compiled Gateway.
    Reached,
    /// At an object of the input that is not attached to the compiled Gateway.
    Elsewhere,
    /// At nothing in the input.
    Missing,
}

/// What one policy reaches on the compiled Gateway, gathered target by target.
struct Reach<'a, T> {
    input: &'a Validated,
    gateway: &'a Valid<Gateway>,
    resolved: &'a Resolved,
    policy: &'a Valid<T>,
    found: Vec<(Level, RuleOn)>,
}

impl<T> Reach<'_, T> {
    /// Follows `spec.targetRefs[i]`. A section that names nothing is warned about here.
    fn target(&mut self, i: usize, t: &PolicyTarget, diagnostics: &mut Diagnostics) -> Target {
        let (p, gateway) = (self.policy, self.gateway);
        let ns = &p.meta.namespace;
        let section = t.section_name.as_deref();
        let missing = match t.kind {
            TargetKind::Gateway if gateway.meta.namespace == *ns && t.name == gateway.meta.name => {
                if self.listeners(section) || section.is_none() {
                    return Target::Reached;
                }
                format!(
                    "Gateway {}/{} has no listener {} with attached routes",
                    gateway.meta.namespace,
                    gateway.meta.name,
                    quote(section.unwrap_or_default())
                )
            }
            TargetKind::Gateway => return object_in(self.input, t.kind, ns, &t.name),
            kind => match self.route_index(kind, &t.name) {
                Some(r) => {
                    if self.route(r, section) {
                        return Target::Reached;
                    }
                    format!(
                        "route {}/{} has no rule named {}",
                        ns,
                        t.name,
                        quote(section.unwrap_or_default())
                    )
                }
                None => return object_in(self.input, kind, ns, &t.name),
            },
        };
        diagnostics.push(p.source.diagnostic(
            Severity::Warning(Warning::PolicyTargetNotFound),
            &p.label(),
            &format!("spec.targetRefs[{i}].sectionName"),
            missing,
        ));
        Target::Reached
    }

    /// Follows a label selector: the Gateway, or routes of the policy's namespace.
    fn selected(&mut self, s: &TargetSelector) {
        let (input, gateway, ns) = (self.input, self.gateway, &self.policy.meta.namespace);
        if s.kind == TargetKind::Gateway {
            if gateway.meta.namespace == *ns && selector_matches(&s.labels, &gateway.meta.labels) {
                self.listeners(None);
            }
            return;
        }
        for (ri, r) in self.resolved.routes.iter().enumerate() {
            let r = &r.route;
            let labels = route_labels(input, r.kind, &r.namespace, &r.name);
            if r.namespace == *ns
                && self.route_index(s.kind, &r.name) == Some(ri)
                && labels.is_some_and(|l| selector_matches(&s.labels, l))
            {
                self.route(ri, None);
            }
        }
    }

    /// The rules of route `route` on each listener it is attached to: all of them, or the
    /// one named `section`. False when none was reached.
    fn route(&mut self, route: usize, section: Option<&str>) -> bool {
        let level = if section.is_some() {
            Level::RouteRule
        } else {
            Level::Route
        };
        let mut hit = false;
        let resolved = self.resolved;
        for a in resolved
            .attachments
            .iter()
            .filter(|a| a.route.index() == route)
        {
            for (id, r) in rules_of(resolved, route) {
                if section.is_none_or(|s| r.rule.name.as_deref() == Some(s)) {
                    self.found.push((level, (a.listener, id)));
                    hit = true;
                }
            }
        }
        hit
    }

    /// Every rule on every listener, or on the listener named `section`. False when none
    /// was reached.
    fn listeners(&mut self, section: Option<&str>) -> bool {
        let level = if section.is_some() {
            Level::Listener
        } else {
            Level::Gateway
        };
        let mut hit = false;
        let resolved = self.resolved;
        for a in &resolved.attachments {
            let l = &resolved.listeners[a.listener.index()];
            if section.is_some_and(|s| s != l.name) {
                continue;
            }
            for (id, _) in rules_of(resolved, a.route.index()) {
                self.found.push((level, (a.listener, id)));
                hit = true;
            }
        }
        hit
    }

    /// The position in the table of the policy's route `kind` `name`.
    fn route_index(&self, kind: TargetKind, name: &str) -> Option<usize> {
        let want = match kind {
            TargetKind::HttpRoute => RouteKind::Http,
            TargetKind::GrpcRoute => RouteKind::Grpc,
            TargetKind::Gateway => return None,
        };
        let ns = &self.policy.meta.namespace;
        self.resolved.routes.iter().position(|r| {
            let r = &r.route;
            r.kind == want && r.namespace == *ns && r.name == name
        })
    }
}

/// The rules of route number `route`, with their positions.
fn rules_of(resolved: &Resolved, route: usize) -> impl Iterator<Item = (usize, &ResolvedRule)> {
    resolved
        .rules
        .iter()
        .enumerate()
        .filter(move |(_, r)| r.rule.route.index() == route)
}

/// Whether the input holds the object a targetRef names.
fn object_in(input: &Validated, kind: TargetKind, ns: &str, name: &str) -> Target {
    let found = match kind {
        TargetKind::HttpRoute => input
            .http_routes
            .iter()
            .any(|r| r.meta.namespace == ns && r.meta.name == name),
        TargetKind::GrpcRoute => input
            .grpc_routes
            .iter()
            .any(|r| r.meta.namespace == ns && r.meta.name == name),
        TargetKind::Gateway => input
            .gateways
            .iter()
            .any(|g| g.meta.namespace == ns && g.meta.name == name),
    };
    if found {
        Target::Elsewhere
    } else {
        Target::Missing
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
