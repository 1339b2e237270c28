//! The lower stage: puts every listener's matches in Gateway API precedence order.
//!
//! For each listener, the matches of the routes attached to it are grouped by effective
//! hostname. Groups are ordered most specific first (exact names by length, then wildcards
//! by length, then "any host"), which is the spec's first precedence criterion. Within a
//! group, matches are ordered by:
//!
//! * HTTPRoute: `Exact` path, then `RegularExpression` path (longer pattern first; the
//!   spec leaves regex precedence to implementations), then `PathPrefix` (longer first);
//!   then a match with a method; then more header matches; then more query matches.
//! * GRPCRoute: more characters in the service, then in the method, then more headers.
//! * Ties: the oldest route (`creationTimestamp`; routes without one count as newest), then
//!   `namespace/name`, then rule order, then match order.
//!
//! The engine walks groups and matches in exactly this order and takes the first match that
//! holds, so the order *is* the precedence.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use gatewasm_filter::blob::{
    HostGroup, HostGroupId, HostPattern, Match, MatchId, PathMatch, RouteTable, StringMatch,
};

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::resolve::Resolved;

/// Orders the table of `resolved` and returns it, with a warning for every rule that no
/// request can reach.
pub fn lower(resolved: Resolved) -> (RouteTable, Diagnostics) {
    let Resolved {
        mut table,
        attachments,
        ages,
        match_positions,
        rule_sources,
        ..
    } = resolved;
    // Matches of each route, in rule then match order.
    let mut by_route: Vec<Vec<MatchId>> = vec![Vec::new(); table.routes.len()];
    for (i, m) in table.matches.iter().enumerate() {
        let route = table.rules[m.rule].route;
        by_route[route.index()].push(MatchId(i as u32));
    }
    for (l, listener) in table.listeners.iter_mut().enumerate() {
        let mut groups: BTreeMap<GroupKey, (Option<HostPattern>, Vec<MatchId>)> = BTreeMap::new();
        for a in attachments.iter().filter(|a| a.listener.index() == l) {
            for host in &a.hosts {
                groups
                    .entry(group_key(host))
                    .or_insert_with(|| (host.clone(), Vec::new()))
                    .1
                    .extend(&by_route[a.route.index()]);
            }
        }
        for (host, mut matches) in groups.into_values() {
            matches.sort_by_cached_key(|&m| {
                let mm = &table.matches[m];
                let rule = &table.rules[mm.rule];
                let route = &table.routes[rule.route];
                let age = &ages[rule.route.index()];
                (
                    criteria(mm, &table.regexes),
                    age.created.is_none(),
                    age.created.clone(),
                    format!("{}/{}", route.namespace, route.name),
                    rule.route,
                    rule.index,
                    match_positions[m.index()],
                )
            });
            listener
                .host_groups
                .push(HostGroupId(table.host_groups.len() as u32));
            table.host_groups.push(HostGroup { host, matches });
        }
    }
    let warnings = shadowed(&table, &rule_sources);
    (table, warnings)
}

/// Rules none of whose matches can ever win: in every host group where a match appears, an
/// earlier match has the same path condition and no condition of its own (no method, header
/// or query), so it takes every request first. Expression-level overlap (a regex that covers
/// a prefix) is not analysed.
fn shadowed(table: &RouteTable, rule_sources: &[String]) -> Diagnostics {
    let mut reachable = vec![false; table.rules.len()];
    let mut blocker: Vec<Option<MatchId>> = vec![None; table.rules.len()];
    for group in &table.host_groups {
        // Earlier unconditional matches of this group, by path condition.
        let mut taken: Vec<(&PathMatch, MatchId)> = Vec::new();
        for &m in &group.matches {
            let mm = &table.matches[m];
            match taken.iter().find(|(p, _)| **p == mm.path) {
                Some(&(_, first)) => {
                    blocker[mm.rule.index()].get_or_insert(first);
                }
                None => reachable[mm.rule.index()] = true,
            }
            if is_unconditional(mm) {
                taken.push((&mm.path, m));
            }
        }
    }
    let label = |rule: usize| {
        let r = &table.rules[rule];
        let route = &table.routes[r.route];
        let at = rule_sources
            .get(rule)
            .map_or(route.source.as_str(), String::as_str);
        format!("{}/{} rule {} ({at})", route.namespace, route.name, r.index)
    };
    let mut d = Diagnostics::new();
    for (rule, reach) in reachable.iter().enumerate() {
        if *reach {
            continue;
        }
        if let Some(b) = blocker[rule] {
            let winner = table.matches[b].rule.index();
            d.push(Diagnostic::new(
                Severity::Warning,
                format!(
                    "{} can never match: {} matches the same requests first, with no extra condition",
                    label(rule),
                    label(winner)
                ),
            ));
        }
    }
    d
}

fn is_unconditional(m: &Match) -> bool {
    m.method.is_none() && m.headers.is_empty() && m.query.is_empty()
}

/// Orders host groups most specific first: exact (0) before wildcard (1) before any host
/// (2), longer names first, then by name so equal lengths sort deterministically.
type GroupKey = (u8, Reverse<usize>, String);

fn group_key(host: &Option<HostPattern>) -> GroupKey {
    let (class, name) = match host {
        Some(HostPattern::Exact(n)) => (0, n.clone()),
        Some(HostPattern::Wildcard(s)) => (1, s.clone()),
        None => (2, String::new()),
    };
    (class, Reverse(name.len()), name)
}

/// Match criteria as a sort key: smaller sorts first, i.e. wins.
type Criteria = (
    u8,
    Reverse<usize>,
    Reverse<bool>,
    Reverse<usize>,
    Reverse<usize>,
);

fn criteria(m: &Match, regexes: &[String]) -> Criteria {
    let len = |s: &StringMatch| match s {
        StringMatch::Exact(v) => v.len(),
        StringMatch::Regex(id) => regexes[id.index()].len(),
    };
    let (class, length) = match &m.path {
        PathMatch::Exact(v) => (0, v.len()),
        PathMatch::Regex(id) => (1, regexes[id.index()].len()),
        PathMatch::Prefix(v) => (2, v.len()),
        PathMatch::Grpc { service, method } => {
            // Service length dominates method length: pack them into one number.
            let s = service.as_ref().map_or(0, len);
            let me = method.as_ref().map_or(0, len);
            (3, (s << 16) | me.min(0xffff))
        }
    };
    (
        class,
        Reverse(length),
        Reverse(m.method.is_some()),
        Reverse(m.headers.len()),
        Reverse(m.query.len()),
    )
}
