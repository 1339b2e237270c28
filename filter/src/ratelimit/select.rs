//! Whether a rate-limit rule's client selectors hold for a request, and the distinct values
//! that pick its bucket.
//!
//! Envoy Gateway semantics: every selector of a rule must hold; a header or query parameter
//! that is absent does not match (so an inverted selector holds for it), a `Distinct` selector
//! holds for any present, non-empty value
//! and contributes that value to the bucket key, and an inverted selector holds when its
//! condition does not.

use crate::blob::{PathCondition, RlRule, Selector, ValueMatch};
use crate::engine::{path, query_param, Budget, Input, Router};

/// What selectors look at, read once per request.
#[derive(Debug)]
pub struct Facts<'a> {
    /// `:method`.
    pub method: &'a str,
    /// The normalised path without the query.
    pub path: &'a str,
    /// The raw query with its `?`, or empty.
    pub query: &'a str,
    /// Request headers (lowercase names).
    pub headers: &'a crate::engine::HeaderList<'a>,
    /// The client address as bytes (4 for IPv4, 16 for IPv6), when known.
    pub client_ip: Option<&'a [u8]>,
    /// The client address as text, the value of a Distinct source selector.
    pub client_text: &'a str,
    /// Pays for the selectors' regular expressions.
    pub budget: &'a Budget,
}

impl Facts<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

/// A distinct value that selects a bucket: the descriptor entry key and the value.
pub type Entry = (String, String);

/// `None` when some selector does not hold; otherwise the Distinct entries in selector order
/// (empty for a rule without Distinct selectors).
pub fn select(router: &Router, rule: &RlRule, facts: &Facts<'_>) -> Option<Vec<Entry>> {
    let mut entries = Vec::new();
    for s in &rule.selectors {
        match s {
            Selector::Header {
                name,
                value,
                invert,
            } => {
                let v = facts.header(name).map(|v| (v, Input::Header));
                if let Some(v) = value_holds(router, value, *invert, v, facts.budget)? {
                    entries.push((format!("header.{name}"), v.to_owned()));
                }
            }
            Selector::Query {
                name,
                value,
                invert,
            } => {
                let v = query_param(facts.query, name);
                let v = v.as_deref().map(|v| (v, Input::Uri));
                if let Some(v) = value_holds(router, value, *invert, v, facts.budget)? {
                    entries.push((format!("query.{name}"), v.to_owned()));
                }
            }
            Selector::Methods { methods, invert } => {
                holds(methods.iter().any(|m| m == facts.method) != *invert)?;
            }
            Selector::Path { path: p, invert } => {
                let hit = match p {
                    PathCondition::Exact(v) => facts.path == v,
                    PathCondition::Prefix(v) => path::has_prefix(facts.path, v),
                    PathCondition::Regex(id) => {
                        router.regex_match(*id, facts.path, Input::Uri, facts.budget)
                    }
                };
                holds(hit != *invert)?;
            }
            Selector::SourceCidr {
                cidr,
                distinct,
                invert,
            } => {
                let inside = facts.client_ip.is_some_and(|ip| cidr.contains(ip));
                holds(inside != *invert)?;
                if *distinct {
                    entries.push(("source_ip".to_owned(), facts.client_text.to_owned()));
                }
            }
        }
    }
    Some(entries)
}

fn holds(ok: bool) -> Option<()> {
    ok.then_some(())
}

/// `None` when the selector fails; otherwise the value a Distinct selector contributes.
/// An absent value never matches, so an inverted Exact or RegularExpression selector holds
/// for it (Envoy's `header_value_match` with `expect_match: false`).
fn value_holds<'v>(
    router: &Router,
    m: &ValueMatch,
    invert: bool,
    value: Option<(&'v str, Input)>,
    budget: &Budget,
) -> Option<Option<&'v str>> {
    let hit = match (m, value) {
        (_, None) => false,
        (ValueMatch::Exact(want), Some((v, _))) => want == v,
        (ValueMatch::Regex(id), Some((v, input))) => router.regex_match(*id, v, input, budget),
        // Envoy refuses empty descriptor values, so an empty value has no bucket.
        (ValueMatch::Distinct, Some((v, _))) => return (!v.is_empty()).then_some(Some(v)),
    };
    holds(hit != invert).map(|()| None)
}

/// Parses the `source.address` property (`ip:port`, `[v6]:port` or a bare address) into
/// address bytes (IPv4-mapped IPv6 as IPv4) and the address text.
pub fn parse_client(address: &str) -> Option<(Vec<u8>, String)> {
    let host = match address.strip_prefix('[') {
        Some(rest) => rest.split(']').next()?,
        None => match address.rsplit_once(':') {
            // One colon: IPv4 with a port; more: a bare IPv6 address.
            Some((h, _)) if !h.contains(':') => h,
            _ => address,
        },
    };
    if let Some(v4) = parse_v4(host) {
        return Some((v4.to_vec(), host.to_owned()));
    }
    let octets = parse_v6(host)?;
    match octets {
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d] => {
            Some((vec![a, b, c, d], format!("{a}.{b}.{c}.{d}")))
        }
        _ => Some((octets.to_vec(), host.to_ascii_lowercase())),
    }
}

/// IPv6 text (with at most one `::`, without an embedded IPv4 tail) as bytes. Hand-written:
/// std's parser costs kilobytes of `.wasm` for forms `source.address` never takes.
fn parse_v6(text: &str) -> Option<[u8; 16]> {
    let groups = |part: &str| -> Option<Vec<u16>> {
        if part.is_empty() {
            return Some(Vec::new());
        }
        part.split(':')
            .map(|g| {
                (!g.is_empty() && g.len() <= 4)
                    .then(|| u16::from_str_radix(g, 16).ok())
                    .flatten()
            })
            .collect()
    };
    let words = match text.split_once("::") {
        Some((head, tail)) => {
            let (head, tail) = (groups(head)?, groups(tail)?);
            let fill = 8usize.checked_sub(head.len() + tail.len())?;
            (fill > 0).then_some(())?;
            let mut all = head;
            all.resize(all.len() + fill, 0);
            all.extend(tail);
            all
        }
        None => groups(text).filter(|g| g.len() == 8)?,
    };
    let mut out = [0u8; 16];
    for (pair, w) in out.as_chunks_mut::<2>().0.iter_mut().zip(&words) {
        *pair = w.to_be_bytes();
    }
    Some(out)
}

fn parse_v4(text: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = text.split('.');
    for byte in &mut out {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *byte = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_addresses_parse_with_and_without_port() {
        assert_eq!(
            parse_client("10.0.0.7:5555"),
            Some((vec![10, 0, 0, 7], "10.0.0.7".into()))
        );
        assert_eq!(
            parse_client("10.0.0.7"),
            Some((vec![10, 0, 0, 7], "10.0.0.7".into()))
        );
        assert_eq!(
            parse_client("[2001:db8::1]:80").map(|c| c.0.len()),
            Some(16)
        );
        assert_eq!(
            parse_client("2001:db8::1").map(|c| c.1),
            Some("2001:db8::1".into())
        );
        assert_eq!(
            parse_client("[::ffff:10.0.0.7]:1").map(|c| c.0),
            None,
            "embedded IPv4 tails are not a form Envoy reports"
        );
        assert_eq!(
            parse_client("::ffff:a00:7").map(|c| c.0),
            Some(vec![10, 0, 0, 7])
        );
        assert_eq!(parse_client("1::2::3"), None);
        assert_eq!(parse_client("nonsense"), None);
    }
}
