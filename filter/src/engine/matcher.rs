//! Whether one match's conditions hold for a request.

use super::request::{query_param, Request};
use super::{path, Router};
use crate::blob::{Match, PathMatch, StringMatch};

/// True when every condition of `m` holds. `path` is the normalised path, `query` the raw
/// query string.
pub(crate) fn holds(
    router: &Router,
    m: &Match,
    path: &str,
    query: &str,
    req: &Request<'_>,
) -> bool {
    path_holds(router, &m.path, path)
        && m.method
            .as_deref()
            .is_none_or(|method| method == req.method)
        && m.headers.iter().all(|h| {
            req.header(&h.name)
                .and_then(|v| std::str::from_utf8(v).ok())
                .is_some_and(|v| string_holds(router, &h.value, v))
        })
        && m.query.iter().all(|q| {
            query_param(query, &q.name).is_some_and(|v| string_holds(router, &q.value, &v))
        })
}

fn path_holds(router: &Router, m: &PathMatch, path: &str) -> bool {
    match m {
        PathMatch::Exact(value) => path == value,
        PathMatch::Prefix(prefix) => path::has_prefix(path, prefix),
        PathMatch::Regex(id) => router.regex(*id).is_match(path),
        PathMatch::Grpc { service, method } => {
            let Some((svc, meth)) = path
                .strip_prefix('/')
                .and_then(|p| p.split_once('/'))
                .filter(|(s, m)| !s.is_empty() && !m.is_empty() && !m.contains('/'))
            else {
                return false;
            };
            service
                .as_ref()
                .is_none_or(|s| string_holds(router, s, svc))
                && method
                    .as_ref()
                    .is_none_or(|m| string_holds(router, m, meth))
        }
    }
}

fn string_holds(router: &Router, m: &StringMatch, value: &str) -> bool {
    match m {
        StringMatch::Exact(want) => want == value,
        StringMatch::Regex(id) => router.regex(*id).is_match(value),
    }
}
