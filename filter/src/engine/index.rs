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

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};

use crate::blob::{HostGroupId, HostPattern, Lookup, MatchId, PathMatch, RouteTable};

/// Per-listener and per-group lookup tables.
///
/// The index stores ids, never strings: every key is a string the table already holds (a
/// group's hostname, a match's path value), hashed to find its entry and compared against
/// the table to confirm it. A copy of each key would double the memory of a large table, and
/// a VM's memory never shrinks.
#[derive(Debug, Default)]
pub(super) struct Index {
    hasher: DefaultHashBuilder,
    listeners: Vec<ListenerIndex>,
    groups: Vec<GroupIndex>,
    /// Every `Exact` and `PathPrefix` match, group by group, in runs that share one path
    /// condition; each run in stored order.
    paths: Vec<MatchId>,
    /// The start of each run in `paths`, found by the hash of its group and condition.
    runs: HashTable<Run>,
}

#[derive(Debug, Default)]
struct ListenerIndex {
    /// Host groups by their exact hostname or wildcard suffix (`.example.com`).
    hosts: HashTable<HostGroupId>,
    any: Option<HostGroupId>,
}

#[derive(Debug, Default)]
struct GroupIndex {
    /// The group's part of `Index::paths`.
    paths: std::ops::Range<u32>,
    /// Regular-expression and gRPC matches: few groups have any.
    rest: Option<Box<RestIndex>>,
}

#[derive(Debug, Default)]
struct RestIndex {
    /// Regular-expression matches keyed by the segment prefix every path they match must
    /// have (`/` when the expression does not pin one), each list in stored order.
    regex: HashMap<Box<str>, Vec<(usize, MatchId)>>,
    grpc: Vec<MatchId>,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    group: HostGroupId,
    start: u32,
}

/// A path condition the index looks up by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum PathKey<'a> {
    Exact(&'a str),
    Prefix(&'a str),
}

impl<'a> PathKey<'a> {
    fn of(table: &'a RouteTable, m: MatchId) -> Option<PathKey<'a>> {
        match &table.matches.at(m)?.path {
            PathMatch::Exact(v) => Some(PathKey::Exact(v)),
            PathMatch::Prefix(v) => Some(PathKey::Prefix(v)),
            PathMatch::Regex(_) | PathMatch::Grpc { .. } => None,
        }
    }
}

/// A group's hostname as the index keys it: exact names and wildcard suffixes apart.
fn host_key(table: &RouteTable, g: HostGroupId) -> Option<(bool, &str)> {
    match table.host_groups.at(g)?.host.as_ref()? {
        HostPattern::Exact(h) => Some((false, h)),
        HostPattern::Wildcard(s) => Some((true, s)),
    }
}

impl Index {
    pub(super) fn build(table: &RouteTable) -> Index {
        let mut index = Index::default();
        index.listeners = table
            .listeners
            .iter()
            .map(|l| index.listener(table, &l.host_groups))
            .collect();
        index.groups = table
            .host_groups
            .iter()
            .map(|g| index.group(table, &g.matches))
            .collect();
        index.index_runs(table);
        index
    }

    /// The host groups of `listener` that cover `host`, most specific first.
    pub(super) fn groups_for<'a>(
        &'a self,
        table: &'a RouteTable,
        listener: usize,
        host: &'a str,
    ) -> impl Iterator<Item = HostGroupId> + 'a {
        // A listener the table does not have (impossible: `select_listener` found it there)
        // has no groups.
        self.listeners
            .get(listener)
            .into_iter()
            .flat_map(move |li| {
                let find = move |key| {
                    li.hosts
                        .find(self.hasher.hash_one(key), |&g| {
                            host_key(table, g) == Some(key)
                        })
                        .copied()
                };
                let wildcards = host
                    .match_indices('.')
                    .filter_map(move |(i, _)| host.get(i..))
                    .filter(move |suffix| suffix.len() < host.len())
                    .filter_map(move |suffix| find((true, suffix)));
                find((false, host))
                    .into_iter()
                    .chain(wildcards)
                    .chain(li.any)
            })
    }

    /// The candidate matches of `group` for `path`, in precedence order.
    pub(super) fn candidates<'a>(
        &'a self,
        table: &'a RouteTable,
        group: HostGroupId,
        path: &'a str,
    ) -> impl Iterator<Item = MatchId> + 'a {
        // `groups_for` yields only groups `build` indexed, so the lookup always finds one.
        let rest = self
            .groups
            .get(group.index())
            .and_then(|gi| gi.rest.as_deref());
        let prefixes =
            segment_prefixes(path).flat_map(move |p| self.run(table, group, PathKey::Prefix(p)));
        self.run(table, group, PathKey::Exact(path))
            .chain(
                rest.into_iter()
                    .flat_map(move |r| regex_candidates(r, path)),
            )
            .chain(prefixes)
            .chain(rest.into_iter().flat_map(|r| r.grpc.iter().copied()))
    }

    /// The matches of `group` whose path condition is `key`, in stored order.
    fn run<'a>(
        &'a self,
        table: &'a RouteTable,
        group: HostGroupId,
        key: PathKey<'a>,
    ) -> impl Iterator<Item = MatchId> + 'a {
        let start = self
            .runs
            .find(self.hasher.hash_one((group, key)), |r| {
                r.group == group && self.key_at(table, r.start) == Some(key)
            })
            .map(|r| r.start as usize);
        let end = self
            .groups
            .get(group.index())
            .map_or(0, |gi| gi.paths.end as usize);
        start
            .and_then(|start| self.paths.get(start..end))
            .unwrap_or_default()
            .iter()
            .copied()
            .take_while(move |&m| PathKey::of(table, m) == Some(key))
    }

    fn key_at<'a>(&self, table: &'a RouteTable, at: u32) -> Option<PathKey<'a>> {
        PathKey::of(table, *self.paths.get(at as usize)?)
    }

    /// Indexes where each run of `paths` starts. The runs are counted first so the hash table
    /// is sized once: a growing one holds its old and new buckets at the same time.
    fn index_runs(&mut self, table: &RouteTable) {
        let mut runs = HashTable::with_capacity(self.run_starts(table).count());
        // Every position of `paths` holds an `Exact` or `PathPrefix` match (see `group`).
        let hash = |run: &Run| {
            let key = self.key_at(table, run.start);
            self.hasher
                .hash_one((run.group, key.unwrap_or(PathKey::Exact(""))))
        };
        for run in self.run_starts(table) {
            runs.insert_unique(hash(&run), run, hash);
        }
        self.runs = runs;
    }

    fn run_starts<'a>(&'a self, table: &'a RouteTable) -> impl Iterator<Item = Run> + 'a {
        self.groups
            .iter()
            .enumerate()
            .filter_map(|(g, gi)| Some((HostGroupId::from_index(g)?, gi)))
            .flat_map(move |(group, gi)| {
                gi.paths
                    .clone()
                    .filter(move |&at| {
                        at == gi.paths.start || self.key_at(table, at - 1) != self.key_at(table, at)
                    })
                    .map(move |start| Run { group, start })
            })
    }

    fn listener(&self, table: &RouteTable, groups: &[HostGroupId]) -> ListenerIndex {
        let mut li = ListenerIndex {
            hosts: HashTable::with_capacity(groups.len()),
            any: None,
        };
        // An id the table does not hold (impossible after `validate`) indexes nothing; the
        // first group of a hostname wins, as in a scan.
        for &g in groups
            .iter()
            .filter(|&&g| table.host_groups.at(g).is_some())
        {
            match host_key(table, g) {
                Some(key) => {
                    let entry = li.hosts.entry(
                        self.hasher.hash_one(key),
                        |&other| host_key(table, other) == Some(key),
                        |&other| {
                            self.hasher
                                .hash_one(host_key(table, other).unwrap_or((false, "")))
                        },
                    );
                    if let hashbrown::hash_table::Entry::Vacant(vacant) = entry {
                        vacant.insert(g);
                    }
                }
                None => {
                    li.any.get_or_insert(g);
                }
            }
        }
        li
    }

    /// Appends the group's `Exact` and `PathPrefix` matches to `paths` (runs of one
    /// condition, stable-sorted so each run keeps the stored order) and indexes the rest.
    fn group(&mut self, table: &RouteTable, matches: &[MatchId]) -> GroupIndex {
        let found = matches
            .iter()
            .filter_map(|&m| Some((m, table.matches.at(m)?)));
        let mut keyed = Vec::new();
        let mut rest = RestIndex::default();
        for (position, (m, found)) in found.enumerate() {
            match &found.path {
                PathMatch::Exact(v) => keyed.push((PathKey::Exact(v), m)),
                PathMatch::Prefix(v) => keyed.push((PathKey::Prefix(v), m)),
                PathMatch::Regex(r) => {
                    let bucket = table.regexes.at(*r).map_or("/", |p| required_prefix(p));
                    rest.regex
                        .entry(bucket.into())
                        .or_default()
                        .push((position, m))
                }
                PathMatch::Grpc { .. } => rest.grpc.push(m),
            }
        }
        keyed.sort_by_key(|&(key, _)| key);
        let start = self.paths.len() as u32;
        self.paths.extend(keyed.into_iter().map(|(_, m)| m));
        GroupIndex {
            paths: start..self.paths.len() as u32,
            rest: (!rest.regex.is_empty() || !rest.grpc.is_empty()).then(|| Box::new(rest)),
        }
    }
}

/// The regular expressions that could match `path`, in stored order (buckets are merged by
/// each match's position in the group).
fn regex_candidates(gi: &RestIndex, path: &str) -> impl Iterator<Item = MatchId> {
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
