//! CORS (HTTPRoute `CORS` filter): preflights answered by the filter, and the headers an
//! actual cross-origin response carries.

use super::request::Request;
use crate::blob::Cors;

/// True for a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
pub fn is_preflight(req: &Request<'_>) -> bool {
    req.method == "OPTIONS"
        && req.header("origin").is_some()
        && req.header("access-control-request-method").is_some()
}

/// The request's `Origin` when the policy allows it.
pub fn allowed_origin(cors: &Cors, req: &Request<'_>) -> Option<String> {
    let origin = std::str::from_utf8(req.header("origin")?).ok()?;
    cors.allow_origins
        .iter()
        .any(|pattern| origin_matches(pattern, origin))
        .then(|| origin.to_owned())
}

/// `*`, an exact `scheme://host[:port]`, or `scheme://*.suffix[:port]` where `*` stands for
/// one or more labels. Scheme and host compare case-insensitively.
fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (Some((ps, ph)), Some((os, oh))) = (pattern.split_once("://"), origin.split_once("://"))
    else {
        return false;
    };
    if !ps.eq_ignore_ascii_case(os) {
        return false;
    }
    let (ph, oh) = (ph.to_ascii_lowercase(), oh.to_ascii_lowercase());
    match ph.strip_prefix('*') {
        Some(suffix) => oh.len() > suffix.len() && oh.ends_with(suffix),
        None => ph == oh,
    }
}

fn list_or_echo(list: &[String], requested: Option<&[u8]>) -> Option<String> {
    if list.iter().any(|v| v == "*") {
        // Echo what the browser asked for: a literal `*` is ignored by browsers when
        // credentials are allowed, and an echo is correct either way.
        return requested
            .and_then(|r| std::str::from_utf8(r).ok())
            .map(str::to_owned);
    }
    (!list.is_empty()).then(|| list.join(", "))
}

/// Headers answering a preflight from an allowed `origin`.
pub fn preflight_headers(cors: &Cors, req: &Request<'_>, origin: &str) -> Vec<(String, String)> {
    let mut h = vec![("access-control-allow-origin".to_owned(), origin.to_owned())];
    if let Some(m) = list_or_echo(
        &cors.allow_methods,
        req.header("access-control-request-method"),
    ) {
        h.push(("access-control-allow-methods".to_owned(), m));
    }
    if let Some(v) = list_or_echo(
        &cors.allow_headers,
        req.header("access-control-request-headers"),
    ) {
        h.push(("access-control-allow-headers".to_owned(), v));
    }
    if !cors.expose_headers.is_empty() {
        h.push((
            "access-control-expose-headers".to_owned(),
            cors.expose_headers.join(", "),
        ));
    }
    h.push((
        "access-control-max-age".to_owned(),
        cors.max_age.to_string(),
    ));
    if cors.allow_credentials {
        h.push((
            "access-control-allow-credentials".to_owned(),
            "true".to_owned(),
        ));
    }
    h.push(("vary".to_owned(), "origin".to_owned()));
    h
}

/// Headers an actual response to an allowed `origin` carries.
pub fn response_headers(cors: &Cors, origin: &str) -> Vec<(String, String)> {
    let mut h = vec![("access-control-allow-origin".to_owned(), origin.to_owned())];
    if cors.allow_credentials {
        h.push((
            "access-control-allow-credentials".to_owned(),
            "true".to_owned(),
        ));
    }
    if !cors.expose_headers.is_empty() {
        h.push((
            "access-control-expose-headers".to_owned(),
            cors.expose_headers.join(", "),
        ));
    }
    h.push(("vary".to_owned(), "origin".to_owned()));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_or_by_wildcard_label() {
        assert!(origin_matches("*", "https://x.org"));
        assert!(origin_matches("https://www.foo.com", "HTTPS://WWW.foo.com"));
        assert!(origin_matches("https://*.bar.com", "https://www.bar.com"));
        assert!(origin_matches("https://*.bar.com", "https://a.www.bar.com"));
        assert!(!origin_matches("https://*.bar.com", "https://bar.com"));
        assert!(!origin_matches("https://*.bar.com", "https://foobar.com"));
        assert!(!origin_matches("https://*.bar.com", "http://www.bar.com"));
        assert!(!origin_matches(
            "https://www.foo.com",
            "https://www.foo.com:8443"
        ));
    }
}
