//! Route hostnames intersected with listener hostnames.

use gatewasm_filter::blob::HostPattern;

/// A Gateway API hostname (`*.` wildcard or exact) as a pattern.
pub fn pattern(hostname: &str) -> HostPattern {
    match hostname.strip_prefix('*') {
        Some(suffix) => HostPattern::Wildcard(suffix.to_ascii_lowercase()),
        None => HostPattern::Exact(hostname.to_ascii_lowercase()),
    }
}

/// The hostnames a route serves on a listener, or `None` when they do not intersect.
/// An inner `None` means "every host the listener takes".
pub fn intersect(route: &[String], listener: Option<&str>) -> Option<Vec<Option<HostPattern>>> {
    let listener = listener.map(pattern);
    if route.is_empty() {
        return Some(vec![listener]);
    }
    let Some(l) = listener else {
        return Some(route.iter().map(|h| Some(pattern(h))).collect());
    };
    let mut out: Vec<Option<HostPattern>> = Vec::new();
    for h in route {
        if let Some(p) = intersect_one(&pattern(h), &l) {
            if !out.contains(&Some(p.clone())) {
                out.push(Some(p));
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

fn intersect_one(route: &HostPattern, listener: &HostPattern) -> Option<HostPattern> {
    use HostPattern::{Exact, Wildcard};
    match (route, listener) {
        (Exact(r), Exact(l)) => (r == l).then(|| route.clone()),
        (Exact(r), Wildcard(_)) => listener.matches(r).then(|| route.clone()),
        (Wildcard(_), Exact(l)) => route.matches(l).then(|| listener.clone()),
        (Wildcard(r), Wildcard(l)) => {
            if l.ends_with(r.as_str()) {
                Some(listener.clone())
            } else if r.ends_with(l.as_str()) {
                Some(route.clone())
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(route: &[&str], listener: Option<&str>) -> Option<Vec<String>> {
        let route: Vec<String> = route.iter().map(|s| s.to_string()).collect();
        intersect(&route, listener).map(|v| {
            v.into_iter()
                .map(|p| match p {
                    None => "(any)".to_owned(),
                    Some(HostPattern::Exact(h)) => h,
                    Some(HostPattern::Wildcard(s)) => format!("*{s}"),
                })
                .collect()
        })
    }

    #[test]
    fn intersects_as_the_spec_says() {
        assert_eq!(hosts(&[], None), Some(vec!["(any)".into()]));
        assert_eq!(
            hosts(&[], Some("*.example.com")),
            Some(vec!["*.example.com".into()])
        );
        assert_eq!(
            hosts(&["a.example.com"], None),
            Some(vec!["a.example.com".into()])
        );
        assert_eq!(
            hosts(&["*.specific.com"], Some("very.specific.com")),
            Some(vec!["very.specific.com".into()])
        );
        assert_eq!(
            hosts(&["*.example.com"], Some("*.foo.example.com")),
            Some(vec!["*.foo.example.com".into()])
        );
        assert_eq!(
            hosts(&["*.foo.example.com"], Some("*.example.com")),
            Some(vec!["*.foo.example.com".into()])
        );
        assert_eq!(hosts(&["example.com"], Some("*.example.com")), None);
        assert_eq!(
            hosts(&["a.example.com", "other.org"], Some("*.example.com")),
            Some(vec!["a.example.com".into()])
        );
    }
}
