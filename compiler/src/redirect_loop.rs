//! Redirect loops, found by running the compiled table: for every redirect rule on every
//! listener, a request its match selects goes through the engine, and the `Location` it is
//! answered with is requested again, hop by hop. A Location seen before is a loop — the
//! classic one is an HTTP→HTTPS redirect attached to the whole Gateway, which answers the
//! HTTPS listener's requests with their own URL.
//!
//! The probe is built from the match's literal conditions (an Exact or PathPrefix path,
//! exact headers and query parameters). A match on a regular expression or a gRPC method
//! is not probed: no request is known to select it.

use std::collections::HashSet;

use gatewasm_filter::blob::{HostPattern, Listener, Match, PathMatch, RouteTable, StringMatch};
use gatewasm_filter::engine::{Decision, Dice, ReplyReason, Request, Router};

use crate::diag::{Diagnostics, Severity};
use crate::explain::{parse_url, pseudo_headers, Url};
use crate::resolve::RuleSource;
use crate::warning::Warning;

/// Hops followed before giving up: a chain this long that never repeats is not a loop.
const HOPS: usize = 8;

/// A warning for each redirect rule some request loops on.
pub fn check(table: &RouteTable, blob: &[u8], rule_sources: &[RuleSource]) -> Diagnostics {
    let mut out = Diagnostics::new();
    // Most tables redirect nowhere: they need no second decode and index build.
    if table.rules.iter().all(|r| r.filters.redirect.is_none()) {
        return out;
    }
    let Ok(router) = Router::from_blob(blob) else {
        return out;
    };
    let mut warned = HashSet::new();
    for listener in &table.listeners {
        for group in &listener.host_groups {
            let group = &table.host_groups[group.index()];
            for m in &group.matches {
                let m = &table.matches[m.index()];
                let rule = m.rule.index();
                if warned.contains(&rule) || table.rules[rule].filters.redirect.is_none() {
                    continue;
                }
                let Some(start) = probe(listener, group.host.as_ref(), m) else {
                    continue;
                };
                if let Some(chain) = follow(&router, start) {
                    warned.insert(rule);
                    let mut d = rule_sources[rule].diagnostic(
                        Severity::Warning(Warning::RedirectLoop),
                        format!(
                            "redirect loop on listener {}: {}",
                            listener.name,
                            chain.join(", then ")
                        ),
                    );
                    d.help = Some(
                        "attach the redirect only to the listener it leaves (parentRefs with sectionName), or match only requests the Location does not repeat"
                            .to_owned(),
                    );
                    out.push(d);
                }
            }
        }
    }
    out
}

/// One request of a chain.
struct Hop {
    scheme: String,
    authority: String,
    host: String,
    port: u16,
    target: String,
    method: String,
    /// Header conditions of the probed match, sent on every hop.
    headers: Vec<(String, Vec<u8>)>,
}

/// A request on `listener` that match `m` selects, from its literal conditions.
fn probe(listener: &Listener, host: Option<&HostPattern>, m: &Match) -> Option<Hop> {
    let mut target = match &m.path {
        PathMatch::Exact(p) | PathMatch::Prefix(p) => p.clone(),
        PathMatch::Regex(_) | PathMatch::Grpc { .. } => return None,
    };
    let mut query = Vec::new();
    for q in &m.query {
        let StringMatch::Exact(v) = &q.value else {
            return None;
        };
        query.push(format!("{}={v}", q.name));
    }
    if !query.is_empty() {
        target = format!("{target}?{}", query.join("&"));
    }
    let mut headers = Vec::new();
    for h in &m.headers {
        let StringMatch::Exact(v) = &h.value else {
            return None;
        };
        headers.push((h.name.clone(), v.clone().into_bytes()));
    }
    let host = match host.or(listener.hostname.as_ref()) {
        Some(HostPattern::Exact(h)) => h.clone(),
        Some(HostPattern::Wildcard(suffix)) => format!("probe{suffix}"),
        None => "probe.example".to_owned(),
    };
    Some(Hop {
        scheme: if listener.tls { "https" } else { "http" }.to_owned(),
        authority: host.clone(),
        host,
        port: listener.port,
        target,
        method: m.method.clone().unwrap_or_else(|| "GET".to_owned()),
        headers,
    })
}

/// The hops of a loop starting at `hop`, each as `METHOD URL (port N) answers status
/// Location`;
/// `None` when a hop is not answered with a redirect, or the chain does not repeat.
fn follow(router: &Router, mut hop: Hop) -> Option<Vec<String>> {
    let mut seen: Vec<(String, String, u16, String)> = Vec::new();
    let mut chain = Vec::new();
    for _ in 0..HOPS {
        let key = (
            hop.scheme.clone(),
            hop.authority.clone(),
            hop.port,
            hop.target.clone(),
        );
        if seen.contains(&key) {
            return Some(chain);
        }
        seen.push(key);
        let (status, location) = redirect(router, &hop)?;
        chain.push(format!(
            "{} {}://{}{} (port {}) answers {status} {location}",
            hop.method, hop.scheme, hop.authority, hop.target, hop.port
        ));
        let next: Url = parse_url(&location).ok()?;
        hop = Hop {
            port: next
                .port
                .unwrap_or(if next.scheme == "https" { 443 } else { 80 }),
            scheme: next.scheme,
            authority: next.authority,
            host: next.host,
            target: next.target,
            ..hop
        };
    }
    None
}

/// The status and Location a redirect answers `hop` with; `None` for any other answer.
fn redirect(router: &Router, hop: &Hop) -> Option<(u16, String)> {
    let mut headers = pseudo_headers(&hop.method, &hop.scheme, &hop.authority, &hop.target);
    headers.extend(hop.headers.iter().cloned());
    let headers = gatewasm_filter::engine::borrow_headers(&headers);
    let req = Request {
        port: hop.port,
        sni: (hop.scheme == "https").then_some(hop.host.as_str()),
        scheme: &hop.scheme,
        authority: &hop.authority,
        method: &hop.method,
        path: &hop.target,
        headers: &headers,
    };
    let Decision::Reply(reply) = router.evaluate(&req, &mut Dice::new(0x5eed)) else {
        return None;
    };
    if reply.reason != ReplyReason::Redirect {
        return None;
    }
    reply
        .headers
        .iter()
        .find(|(n, _)| n == "location")
        .map(|(_, v)| (reply.status, v.clone()))
}
