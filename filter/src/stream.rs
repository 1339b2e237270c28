//! One HTTP stream, independent of the proxy: read the request from a [`Host`], ask the
//! engine, and apply the [`Decision`] back through the host.
//!
//! The proxy-wasm glue implements [`Host`] with real host calls; the CLI's native test runner
//! implements it over an in-memory request. Everything between reading headers and writing
//! them back lives here, so both paths do exactly the same thing.
//!
//! Client-address authorization ([`crate::access`]) runs after routing and answers 403 before
//! any rate limit counts the request. Rate limits ([`crate::ratelimit`]) run next: local
//! limits decide on the spot; a
//! global limit makes [`Stream::on_request_headers`] return [`Verdict::Wait`] and the request
//! waits, its edits applied, until [`Stream::on_rate_limit_response`] admits or denies it.

use crate::access;
use crate::blob::HeaderModifier;
use crate::config::{EngineMode, PluginConfig, DEFAULT_CLUSTER_HEADER};
use crate::decision_log;
use crate::engine::{
    grpc_code, Decision, Dice, Forward, HeaderEdit, Reply, ReplyReason, Request, Strategy,
};
use crate::host::{Host, HostError, ListenerRole, Side};
use crate::metrics;
use crate::ratelimit;

/// Logs a failed host call once, with what the filter does about it: a fail-closed 503 or a
/// header edit that did not happen must leave a trace.
fn log_failure(host: &mut impl Host, e: &HostError, then: &str) {
    host.log_error(&format!("gatewasm: host call failed: {}; {then}", e.0));
}

/// [`log_failure`] for a result whose success needs nothing more.
fn report<T>(host: &mut impl Host, result: Result<T, HostError>, then: &str) {
    if let Err(e) = result {
        log_failure(host, &e, then);
    }
}

/// What the proxy should do after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the request or response continue.
    Continue,
    /// Stop: the filter answered locally.
    Stop,
    /// Paused until the rate limit service answers ([`Stream::on_rate_limit_response`]).
    Wait,
}

/// Per-stream state kept between the request and the response phase.
#[derive(Debug, Default)]
pub struct Stream {
    /// Response edits chosen in the request phase.
    response: Option<ResponseEdits>,
    /// `x-ratelimit-*` headers for an admitted request's response.
    limit_headers: Vec<(String, String)>,
    /// A rate limit service call in flight and what to do once it admits the request.
    waiting: Option<Waiting>,
}

#[derive(Debug)]
struct Waiting {
    call: ratelimit::Pending,
    then: Then,
}

/// What an admitted request still has to do once the rate limit service answers.
#[derive(Debug)]
enum Then {
    /// The route answers itself (redirect, missing backend).
    Reply(Reply),
    /// Forwarded: its edits, cluster and mirror headers are in place already; Envoy's
    /// router sends it and its mirrors only if it is admitted.
    Forward,
}

#[derive(Debug)]
struct ResponseEdits {
    rule: crate::blob::RuleId,
    backend: usize,
    cors: Vec<(String, String)>,
}

impl Stream {
    /// Handles the request headers.
    pub fn on_request_headers(
        &mut self,
        config: &PluginConfig,
        dice: &mut Dice,
        host: &mut impl Host,
    ) -> Verdict {
        let routed = self.route_request(config, dice, host);
        match routed {
            Ok(verdict) => verdict,
            Err(e) if config.fail_open => {
                log_failure(host, &e, "fail-open: passing the request on undecided");
                clear_cluster_headers(config, host);
                let r = host.count(metrics::FAIL_OPEN);
                report(host, r, "the request goes on uncounted");
                Verdict::Continue
            }
            Err(e) => {
                log_failure(host, &e, "fail-closed: answering 503");
                let r = answer(&config.cluster_header, host, &Reply::internal());
                report(host, r, "the 503 could not be sent either");
                Verdict::Stop
            }
        }
    }

    fn route_request(
        &mut self,
        config: &PluginConfig,
        dice: &mut Dice,
        host: &mut impl Host,
    ) -> Result<Verdict, HostError> {
        let port = match host.listener()? {
            ListenerRole::Readiness => {
                answer(&config.cluster_header, host, &Reply::ready())?;
                return Ok(Verdict::Stop);
            }
            ListenerRole::Gateway(port) => port,
            ListenerRole::Socket(port) => config.gateway_port(port),
        };
        let map = host.request_headers()?;
        let headers =
            crate::pairs::decode(&map).map_err(|e| HostError(format!("request headers: {e}")))?;
        // Only a TLS listener's connection has a server name to compare with the host.
        let sni = if config.router.serves_tls(port) {
            host.sni()?
        } else {
            None
        };
        let text = |name: &str| -> &str {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| std::str::from_utf8(v).ok())
                .unwrap_or("")
        };
        let req = Request {
            port,
            sni: sni.as_deref(),
            scheme: text(":scheme"),
            authority: text(":authority"),
            method: text(":method"),
            path: text(":path"),
            headers: &headers,
        };
        let strategy = match config.engine {
            EngineMode::Indexed => Strategy::Auto,
            EngineMode::Linear => Strategy::Linear,
            EngineMode::Off => {
                clear_cluster_headers(config, host);
                return Ok(Verdict::Continue);
            }
        };
        let (listener, decision) =
            config
                .router
                .evaluate_with(strategy, &req, dice, &mut |_, _| {});
        record(config, listener, decision.rule(), host);
        let governed = listener.zip(decision.limited_rule());
        let admission = match governed {
            Some((listener, rule)) => admit(config, listener, rule, &req, host)?,
            None => ratelimit::Admission::default(),
        };
        if let Some(reply) = admission.denied {
            answer(&config.cluster_header, host, &reply)?;
            return Ok(Verdict::Stop);
        }
        self.limit_headers = admission.headers;
        let idle_ms = governed.and_then(|(l, r)| config.router.table().idle.governing(l, r));
        let then = self.carry_out(config, decision, idle_ms, host)?;
        match (admission.global, then) {
            (Some(call), then) => Ok(self.call_service(config, call, then, host)),
            (None, Then::Reply(reply)) => {
                answer(&config.cluster_header, host, &reply)?;
                Ok(Verdict::Stop)
            }
            (None, Then::Forward) => Ok(Verdict::Continue),
        }
    }

    /// Writes a forwarded request's edits and keeps its response edits for later; a reply is
    /// only returned, since a global rate limit may still have to admit the request first.
    fn carry_out(
        &mut self,
        config: &PluginConfig,
        decision: Decision<'_>,
        idle_ms: Option<u64>,
        host: &mut impl Host,
    ) -> Result<Then, HostError> {
        match decision {
            Decision::Reply(reply) => Ok(Then::Reply(reply)),
            Decision::Forward(fwd) => {
                apply_forward(config, &fwd, idle_ms, host)?;
                self.response = Some(ResponseEdits {
                    rule: fwd.rule,
                    backend: fwd.backend_index,
                    cors: fwd.cors_headers,
                });
                Ok(Then::Forward)
            }
        }
    }

    /// Asks the rate limit service about `call`; the request waits for its answer.
    fn call_service(
        &mut self,
        config: &PluginConfig,
        call: ratelimit::Pending,
        then: Then,
        host: &mut impl Host,
    ) -> Verdict {
        let rl = &config.rate_limit;
        let dispatched = host.dispatch_rate_limit(&rl.cluster, &call.message, rl.timeout);
        self.waiting = Some(Waiting { call, then });
        match dispatched {
            Ok(()) => Verdict::Wait,
            // The service cannot even be called (e.g. an unknown cluster): the same as a
            // failed call.
            Err(e) => {
                log_failure(host, &e, "treated as a failed rate limit call");
                self.on_rate_limit_response(config, grpc_code::UNAVAILABLE, None, host)
            }
        }
    }

    /// Handles the rate limit service's answer to the call [`Verdict::Wait`] waits for:
    /// `status` is the gRPC status (0 OK), `body` the response message. Returns
    /// [`Verdict::Continue`] when the paused request may go on.
    pub fn on_rate_limit_response(
        &mut self,
        config: &PluginConfig,
        status: u32,
        body: Option<&[u8]>,
        host: &mut impl Host,
    ) -> Verdict {
        let Some(Waiting { call, then }) = self.waiting.take() else {
            return Verdict::Continue;
        };
        let conclusion =
            ratelimit::conclude(call, status, body, config.rate_limit.fail_closed, host);
        match conclusion {
            Ok(ratelimit::Conclusion::Allow(headers)) => {
                self.limit_headers = headers;
                go_on(config, then, host)
            }
            Ok(ratelimit::Conclusion::Deny(reply)) => {
                self.response = None;
                self.limit_headers.clear();
                let r = answer(&config.cluster_header, host, &reply);
                report(host, r, "the 429 could not be sent");
                Verdict::Stop
            }
            // Fail open still sends only what the filter decided: the cluster header of a
            // forwarded request is the filter's own, and a reply is answered.
            Err(e) if config.fail_open => {
                log_failure(host, &e, "fail-open: admitting the request");
                let r = host.count(metrics::FAIL_OPEN);
                report(host, r, "the request goes on uncounted");
                go_on(config, then, host)
            }
            Err(e) => {
                log_failure(host, &e, "fail-closed: answering 503");
                self.response = None;
                let r = answer(&config.cluster_header, host, &Reply::internal());
                report(host, r, "the 503 could not be sent either");
                Verdict::Stop
            }
        }
    }

    /// Handles the response headers (including those of the filter's own local replies,
    /// which carry no edits).
    pub fn on_response_headers(&mut self, config: &PluginConfig, host: &mut impl Host) -> Verdict {
        for (name, value) in std::mem::take(&mut self.limit_headers) {
            let r = host.set_header(Side::Response, &name, value.as_bytes());
            report(host, r, "the response goes on without it");
        }
        let Some(edits) = self.response.take() else {
            return Verdict::Continue;
        };
        for modifier in config.router.response_modifiers(edits.rule, edits.backend) {
            // A failed edit on the response cannot be answered any better than by letting the
            // response through as the backend sent it.
            let r = edit_headers(host, Side::Response, modifier);
            report(
                host,
                r,
                "the response goes on without the rest of that modifier",
            );
        }
        for (name, value) in &edits.cors {
            let r = host.set_header(Side::Response, name, value.as_bytes());
            report(host, r, "the response goes on without it");
        }
        Verdict::Continue
    }
}

/// A request reaching a filter without a usable configuration: none yet, or a host that went
/// on after `on_configure` refused one (Envoy and the test host do not). Answered 503 even if
/// the refused configuration asked to fail open: without it the filter cannot tell which
/// cluster and mirror headers to clear, so passing the request on could let the client pick
/// a cluster.
pub fn unconfigured(host: &mut impl Host) -> Verdict {
    let r = answer(DEFAULT_CLUSTER_HEADER, host, &Reply::internal());
    report(host, r, "the 503 could not be sent");
    Verdict::Stop
}

/// What an admitted request does next: its reply, or on to the backend.
fn go_on(config: &PluginConfig, then: Then, host: &mut impl Host) -> Verdict {
    match then {
        Then::Reply(reply) => {
            let r = answer(&config.cluster_header, host, &reply);
            report(host, r, "the reply could not be sent");
            Verdict::Stop
        }
        Then::Forward => Verdict::Continue,
    }
}

/// Keeps what decided the request for the access log, and counts it for its rule. Neither
/// changes what happens to the request, so a failed host call is only logged.
fn record(
    config: &PluginConfig,
    listener: Option<crate::blob::ListenerId>,
    rule: Option<crate::blob::RuleId>,
    host: &mut impl Host,
) {
    let table = config.router.table();
    let r = decision_log::record(host, &config.rule_names, table, listener, rule);
    report(host, r, "the access log lacks the decision");
    if let Some(name) = rule.and_then(|r| config.rule_metrics.get(r.index())) {
        let r = host.count(name);
        report(host, r, "the rule's request goes uncounted");
    }
}

/// Passing a request on undecided must not let the client pick a cluster or a mirror itself
/// (Envoy Gateway and Istio do not drop these headers before the filter, as the emitted
/// bootstrap does).
fn clear_cluster_headers(config: &PluginConfig, host: &mut impl Host) {
    let names = std::iter::once(&config.cluster_header)
        .chain(&config.mirror_headers)
        .chain(&config.idle_header);
    for name in names {
        let r = host.remove_header(Side::Request, name);
        report(host, r, "a client-sent cluster header may remain");
    }
}

/// Sends a local reply. The client's own cluster header goes first: Envoy charges a local
/// reply to whatever cluster that header names (`%UPSTREAM_CLUSTER%` in the access log).
fn answer(cluster_header: &str, host: &mut impl Host, reply: &Reply) -> Result<(), HostError> {
    let r = host.count(&metrics::reply(reply.reason));
    report(host, r, "the reply goes uncounted");
    let r = host.remove_header(Side::Request, cluster_header);
    report(
        host,
        r,
        "the access log may charge the reply to a client-named cluster",
    );
    host.send_reply(reply)
}

/// Authorizes the client for `rule` (a refusal is the denial), then runs the local rate limits
/// of the policy governing it and prepares its global call.
fn admit(
    config: &PluginConfig,
    listener: crate::blob::ListenerId,
    rule: crate::blob::RuleId,
    req: &Request<'_>,
    host: &mut impl Host,
) -> Result<ratelimit::Admission, HostError> {
    // Envoy Gateway's RBAC filter runs before its rate limit filters: a denied client
    // spends no tokens.
    if let Some(reply) = access::authorize(&config.router, listener, rule, req, host)? {
        return Ok(ratelimit::Admission {
            denied: Some(reply),
            ..ratelimit::Admission::default()
        });
    }
    let Some(policy) = ratelimit::policy_for(&config.router, listener, rule) else {
        return Ok(ratelimit::Admission::default());
    };
    let client = if ratelimit::needs_client(policy) {
        host.source_address()?
            .and_then(|a| ratelimit::parse_client(&a))
    } else {
        None
    };
    let plan = match ratelimit::plan_request(&config.router, listener, rule, req, client.as_ref()) {
        Ok(Some(plan)) => plan,
        Ok(None) => return Ok(ratelimit::Admission::default()),
        Err(input) => {
            return Ok(ratelimit::Admission {
                denied: Some(Reply::new(ReplyReason::regex_budget(input), req)),
                ..ratelimit::Admission::default()
            })
        }
    };
    let domain = &config.router.table().rate_limits.domain;
    ratelimit::admit(domain, &plan, rule, req.is_grpc(), host)
}

fn apply_forward(
    config: &PluginConfig,
    fwd: &Forward<'_>,
    idle_ms: Option<u64>,
    host: &mut impl Host,
) -> Result<(), HostError> {
    for edit in fwd.request_edits() {
        apply(host, Side::Request, edit.header())?;
    }
    // Envoy's router mirrors the request as it forwards it (headers after these edits,
    // and the whole body) to the cluster in each filled slot; an empty slot must not keep
    // a value the client sent.
    for (slot, name) in config.mirror_headers.iter().enumerate() {
        match fwd.mirrors.get(slot) {
            Some(cluster) => {
                host.set_header(Side::Request, name, cluster.as_bytes())?;
                let r = host.count(metrics::MIRRORED);
                report(host, r, "the mirror goes uncounted");
            }
            None => host.remove_header(Side::Request, name)?,
        }
    }
    // Envoy picks the route carrying the timeout by this header; a rule without one must
    // not keep a value the client sent, which would choose another rule's timeout.
    if let Some(name) = &config.idle_header {
        match idle_ms {
            Some(ms) => host.set_header(Side::Request, name, ms.to_string().as_bytes())?,
            None => host.remove_header(Side::Request, name)?,
        }
    }
    host.set_header(
        Side::Request,
        &config.cluster_header,
        fwd.cluster.as_bytes(),
    )
}

fn edit_headers(host: &mut impl Host, side: Side, m: &HeaderModifier) -> Result<(), HostError> {
    m.edits().try_for_each(|edit| apply(host, side, edit))
}

fn apply(host: &mut impl Host, side: Side, edit: HeaderEdit<'_>) -> Result<(), HostError> {
    match edit {
        HeaderEdit::Set(name, value) => host.set_header(side, name, value.as_bytes()),
        HeaderEdit::Add(name, value) => host.add_header(side, name, value.as_bytes()),
        HeaderEdit::Remove(name) => host.remove_header(side, name),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::blob::{self, RouteTable};

    /// A host whose every call fails, recording what the filter logged and answered.
    #[derive(Default)]
    struct BrokenHost {
        logged: Vec<String>,
        replies: Vec<u16>,
    }

    fn broken<T>(what: &str) -> Result<T, HostError> {
        Err(HostError(format!("{what}: InternalFailure")))
    }

    impl Host for BrokenHost {
        fn request_headers(&mut self) -> Result<Vec<u8>, HostError> {
            broken("request headers")
        }
        fn listener(&mut self) -> Result<ListenerRole, HostError> {
            broken("xds.listener_metadata")
        }
        fn sni(&mut self) -> Result<Option<String>, HostError> {
            broken("sni")
        }
        fn set_header(&mut self, _: Side, _: &str, _: &[u8]) -> Result<(), HostError> {
            broken("set_header")
        }
        fn add_header(&mut self, _: Side, _: &str, _: &[u8]) -> Result<(), HostError> {
            broken("add_header")
        }
        fn remove_header(&mut self, _: Side, name: &str) -> Result<(), HostError> {
            broken(name)
        }
        fn send_reply(&mut self, reply: &Reply) -> Result<(), HostError> {
            self.replies.push(reply.status);
            Ok(())
        }
        fn source_address(&mut self) -> Result<Option<String>, HostError> {
            broken("source.address")
        }
        fn now_nanos(&mut self) -> Result<u64, HostError> {
            broken("time")
        }
        fn shared_get(&mut self, _: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError> {
            broken("shared_get")
        }
        fn shared_set(&mut self, _: &str, _: &[u8], _: u32) -> Result<bool, HostError> {
            broken("shared_set")
        }
        fn dispatch_rate_limit(&mut self, _: &str, _: &[u8], _: Duration) -> Result<(), HostError> {
            broken("dispatch")
        }
        fn count(&mut self, _: &str) -> Result<(), HostError> {
            broken("count")
        }
        fn set_state(&mut self, _: &str, _: &[u8]) -> Result<(), HostError> {
            broken("set_state")
        }
        fn log_error(&mut self, message: &str) {
            self.logged.push(message.to_owned());
        }
    }

    fn config(fail_open: bool) -> PluginConfig {
        let blob = blob::encode(&RouteTable::default()).unwrap_or_default();
        let mut config = crate::config::parse(Some(blob)).unwrap_or_else(|e| panic!("{e}"));
        config.fail_open = fail_open;
        config
    }

    #[test]
    fn a_failed_host_call_is_logged_with_what_follows() {
        let mut host = BrokenHost::default();
        let verdict =
            Stream::default().on_request_headers(&config(false), &mut Dice::new(1), &mut host);
        assert_eq!(verdict, Verdict::Stop);
        assert_eq!(host.replies, [503]);
        assert_eq!(
            host.logged,
            [
                "gatewasm: host call failed: xds.listener_metadata: InternalFailure; fail-closed: answering 503",
                "gatewasm: host call failed: count: InternalFailure; the reply goes uncounted",
                "gatewasm: host call failed: x-gatewasm-cluster: InternalFailure; the access log may charge the reply to a client-named cluster",
            ]
        );

        let mut host = BrokenHost::default();
        let verdict =
            Stream::default().on_request_headers(&config(true), &mut Dice::new(1), &mut host);
        assert_eq!(verdict, Verdict::Continue);
        assert!(host.replies.is_empty());
        assert_eq!(
            host.logged[0],
            "gatewasm: host call failed: xds.listener_metadata: InternalFailure; fail-open: passing the request on undecided"
        );
        let (last, headers) = host.logged[1..]
            .split_last()
            .unwrap_or_else(|| panic!("logged"));
        assert!(headers
            .iter()
            .all(|l| l.ends_with("a client-sent cluster header may remain")));
        assert_eq!(
            last,
            "gatewasm: host call failed: count: InternalFailure; the request goes on uncounted"
        );
    }

    #[test]
    fn without_a_configuration_every_request_is_answered_503() {
        let mut host = BrokenHost::default();
        assert_eq!(unconfigured(&mut host), Verdict::Stop);
        assert_eq!(host.replies, [503]);
        assert_eq!(
            host.logged,
            [
                "gatewasm: host call failed: count: InternalFailure; the reply goes uncounted",
                "gatewasm: host call failed: x-gatewasm-cluster: InternalFailure; the access log may charge the reply to a client-named cluster",
            ]
        );
    }
}
