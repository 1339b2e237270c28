//! `gatewasm explain`: one request through the engine, told as a story — which listener,
//! which candidates were tried and why each lost, which rule won, and what the filter does.

use std::fmt::Write as _;

use gatewasm_filter::blob::{HostPattern, Match, PathMatch, RouteTable, StringMatch};
use gatewasm_filter::engine::{
    Decision, Dice, Miss, Reply, ReplyReason, Request, Router, Strategy,
};

use crate::compile::Compiled;
use crate::quote::{clean, quote, SHOWN};

/// A request given on the command line.
struct Url {
    scheme: String,
    authority: String,
    host: String,
    port: Option<u16>,
    target: String,
}

fn parse_url(url: &str) -> Result<Url, String> {
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

fn rule_label(c: &Compiled, rule: gatewasm_filter::blob::RuleId) -> String {
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
        .map_or(route.source.as_str(), String::as_str);
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

/// Explains `method url` against a compiled Gateway.
///
/// # Errors
/// A malformed URL or header, or a blob the engine refuses.
pub fn explain(
    c: &Compiled,
    method: &str,
    url: &str,
    headers: &[String],
    port: Option<u16>,
    sni: Option<String>,
) -> Result<String, String> {
    let u = parse_url(url)?;
    let router = Router::from_blob(&c.blob).map_err(|e| e.to_string())?;
    let port = port
        .or(u.port)
        .unwrap_or(if u.scheme == "https" { 443 } else { 80 });
    let sni = sni.or_else(|| (u.scheme == "https").then(|| u.host.clone()));
    let mut list: Vec<(String, Vec<u8>)> = vec![
        (":method".into(), method.to_ascii_uppercase().into_bytes()),
        (":scheme".into(), u.scheme.clone().into_bytes()),
        (":authority".into(), u.authority.clone().into_bytes()),
        (":path".into(), u.target.clone().into_bytes()),
    ];
    for h in headers {
        let (n, v) = h
            .split_once(':')
            .ok_or_else(|| format!("header {} is not `Name: value`", quote(h)))?;
        list.push((n.trim().to_ascii_lowercase(), v.trim().as_bytes().to_vec()));
    }
    let method_upper = method.to_ascii_uppercase();
    let req = Request {
        port,
        sni: sni.as_deref(),
        scheme: &u.scheme,
        authority: &u.authority,
        method: &method_upper,
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
    // CORS preflights are answered before rate limiting, as in the filter.
    let limited_rule = match &decision {
        Decision::Forward(f) => Some(f.rule),
        Decision::Reply(r) if r.reason == ReplyReason::CorsPreflight => None,
        Decision::Reply(r) => r.rule,
    };
    let t = &c.table;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "request:  {method_upper} {url} (port {port}{})",
        sni.as_ref()
            .map(|s| format!(", SNI {s}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "gateway:  {}", t.gateway);
    match listener {
        Some(l) => {
            let l = &t.listeners[l];
            let host = l.hostname.clone();
            let _ = writeln!(
                out,
                "listener: {} (port {}, {}, hostname {})",
                l.name,
                l.port,
                if l.tls { "HTTPS" } else { "HTTP" },
                pattern(&host)
            );
        }
        None => {
            let _ = writeln!(out, "listener: none");
        }
    }
    if !missed.is_empty() {
        let _ = writeln!(out, "tried first, in precedence order, and lost:");
        for (m, why) in &missed {
            let mm = &t.matches[*m];
            let reason = match why {
                Miss::Path => "the path does not match".to_owned(),
                Miss::Method => {
                    format!("the method is not {}", mm.method.as_deref().unwrap_or("?"))
                }
                Miss::Header(h) => format!("header {h} is missing or does not match"),
                Miss::Query(q) => format!("query parameter {q} is missing or does not match"),
            };
            let _ = writeln!(
                out,
                "  - {}: {}\n      {reason}",
                rule_label(c, mm.rule),
                describe_match(mm, t)
            );
        }
    }
    match decision {
        Decision::Forward(f) => {
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
            if let Some(p) = &f.path {
                let _ = writeln!(out, "          :path becomes {p}");
            }
            if let Some(a) = &f.authority {
                let _ = writeln!(out, "          :authority becomes {a}");
            }
            for m in &f.request_headers {
                for (n, v) in &m.set {
                    let _ = writeln!(out, "          request header set {n}: {v}");
                }
                for (n, v) in &m.add {
                    let _ = writeln!(out, "          request header add {n}: {v}");
                }
                for n in &m.remove {
                    let _ = writeln!(out, "          request header remove {n}");
                }
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
            if let Some(ms) = f.timeouts.request_ms {
                let _ = writeln!(out, "          request timeout {ms} ms");
            }
        }
        Decision::Reply(r) => {
            if let Some(rule) = r.rule {
                let _ = writeln!(out, "winner:   {}", rule_label(c, rule));
            }
            let grpc = r
                .grpc_status
                .map(|g| format!(" (grpc-status {g})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "action:   answer {}{grpc}: {}",
                r.status,
                r.reason.as_str()
            );
            for (n, v) in &r.headers {
                let _ = writeln!(out, "          {n}: {v}");
            }
        }
    }
    if let (Some(l), Some(rule)) = (listener, limited_rule) {
        rate_limits(&router, l, rule, &req, &mut out);
    }
    Ok(out)
}

/// The rate-limit rules that apply to the request and the buckets or descriptors they count
/// in. The client address is unknown here, so source CIDR selectors do not hold.
fn rate_limits(
    router: &Router,
    listener: gatewasm_filter::blob::ListenerId,
    rule: gatewasm_filter::blob::RuleId,
    req: &Request<'_>,
    out: &mut String,
) {
    use gatewasm_filter::ratelimit;
    let target = gatewasm_filter::engine::path::normalize(req.path).ok();
    let facts = ratelimit::Facts {
        method: req.method,
        path: target.as_ref().map_or("", |t| t.path.as_str()),
        query: target.as_ref().map_or("", |t| t.query),
        headers: req.headers,
        client_ip: None,
        client_text: "",
        budget: &gatewasm_filter::engine::Budget::default(),
    };
    let plan = match ratelimit::plan(router, listener, rule, &facts) {
        Ok(Some(plan)) => plan,
        Ok(None) => {
            let _ = writeln!(out, "limits:   no BackendTrafficPolicy rate limit applies");
            return;
        }
        Err(input) => {
            let reply = Reply::new(ReplyReason::regex_budget(input), req);
            let _ = writeln!(
                out,
                "limits:   the selectors' regular expressions ran out of budget: {} {}",
                reply.status,
                reply.reason.as_str()
            );
            return;
        }
    };
    let p = plan.policy;
    let _ = writeln!(
        out,
        "limits:   BackendTrafficPolicy {}/{} at {}",
        p.namespace, p.name, p.source
    );
    if plan.local.is_empty() && plan.global.is_empty() {
        let _ = writeln!(
            out,
            "          no rule's clientSelectors hold for this request"
        );
    }
    for (r, entries) in &plan.local {
        let (keys, _) = ratelimit::bucket_keys(p, r, &plan.route, entries);
        let key = match keys.as_slice() {
            [one] => one.clone(),
            [first, .., last] => format!(
                "{first} (or up to {})",
                last.rsplit('.').next().unwrap_or("")
            ),
            [] => String::new(),
        };
        let _ = writeln!(
            out,
            "          local rule {}: {} per {} (cost {}), bucket {key}",
            r.index,
            r.requests,
            r.unit.as_str(),
            r.cost
        );
    }
    for (r, entries) in &plan.global {
        let d = ratelimit::descriptor(p, r, &plan.route, entries);
        let keys: Vec<String> = d
            .entries
            .iter()
            .map(|e| format!("{}={}", e.key, e.value))
            .collect();
        let _ = writeln!(
            out,
            "          global rule {}: {} per {} (cost {}), descriptor [{}] in domain {}",
            r.index,
            r.requests,
            r.unit.as_str(),
            r.cost,
            keys.join(", "),
            router.table().rate_limits.domain
        );
    }
}
