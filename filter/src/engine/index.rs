//! The match index: finds a request's candidate matches without scanning the table.
//!
//! `lower` stores each listener's host groups most specific first and each group's matches in
//! precedence order; evaluation is "the first match in that order that holds". The index
//! yields the same sequence restricted to matches whose hostname and path could hold, so the
//! verdict is identical while the work depends on the request, not on the table size:
//!
//! * **Hosts**: an exact-name map, then the wildcard map probed with each suffix of the host
//!   from the longest (most specific) to the shortest, then the any-host group. This is the
//!   stored group order, filtered to the groups that cover the host.
//! * **Paths**, per group, in the stored class order: the `Exact` matches for this very path;
//!   then the `RegularExpression` matches (evaluated only when no exact candidate held); then
//!   the `PathPrefix` matches for each segment prefix of the path, longest first; then gRPC
//!   matches, scanned in order (GRPCRoutes are few per host and rank by service and method
//!   length, which a map cannot order).
//!
//! Why the order is preserved: within a class the stored order is by value length, then the
//! remaining criteria. Exact candidates for one path share the value, so their stored order is
//! their order here. Two prefixes of equal length cannot both cover one path, so walking the
//! path's prefixes from the longest visits prefix candidates in stored order.

use std::collections::HashMap;

use crate::blob::{HostGroupId, HostPattern, Lookup, MatchId, PathMatch, RouteTable};

/// Per-listener lookup tables.
#[derive(Debug, Default)]
pub(super) struct Index {
    listeners: Vec<ListenerIndex>,
    groups: Vec<GroupIndex>,
}

#[derive(Debug, Default)]
struct ListenerIndex {
    exact: HashMap<Box<str>, HostGroupId>,
    /// Keyed by the suffix including its leading dot (`.example.com`).
    wildcard: HashMap<Box<str>, HostGroupId>,
    any: Option<HostGroupId>,
}

#[derive(Debug, Default)]
struct GroupIndex {
    exact: HashMap<Box<str>, Vec<MatchId>>,
    /// Regular-expression matches keyed by the segment prefix every path they match must
    /// have (`/` when the expression does not pin one), each list in stored order.
    regex: HashMap<Box<str>, Vec<(usize, MatchId)>>,
    prefix: HashMap<Box<str>, Vec<MatchId>>,
    grpc: Vec<MatchId>,
}

impl Index {
    pub(super) fn build(table: &RouteTable) -> Index {
        let listeners = table
            .listeners
            .iter()
            .map(|l| {
                let mut li = ListenerIndex::default();
                // An id the table does not hold (impossible after `validate`) indexes nothing.
                for (g, group) in l
                    .host_groups
                    .iter()
                    .filter_map(|&g| Some((g, table.host_groups.at(g)?)))
                {
                    match &group.host {
                        Some(HostPattern::Exact(h)) => {
                            li.exact.entry(h.as_str().into()).or_insert(g);
                        }
                        Some(HostPattern::Wildcard(s)) => {
                            li.wildcard.entry(s.as_str().into()).or_insert(g);
                        }
                        None => {
                            li.any.get_or_insert(g);
                        }
                    }
                }
                li
            })
            .collect();
        let groups = table
            .host_groups
            .iter()
            .map(|g| {
                let mut gi = GroupIndex::default();
                let found = g
                    .matches
                    .iter()
                    .filter_map(|&m| Some((m, table.matches.at(m)?)));
                for (position, (m, found)) in found.enumerate() {
                    match &found.path {
                        PathMatch::Exact(v) => {
                            gi.exact.entry(v.as_str().into()).or_default().push(m)
                        }
                        PathMatch::Prefix(v) => {
                            gi.prefix.entry(v.as_str().into()).or_default().push(m)
                        }
                        PathMatch::Regex(r) => {
                            let bucket = table.regexes.at(*r).map_or("/", |p| required_prefix(p));
                            gi.regex
                                .entry(bucket.into())
                                .or_default()
                                .push((position, m))
                        }
                        PathMatch::Grpc { .. } => gi.grpc.push(m),
                    }
                }
                gi
            })
            .collect();
        Index { listeners, groups }
    }

    /// The host groups of `listener` that cover `host`, most specific first.
    pub(super) fn groups_for<'a>(
        &'a self,
        listener: usize,
        host: &'a str,
    ) -> impl Iterator<Item = HostGroupId> + 'a {
        // A listener the table does not have (impossible: `select_listener` found it there)
        // has no groups.
        self.listeners
            .get(listener)
            .into_iter()
            .flat_map(move |li| {
                let exact = li.exact.get(host).copied();
                let wildcards = host
                    .match_indices('.')
                    .filter_map(move |(i, _)| host.get(i..))
                    .filter(move |suffix| suffix.len() < host.len())
                    .filter_map(move |suffix| li.wildcard.get(suffix).copied());
                exact.into_iter().chain(wildcards).chain(li.any)
            })
    }

    /// The candidate matches of `group` for `path`, in precedence order.
    pub(super) fn candidates<'a>(
        &'a self,
        group: HostGroupId,
        path: &'a str,
    ) -> impl Iterator<Item = MatchId> + 'a {
        // `groups_for` yields only groups `build` indexed, so the lookup always finds one.
        self.groups
            .get(group.index())
            .into_iter()
            .flat_map(move |gi| {
                let exact = gi.exact.get(path).into_iter().flatten().copied();
                let prefixes = segment_prefixes(path)
                    .filter_map(move |p| gi.prefix.get(p))
                    .flatten()
                    .copied();
                exact
                    .chain(regex_candidates(gi, path))
                    .chain(prefixes)
                    .chain(gi.grpc.iter().copied())
            })
    }
}

/// The regular expressions that could match `path`, in stored order (buckets are merged by
/// each match's position in the group).
fn regex_candidates(gi: &GroupIndex, path: &str) -> impl Iterator<Item = MatchId> {
    let mut found: Vec<(usize, MatchId)> = if gi.regex.is_empty() {
        Vec::new()
    } else {
        segment_prefixes(path)
            .filter_map(|p| gi.regex.get(p))
            .flatten()
            .copied()
            .collect()
    };
    found.sort_unstable_by_key(|&(position, _)| position);
    found.into_iter().map(|(_, m)| m)
}

/// The longest segment prefix (without its trailing `/`) that every path matching the
/// expression must start with, read from its leading literal characters; `/` when that
/// cannot be told (an alternation anywhere, or a group, class or escape first).
fn required_prefix(pattern: &str) -> &str {
    if pattern.contains('|') {
        return "/";
    }
    // The literal run is `pattern[..literal]`; `last` is where its last character starts.
    let (mut literal, mut last) = (0, 0);
    for (i, c) in pattern.char_indices() {
        match c {
            // A quantifier makes the character before it optional (or repeatable).
            '?' | '*' | '{' => {
                literal = last;
                break;
            }
            '\\' | '.' | '+' | '(' | ')' | '[' | ']' | '^' | '$' => break,
            _ => (literal, last) = (i + c.len_utf8(), i),
        }
    }
    let lit = pattern.get(..literal).unwrap_or_default();
    match lit.rsplit_once('/') {
        Some((head, _)) if !head.is_empty() && lit.starts_with('/') => head,
        _ => "/",
    }
}

/// The prefixes of `path` that a stored PathPrefix can equal, longest first: the path itself
/// (unless it ends in `/`), the path up to each later `/`, and `/`.
fn segment_prefixes(path: &str) -> impl Iterator<Item = &str> {
    let whole = (path.len() > 1 && !path.ends_with('/')).then_some(path);
    let inner = path
        .rmatch_indices('/')
        .filter_map(move |(i, _)| path.get(..i))
        .filter(|p| !p.is_empty());
    whole.into_iter().chain(inner).chain(std::iter::once("/"))
}

#[cfg(test)]
mod tests {
    use super::segment_prefixes;

    #[test]
    fn regexes_are_bucketed_by_the_prefix_they_require() {
        use super::required_prefix;
        assert_eq!(required_prefix("/r12/re3/[0-9]+"), "/r12/re3");
        assert_eq!(required_prefix("/api/v[12]/.*"), "/api");
        assert_eq!(required_prefix("/a/?x"), "/");
        assert_eq!(required_prefix("/ab?/c"), "/");
        assert_eq!(required_prefix("/a/b|/c/d"), "/");
        assert_eq!(required_prefix("(?i)/a/b"), "/");
        assert_eq!(required_prefix("/a\\.b/c"), "/");
        assert_eq!(required_prefix("/x/y/z"), "/x/y");
        assert_eq!(required_prefix("/é/ü/ä?"), "/é/ü");
        assert_eq!(required_prefix("/é/ü?x"), "/é");
    }

    #[test]
    fn prefixes_longest_first() {
        let all = |p| segment_prefixes(p).collect::<Vec<_>>();
        assert_eq!(all("/a/b/c"), ["/a/b/c", "/a/b", "/a", "/"]);
        assert_eq!(all("/a/b/"), ["/a/b", "/a", "/"]);
        assert_eq!(all("/"), ["/"]);
        assert_eq!(all("/a"), ["/a", "/"]);
    }
}
