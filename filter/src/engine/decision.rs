//! What the engine decided, and how a matched rule turns into that decision.

use super::cors;
use super::path::{self, Target};
use super::{Budget, Dice, Request, Router};
use crate::blob::{
    Empty, Filters, HeaderModifier, Lookup, MatchId, PathModifier, Redirect, Retry, RuleId,
    Timeouts, WeightedBackend,
};

/// The outcome of evaluating one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<'r> {
    /// Send the request upstream.
    Forward(Forward<'r>),
    /// Answer locally (no route, invalid backend, redirect, misdirected, bad request).
    Reply(Reply),
}

/// Forward the request to a cluster, with the edits the rule asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward<'r> {
    /// The rule that matched.
    pub rule: RuleId,
    /// The match that selected the rule.
    pub matched: MatchId,
    /// Position of the chosen backendRef in the rule.
    pub backend_index: usize,
    /// The Envoy cluster to send to.
    pub cluster: &'r str,
    /// New `:path` when it differs from the request's (normalisation or rewrite).
    pub path: Option<String>,
    /// New `:authority` (URLRewrite hostname).
    pub authority: Option<String>,
    /// Request header edits in the order they apply (rule, then backendRef).
    pub request_headers: Vec<&'r HeaderModifier>,
    /// Response header edits in the order they apply (rule, then backendRef).
    pub response_headers: Vec<&'r HeaderModifier>,
    /// Clusters that receive a fire-and-forget copy of the request.
    pub mirrors: Vec<&'r str>,
    /// Timeouts for Envoy's router.
    pub timeouts: Timeouts,
    /// Retries for Envoy's router.
    pub retry: Option<&'r Retry>,
    /// Headers the response gets for an allowed cross-origin request.
    pub cors_headers: Vec<(String, String)>,
}

/// One change to a header map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderEdit<'a> {
    /// Replace the header's values with this one.
    Set(&'a str, &'a str),
    /// Append a value.
    Add(&'a str, &'a str),
    /// Delete the header.
    Remove(&'a str),
}

/// One change the filter makes to a forwarded request's headers, with why it makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestEdit<'a> {
    /// From a RequestHeaderModifier.
    Modifier(HeaderEdit<'a>),
    /// The normalised or rewritten `:path` (with the query).
    Path(&'a str),
    /// URLRewrite's `:authority`.
    Authority(&'a str),
    /// A timeout or retry header for Envoy's router.
    Router(&'static str, String),
}

impl RequestEdit<'_> {
    /// The change to the header map.
    pub fn header(&self) -> HeaderEdit<'_> {
        match self {
            RequestEdit::Modifier(edit) => *edit,
            RequestEdit::Path(path) => HeaderEdit::Set(":path", path),
            RequestEdit::Authority(authority) => HeaderEdit::Set(":authority", authority),
            RequestEdit::Router(name, value) => HeaderEdit::Set(name, value),
        }
    }
}

impl HeaderModifier {
    /// Its edits in the order they apply: `set`, `add`, then `remove`.
    pub fn edits(&self) -> impl Iterator<Item = HeaderEdit<'_>> {
        let set = self.set.iter().map(|(n, v)| HeaderEdit::Set(n, v));
        let add = self.add.iter().map(|(n, v)| HeaderEdit::Add(n, v));
        let remove = self.remove.iter().map(|n| HeaderEdit::Remove(n));
        set.chain(add).chain(remove)
    }
}

/// The gRPC status codes the filter answers gRPC requests with (gRPC's `status.h`).
pub mod grpc_code {
    /// The call succeeded (a rate limit service that answered).
    pub const OK: u32 = 0;
    /// The client may not call the method (a SecurityPolicy's authorization).
    pub const PERMISSION_DENIED: u32 = 7;
    /// A limit on what one request may cost was hit (the regex budget).
    pub const RESOURCE_EXHAUSTED: u32 = 8;
    /// No route serves the method (no listener, no matching rule).
    pub const UNIMPLEMENTED: u32 = 12;
    /// The request was malformed in a way gRPC has no better code for.
    pub const INTERNAL: u32 = 13;
    /// Try later: no backend, a rate limit, the filter could not do its job.
    pub const UNAVAILABLE: u32 = 14;

    /// The code's name as gRPC spells it (`UNIMPLEMENTED`), or `UNKNOWN` for a code the
    /// filter never sends.
    pub fn name(code: u32) -> &'static str {
        match code {
            OK => "OK",
            PERMISSION_DENIED => "PERMISSION_DENIED",
            RESOURCE_EXHAUSTED => "RESOURCE_EXHAUSTED",
            UNIMPLEMENTED => "UNIMPLEMENTED",
            INTERNAL => "INTERNAL",
            UNAVAILABLE => "UNAVAILABLE",
            _ => "UNKNOWN",
        }
    }
}

/// A response the filter sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Why the filter answers.
    pub reason: ReplyReason,
    /// HTTP status.
    pub status: u16,
    /// gRPC status for gRPC requests (Envoy turns the reply into a trailers-only response).
    pub grpc_status: Option<u32>,
    /// Extra response headers (e.g. `location`).
    pub headers: Vec<(String, String)>,
    /// The rule that produced the reply, if one matched.
    pub rule: Option<RuleId>,
    /// Position in the rule of the backendRef chosen, when its slot is what answers
    /// ([`ReplyReason::InvalidBackend`]).
    pub backend: Option<usize>,
}

/// Why the filter answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyReason {
    /// The request target could not be normalised, or a regex rewrite made it something that
    /// is not a path (400).
    BadRequest,
    /// No listener on the destination port takes the Host (404).
    NoListener,
    /// HTTPS: the Host belongs to another listener than the SNI (421).
    Misdirected,
    /// No rule matched (404; gRPC UNIMPLEMENTED).
    NoRoute,
    /// The chosen backendRef is invalid (500; gRPC UNAVAILABLE).
    InvalidBackend,
    /// The rule has no backend to send to (500; gRPC UNAVAILABLE).
    NoBackends,
    /// RequestRedirect.
    Redirect,
    /// A CORS preflight answered by the filter.
    CorsPreflight,
    /// The filter could not do its job (a host call failed) and fails closed (503).
    Internal,
    /// A BackendTrafficPolicy rate limit denied the request (429).
    RateLimited,
    /// A SecurityPolicy's authorization denied the client's address (403; gRPC
    /// PERMISSION_DENIED).
    Forbidden,
    /// Regular expressions would have cost the request more than its budget, or run on a
    /// path or query longer than they may (414; gRPC RESOURCE_EXHAUSTED).
    RegexBudgetUri,
    /// As [`ReplyReason::RegexBudgetUri`], on a header value (431).
    RegexBudgetHeader,
    /// The readiness listener's probe, answered by a filter that holds a route table (200).
    Ready,
}

impl ReplyReason {
    /// The reply for a request whose regular expression budget ran out on `input`.
    pub fn regex_budget(input: super::Input) -> ReplyReason {
        match input {
            super::Input::Uri => ReplyReason::RegexBudgetUri,
            super::Input::Header => ReplyReason::RegexBudgetHeader,
        }
    }

    /// Short name used in logs and Envoy's response code details.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyReason::BadRequest => "gatewasm_bad_request",
            ReplyReason::NoListener => "gatewasm_no_listener",
            ReplyReason::Misdirected => "gatewasm_misdirected",
            ReplyReason::NoRoute => "gatewasm_no_route",
            ReplyReason::InvalidBackend => "gatewasm_invalid_backend",
            ReplyReason::NoBackends => "gatewasm_no_backends",
            ReplyReason::Redirect => "gatewasm_redirect",
            ReplyReason::CorsPreflight => "gatewasm_cors_preflight",
            ReplyReason::Internal => "gatewasm_internal_error",
            ReplyReason::RateLimited => "gatewasm_rate_limited",
            ReplyReason::Forbidden => "gatewasm_forbidden",
            ReplyReason::RegexBudgetUri => "gatewasm_regex_budget_uri",
            ReplyReason::RegexBudgetHeader => "gatewasm_regex_budget_header",
            ReplyReason::Ready => "gatewasm_ready",
        }
    }

    fn status(self) -> u16 {
        match self {
            ReplyReason::BadRequest => 400,
            ReplyReason::NoListener | ReplyReason::NoRoute => 404,
            ReplyReason::Misdirected => 421,
            ReplyReason::InvalidBackend | ReplyReason::NoBackends => 500,
            ReplyReason::Redirect => 302,
            ReplyReason::CorsPreflight => 204,
            ReplyReason::Internal => 503,
            ReplyReason::RateLimited => 429,
            ReplyReason::Forbidden => 403,
            ReplyReason::RegexBudgetUri => 414,
            ReplyReason::RegexBudgetHeader => 431,
            ReplyReason::Ready => 200,
        }
    }

    fn grpc_status(self) -> Option<u32> {
        match self {
            ReplyReason::NoListener | ReplyReason::NoRoute => Some(grpc_code::UNIMPLEMENTED),
            ReplyReason::InvalidBackend
            | ReplyReason::NoBackends
            | ReplyReason::Internal
            | ReplyReason::RateLimited => Some(grpc_code::UNAVAILABLE),
            ReplyReason::BadRequest => Some(grpc_code::INTERNAL),
            ReplyReason::Forbidden => Some(grpc_code::PERMISSION_DENIED),
            ReplyReason::RegexBudgetUri | ReplyReason::RegexBudgetHeader => {
                Some(grpc_code::RESOURCE_EXHAUSTED)
            }
            ReplyReason::Misdirected
            | ReplyReason::Redirect
            | ReplyReason::CorsPreflight
            | ReplyReason::Ready => None,
        }
    }
}

impl Router {
    /// The ResponseHeaderModifiers of a response to a request forwarded through backendRef
    /// `backend` of `rule`, in the order they apply: the rule's, then the backendRef's. The
    /// decision lists them ([`Forward::response_headers`]); the stream, which keeps no borrow
    /// of the table from request to response, asks again here.
    pub fn response_modifiers(&self, rule: RuleId, backend: usize) -> Vec<&HeaderModifier> {
        let Some(rule) = self.table().rules.at(rule) else {
            return Vec::new();
        };
        let chosen = rule
            .backends
            .get(backend)
            .map_or(Filters::empty(), |b| &b.filters);
        modifiers(&[&rule.filters, chosen], |f| f.response_headers.as_deref())
    }
}

impl Decision<'_> {
    /// The rule that decided the request, if one matched.
    pub fn rule(&self) -> Option<RuleId> {
        match self {
            Decision::Forward(fwd) => Some(fwd.rule),
            Decision::Reply(reply) => reply.rule,
        }
    }

    /// The rule whose rate limits apply: every matched rule, except for a CORS preflight,
    /// which Envoy Gateway's CORS filter answers before rate limiting runs.
    pub fn limited_rule(&self) -> Option<RuleId> {
        match self {
            Decision::Forward(fwd) => Some(fwd.rule),
            Decision::Reply(reply) if reply.reason == ReplyReason::CorsPreflight => None,
            Decision::Reply(reply) => reply.rule,
        }
    }
}

impl Forward<'_> {
    /// Every change to the request's headers, in the order the filter makes them: the
    /// RequestHeaderModifiers (rule, then backendRef), the new `:path` and `:authority`, then
    /// the router's timeout and retry headers. (The cluster and mirror slot headers, named by
    /// the plugin configuration, come after these.)
    pub fn request_edits(&self) -> impl Iterator<Item = RequestEdit<'_>> {
        let modifiers = self
            .request_headers
            .iter()
            .flat_map(|m| m.edits())
            .map(RequestEdit::Modifier);
        let rewrites = self
            .path
            .as_deref()
            .map(RequestEdit::Path)
            .into_iter()
            .chain(self.authority.as_deref().map(RequestEdit::Authority));
        let router = self
            .router_headers()
            .into_iter()
            .map(|(name, value)| RequestEdit::Router(name, value));
        modifiers.chain(rewrites).chain(router)
    }

    /// The headers that carry the rule's timeouts and retries to Envoy's router, which honours
    /// them on the catch-all route because that route has none of its own.
    pub fn router_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if let Some(ms) = self.timeouts.request_ms {
            headers.push(("x-envoy-upstream-rq-timeout-ms", ms.to_string()));
        }
        if let Some(ms) = self.timeouts.backend_request_ms {
            headers.push(("x-envoy-upstream-rq-per-try-timeout-ms", ms.to_string()));
        }
        if let Some(retry) = self.retry {
            // Connection failures and resets are always worth a retry; listed statuses too.
            let on = if retry.codes.is_empty() {
                "connect-failure,refused-stream,reset"
            } else {
                "connect-failure,refused-stream,reset,retriable-status-codes"
            };
            headers.push(("x-envoy-retry-on", on.to_owned()));
            if !retry.codes.is_empty() {
                let codes: Vec<String> = retry.codes.iter().map(u16::to_string).collect();
                headers.push(("x-envoy-retriable-status-codes", codes.join(",")));
            }
            if let Some(n) = retry.attempts {
                headers.push(("x-envoy-max-retries", n.to_string()));
            }
        }
        headers
    }
}

impl Reply {
    /// The standard reply for `reason`; the status follows the reason.
    pub fn new(reason: ReplyReason, req: &Request<'_>) -> Reply {
        Reply {
            reason,
            status: reason.status(),
            grpc_status: req.is_grpc().then(|| reason.grpc_status()).flatten(),
            headers: Vec::new(),
            rule: None,
            backend: None,
        }
    }

    /// The readiness probe's answer.
    pub fn ready() -> Reply {
        Reply {
            reason: ReplyReason::Ready,
            status: 200,
            grpc_status: None,
            headers: Vec::new(),
            rule: None,
            backend: None,
        }
    }

    /// The fail-closed answer when the filter cannot do its job (503, no gRPC mapping: Envoy
    /// derives UNAVAILABLE from the status).
    pub fn internal() -> Reply {
        Reply {
            reason: ReplyReason::Internal,
            status: 503,
            grpc_status: None,
            headers: Vec::new(),
            rule: None,
            backend: None,
        }
    }

    /// The standard reply for `reason` to a request that matched `rule`.
    pub fn for_rule(reason: ReplyReason, req: &Request<'_>, rule: RuleId) -> Reply {
        Reply {
            rule: Some(rule),
            ..Reply::new(reason, req)
        }
    }
}

/// Turns the matched rule into a decision.
pub(super) fn decide<'r>(
    router: &'r Router,
    matched: MatchId,
    req: &Request<'_>,
    target: &Target<'_>,
    dice: &mut Dice,
    budget: &Budget,
) -> Decision<'r> {
    let table = router.table();
    let found = table
        .matches
        .at(matched)
        .and_then(|m| Some((m.rule, table.rules.at(m.rule)?)));
    let Some((rule_id, rule)) = found else {
        // Impossible after `validate`, which checked both ids; fail closed.
        return Decision::Reply(Reply::new(ReplyReason::Internal, req));
    };
    let redirect = |r| Decision::Reply(redirect_reply(router, r, req, target, budget, rule_id));
    if let Some(r) = &rule.filters.redirect {
        return redirect(r);
    }
    let Some((backend_index, chosen)) = pick_backend(&rule.backends, dice) else {
        return Decision::Reply(Reply::for_rule(ReplyReason::NoBackends, req, rule_id));
    };
    if let Some(r) = &chosen.filters.redirect {
        return redirect(r);
    }
    // A backend id the table does not hold cannot pass `validate`; were it there, it would be
    // as invalid as a backendRef that resolved to nothing.
    let Some(backend) = chosen.backend.and_then(|b| table.backends.at(b)) else {
        return Decision::Reply(Reply {
            backend: Some(backend_index),
            ..Reply::for_rule(ReplyReason::InvalidBackend, req, rule_id)
        });
    };
    let layers: [&Filters; 2] = [&rule.filters, &chosen.filters];
    let cors = layers.iter().rev().find_map(|f| f.cors.as_ref());
    let origin = cors.and_then(|c| cors::allowed_origin(c, req));
    if let Some(c) = cors.filter(|_| cors::is_preflight(req)) {
        return Decision::Reply(Reply {
            headers: origin
                .as_deref()
                .map(|o| cors::preflight_headers(c, req, o))
                .unwrap_or_default(),
            ..Reply::for_rule(ReplyReason::CorsPreflight, req, rule_id)
        });
    }
    let rewrite = layers.iter().rev().find_map(|f| f.rewrite.as_ref());
    let path = rewrite.and_then(|r| r.path.as_ref());
    let new_path = match forwarded_path(router, path, target, budget) {
        Ok(path) => path,
        Err(reason) => return Decision::Reply(Reply::for_rule(reason, req, rule_id)),
    };
    let full_path = format!("{new_path}{}", target.query);
    let mirrors = layers
        .iter()
        .flat_map(|f| f.mirrors.iter())
        .filter(|m| dice.chance(m.numerator, m.denominator))
        .filter_map(|m| table.backends.at(m.backend?))
        .map(|b| b.cluster.as_str())
        .collect();
    Decision::Forward(Forward {
        rule: rule_id,
        matched,
        backend_index,
        cluster: &backend.cluster,
        path: (full_path != req.path).then_some(full_path),
        authority: rewrite.and_then(|r| r.hostname.clone()),
        request_headers: modifiers(&layers, |f| f.request_headers.as_deref()),
        response_headers: router.response_modifiers(rule_id, backend_index),
        mirrors,
        timeouts: *rule.timeouts,
        retry: rule.retry.as_deref(),
        cors_headers: match (cors, origin) {
            (Some(c), Some(o)) => cors::response_headers(c, &o),
            _ => Vec::new(),
        },
    })
}

fn modifiers<'r>(
    layers: &[&'r Filters; 2],
    pick: impl Fn(&'r Filters) -> Option<&'r HeaderModifier>,
) -> Vec<&'r HeaderModifier> {
    layers.iter().filter_map(|f| pick(f)).collect()
}

/// Weighted choice over the backendRefs, with its position; `None` when there is nothing to
/// choose from (no backendRefs, or every weight is 0).
fn pick_backend<'r>(
    backends: &'r [WeightedBackend],
    dice: &mut Dice,
) -> Option<(usize, &'r WeightedBackend)> {
    let total: u64 = backends.iter().map(|b| u64::from(b.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut roll = dice.below(total);
    backends.iter().enumerate().find(|(_, b)| {
        let w = u64::from(b.weight);
        if roll < w {
            true
        } else {
            roll -= w;
            false
        }
    })
}

/// The path `m` makes of `current`; `None` when a regular expression would cost more than
/// what is left of the request's budget.
fn modified_path(
    router: &Router,
    m: &PathModifier,
    current: &str,
    budget: &Budget,
) -> Option<String> {
    Some(match m {
        PathModifier::Full(p) => p.clone(),
        PathModifier::Prefix {
            matched,
            replacement,
        } => path::replace_prefix(current, matched, replacement),
        PathModifier::Regex {
            regex,
            substitution,
        } => router.regex_replace(*regex, current, substitution, budget)?,
        // Only in redirects, which send it as their whole Location (`validate` refuses it in
        // a rewrite).
        PathModifier::Location(_) => current.to_owned(),
    })
}

/// The path a forwarded request gets from the rule's path rewrite `m`, or why it gets none.
fn forwarded_path(
    router: &Router,
    m: Option<&PathModifier>,
    target: &Target<'_>,
    budget: &Budget,
) -> Result<String, ReplyReason> {
    let Some(m) = m else {
        return Ok(target.path.clone());
    };
    let path = modified_path(router, m, &target.path, budget).ok_or(ReplyReason::RegexBudgetUri)?;
    if path.starts_with('/') {
        Ok(path)
    } else {
        // A regex rewrite can leave something that is not a path; Envoy's router refuses the
        // same rewrite with 400, and forwarding it would only meet a 404 from its routes.
        Err(ReplyReason::BadRequest)
    }
}

/// The redirect's reply, or 414 when its path would cost more than the request's budget.
fn redirect_reply(
    router: &Router,
    r: &Redirect,
    req: &Request<'_>,
    target: &Target<'_>,
    budget: &Budget,
    rule: RuleId,
) -> Reply {
    let location = match &r.path {
        Some(PathModifier::Location(location)) => location.clone(),
        m => match location(router, r, m.as_ref(), req, target, budget) {
            Some(location) => location,
            None => return Reply::for_rule(ReplyReason::RegexBudgetUri, req, rule),
        },
    };
    Reply {
        reason: ReplyReason::Redirect,
        status: r.status,
        grpc_status: None,
        headers: vec![("location".to_owned(), location)],
        rule: Some(rule),
        backend: None,
    }
}

/// The Location a Gateway API redirect makes of the request; `None` when its path would
/// cost more than the request's budget.
fn location(
    router: &Router,
    r: &Redirect,
    path: Option<&PathModifier>,
    req: &Request<'_>,
    target: &Target<'_>,
    budget: &Budget,
) -> Option<String> {
    let scheme = r.scheme.as_deref().unwrap_or(req.scheme);
    let port = r.port.unwrap_or(match r.scheme.as_deref() {
        Some("https") => 443,
        Some(_) => 80,
        None => req.port,
    });
    let default_port = matches!((scheme, port), ("http", 80) | ("https", 443));
    let hostname = r
        .hostname
        .as_deref()
        .unwrap_or_else(|| super::host::without_port(req.authority));
    let path = match path {
        Some(m) => modified_path(router, m, &target.path, budget)?,
        None => target.path.clone(),
    };
    Some(if default_port {
        format!("{scheme}://{hostname}{path}{}", target.query)
    } else {
        format!("{scheme}://{hostname}:{port}{path}{}", target.query)
    })
}
