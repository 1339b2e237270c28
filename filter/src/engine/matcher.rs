//! Whether one match's conditions hold for a request, and if not, which one failed.

use super::budget::{Budget, Input};
use super::request::{query_param, Request};
use super::{path, Router};
use crate::blob::{Match, PathMatch, StringMatch};

/// The first condition of a match that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// The path (or gRPC service/method) does not match.
    Path,
    /// The method differs.
    Method,
    /// This header is missing or its value does not match.
    Header(String),
    /// This query parameter is missing or its value does not match.
    Query(String),
}

/// Checks every condition of `m`. `path` is the normalised path, `query` the raw query;
/// regular expressions are paid for from `budget`.
pub(crate) fn check(
    router: &Router,
    m: &Match,
    path: &str,
    query: &str,
    req: &Request<'_>,
    budget: &Budget,
) -> Result<(), Miss> {
    let string_holds =
        |m: &StringMatch, value: &str, input: Input| string_holds(router, m, value, input, budget);
    if !path_holds(router, &m.path, path, budget) {
        return Err(Miss::Path);
    }
    if m.method
        .as_deref()
        .is_some_and(|method| method != req.method)
    {
        return Err(Miss::Method);
    }
    for h in &m.headers {
        let value = req
            .header(&h.name)
            .and_then(|v| std::str::from_utf8(v).ok());
        if !value.is_some_and(|v| string_holds(&h.value, v, Input::Header)) {
            return Err(Miss::Header(h.name.clone()));
        }
    }
    for q in &m.query {
        if !query_param(query, &q.name).is_some_and(|v| string_holds(&q.value, &v, Input::Uri)) {
            return Err(Miss::Query(q.name.clone()));
        }
    }
    Ok(())
}

fn path_holds(router: &Router, m: &PathMatch, path: &str, budget: &Budget) -> bool {
    let string_holds =
        |m: &StringMatch, value: &str| string_holds(router, m, value, Input::Uri, budget);
    match m {
        PathMatch::Exact(value) => path == value,
        PathMatch::Prefix(prefix) => path::has_prefix(path, prefix),
        PathMatch::Regex(id) => router.regex_match(*id, path, Input::Uri, budget),
        PathMatch::Grpc { service, method } => {
            let Some((svc, meth)) = path
                .strip_prefix('/')
                .and_then(|p| p.split_once('/'))
                .filter(|(s, m)| !s.is_empty() && !m.is_empty() && !m.contains('/'))
            else {
                return false;
            };
            service.as_ref().is_none_or(|s| string_holds(s, svc))
                && method.as_ref().is_none_or(|m| string_holds(m, meth))
        }
    }
}

fn string_holds(
    router: &Router,
    m: &StringMatch,
    value: &str,
    input: Input,
    budget: &Budget,
) -> bool {
    match m {
        StringMatch::Exact(want) => want == value,
        StringMatch::Regex(id) => router.regex_match(*id, value, input, budget),
    }
}
