//! Hostnames: the request's host, pattern matching, and choosing the listener.

use crate::blob::{HostPattern, Listener, ListenerId};

/// The host part of an `:authority` (or SNI), lowercased, without a port. IPv6 literals keep
/// their brackets.
pub fn request_host(authority: &str) -> String {
    without_port(authority)
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The `:authority` without its port, exactly as the client wrote it: what a redirect
/// without a hostname keeps (Envoy's own redirects preserve the client's case too).
pub fn without_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        authority
            .find(']')
            .and_then(|end| authority.get(..=end))
            .unwrap_or(authority)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        }
    }
}

impl HostPattern {
    /// True when `host` (lowercase, no port) is covered by the pattern.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => name == host,
            HostPattern::Wildcard(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        }
    }

    /// Specificity for listener selection: exact beats wildcard, a wildcard with more labels
    /// beats one with fewer.
    fn rank(&self) -> (u8, usize, usize) {
        match self {
            HostPattern::Exact(name) => (2, 0, name.len()),
            HostPattern::Wildcard(suffix) => (1, suffix.matches('.').count(), suffix.len()),
        }
    }
}

/// The listener on `port` that handles `host`: the most specific hostname that covers it,
/// else the listener without a hostname. `None` when no listener on the port takes it.
pub fn best_listener(listeners: &[Listener], port: u16, host: &str) -> Option<ListenerId> {
    let mut best: Option<((u8, usize, usize), usize)> = None;
    for (i, l) in listeners.iter().enumerate() {
        if l.port != port {
            continue;
        }
        let rank = match &l.hostname {
            None => (0, 0, 0),
            Some(p) if p.matches(host) => p.rank(),
            Some(_) => continue,
        };
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, i));
        }
    }
    best.and_then(|(_, i)| ListenerId::from_index(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(port: u16, hostname: Option<HostPattern>) -> Listener {
        Listener {
            name: String::new(),
            port,
            tls: false,
            hostname,
            host_groups: Vec::new(),
        }
    }

    #[test]
    fn host_ignores_port_case_and_trailing_dot() {
        assert_eq!(request_host("Example.COM:8080"), "example.com");
        assert_eq!(request_host("example.com."), "example.com");
        assert_eq!(request_host("[::1]:80"), "[::1]");
        assert_eq!(request_host("192.0.2.10"), "192.0.2.10");
    }

    #[test]
    fn wildcards_cover_one_or_more_labels_only() {
        let w = HostPattern::Wildcard(".example.com".into());
        assert!(w.matches("a.example.com"));
        assert!(w.matches("a.b.example.com"));
        assert!(!w.matches("example.com"));
        assert!(!w.matches("aexample.com"));
    }

    #[test]
    fn picks_the_most_specific_listener() {
        let ls = vec![
            listener(80, None),
            listener(80, Some(HostPattern::Wildcard(".example.com".into()))),
            listener(80, Some(HostPattern::Wildcard(".foo.example.com".into()))),
            listener(80, Some(HostPattern::Exact("a.foo.example.com".into()))),
            listener(8080, Some(HostPattern::Exact("x.example.com".into()))),
        ];
        let pick = |host| best_listener(&ls, 80, host).map(|id| id.index());
        assert_eq!(pick("a.foo.example.com"), Some(3));
        assert_eq!(pick("b.foo.example.com"), Some(2));
        assert_eq!(pick("b.example.com"), Some(1));
        assert_eq!(pick("other.org"), Some(0));
        assert_eq!(best_listener(&ls, 8080, "y.example.com"), None);
        assert_eq!(best_listener(&ls, 9090, "x"), None);
    }
}
