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
    HostGroup, HostGroupId, HostPattern, Match, MatchId, PathMatch, RouteId, RouteTable,
    StringMatch,
};

use crate::diag::{Diagnostics, Severity};
use crate::resolve::ids::{self, TooMany};
use crate::resolve::{Attachment, Resolved, RuleSource};
use crate::warning::Warning;

/// The finished table and what explanations need alongside it.
#[derive(Debug)]
pub struct Lowered {
    /// The table the blob carries.
    pub table: RouteTable,
    /// For each rule of the table, where it is written.
    pub rule_sources: Vec<RuleSource>,
    /// Each route's `creationTimestamp`, the tie-break explanations name.
    pub created: Vec<Option<String>>,
    /// A warning for every rule that no request can reach.
    pub warnings: Diagnostics,
    /// The clusters that carry a connect timeout: name → milliseconds.
    pub connect_timeouts: std::collections::BTreeMap<String, u64>,
}

/// Builds the table of `resolved` with every listener's matches in precedence order.
///
/// # Errors
/// The table has more matches or host groups than the blob can number.
pub fn lower(resolved: Resolved) -> Result<Lowered, TooMany> {
    let Resolved {
        name,
        listeners,
        routes,
        rules,
        backends,
        regexes,
        rate_limits,
        access,
        idle,
        connect_timeouts,
        attachments,
        ..
    } = resolved;
    let mut table = RouteTable {
        gateway: name,
        listeners,
        backends,
        regexes: regexes.into_list(),
        rate_limits,
        access,
        idle,
        ..RouteTable::default()
    };
    let mut created = Vec::with_capacity(routes.len());
    for r in routes {
        table.routes.push(r.route);
        created.push(r.created);
    }
    // Matches of each route, in rule then match order.
    let mut by_route: Vec<Vec<MatchId>> = vec![Vec::new(); table.routes.len()];
    let mut rule_sources = Vec::with_capacity(rules.len());
    for r in rules {
        for m in r.matches {
            let id = ids::push(&mut table.matches, m, MatchId::from_index, "matches")?;
            by_route[r.rule.route.index()].push(id);
        }
        table.rules.push(r.rule);
        rule_sources.push(r.source);
    }
    group(&mut table, &attachments, &by_route, &created)?;
    let warnings = shadowed(&table, &rule_sources);
    Ok(Lowered {
        table,
        rule_sources,
        created,
        warnings,
        connect_timeouts,
    })
}

/// Gives each listener its host groups, most specific first, each in precedence order.
/// `created` is each route's creation timestamp.
fn group(
    table: &mut RouteTable,
    attachments: &[Attachment],
    by_route: &[Vec<MatchId>],
    created: &[Option<String>],
) -> Result<(), TooMany> {
    for l in 0..table.listeners.len() {
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
            matches.sort_by_cached_key(|&m| precedence(table, created, m));
            let group = HostGroup { host, matches };
            let id = ids::push(
                &mut table.host_groups,
                group,
                HostGroupId::from_index,
                "host groups",
            )?;
            table.listeners[l].host_groups.push(id);
        }
    }
    Ok(())
}

/// A match's place in its host group: criteria, then age (routes without a timestamp
/// last), `namespace/name`, route, rule and match order. Smaller sorts first, i.e. wins.
type Precedence = (
    Criteria,
    bool,
    Option<String>,
    String,
    RouteId,
    u16,
    MatchId,
);

fn precedence(table: &RouteTable, created: &[Option<String>], m: MatchId) -> Precedence {
    let mm = &table.matches[m];
    let rule = &table.rules[mm.rule];
    let route = &table.routes[rule.route];
    let created = &created[rule.route.index()];
    (
        criteria(mm, &table.regexes),
        created.is_none(),
        created.clone(),
        format!("{}/{}", route.namespace, route.name),
        rule.route,
        rule.index,
        // A rule's matches have increasing ids in the order they are written.
        m,
    )
}

/// What ranks one match of a host group above another: the first precedence criterion
/// where they differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    /// `Exact` path before `RegularExpression` before `PathPrefix`.
    PathType,
    /// The longer path value (gRPC: service, then method).
    PathLength,
    /// Only the winner names a method.
    Method,
    /// The winner has more header matches.
    Headers,
    /// The winner has more query matches.
    Query,
    /// The winner's route is older (routes without a `creationTimestamp` count as newest).
    Age,
    /// Same age: the winner's `namespace/name` sorts first (or, same name, its kind).
    Name,
    /// Same route: the winner's rule comes first.
    RuleOrder,
    /// Same rule: the winner's match comes first.
    MatchOrder,
}

/// Why `winner` precedes `loser` in their host group. `created` is each route's
/// `creationTimestamp`; without it (a deployed blob) equal criteria give `None`.
pub fn decider(
    table: &RouteTable,
    created: Option<&[Option<String>]>,
    winner: MatchId,
    loser: MatchId,
) -> Option<Decider> {
    let (w, l) = (&table.matches[winner], &table.matches[loser]);
    let (a, b) = (criteria(w, &table.regexes), criteria(l, &table.regexes));
    let by_criteria = [
        (a.0 != b.0, Decider::PathType),
        (a.1 != b.1, Decider::PathLength),
        (a.2 != b.2, Decider::Method),
        (a.3 != b.3, Decider::Headers),
        (a.4 != b.4, Decider::Query),
    ];
    if let Some(&(_, d)) = by_criteria.iter().find(|(differs, _)| *differs) {
        return Some(d);
    }
    let created = created?;
    let (a, b) = (
        precedence(table, created, winner),
        precedence(table, created, loser),
    );
    Some(if (a.1, &a.2) != (b.1, &b.2) {
        Decider::Age
    } else if (&a.3, a.4) != (&b.3, b.4) {
        Decider::Name
    } else if a.5 != b.5 {
        Decider::RuleOrder
    } else {
        Decider::MatchOrder
    })
}

/// Rules none of whose matches can ever win: in every host group where a match appears, an
/// earlier match has the same path condition and no condition of its own (no method, header
/// or query), so it takes every request first. Expression-level overlap (a regex that covers
/// a prefix) is not analysed.
fn shadowed(table: &RouteTable, rule_sources: &[RuleSource]) -> Diagnostics {
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
    let mut d = Diagnostics::new();
    for (rule, reach) in reachable.iter().enumerate() {
        if *reach {
            continue;
        }
        if let Some(b) = blocker[rule] {
            let winner = &rule_sources[table.matches[b].rule.index()];
            let message = format!(
                "can never match: {} matches the same requests first, with no extra condition",
                winner.describe()
            );
            d.push(
                rule_sources[rule]
                    .diagnostic(Severity::Warning(Warning::UnreachableRule), message)
                    .with_related(winner.related()),
            );
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
