//! Envoy Gateway BackendTrafficPolicy rate limits, evaluated after routing.
//!
//! A request that matched a route rule is governed by at most one policy (the compiler
//! resolved precedence into [`crate::blob::RateLimits::bindings`]). Its rules are checked the
//! way Envoy Gateway v1.9 configures Envoy:
//!
//! * **local** rules ([`bucket`]): the matching rules with selectors, least generous first,
//!   then the rule without selectors (the route's default limit); each takes from its token
//!   bucket and the first one that is empty denies, so the most restrictive limit decides.
//! * **global** rules ([`rls`]): one descriptor per matching rule in one `ShouldRateLimit`
//!   call; the service answers OVER_LIMIT when any of them is over its limit.
//!
//! Counters are per route (HTTPRoute or GRPCRoute) unless the rule is `shared`, and a
//! Distinct selector gives each value its own counter. A denied request gets 429 with
//! `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset` and `retry-after`; an
//! admitted one gets the `x-ratelimit-*` headers of its most restrictive rule. Every decision
//! counts in `gatewasm.ratelimit.<policy ns>/<policy name>.<local|global>.rule_<i>.<allowed|limited>`
//! (labelled by [`crate::metrics::TAGS`]).

mod bucket;
pub mod rls;
mod select;

use std::time::Duration;

use prost::Message;

pub use select::{parse_client, select, Entry, Facts};

use crate::blob::{ListenerId, LocalStyle, Lookup, RlPolicy, RlRule, RuleId, Selector};
use crate::engine::{Budget, Input, Reply, ReplyReason, Request, Router};
use crate::host::{Host, HostError};

/// Where the filter finds the rate limit service, and what to do when it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSettings {
    /// Envoy cluster of the rate limit service (HTTP/2).
    pub cluster: String,
    /// How long a `ShouldRateLimit` call may take.
    pub timeout: Duration,
    /// Answer 500 (as Envoy's `failure_mode_deny`) instead of admitting the request when the
    /// service fails, times out or answers something unreadable.
    pub fail_closed: bool,
}

/// The cluster the filter calls unless configured otherwise.
pub const DEFAULT_CLUSTER: &str = "ratelimit";

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            cluster: DEFAULT_CLUSTER.to_owned(),
            // Envoy's rate limit filter waits 20 ms by default; a service in the same cluster
            // answers well within 100 ms, and this leaves room for a busy one.
            timeout: Duration::from_millis(100),
            fail_closed: false,
        }
    }
}

/// Which local or global rule list a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `rateLimit.local.rules`.
    Local,
    /// `rateLimit.global.rules`.
    Global,
}

impl Kind {
    /// `local` or `global`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Local => "local",
            Kind::Global => "global",
        }
    }
}

/// The rules of the governing policy that hold for one request.
#[derive(Debug)]
pub struct Plan<'r> {
    /// The policy.
    pub policy: &'r RlPolicy,
    /// `namespace/name` of the route the request matched (the counters' scope).
    pub route: String,
    /// Matching local rules in the order they are checked, with their Distinct values.
    pub local: Vec<(&'r RlRule, Vec<Entry>)>,
    /// Matching global rules in rule order, with their Distinct values.
    pub global: Vec<(&'r RlRule, Vec<Entry>)>,
    /// How the local rules count, when not as Envoy's local rate limiter does.
    pub style: Option<&'r LocalStyle>,
}

/// The policy governing `rule` reached through `listener`, if any.
pub fn policy_for(router: &Router, listener: ListenerId, rule: RuleId) -> Option<&RlPolicy> {
    governing(router, listener, rule).map(|(policy, _)| policy)
}

/// The policy governing `rule` reached through `listener`, with its style.
fn governing(
    router: &Router,
    listener: ListenerId,
    rule: RuleId,
) -> Option<(&RlPolicy, Option<&LocalStyle>)> {
    let rl = &router.table().rate_limits;
    let index = crate::blob::bound(&rl.bindings, listener, rule)?;
    Some((rl.policies.get(index as usize)?, rl.style(index)))
}

/// [`plan`] for a request as the filter sees it: selectors read the normalised path and query
/// (empty for a target that does not normalise), the request's headers, and the client address as
/// [`parse_client`] gives it. The filter and `gatewasm explain` both plan through here.
///
/// # Errors
/// The input whose selector expression the request's regex budget could not pay for.
pub fn plan_request<'r>(
    router: &'r Router,
    listener: ListenerId,
    rule: RuleId,
    req: &Request<'_>,
    client: Option<&(Vec<u8>, String)>,
) -> Result<Option<Plan<'r>>, Input> {
    let target = crate::engine::path::normalize(req.path).ok();
    let facts = Facts {
        method: req.method,
        path: target.as_ref().map_or("", |t| t.path.as_str()),
        query: target.as_ref().map_or("", |t| t.query),
        headers: req.headers,
        client_ip: client.map(|c| c.0.as_slice()),
        client_text: client.map_or("", |c| c.1.as_str()),
        budget: &Budget::default(),
    };
    plan(router, listener, rule, &facts)
}

/// Which rules of the governing policy hold for the request. `Ok(None)` when no policy
/// governs the rule on that listener.
///
/// # Errors
/// The input on which the selectors' regular expressions ran out of budget: the request is
/// answered as the router answers it (see [`crate::engine::budget`]), since a skipped
/// selector could have put it under a limit.
pub fn plan<'r>(
    router: &'r Router,
    listener: ListenerId,
    rule: RuleId,
    facts: &Facts<'_>,
) -> Result<Option<Plan<'r>>, Input> {
    let Some((policy, style)) = governing(router, listener, rule) else {
        return Ok(None);
    };
    let table = router.table();
    // `validate` checked the rule id of every binding and the route id of every rule; a rule
    // the table did not hold would be governed by nothing.
    let Some(route) = table.rules.at(rule).and_then(|r| table.routes.at(r.route)) else {
        return Ok(None);
    };
    let pick = |rules: &'r [RlRule]| -> Vec<(&'r RlRule, Vec<Entry>)> {
        rules
            .iter()
            .filter_map(|r| select(router, r, facts).map(|e| (r, e)))
            .collect()
    };
    let mut local = pick(&policy.local);
    // Least generous first; the default rule (no selectors) last, as Envoy checks its
    // route-level bucket after the descriptors. At most 16 rules: an insertion sort (stable,
    // and smaller in the .wasm than the library sort).
    for i in 1..local.len() {
        let Some(key) = local.get(i).map(|(r, _)| order(r)) else {
            break;
        };
        let at = local
            .get(..i)
            .map_or(i, |sorted| sorted.partition_point(|(r, _)| order(r) <= key));
        if let Some(moved) = local.get_mut(at..=i) {
            moved.rotate_right(1);
        }
    }
    let global = pick(&policy.global);
    if let Some(input) = facts.budget.exhausted() {
        return Err(input);
    }
    Ok(Some(Plan {
        policy,
        route: format!("{}/{}", route.namespace, route.name),
        local,
        global,
        style,
    }))
}

/// The check order of a local rule: rules with selectors before the default rule, then by
/// requests per 365 days (every unit divides that span, so rates compare as integers).
fn order(r: &RlRule) -> (bool, u64) {
    const SPAN_SECONDS: u64 = 365 * 86_400;
    let per_span = u64::from(r.requests).saturating_mul(SPAN_SECONDS / r.unit.seconds());
    (r.selectors.is_empty(), per_span)
}

/// The shared-data keys a local rule's bucket may live at (one, or [`bucket::WAYS`]
/// neighbouring slots of a Distinct rule) and the owner fingerprint of the request's values.
pub fn bucket_keys(
    policy: &RlPolicy,
    rule: &RlRule,
    route: &str,
    entries: &[Entry],
) -> (Vec<String>, u64) {
    let scope = if rule.shared { "shared" } else { route };
    let key = format!(
        "gatewasm.rl.{}/{}.local.{}.{scope}",
        policy.namespace, policy.name, rule.index
    );
    if rule.slots == 0 {
        return (vec![key], 0);
    }
    let owner = bucket::fingerprint(FINGERPRINT_SEED, entries);
    let slots = u64::from(rule.slots);
    let first = owner % slots;
    let keys = (0..u64::from(bucket::WAYS).min(slots))
        .map(|w| format!("{key}.{}", (first + w) % slots))
        .collect();
    (keys, owner)
}

/// Seeds the slot hash. Fixed, so every worker VM (and the native runner) agrees on slots.
const FINGERPRINT_SEED: u64 = 0x6761_7465_7761_736d;

/// What the local check decided, and the global call to make if it admitted the request.
#[derive(Debug, Default)]
pub struct Admission {
    /// The 429 to send: a local rule is out of tokens.
    pub denied: Option<Reply>,
    /// The call to make before the request may pass.
    pub global: Option<Pending>,
    /// `x-ratelimit-*` headers for the response if the request is admitted.
    pub headers: Vec<(String, String)>,
}

/// A `ShouldRateLimit` call in flight, with what its answer needs.
#[derive(Debug)]
pub struct Pending {
    /// The encoded `RateLimitRequest`.
    pub message: Vec<u8>,
    policy: String,
    rules: Vec<(u16, bool)>,
    rule: RuleId,
    grpc: bool,
    local_headers: Vec<(String, String)>,
}

/// Checks the local rules of the request's plan (taking tokens) and prepares the global call.
///
/// # Errors
/// A failed host call (clock, shared data, metrics).
pub fn admit(
    domain: &str,
    plan: &Plan<'_>,
    rule_id: RuleId,
    grpc: bool,
    host: &mut impl Host,
) -> Result<Admission, HostError> {
    let policy = plan.policy;
    let prefix = metric_prefix(policy);
    let mut out = Admission::default();
    if !plan.local.is_empty() {
        let now = host.now_nanos()?;
        for (rule, entries) in &plan.local {
            let (keys, owner) = bucket_keys(policy, rule, &plan.route, entries);
            let taken = bucket::take(host, &keys, owner, &bucket_limit(rule, plan.style), now)?;
            let outcome = if taken.allowed { "allowed" } else { "limited" };
            host.count(&format!("{prefix}.local.rule_{}.{outcome}", rule.index))?;
            if taken.evicted {
                host.count(&format!("{prefix}.local.rule_{}.evicted", rule.index))?;
            }
            let headers = if rule.headers {
                limit_headers(
                    rule.requests,
                    rule.unit.seconds(),
                    taken.remaining,
                    taken.reset_secs,
                )
            } else {
                Vec::new()
            };
            if !taken.allowed {
                let status = plan.style.map_or(429, |s| s.status);
                out.denied = Some(too_many(headers, taken.reset_secs, rule_id, grpc, status));
                return Ok(out);
            }
            if out.headers.is_empty() {
                out.headers = headers;
            }
        }
    }
    if plan.global.is_empty() {
        return Ok(out);
    }
    let descriptors = plan
        .global
        .iter()
        .map(|(rule, entries)| descriptor(policy, rule, &plan.route, entries))
        .collect();
    let request = rls::RateLimitRequest {
        domain: domain.to_owned(),
        descriptors,
        hits_addend: 0,
    };
    out.global = Some(Pending {
        message: request.encode_to_vec(),
        policy: prefix,
        rules: plan
            .global
            .iter()
            .map(|(r, _)| (r.index, r.headers))
            .collect(),
        rule: rule_id,
        grpc,
        local_headers: std::mem::take(&mut out.headers),
    });
    Ok(out)
}

/// The descriptor of a global rule: `policy` = `<ns>/<name>/rule-<i>`, then `route` =
/// `<ns>/<name>` unless the rule is shared, then one entry per Distinct selector
/// (`header.<name>`, `query.<name>`, `source_ip`). The limit travels with it, so the service
/// counts exactly what the policy says.
pub fn descriptor(
    policy: &RlPolicy,
    rule: &RlRule,
    route: &str,
    entries: &[Entry],
) -> rls::RateLimitDescriptor {
    let mut all = vec![rls::Entry {
        key: "policy".to_owned(),
        value: format!("{}/{}/rule-{}", policy.namespace, policy.name, rule.index),
    }];
    if !rule.shared {
        all.push(rls::Entry {
            key: "route".to_owned(),
            value: route.to_owned(),
        });
    }
    all.extend(entries.iter().map(|(k, v)| rls::Entry {
        key: k.clone(),
        value: v.clone(),
    }));
    rls::RateLimitDescriptor {
        entries: all,
        limit: Some(rls::RateLimitOverride {
            requests_per_unit: rule.requests,
            unit: rls::unit_number(rule.unit),
        }),
        hits_addend: Some(rls::UInt64Value {
            value: u64::from(rule.cost),
        }),
    }
}

/// How a global call ended for the request.
#[derive(Debug)]
pub enum Conclusion {
    /// Let it pass, with these response headers.
    Allow(Vec<(String, String)>),
    /// Answer with this reply.
    Deny(Reply),
}

/// Reads the service's answer. `status` is the gRPC status of the call (0 OK) and `body`
/// the response message; a failed or unreadable call follows `fail_closed`.
///
/// # Errors
/// A failed metrics host call.
pub fn conclude(
    pending: Pending,
    status: u32,
    body: Option<&[u8]>,
    fail_closed: bool,
    host: &mut impl Host,
) -> Result<Conclusion, HostError> {
    let response = (status == crate::engine::grpc_code::OK)
        .then(|| rls::RateLimitResponse::decode(body.unwrap_or_default()).ok())
        .flatten();
    let Some(response) = response else {
        host.count(&format!("{}.global.service_error", pending.policy))?;
        return Ok(if fail_closed {
            Conclusion::Deny(Reply {
                reason: ReplyReason::RateLimited,
                status: 500,
                grpc_status: pending.grpc.then_some(14),
                headers: Vec::new(),
                rule: Some(pending.rule),
                backend: None,
            })
        } else {
            // Admitted without the service's answer: a fail-open decision.
            host.count(crate::metrics::FAIL_OPEN)?;
            Conclusion::Allow(pending.local_headers)
        });
    };
    let mut headers = pending.local_headers;
    let mut denied: Option<(Vec<(String, String)>, u64)> = None;
    let mut fewest = u64::MAX;
    for (i, (index, send_headers)) in pending.rules.iter().enumerate() {
        let s = response.statuses.get(i);
        let over = s.map_or(response.overall_code == rls::CODE_OVER_LIMIT, |s| {
            s.code == rls::CODE_OVER_LIMIT
        });
        let outcome = if over { "limited" } else { "allowed" };
        host.count(&format!("{}.global.rule_{index}.{outcome}", pending.policy))?;
        let Some((s, limit)) = s.and_then(|s| s.current_limit.as_ref().map(|l| (s, l))) else {
            continue;
        };
        let reset = s.duration_until_reset.as_ref().map_or(0, |d| {
            u64::try_from(d.seconds).unwrap_or(0) + u64::from(d.nanos > 0)
        });
        let these = if *send_headers {
            limit_headers(
                limit.requests_per_unit,
                rls::unit_seconds(limit.unit),
                u64::from(s.limit_remaining),
                reset,
            )
        } else {
            Vec::new()
        };
        if over && denied.is_none() {
            denied = Some((these, reset));
        } else if !over && u64::from(s.limit_remaining) < fewest && !these.is_empty() {
            fewest = u64::from(s.limit_remaining);
            headers = these;
        }
    }
    if response.overall_code == rls::CODE_OVER_LIMIT {
        let (headers, reset) = denied.unwrap_or_default();
        // The status annotation is about local rules; the service's denial stays 429.
        return Ok(Conclusion::Deny(too_many(
            headers,
            reset,
            pending.rule,
            pending.grpc,
            429,
        )));
    }
    Ok(Conclusion::Allow(headers))
}

/// True when some rule of `policy` looks at the client address.
pub fn needs_client(policy: &RlPolicy) -> bool {
    policy
        .local
        .iter()
        .chain(&policy.global)
        .flat_map(|r| &r.selectors)
        .any(|s| matches!(s, Selector::SourceCidr { .. }))
}

fn metric_prefix(policy: &RlPolicy) -> String {
    format!("gatewasm.ratelimit.{}/{}", policy.namespace, policy.name)
}

/// Draft-03 rate-limit headers (as Envoy's rate limit filters send them).
fn limit_headers(limit: u32, window: u64, remaining: u64, reset: u64) -> Vec<(String, String)> {
    vec![
        (
            "x-ratelimit-limit".to_owned(),
            format!("{limit}, {limit};w={window}"),
        ),
        ("x-ratelimit-remaining".to_owned(), remaining.to_string()),
        ("x-ratelimit-reset".to_owned(), reset.to_string()),
    ]
}

/// A local rule's bucket: Envoy's windows, or the style's continuous refill with a burst.
fn bucket_limit(rule: &RlRule, style: Option<&LocalStyle>) -> bucket::Limit {
    bucket::Limit {
        requests: u64::from(rule.requests),
        window_ns: rule.unit.seconds() * 1_000_000_000,
        cost: u64::from(rule.cost),
        burst: style
            .and_then(|s| s.burst_multiplier)
            .map(|m| u64::from(rule.requests) * u64::from(m)),
    }
}

fn too_many(
    mut headers: Vec<(String, String)>,
    reset: u64,
    rule: RuleId,
    grpc: bool,
    status: u16,
) -> Reply {
    headers.push(("retry-after".to_owned(), reset.to_string()));
    Reply {
        reason: ReplyReason::RateLimited,
        status,
        // Envoy maps a 429 (or 503) local reply to UNAVAILABLE for gRPC clients.
        grpc_status: grpc.then_some(14),
        headers,
        rule: Some(rule),
        backend: None,
    }
}
