//! `gatewasm explain`: one request through the engine, told as a story — which listener,
//! which candidates were tried and why each lost, which rule won over which others and why,
//! what the filter does, and what the client gets from Envoy. With the manifests it also
//! says why a backendRef is invalid and which routes did not attach. `-o json` gives the
//! decision as data.

mod answer;
mod backends;
mod ranked;
mod unattached;

use std::fmt::Write as _;

use serde_json::{json, Value};

use gatewasm_filter::blob::{
    idle_header, AccessPolicy, HostGroupId, HostPattern, IdlePolicy, ListenerId, LocalStyle, Match,
    MatchId, PathMatch, RlPolicy, RlRule, RouteTable, RuleId, StringMatch,
};
use gatewasm_filter::config::DEFAULT_CLUSTER_HEADER;
use gatewasm_filter::decision_log;
use gatewasm_filter::engine::{
    request_host, Decision, Dice, Forward, HeaderEdit, Miss, Reply, ReplyReason, Request,
    RequestEdit, Router, Strategy,
};
use gatewasm_filter::ratelimit;

use crate::compile::Compiled;
use crate::quote::{clean, quote, SHOWN};
use crate::resolve::RuleSource;

/// A request given on the command line.
pub(crate) struct Url {
    pub(crate) scheme: String,
    pub(crate) authority: String,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    pub(crate) target: String,
}

/// An absolute http or https URL, split into its parts.
pub(crate) fn parse_url(url: &str) -> Result<Url, String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        format!(
            "{} is not an absolute URL; write it like https://app.example.com/path",
            quote(url)
        )
    })?;
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "unsupported scheme {}: use http or https",
            quote(scheme)
        ));
    }
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        },
    };
    let target = if target.starts_with('?') {
        format!("/{target}")
    } else {
        target.to_owned()
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (
            h.to_owned(),
            Some(
                p.parse::<u16>()
                    .map_err(|_| format!("bad port in {}", quote(url)))?,
            ),
        ),
        _ => (authority.to_owned(), None),
    };
    Ok(Url {
        scheme: scheme.to_owned(),
        authority: authority.to_owned(),
        host,
        port,
        target,
    })
}

fn string_match(m: &StringMatch, t: &RouteTable) -> String {
    match m {
        StringMatch::Exact(v) => format!("= {}", quote(v)),
        StringMatch::Regex(id) => format!("~ /{}/", clean(&t.regexes[id.index()], SHOWN)),
    }
}

/// One match written out as its conditions.
pub fn describe_match(m: &Match, t: &RouteTable) -> String {
    let mut s = match &m.path {
        PathMatch::Exact(v) => format!("path Exact {v}"),
        PathMatch::Prefix(v) => format!("path PathPrefix {v}"),
        PathMatch::Regex(id) => format!("path RegularExpression {}", t.regexes[id.index()]),
        PathMatch::Grpc { service, method } => format!(
            "gRPC service {} method {}",
            service
                .as_ref()
                .map_or("(any)".to_owned(), |s| string_match(s, t)),
            method
                .as_ref()
                .map_or("(any)".to_owned(), |s| string_match(s, t))
        ),
    };
    if let Some(method) = &m.method {
        let _ = write!(s, ", method {method}");
    }
    for h in &m.headers {
        let _ = write!(s, ", header {} {}", h.name, string_match(&h.value, t));
    }
    for q in &m.query {
        let _ = write!(s, ", query {} {}", q.name, string_match(&q.value, t));
    }
    s
}

fn rule_label(c: &Known<'_>, rule: RuleId) -> String {
    let t = &c.table;
    let r = &t.rules[rule];
    let route = &t.routes[r.route];
    let kind = match route.kind {
        gatewasm_filter::blob::RouteKind::Http => "HTTPRoute",
        gatewasm_filter::blob::RouteKind::Grpc => "GRPCRoute",
    };
    let name = r
        .name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let at = c
        .rule_sources
        .get(rule.index())
        .map_or_else(|| route.source.clone(), RuleSource::at);
    format!(
        "{kind} {}/{} rule {}{name} at {at}",
        route.namespace, route.name, r.index
    )
}

fn pattern(p: &Option<HostPattern>) -> String {
    match p {
        None => "(any host)".to_owned(),
        Some(HostPattern::Exact(h)) => h.clone(),
        Some(HostPattern::Wildcard(s)) => format!("*{s}"),
    }
}

/// What the engine decided for one request: the listener, the matches tried first that
/// lost, the decision (winner, action, header edits) and the rate limits that apply.
struct Explanation<'r> {
    method: String,
    /// The Host, lowercase and without the port, as the engine compares it.
    host: String,
    port: u16,
    sni: Option<String>,
    /// Whether Envoy lets the request reach the filter at all.
    reach: answer::Reach,
    listener: Option<ListenerId>,
    missed: Vec<(MatchId, Miss)>,
    /// Every candidate that holds, in precedence order: the winner first.
    holding: Vec<(HostGroupId, MatchId)>,
    decision: Decision<'r>,
    /// `None` when no limit is consulted: no listener, or a CORS preflight.
    limits: Option<Limits<'r>>,
    /// The SecurityPolicy authorization that governs the rule, and whether the `--source`
    /// address passes it (`None` without one).
    access: Option<(&'r AccessPolicy, Option<bool>)>,
    /// The stream idle timeout a forwarded request gets (`None` without one).
    idle: Option<&'r IdlePolicy>,
}

/// Why the decision is what it is, beyond the engine's walk: what else held, how the rule
/// splits requests, why a backend is invalid, which routes did not attach.
struct Findings<'a> {
    outranked: Vec<ranked::Outranked>,
    /// Every backendRef of the winning rule, when it forwards or its chosen slot is invalid.
    shares: Vec<backends::Share>,
    /// The chosen backendRef's position and why it is invalid, when it is (`None` inside:
    /// the blob does not say).
    invalid: Option<(usize, Option<backends::Invalid>)>,
    /// Routes that would take the host but are not attached, when nothing answered.
    unattached: Vec<unattached::Unattached<'a>>,
}

/// The rate limits a request is counted against.
enum Limits<'r> {
    /// No BackendTrafficPolicy governs the rule.
    Unlimited,
    /// The selectors' regular expressions ran out of budget; the filter answers this.
    OutOfBudget(Reply),
    /// The policy, and the rules whose clientSelectors hold with where each counts.
    Counted {
        policy: &'r RlPolicy,
        /// Each local rule with its bucket key.
        local: Vec<(&'r RlRule, String)>,
        /// Each global rule with its descriptor entries, as `key=value`.
        global: Vec<(&'r RlRule, Vec<String>)>,
        /// How the local rules count, when not in Envoy's windows.
        style: Option<&'r LocalStyle>,
    },
}

/// What the story can name: the table, and where each rule is written when the manifests
/// are at hand.
struct Known<'a> {
    table: &'a RouteTable,
    /// Empty for a deployed blob: rules are then named by their route's position.
    rule_sources: &'a [RuleSource],
    /// The compiled manifests (status, diagnostics, input); `None` for a deployed blob.
    manifests: Option<&'a Compiled>,
}

/// The request `gatewasm explain` follows, as given on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExplainRequest {
    /// HTTP method.
    pub method: String,
    /// URL, e.g. `https://app.example.com/api/v1/orders?page=2`.
    pub url: String,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Listener port (default: the URL's port, else 80/443 by scheme).
    #[arg(long)]
    pub port: Option<u16>,
    /// TLS SNI (default: the URL's host for https).
    #[arg(long)]
    pub sni: Option<String>,
    /// The client's address, for SecurityPolicy authorization and sourceCIDR rate-limit
    /// selectors (default: none, which no range holds).
    #[arg(long, value_name = "ADDRESS")]
    pub source: Option<String>,
}

/// What a request is explained against.
#[derive(Clone, Copy)]
pub enum Against<'a> {
    /// The compiled manifests: rules by their own `file:line`, with status and warnings.
    Manifests(&'a Compiled),
    /// A deployed blob alone.
    Blob(&'a [u8]),
}

impl<'a> Against<'a> {
    fn parts(self) -> (&'a [u8], Option<&'a Compiled>) {
        match self {
            Against::Manifests(c) => (&c.blob, Some(c)),
            Against::Blob(blob) => (blob, None),
        }
    }
}

/// Explains a request, as the story `gatewasm explain` prints; against a blob alone, with a
/// closing note on what the manifests would add.
///
/// # Errors
/// A malformed URL or header, or a blob the engine refuses.
pub fn explain(against: Against<'_>, r: &ExplainRequest) -> Result<String, String> {
    let (blob, manifests) = against.parts();
    let mut out = explained(blob, manifests, r, |k, e| tell(k, &r.url, e, &find(k, e)))?;
    if manifests.is_none() {
        out.push_str(
            "note:     explained from the blob alone: rules are located by their route's \
             file:line, not their own, and routes that did not attach to the Gateway are not \
             in it (`gatewasm status` on the manifests lists them)\n",
        );
    }
    Ok(out)
}

/// [`explain`] as data: the request, listener, candidates that lost (each with its rule
/// and the reason), the decision and the rate limits.
///
/// # Errors
/// As [`explain`].
pub fn explain_json(against: Against<'_>, r: &ExplainRequest) -> Result<Value, String> {
    let (blob, manifests) = against.parts();
    explained(blob, manifests, r, |k, e| data(k, &r.url, e, &find(k, e)))
}

/// Runs the request through the engine and shows the explanation with `show`.
fn explained<T>(
    blob: &[u8],
    manifests: Option<&Compiled>,
    r: &ExplainRequest,
    show: impl FnOnce(&Known<'_>, &Explanation<'_>) -> T,
) -> Result<T, String> {
    let u = parse_url(&r.url)?;
    let router = Router::from_blob(blob).map_err(|e| e.to_string())?;
    let e = decide(&router, &u, r)?;
    let known = Known {
        table: router.table(),
        rule_sources: manifests.map_or(&[], |m| &m.rule_sources),
        manifests,
    };
    Ok(show(&known, &e))
}

/// What explains the decision `e`.
fn find<'a>(c: &Known<'a>, e: &Explanation<'_>) -> Findings<'a> {
    let (rule, chosen) = match &e.decision {
        Decision::Forward(f) => (Some(f.rule), Some(f.backend_index)),
        Decision::Reply(r) => (r.rule, r.backend),
    };
    let decided = e.holding.first().map(|&(_, m)| c.table.matches[m].rule);
    let outranked = if rule.is_some() && rule == decided {
        ranked::outranked(c, &e.holding)
    } else {
        Vec::new()
    };
    let shares = match (rule, chosen) {
        (Some(rule), Some(i)) => backends::shares(c, rule, i),
        _ => Vec::new(),
    };
    let invalid = match (&e.decision, rule, chosen) {
        (Decision::Reply(r), Some(rule), Some(i)) if r.reason == ReplyReason::InvalidBackend => {
            Some((i, backends::invalid(c, rule, i)))
        }
        _ => None,
    };
    let unanswered = e.reach != answer::Reach::Filter
        || matches!(&e.decision, Decision::Reply(r)
            if matches!(r.reason, ReplyReason::NoRoute | ReplyReason::NoListener));
    let unattached = match c.manifests {
        Some(m) if unanswered => unattached::unattached(m, e.listener, &e.host),
        _ => Vec::new(),
    };
    Findings {
        outranked,
        shares,
        invalid,
        unattached,
    }
}

/// Runs the request through the engine, recording every candidate that lost.
fn decide<'r>(router: &'r Router, u: &Url, r: &ExplainRequest) -> Result<Explanation<'r>, String> {
    let port = r
        .port
        .or(u.port)
        .unwrap_or(if u.scheme == "https" { 443 } else { 80 });
    let sni = r
        .sni
        .clone()
        .or_else(|| (u.scheme == "https").then(|| u.host.clone()));
    let method = r.method.to_ascii_uppercase();
    let owned = request_headers(&method, u, &r.headers)?;
    let client = match &r.source {
        Some(a) => Some(
            ratelimit::parse_client(a)
                .ok_or_else(|| format!("--source {} is not an IP address", quote(a)))?,
        ),
        None => None,
    };
    let list = gatewasm_filter::engine::borrow_headers(&owned);
    let req = Request {
        port,
        sni: sni.as_deref(),
        scheme: &u.scheme,
        authority: &u.authority,
        method: &method,
        path: &u.target,
        headers: &list,
    };
    let mut missed = Vec::new();
    let (listener, decision) = router.evaluate_with(
        Strategy::Linear,
        &req,
        &mut Dice::new(0x5eed),
        &mut |m, why| missed.push((m, why)),
    );
    let holding = listener.map_or_else(Vec::new, |l| router.holding(l, &req));
    let governed = listener.zip(decision.limited_rule());
    let limits = governed.map(|(l, rule)| rate_limits(router, l, rule, &req, client.as_ref()));
    let access = governed
        .and_then(|(l, rule)| gatewasm_filter::access::policy_for(router, l, rule))
        .map(|p| (p, client.as_ref().map(|c| p.allows(Some(&c.0)))));
    let idle = governed
        .filter(|_| matches!(decision, Decision::Forward(_)))
        .and_then(|(l, rule)| router.table().idle.policy_for(l, rule));
    Ok(Explanation {
        method,
        host: request_host(&u.authority),
        reach: answer::reach(router.table(), port, sni.as_deref()),
        port,
        sni,
        listener,
        missed,
        holding,
        decision,
        limits,
        access,
        idle,
    })
}

/// The request's pseudo-headers followed by the `Name: value` headers given.
/// The pseudo-headers Envoy gives a filter for a request.
pub(crate) fn pseudo_headers(
    method: &str,
    scheme: &str,
    authority: &str,
    path: &str,
) -> Vec<(String, Vec<u8>)> {
    [
        (":method", method),
        (":scheme", scheme),
        (":authority", authority),
        (":path", path),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.as_bytes().to_vec()))
    .collect()
}

fn request_headers(
    method: &str,
    u: &Url,
    headers: &[String],
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut list = pseudo_headers(method, &u.scheme, &u.authority, &u.target);
    for h in headers {
        let (n, v) = h
            .split_once(':')
            .ok_or_else(|| format!("header {} is not `Name: value`", quote(h)))?;
        list.push((n.trim().to_ascii_lowercase(), v.trim().as_bytes().to_vec()));
    }
    Ok(list)
}

/// The explanation as the story `gatewasm explain` prints.
fn tell(c: &Known<'_>, url: &str, e: &Explanation<'_>, found: &Findings<'_>) -> String {
    let t = &c.table;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "request:  {} {url} (port {}{})",
        e.method,
        e.port,
        e.sni
            .as_ref()
            .map(|s| format!(", SNI {s}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "gateway:  {}", t.gateway);
    if e.reach != answer::Reach::Filter {
        let _ = writeln!(out, "listener: none");
        answer::tell_unreached(&e.reach, e.port, &mut out);
        unattached::tell_unattached(&found.unattached, &e.host, &mut out);
        return out;
    }
    match e.listener {
        Some(l) => {
            let l = &t.listeners[l];
            let _ = writeln!(
                out,
                "listener: {} (port {}, {}, hostname {})",
                l.name,
                l.port,
                if l.tls { "HTTPS" } else { "HTTP" },
                pattern(&l.hostname)
            );
        }
        None => {
            let _ = writeln!(out, "listener: none");
        }
    }
    tell_missed(c, &e.missed, &mut out);
    match &e.decision {
        Decision::Forward(f) => tell_forward(c, f, &mut out),
        Decision::Reply(r) => tell_reply(c, r, &mut out),
    }
    backends::tell_split(&found.shares, &mut out);
    if let Some((i, invalid)) = &found.invalid {
        backends::tell_invalid(*i, invalid.as_ref(), &mut out);
    }
    if let Some(&winner) = e.holding.first() {
        ranked::tell_outranked(c, winner, &found.outranked, &mut out);
    }
    unattached::tell_unattached(&found.unattached, &e.host, &mut out);
    tell_access(e.access, &mut out);
    tell_idle(e.idle, &mut out);
    if let Some(limits) = &e.limits {
        tell_limits(t, limits, &mut out);
    }
    let log: Vec<String> = log_fields(t, e)
        .into_iter()
        .map(|(key, value)| format!("{key}={}", quote(&value)))
        .collect();
    let _ = if log.is_empty() {
        writeln!(
            out,
            "log:      gatewasm fields all null: no listener took the request"
        )
    } else {
        writeln!(out, "log:      gatewasm {}", log.join(" "))
    };
    out
}

/// The decision's fields as the filter keeps them for the access log's `gatewasm` object.
fn log_fields(t: &RouteTable, e: &Explanation<'_>) -> Vec<(&'static str, String)> {
    decision_log::RuleNames::of(t)
        .fields(t, e.listener, e.decision.rule())
        .map(|(state, value)| (decision_log::log_key(state), value.to_owned()))
        .collect()
}

/// The stream idle timeout a forwarded request gets, and the header that chooses its route.
fn tell_idle(idle: Option<&IdlePolicy>, out: &mut String) {
    let Some(p) = idle else {
        return;
    };
    let _ = writeln!(
        out,
        "timeout:  stream idle {} ms, BackendTrafficPolicy {}/{} at {}\n          Envoy's forwarding route for it, chosen by router header {}: {}",
        p.idle_ms,
        p.namespace,
        p.name,
        p.source,
        idle_header(DEFAULT_CLUSTER_HEADER),
        p.idle_ms
    );
}

/// The SecurityPolicy that governs the rule, and whether the `--source` address passes it.
fn tell_access(access: Option<(&AccessPolicy, Option<bool>)>, out: &mut String) {
    let Some((p, verdict)) = access else {
        return;
    };
    let verdict = match verdict {
        Some(true) => "; the client passes",
        Some(false) => "; the client is refused: 403",
        None => "",
    };
    let _ = writeln!(
        out,
        "access:   SecurityPolicy {}/{} at {}: {}{verdict}",
        p.namespace,
        p.name,
        p.source,
        describe_access(p)
    );
}

/// A policy's rules in order, then its default: `Deny 10.0.0.9/32, Allow 10.0.0.0/8, else
/// Deny (403)`.
fn describe_access(p: &AccessPolicy) -> String {
    let action = |allow: bool| if allow { "Allow" } else { "Deny (403)" };
    let mut parts: Vec<String> = p
        .rules
        .iter()
        .map(|r| {
            let cidrs: Vec<String> = r.cidrs.iter().map(describe_cidr).collect();
            format!("{} {}", action(r.allow), cidrs.join(" "))
        })
        .collect();
    parts.push(format!("else {}", action(p.default_allow)));
    parts.join(", ")
}

fn describe_cidr(c: &gatewasm_filter::blob::Cidr) -> String {
    let ip: std::net::IpAddr = if c.v4 {
        let [a, b, cc, d, ..] = c.address;
        std::net::Ipv4Addr::new(a, b, cc, d).into()
    } else {
        std::net::Ipv6Addr::from(c.address).into()
    };
    format!("{ip}/{}", c.prefix)
}

/// The candidates tried before the winner, each with the condition that failed.
fn tell_missed(c: &Known<'_>, missed: &[(MatchId, Miss)], out: &mut String) {
    if missed.is_empty() {
        return;
    }
    let t = &c.table;
    let _ = writeln!(out, "tried first, in precedence order, and lost:");
    for (m, why) in missed {
        let mm = &t.matches[*m];
        let reason = miss_reason(mm, why);
        let _ = writeln!(
            out,
            "  - {}: {}\n      {reason}",
            rule_label(c, mm.rule),
            describe_match(mm, t)
        );
    }
}

/// Why a candidate lost, in words.
fn miss_reason(mm: &Match, why: &Miss) -> String {
    match why {
        Miss::Path => "the path does not match".to_owned(),
        Miss::Method => format!("the method is not {}", mm.method.as_deref().unwrap_or("?")),
        Miss::Header(h) => format!("header {h} is missing or does not match"),
        Miss::Query(q) => format!("query parameter {q} is missing or does not match"),
    }
}

/// The winning rule and everything the filter does to the forwarded request.
fn tell_forward(c: &Known<'_>, f: &Forward<'_>, out: &mut String) {
    let t = &c.table;
    let mm = &t.matches[f.matched];
    let rule = &t.rules[f.rule];
    let _ = writeln!(
        out,
        "winner:   {}\n          {}",
        rule_label(c, f.rule),
        describe_match(mm, t)
    );
    let b = &rule.backends[f.backend_index];
    let total: u32 = rule.backends.iter().map(|b| b.weight).sum();
    let _ = writeln!(
        out,
        "action:   forward to cluster {} (weight {} of {total})",
        f.cluster, b.weight
    );
    // The request's edits in the order the filter makes them, as it makes them.
    for edit in f.request_edits() {
        let _ = match edit {
            RequestEdit::Modifier(HeaderEdit::Set(n, v)) => {
                writeln!(out, "          request header set {n}: {v}")
            }
            RequestEdit::Modifier(HeaderEdit::Add(n, v)) => {
                writeln!(out, "          request header add {n}: {v}")
            }
            RequestEdit::Modifier(HeaderEdit::Remove(n)) => {
                writeln!(out, "          request header remove {n}")
            }
            RequestEdit::Path(p) => writeln!(out, "          :path becomes {p}"),
            RequestEdit::Authority(a) => writeln!(out, "          :authority becomes {a}"),
            RequestEdit::Router(n, v) => writeln!(out, "          router header {n}: {v}"),
        };
    }
    for m in &f.response_headers {
        for (n, v) in m.set.iter().chain(&m.add) {
            let _ = writeln!(out, "          response header {n}: {v}");
        }
        for n in &m.remove {
            let _ = writeln!(out, "          response header remove {n}");
        }
    }
    for cluster in &f.mirrors {
        let _ = writeln!(out, "          mirror a copy to {cluster}");
    }
}

/// The rule that answered, if any, and the answer.
fn tell_reply(c: &Known<'_>, r: &Reply, out: &mut String) {
    if let Some(rule) = r.rule {
        let _ = writeln!(out, "winner:   {}", rule_label(c, rule));
    }
    answer::tell_answer(r, out);
    for (n, v) in &r.headers {
        let _ = writeln!(out, "          {n}: {v}");
    }
}

/// The rate-limit rules that apply to the request and the buckets or descriptors they count
/// in. The client address is unknown here, so source CIDR selectors do not hold.
fn rate_limits<'r>(
    router: &'r Router,
    listener: ListenerId,
    rule: RuleId,
    req: &Request<'_>,
    client: Option<&(Vec<u8>, String)>,
) -> Limits<'r> {
    match ratelimit::plan_request(router, listener, rule, req, client) {
        // A policy that governs the rule for its timeouts alone sets no limits.
        Ok(Some(plan)) if plan.policy.local.is_empty() && plan.policy.global.is_empty() => {
            Limits::Unlimited
        }
        Ok(Some(plan)) => counted(&plan),
        Ok(None) => Limits::Unlimited,
        Err(input) => Limits::OutOfBudget(Reply::new(ReplyReason::regex_budget(input), req)),
    }
}

/// Where each rule of `plan` counts the request: local buckets, global descriptors.
fn counted<'r>(plan: &ratelimit::Plan<'r>) -> Limits<'r> {
    let p = plan.policy;
    let local = plan
        .local
        .iter()
        .map(|(r, entries)| {
            let (keys, _) = ratelimit::bucket_keys(p, r, &plan.route, entries);
            let key = match keys.as_slice() {
                [one] => one.clone(),
                [first, .., last] => format!(
                    "{first} (or up to {})",
                    last.rsplit('.').next().unwrap_or("")
                ),
                [] => String::new(),
            };
            (*r, key)
        })
        .collect();
    let global = plan
        .global
        .iter()
        .map(|(r, entries)| {
            let d = ratelimit::descriptor(p, r, &plan.route, entries);
            let keys = d
                .entries
                .iter()
                .map(|e| format!("{}={}", e.key, e.value))
                .collect();
            (*r, keys)
        })
        .collect();
    Limits::Counted {
        policy: p,
        local,
        global,
        style: plan.style,
    }
}

/// The limits, as `limits:` and the lines under it.
fn tell_limits(t: &RouteTable, limits: &Limits<'_>, out: &mut String) {
    let p = match limits {
        Limits::Unlimited => {
            let _ = writeln!(out, "limits:   no BackendTrafficPolicy rate limit applies");
            return;
        }
        Limits::OutOfBudget(reply) => {
            let _ = writeln!(
                out,
                "limits:   the selectors' regular expressions ran out of budget: {} {}",
                reply.status,
                reply.reason.as_str()
            );
            return;
        }
        Limits::Counted {
            policy,
            local,
            global,
            style,
        } => (policy, local, global, style),
    };
    let (p, local, global, style) = p;
    let _ = writeln!(
        out,
        "limits:   BackendTrafficPolicy {}/{} at {}",
        p.namespace, p.name, p.source
    );
    if let Some(s) = style {
        let _ = writeln!(out, "          local rules: {}", describe_style(s));
    }
    if local.is_empty() && global.is_empty() {
        let by_source = p
            .local
            .iter()
            .chain(&p.global)
            .flat_map(|r| &r.selectors)
            .any(|s| matches!(s, gatewasm_filter::blob::Selector::SourceCidr { .. }));
        let why = if by_source {
            " (give the client's address with --source for the sourceCIDR selectors)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "          no rule's clientSelectors hold for this request{why}"
        );
    }
    for (r, key) in local {
        let _ = writeln!(
            out,
            "          local rule {}: {} per {} (cost {}), bucket {key}",
            r.index,
            r.requests,
            r.unit.as_str(),
            r.cost
        );
    }
    for (r, keys) in global {
        let _ = writeln!(
            out,
            "          global rule {}: {} per {} (cost {}), descriptor [{}] in domain {}",
            r.index,
            r.requests,
            r.unit.as_str(),
            r.cost,
            keys.join(", "),
            t.rate_limits.domain
        );
    }
}

/// The explanation as the JSON document `gatewasm explain -o json` prints: the same facts
/// as [`tell`], as fields.
fn data(c: &Known<'_>, url: &str, e: &Explanation<'_>, found: &Findings<'_>) -> Value {
    let t = &c.table;
    let listener = e.listener.map(|l| {
        let l = &t.listeners[l];
        json!({"name": l.name, "port": l.port, "tls": l.tls, "hostname": pattern(&l.hostname)})
    });
    let candidates: Vec<Value> = e
        .missed
        .iter()
        .map(|(m, why)| {
            let mm = &t.matches[*m];
            json!({"rule": rule_data(c, mm.rule), "match": describe_match(mm, t), "lost": miss_reason(mm, why)})
        })
        .collect();
    let decision = match &e.decision {
        Decision::Forward(f) => forward_data(c, f),
        Decision::Reply(r) => json!({
            "action": "reply",
            "rule": r.rule.map(|rule| rule_data(c, rule)),
            "status": r.status,
            "grpcStatus": r.grpc_status,
            "reason": r.reason.as_str(),
            "headers": r.headers,
        }),
    };
    json!({
        "request": {"method": e.method, "url": url, "port": e.port, "sni": e.sni},
        "gateway": t.gateway,
        "listener": listener,
        "candidates": candidates,
        "decision": decision,
        "limits": e.limits.as_ref().map(|l| limits_data(t, l)),
        "log": log_fields(t, e)
            .into_iter()
            .map(|(key, value)| (key.to_owned(), Value::String(value)))
            .collect::<serde_json::Map<String, Value>>(),
        "idleTimeout": e.idle.map(|p| json!({
            "ms": p.idle_ms,
            "policy": format!("{}/{}", p.namespace, p.name),
            "source": p.source,
        })),
        "access": e.access.map(|(p, allowed)| json!({
            "policy": format!("{}/{}", p.namespace, p.name),
            "source": p.source,
            "rules": describe_access(p),
            "allowed": allowed,
        })),
        "outranked": e.holding.first().map_or_else(Vec::new, |&w| ranked::outranked_data(c, w, &found.outranked)),
        "split": backends::shares_data(&found.shares),
        "invalid": found.invalid.as_ref().map(|(i, why)| backends::invalid_data(*i, why.as_ref())),
        "unattached": unattached::unattached_data(&found.unattached),
    })
}

/// A rule as data: its route, index, name and where it is written.
fn rule_data(c: &Known<'_>, rule: RuleId) -> Value {
    let r = &c.table.rules[rule];
    let route = &c.table.routes[r.route];
    let kind = match route.kind {
        gatewasm_filter::blob::RouteKind::Http => "HTTPRoute",
        gatewasm_filter::blob::RouteKind::Grpc => "GRPCRoute",
    };
    let at = c
        .rule_sources
        .get(rule.index())
        .map_or_else(|| route.source.clone(), RuleSource::at);
    json!({"kind": kind, "route": format!("{}/{}", route.namespace, route.name), "index": r.index, "name": r.name, "at": at})
}

fn forward_data(c: &Known<'_>, f: &Forward<'_>) -> Value {
    let t = &c.table;
    let rule = &t.rules[f.rule];
    let edits: Vec<Value> = f
        .request_edits()
        .map(|edit| match edit.header() {
            HeaderEdit::Set(n, v) => json!({"set": n, "value": v}),
            HeaderEdit::Add(n, v) => json!({"add": n, "value": v}),
            HeaderEdit::Remove(n) => json!({"remove": n}),
        })
        .collect();
    let response: Vec<Value> = f
        .response_headers
        .iter()
        .flat_map(|m| {
            let set = m.set.iter().map(|(n, v)| json!({"set": n, "value": v}));
            let add = m.add.iter().map(|(n, v)| json!({"add": n, "value": v}));
            let remove = m.remove.iter().map(|n| json!({"remove": n}));
            set.chain(add).chain(remove).collect::<Vec<_>>()
        })
        .collect();
    json!({
        "action": "forward",
        "rule": rule_data(c, f.rule),
        "match": describe_match(&t.matches[f.matched], t),
        "cluster": f.cluster,
        "weight": rule.backends[f.backend_index].weight,
        "totalWeight": rule.backends.iter().map(|b| b.weight).sum::<u32>(),
        "requestHeaders": edits,
        "responseHeaders": response,
        "mirrors": f.mirrors,
    })
}

/// `refilled continuously with a burst of 2 × requests; denied with 503`.
fn describe_style(s: &LocalStyle) -> String {
    let counting = match s.burst_multiplier {
        Some(m) => format!("refilled continuously, holding {m} × requests more"),
        None => "refilled each window".to_owned(),
    };
    format!("{counting}; a denied request gets {}", s.status)
}

fn limits_data(t: &RouteTable, limits: &Limits<'_>) -> Value {
    match limits {
        Limits::Unlimited => json!({"policy": null}),
        Limits::OutOfBudget(reply) => {
            json!({"outOfBudget": {"status": reply.status, "reason": reply.reason.as_str()}})
        }
        Limits::Counted {
            policy,
            local,
            global,
            style,
        } => {
            let rule = |r: &RlRule| json!({"index": r.index, "requests": r.requests, "unit": r.unit.as_str(), "cost": r.cost});
            json!({
                "policy": format!("{}/{}", policy.namespace, policy.name),
                "at": policy.source,
                "counting": style.map(describe_style),
                "local": local.iter().map(|(r, key)| json!({"rule": rule(r), "bucket": key})).collect::<Vec<_>>(),
                "global": global.iter().map(|(r, keys)| json!({"rule": rule(r), "descriptor": keys, "domain": t.rate_limits.domain})).collect::<Vec<_>>(),
            })
        }
    }
}
