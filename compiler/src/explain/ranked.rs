//! The candidates that also hold for the request but rank after the winner (the filter never
//! tries them), and the precedence criterion that put the winner first.

use std::fmt::Write as _;

use gatewasm_filter::blob::{
    HostGroupId, MatchId, PathMatch, RouteKind, RouteTable, RuleId, StringMatch,
};

use serde_json::{json, Value};

use super::{describe_match, pattern, rule_data, rule_label, Known};
use crate::lower::{decider, Decider};

/// A match that holds but ranks after the winner.
pub(super) struct Outranked {
    loser: (HostGroupId, MatchId),
    why: Why,
}

/// What put the winner first.
enum Why {
    /// The winner's host group is the more specific hostname.
    Hostname,
    /// The first precedence criterion that differs; `None` when only the compiler's order
    /// (route age, then name) tells them apart and the blob does not record it.
    Criterion(Option<Decider>),
}

/// The outranked candidates, from every holding candidate in precedence order (the first
/// is the winner); matches of the winning rule lead to the same answer and are left out.
pub(super) fn outranked(c: &Known<'_>, holding: &[(HostGroupId, MatchId)]) -> Vec<Outranked> {
    let Some(&(group, winner)) = holding.first() else {
        return Vec::new();
    };
    let t = c.table;
    let rule = t.matches[winner].rule;
    let created = c.manifests.map(|m| m.created.as_slice());
    let mut seen: Vec<RuleId> = vec![rule];
    let mut out = Vec::new();
    for &(g, loser) in &holding[1..] {
        let r = t.matches[loser].rule;
        if seen.contains(&r) {
            continue;
        }
        seen.push(r);
        let why = if g == group {
            Why::Criterion(decider(t, created, winner, loser))
        } else {
            Why::Hostname
        };
        out.push(Outranked {
            loser: (g, loser),
            why,
        });
    }
    out
}

/// The `also held:` lines, each loser with why the winner beat it.
pub(super) fn tell_outranked(
    c: &Known<'_>,
    winner: (HostGroupId, MatchId),
    losers: &[Outranked],
    out: &mut String,
) {
    if losers.is_empty() {
        return;
    }
    let t = c.table;
    let _ = writeln!(out, "also held, ranked lower (never tried):");
    for o in losers {
        let lm = &t.matches[o.loser.1];
        let _ = writeln!(
            out,
            "  - {}: {}\n      both match; {} wins: {}",
            rule_label(c, lm.rule),
            describe_match(lm, t),
            winner_name(c, winner.1, o.loser.1),
            reason(c, winner, o.loser, &o.why)
        );
    }
}

/// The outranked candidates as data: each loser's rule, match and why the winner beat it.
pub(super) fn outranked_data(
    c: &Known<'_>,
    winner: (HostGroupId, MatchId),
    losers: &[Outranked],
) -> Vec<Value> {
    let t = c.table;
    losers
        .iter()
        .map(|o| {
            let lm = &t.matches[o.loser.1];
            json!({
                "rule": rule_data(c, lm.rule),
                "match": describe_match(lm, t),
                "winner": winner_name(c, winner.1, o.loser.1),
                "why": reason(c, winner, o.loser, &o.why),
            })
        })
        .collect()
}

/// The winner as the loser's reader tells them apart: its rule, within the same route.
fn winner_name(c: &Known<'_>, winner: MatchId, loser: MatchId) -> String {
    let t = c.table;
    let (w, l) = (
        &t.rules[t.matches[winner].rule],
        &t.rules[t.matches[loser].rule],
    );
    if w.route == l.route {
        format!("rule {}", w.index)
    } else {
        route_name(c, winner)
    }
}

fn route_name(c: &Known<'_>, m: MatchId) -> String {
    let t = c.table;
    let route = &t.routes[t.rules[t.matches[m].rule].route];
    let kind = match route.kind {
        RouteKind::Http => "HTTPRoute",
        RouteKind::Grpc => "GRPCRoute",
    };
    format!("{kind} {}/{}", route.namespace, route.name)
}

/// Why `w` precedes `l`, in the words of the criterion that decided.
fn reason(
    c: &Known<'_>,
    w: (HostGroupId, MatchId),
    l: (HostGroupId, MatchId),
    why: &Why,
) -> String {
    let t = c.table;
    match why {
        Why::Hostname => format!(
            "its hostname {} is more specific than {}",
            pattern(&t.host_groups[w.0].host),
            pattern(&t.host_groups[l.0].host)
        ),
        Why::Criterion(None) => "same match criteria: the compiler's order decided (the older \
                                 route, then namespace/name), which the blob does not record; \
                                 explain with the manifests to see it"
            .to_owned(),
        Why::Criterion(Some(d)) => criterion(c, w.1, l.1, *d),
    }
}

/// How the match criterion `d` ranks `w` above `l`.
fn criterion(c: &Known<'_>, w: MatchId, l: MatchId, d: Decider) -> String {
    let t = c.table;
    let (wm, lm) = (&t.matches[w], &t.matches[l]);
    match d {
        Decider::PathType => format!(
            "its {} path ranks above {} (Exact, then RegularExpression, then PathPrefix)",
            path_type(&wm.path),
            path_type(&lm.path)
        ),
        Decider::PathLength => format!(
            "its {} {} is longer than {}",
            path_type(&wm.path),
            path_value(&wm.path, t),
            path_value(&lm.path, t)
        ),
        Decider::Method => format!(
            "it also requires method {}",
            wm.method.as_deref().unwrap_or("?")
        ),
        Decider::Headers => format!(
            "it matches more headers ({} against {})",
            wm.headers.len(),
            lm.headers.len()
        ),
        Decider::Query => format!(
            "it matches more query parameters ({} against {})",
            wm.query.len(),
            lm.query.len()
        ),
        Decider::Age | Decider::Name | Decider::RuleOrder | Decider::MatchOrder => {
            tie_break(c, w, l, d)
        }
    }
}

/// How a tie-break `d` (the criteria being equal) ranks `w` above `l`.
fn tie_break(c: &Known<'_>, w: MatchId, l: MatchId, d: Decider) -> String {
    let t = c.table;
    let rule = |m: MatchId| &t.rules[t.matches[m].rule];
    let route = |m: MatchId| &t.routes[rule(m).route];
    let name = |m: MatchId| format!("{}/{}", route(m).namespace, route(m).name);
    let created = |m: MatchId| {
        c.manifests
            .and_then(|x| x.created.get(rule(m).route.index()).cloned().flatten())
            .unwrap_or_else(|| "none".to_owned())
    };
    match d {
        Decider::Age => format!(
            "it is older (creationTimestamp {} against {})",
            created(w),
            created(l)
        ),
        Decider::Name if name(w) == name(l) => format!(
            "same age and name, {} comes first in the input",
            route_name(c, w)
        ),
        Decider::Name => format!("same age, {} sorts before {}", name(w), name(l)),
        Decider::RuleOrder => format!(
            "same route, rule {} comes before rule {}",
            rule(w).index,
            rule(l).index
        ),
        _ => "same rule, its match is written first".to_owned(),
    }
}

fn path_type(p: &PathMatch) -> &'static str {
    match p {
        PathMatch::Exact(_) => "Exact",
        PathMatch::Regex(_) => "RegularExpression",
        PathMatch::Prefix(_) => "PathPrefix",
        PathMatch::Grpc { .. } => "gRPC method match",
    }
}

fn path_value(p: &PathMatch, t: &RouteTable) -> String {
    match p {
        PathMatch::Exact(v) | PathMatch::Prefix(v) => v.clone(),
        PathMatch::Regex(id) => t.regexes[id.index()].clone(),
        PathMatch::Grpc { service, method } => {
            let name = |s: &Option<StringMatch>| match s {
                None => "*".to_owned(),
                Some(StringMatch::Exact(v)) => v.clone(),
                Some(StringMatch::Regex(id)) => t.regexes[id.index()].clone(),
            };
            format!("{}/{}", name(service), name(method))
        }
    }
}
