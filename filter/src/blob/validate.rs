//! Checks a freshly decoded table so the engine can trust it.
//!
//! Postcard guarantees the shape and UTF-8; this pass checks what the types cannot say:
//! every id points into its table, every regular expression compiles, and values the engine
//! relies on (header names, weights, status codes, mirror shares) are in range. The order is
//! leaves first (regexes, backends) so a message names the first broken reference.

use super::ids::{BackendId, HostGroupId, MatchId, RegexId, RouteId, RuleId};
use super::model::{
    Filters, HeaderModifier, HostPattern, Match, PathMatch, PathModifier, RouteTable, StringMatch,
};
use super::substitution::substitution_error;
use super::wire::DecodeError;
use crate::quote::{clean, quote};

/// Validates `table`. Every regular expression is parsed (by the budget's sizer, which reads
/// the whole syntax), which is far cheaper than compiling it: a table of thousands is
/// configured without building thousands of programs, and the router compiles each on first
/// use (an expression that parses but that regex-lite refuses matches nothing; the compiler
/// only writes expressions regex-lite compiles).
pub(super) fn validate(table: &RouteTable) -> Result<(), DecodeError> {
    for (i, pattern) in table.regexes.iter().enumerate() {
        crate::regex_size::program_size(pattern).map_err(|e| {
            DecodeError::new(format!(
                "regexes[{i}] {} does not parse: {}",
                quote(pattern),
                clean(&e, 300)
            ))
        })?;
    }
    let check = Check { table };
    for (i, backend) in table.backends.iter().enumerate() {
        if backend.cluster.is_empty() {
            return Err(DecodeError::new(format!(
                "backends[{i}] has an empty cluster name"
            )));
        }
    }
    for (i, route) in table.routes.iter().enumerate() {
        if route.name.is_empty() {
            return Err(DecodeError::new(format!("routes[{i}] has an empty name")));
        }
    }
    for (i, rule) in table.rules.iter().enumerate() {
        let at = At::new("rules", i);
        check.route(&at, rule.route)?;
        check.filters(&at, &rule.filters)?;
        for (j, wb) in rule.backends.iter().enumerate() {
            let at = at.child("backends", j);
            if let Some(b) = wb.backend {
                check.backend(&at, b)?;
            }
            check.filters(&at, &wb.filters)?;
        }
    }
    for (i, m) in table.matches.iter().enumerate() {
        check.match_(&At::new("matches", i), m)?;
    }
    for (i, group) in table.host_groups.iter().enumerate() {
        let at = At::new("host_groups", i);
        if let Some(host) = &group.host {
            check.host(&at, host)?;
        }
        for &m in &group.matches {
            check.match_id(&at, m)?;
        }
    }
    for (i, listener) in table.listeners.iter().enumerate() {
        let at = At::new("listeners", i);
        if listener.port == 0 {
            return Err(DecodeError::new(format!("{at} has port 0")));
        }
        if let Some(host) = &listener.hostname {
            check.host(&at, host)?;
        }
        for &g in &listener.host_groups {
            check.host_group(&at, g)?;
        }
    }
    super::ratelimit::validate(
        &table.rate_limits,
        table.listeners.len(),
        table.rules.len(),
        table.regexes.len(),
    )?;
    super::access::validate(&table.access, table.listeners.len(), table.rules.len())?;
    super::idle::validate(&table.idle, table.listeners.len(), table.rules.len())?;
    Ok(())
}

/// Gateway API regular expressions match the whole value, as Envoy's `safe_regex` does.
pub fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

/// Where in the table a check is, written out only for an error message: formatting a path
/// for each of tens of thousands of entries cost more than the checks.
#[derive(Clone, Copy)]
struct At {
    list: &'static str,
    index: usize,
    child: Option<(&'static str, usize)>,
}

impl At {
    fn new(list: &'static str, index: usize) -> At {
        At {
            list,
            index,
            child: None,
        }
    }

    fn child(self, list: &'static str, index: usize) -> At {
        At {
            child: Some((list, index)),
            ..self
        }
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.list, self.index)?;
        match self.child {
            Some((list, index)) => write!(f, ".{list}[{index}]"),
            None => Ok(()),
        }
    }
}

struct Check<'t> {
    table: &'t RouteTable,
}

fn out_of_range(at: &At, what: &str, id: usize, len: usize) -> DecodeError {
    DecodeError::new(format!(
        "{at} refers to {what} {id}, but the table has {len}"
    ))
}

impl Check<'_> {
    fn route(&self, at: &At, id: RouteId) -> Result<(), DecodeError> {
        in_range(at, "route", id.index(), self.table.routes.len())
    }

    fn rule(&self, at: &At, id: RuleId) -> Result<(), DecodeError> {
        in_range(at, "rule", id.index(), self.table.rules.len())
    }

    fn backend(&self, at: &At, id: BackendId) -> Result<(), DecodeError> {
        in_range(at, "backend", id.index(), self.table.backends.len())
    }

    fn regex(&self, at: &At, id: RegexId) -> Result<(), DecodeError> {
        in_range(at, "regex", id.index(), self.table.regexes.len())
    }

    fn match_id(&self, at: &At, id: MatchId) -> Result<(), DecodeError> {
        in_range(at, "match", id.index(), self.table.matches.len())
    }

    fn host_group(&self, at: &At, id: HostGroupId) -> Result<(), DecodeError> {
        in_range(at, "host group", id.index(), self.table.host_groups.len())
    }

    fn host(&self, at: &At, host: &HostPattern) -> Result<(), DecodeError> {
        let (name, written) = match host {
            HostPattern::Exact(name) => (name.as_str(), name),
            HostPattern::Wildcard(suffix) => (suffix.strip_prefix('.').unwrap_or(""), suffix),
        };
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
            let kind = match host {
                HostPattern::Exact(_) => "hostname",
                HostPattern::Wildcard(_) => "wildcard hostname suffix",
            };
            return Err(DecodeError::new(format!(
                "{at} has an invalid {kind} {}",
                quote(written)
            )));
        }
        Ok(())
    }

    fn string_match(&self, at: &At, m: &StringMatch) -> Result<(), DecodeError> {
        match m {
            StringMatch::Exact(_) => Ok(()),
            StringMatch::Regex(id) => self.regex(at, *id),
        }
    }

    fn match_(&self, at: &At, m: &Match) -> Result<(), DecodeError> {
        self.rule(at, m.rule)?;
        match &m.path {
            PathMatch::Exact(p) | PathMatch::Prefix(p) if !p.starts_with('/') => {
                return Err(DecodeError::new(format!(
                    "{at} has path {} that does not start with '/'",
                    quote(p)
                )));
            }
            PathMatch::Exact(_) | PathMatch::Prefix(_) => {}
            PathMatch::Regex(id) => self.regex(at, *id)?,
            PathMatch::Grpc { service, method } => {
                for part in [service, method].into_iter().flatten() {
                    self.string_match(at, part)?;
                }
            }
        }
        for h in &m.headers {
            lowercase_name(at, &h.name)?;
            self.string_match(at, &h.value)?;
        }
        for q in &m.query {
            if q.name.is_empty() {
                return Err(DecodeError::new(format!("{at} has an empty query name")));
            }
            self.string_match(at, &q.value)?;
        }
        Ok(())
    }

    fn path_modifier(&self, at: &At, p: &PathModifier) -> Result<(), DecodeError> {
        let matched = match p {
            PathModifier::Full(_) => return Ok(()),
            PathModifier::Location(location) => return header_value(at, "Location", location),
            PathModifier::Prefix { matched, .. } => matched,
            PathModifier::Regex {
                regex,
                substitution,
            } => {
                self.regex(at, *regex)?;
                // The group count is the compiler's check; here only the syntax, with every
                // digit allowed (a group the expression lacks substitutes nothing).
                return match substitution_error(substitution, 10) {
                    None => Ok(()),
                    Some(e) => Err(DecodeError::new(format!(
                        "{at} rewrites with substitution {} that {e}",
                        quote(substitution)
                    ))),
                };
            }
        };
        if matched.starts_with('/') {
            Ok(())
        } else {
            Err(DecodeError::new(format!(
                "{at} replaces prefix {} that does not start with '/'",
                quote(matched)
            )))
        }
    }

    fn filters(&self, at: &At, f: &Filters) -> Result<(), DecodeError> {
        for modifier in [&f.request_headers, &f.response_headers]
            .into_iter()
            .flatten()
        {
            header_modifier(at, modifier)?;
        }
        if let Some(r) = &f.redirect {
            if !matches!(r.status, 301 | 302 | 303 | 307 | 308) {
                return Err(DecodeError::new(format!(
                    "{at} redirects with status {}, expected 301, 302, 303, 307 or 308",
                    r.status
                )));
            }
            if let Some(p) = &r.path {
                self.path_modifier(at, p)?;
            }
        }
        if let Some(p) = f.rewrite.as_ref().and_then(|r| r.path.as_ref()) {
            if matches!(p, PathModifier::Location(_)) {
                return Err(DecodeError::new(format!(
                    "{at} rewrites the path to a Location, which only a redirect can have"
                )));
            }
            self.path_modifier(at, p)?;
        }
        for m in &f.mirrors {
            if let Some(b) = m.backend {
                self.backend(at, b)?;
            }
            if m.denominator == 0 || m.numerator > m.denominator {
                return Err(DecodeError::new(format!(
                    "{at} mirrors {}/{} of requests, expected a fraction between 0 and 1",
                    m.numerator, m.denominator
                )));
            }
        }
        Ok(())
    }
}

fn in_range(at: &At, what: &str, id: usize, len: usize) -> Result<(), DecodeError> {
    if id < len {
        Ok(())
    } else {
        Err(out_of_range(at, what, id, len))
    }
}

fn lowercase_name(at: &At, name: &str) -> Result<(), DecodeError> {
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase() || b <= b' ') {
        return Err(DecodeError::new(format!(
            "{at} has an invalid header name {}",
            quote(name)
        )));
    }
    Ok(())
}

/// A value the filter puts in a response header as it is: not empty, and nothing that could
/// end the header or smuggle another one (control characters).
fn header_value(at: &At, name: &str, value: &str) -> Result<(), DecodeError> {
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(DecodeError::new(format!(
            "{at} has an invalid {name} header value {}",
            quote(value)
        )));
    }
    Ok(())
}

fn header_modifier(at: &At, m: &HeaderModifier) -> Result<(), DecodeError> {
    for (name, _) in m.set.iter().chain(&m.add) {
        lowercase_name(at, name)?;
    }
    for name in &m.remove {
        lowercase_name(at, name)?;
    }
    Ok(())
}
