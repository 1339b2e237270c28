//! The routing engine: given a decoded route table and a request, decide what happens.
//!
//! This is the single source of routing semantics. The proxy-wasm glue, the CLI's
//! `gatewasm test` and `gatewasm explain` all call [`Router::evaluate`]; none of them decide
//! anything themselves.
//!
//! Evaluation order (the invariants the compiler's `lower` stage relies on):
//! 1. Normalise the path (RFC 3986); a malformed target is a 400.
//! 2. Pick the listener on the destination port: the most specific listener hostname that
//!    covers the Host, else the hostname-less one. On HTTPS the SNI picks the listener and a
//!    Host that belongs to another listener is misdirected (421).
//! 3. Walk the listener's host groups in the stored order (most specific hostname first),
//!    skipping groups whose hostname does not cover the Host, and within a group the matches
//!    in the stored (precedence) order. The first match whose every condition holds decides
//!    the rule. Nothing matched: 404 (gRPC: UNIMPLEMENTED).
//! 4. The rule's filters and a weighted backend choice give the [`Decision`].

pub mod budget;
mod cors;
mod decision;
mod dice;
mod host;
mod index;
mod matcher;
pub mod path;
mod request;
mod rewrite;

pub use budget::{Budget, Input};
pub use decision::{grpc_code, Decision, Forward, HeaderEdit, Reply, ReplyReason, RequestEdit};
pub use dice::Dice;
pub use host::{best_listener, request_host};
pub use matcher::Miss;
pub use request::{borrow_headers, query_param, HeaderList, Request};

use crate::blob::{self, DecodeError, HostGroupId, ListenerId, Lookup, MatchId, RouteTable};

/// A validated route table ready to evaluate requests.
#[derive(Debug)]
pub struct Router {
    table: RouteTable,
    /// Each expression's [`budget::program_size`] (what running it costs per input byte) and
    /// program, made on first use: `decode` has parsed every one, and a table of thousands
    /// would otherwise build all their programs before serving its first request.
    regexes: Vec<std::cell::OnceCell<CompiledRegex>>,
    index: index::Index,
    /// Per listener: true when [`Strategy::Auto`] scans it ([`scans`]).
    scanned: Vec<bool>,
}

/// The most matches a listener may have for [`Strategy::Auto`] to scan them instead of
/// asking the index. Measured in wasm operators per request (`scripts/bench`): at 10 matches
/// the scan costs 16 % less than the index's hashing, at 100 the index 18 % less than the
/// scan; they cross near 40.
pub const SCAN_LIMIT: usize = 32;

/// Whether [`Strategy::Auto`] scans `listener`: at most [`SCAN_LIMIT`] matches and no regular
/// expression among them. The index skips an expression whose required literal prefix the
/// path lacks, the scan runs it; with expressions, a scan could spend a request's regex budget
/// (and answer 414) where the index routes it.
fn scans(table: &RouteTable, listener: &blob::Listener) -> bool {
    let mut matches = listener
        .host_groups
        .iter()
        .filter_map(|&g| table.host_groups.at(g))
        .flat_map(|g| g.matches.iter().filter_map(|&m| table.matches.at(m)));
    let mut count = 0;
    matches.all(|m| {
        count += 1;
        count <= SCAN_LIMIT && !uses_regex(m)
    })
}

fn uses_regex(m: &blob::Match) -> bool {
    let regex = |s: &Option<blob::StringMatch>| matches!(s, Some(blob::StringMatch::Regex(_)));
    let path = match &m.path {
        blob::PathMatch::Regex(_) => true,
        blob::PathMatch::Grpc { service, method } => regex(service) || regex(method),
        blob::PathMatch::Exact(_) | blob::PathMatch::Prefix(_) => false,
    };
    path || m
        .headers
        .iter()
        .map(|h| &h.value)
        .chain(m.query.iter().map(|q| &q.value))
        .any(|v| matches!(v, blob::StringMatch::Regex(_)))
}

/// An expression ready to run.
#[derive(Debug)]
struct CompiledRegex {
    size: u32,
    program: Option<regex_lite::Regex>,
    /// The same expression unanchored, for path rewrites; made on their first use.
    search: std::cell::OnceCell<Option<regex_lite::Regex>>,
}

/// How candidate matches are found; all give the same verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// What the filter uses: a scan on a listener with at most [`SCAN_LIMIT`] matches and no
    /// regular expression, the index on any other.
    Auto,
    /// Through the hostname and path index.
    Indexed,
    /// By scanning every match of the listener in stored order: the reference the index is
    /// tested against, and the baseline of the benchmark.
    Linear,
}

impl Router {
    /// Decodes and validates a blob.
    ///
    /// # Errors
    /// Whatever [`blob::decode`] refuses.
    pub fn from_blob(bytes: &[u8]) -> Result<Router, DecodeError> {
        blob::decode(bytes).map(Router::new)
    }

    /// A router over a table [`blob::decode`] has validated: evaluation relies on its checks.
    pub(crate) fn new(table: RouteTable) -> Router {
        let regexes = table
            .regexes
            .iter()
            .map(|_| std::cell::OnceCell::new())
            .collect();
        let index = index::Index::build(&table);
        let scanned = table.listeners.iter().map(|l| scans(&table, l)).collect();
        Router {
            table,
            regexes,
            index,
            scanned,
        }
    }

    /// True if a listener on Gateway port `port` terminates TLS: only then does a request's
    /// server name (SNI) take part in choosing its listener.
    pub fn serves_tls(&self, port: u16) -> bool {
        self.table.listeners.iter().any(|l| l.port == port && l.tls)
    }

    /// The decoded table (for explanations and tests).
    pub fn table(&self) -> &RouteTable {
        &self.table
    }

    /// Decides what to do with `req`. `dice` supplies the randomness for weighted backends
    /// and mirror percentages.
    pub fn evaluate(&self, req: &Request<'_>, dice: &mut Dice) -> Decision<'_> {
        self.evaluate_with(Strategy::Auto, req, dice, &mut |_, _| {})
            .1
    }

    /// Like [`Router::evaluate`] with a chosen [`Strategy`], also calling `missed` for every
    /// candidate match, in precedence order, that was tried and did not hold. Returns the
    /// listener chosen.
    pub fn evaluate_with(
        &self,
        strategy: Strategy,
        req: &Request<'_>,
        dice: &mut Dice,
        missed: &mut dyn FnMut(MatchId, Miss),
    ) -> (Option<ListenerId>, Decision<'_>) {
        let target = match path::normalize(req.path) {
            Ok(t) => t,
            Err(_) => {
                return (
                    None,
                    Decision::Reply(Reply::new(ReplyReason::BadRequest, req)),
                )
            }
        };
        let host = host::request_host(req.authority);
        let listener = match self.select_listener(req, &host) {
            Ok(l) => l,
            Err(reason) => return (None, Decision::Reply(Reply::new(reason, req))),
        };
        let budget = Budget::default();
        let found = self.find_match(
            strategy,
            listener,
            &host,
            &target.path,
            target.query,
            req,
            &budget,
            missed,
        );
        let decision = match (budget.exhausted(), found) {
            (Some(input), _) => Decision::Reply(Reply::new(ReplyReason::regex_budget(input), req)),
            (None, Some(m)) => decision::decide(self, m, req, &target, dice, &budget),
            (None, None) => Decision::Reply(Reply::new(ReplyReason::NoRoute, req)),
        };
        (Some(listener), decision)
    }

    fn select_listener(&self, req: &Request<'_>, host: &str) -> Result<ListenerId, ReplyReason> {
        let listeners = &self.table.listeners;
        let by_host = host::best_listener(listeners, req.port, host);
        let Some(sni) = req.sni.filter(|s| !s.is_empty()) else {
            return by_host.ok_or(ReplyReason::NoListener);
        };
        let by_sni = host::best_listener(listeners, req.port, &host::request_host(sni));
        match (by_sni, by_host) {
            (Some(s), Some(h)) if s != h && listeners.at(s).is_some_and(|l| l.tls) => {
                Err(ReplyReason::Misdirected)
            }
            (Some(s), Some(_)) => Ok(s),
            (_, None) => Err(ReplyReason::NoListener),
            (None, Some(h)) => Ok(h),
        }
    }

    /// The first match in precedence order that holds for the request.
    #[allow(clippy::too_many_arguments)]
    fn find_match(
        &self,
        strategy: Strategy,
        listener: ListenerId,
        host: &str,
        path: &str,
        query: &str,
        req: &Request<'_>,
        budget: &Budget,
        missed: &mut dyn FnMut(MatchId, Miss),
    ) -> Option<MatchId> {
        let t = &self.table;
        let mut holds = |m: MatchId| {
            let Some(found) = t.matches.at(m) else {
                return false;
            };
            match matcher::check(self, found, path, query, req, budget) {
                Ok(()) => true,
                Err(miss) => {
                    missed(m, miss);
                    false
                }
            }
        };
        let scan = match strategy {
            Strategy::Auto => self.scanned.get(listener.index()).copied().unwrap_or(false),
            Strategy::Indexed => false,
            Strategy::Linear => true,
        };
        if scan {
            self.linear(listener, host)
                .map(|(_, m)| m)
                .find(|&m| holds(m))
        } else {
            self.index
                .groups_for(t, listener.index(), host)
                .flat_map(|g| self.index.candidates(t, g, path))
                .find(|&m| holds(m))
        }
    }

    /// Every candidate match of `listener` for `host`, in precedence order, with its group.
    fn linear<'a>(
        &'a self,
        listener: ListenerId,
        host: &'a str,
    ) -> impl Iterator<Item = (HostGroupId, MatchId)> + 'a {
        let t = &self.table;
        t.listeners
            .at(listener)
            .into_iter()
            .flat_map(|l| l.host_groups.iter().copied())
            .filter_map(move |g| t.host_groups.at(g).map(|group| (g, group)))
            .filter(move |(_, group)| group.host.as_ref().is_none_or(|p| p.matches(host)))
            .flat_map(|(g, group)| group.matches.iter().map(move |&m| (g, m)))
    }

    /// Every candidate match of `listener` whose conditions hold for `req`, in precedence
    /// order, with its host group. The first is the one [`Router::evaluate`] takes; the others
    /// it never tries, and explanations say what ranked them lower.
    pub fn holding(&self, listener: ListenerId, req: &Request<'_>) -> Vec<(HostGroupId, MatchId)> {
        let Ok(target) = path::normalize(req.path) else {
            return Vec::new();
        };
        let host = host::request_host(req.authority);
        let budget = Budget::default();
        self.linear(listener, &host)
            .filter(|&(_, m)| {
                self.table.matches.at(m).is_some_and(|found| {
                    matcher::check(self, found, &target.path, target.query, req, &budget).is_ok()
                })
            })
            .collect()
    }

    /// Whether expression `id` matches the whole of `input`, if `budget` pays for running it
    /// (see [`budget`]); false without running when it does not. An expression that stopped
    /// compiling after validation, or that the table does not hold, matches nothing.
    pub(crate) fn regex_match(
        &self,
        id: blob::RegexId,
        input: &str,
        kind: Input,
        budget: &Budget,
    ) -> bool {
        self.compiled(id).is_some_and(|(_, c)| {
            budget.charge(c.size, input, kind)
                && c.program.as_ref().is_some_and(|r| r.is_match(input))
        })
    }

    /// `path` with every match of expression `id` replaced by `substitution`
    /// ([`rewrite`]), each search paid from `budget`; `None` when the budget cannot pay. An
    /// expression that does not compile or that the table does not hold changes nothing.
    pub(crate) fn regex_replace(
        &self,
        id: blob::RegexId,
        path: &str,
        substitution: &str,
        budget: &Budget,
    ) -> Option<String> {
        let Some((pattern, c)) = self.compiled(id) else {
            return Some(path.to_owned());
        };
        let search = c
            .search
            .get_or_init(|| regex_lite::Regex::new(pattern).ok());
        let Some(re) = search else {
            return Some(path.to_owned());
        };
        rewrite::global_replace(re, path, substitution, |rest| {
            budget.charge(c.size, rest, Input::Uri)
        })
    }

    fn compiled(&self, id: blob::RegexId) -> Option<(&str, &CompiledRegex)> {
        let pattern = self.table.regexes.at(id)?;
        let cell = self.regexes.get(id.index())?;
        let compiled = cell.get_or_init(|| CompiledRegex {
            size: budget::program_size(pattern).unwrap_or(u32::MAX),
            program: regex_lite::Regex::new(&blob::anchored(pattern)).ok(),
            search: std::cell::OnceCell::new(),
        });
        Some((pattern, compiled))
    }
}
