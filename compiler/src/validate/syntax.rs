//! The string formats the Gateway API and Kubernetes CRDs enforce with patterns and length
//! limits (host names, header names, paths, durations, object names), as pure functions that
//! return the message to report.

use std::sync::LazyLock;
use std::time::Duration;

use regex_lite::Regex;

use crate::quote::{clean, code};

/// Result of a syntax check: `Err` holds the message.
pub(super) type Check = Result<(), String>;

fn pattern(re: &str) -> Regex {
    // The patterns are constants from the CRDs; a typo here is a bug caught by the tests.
    Regex::new(re).unwrap_or_else(|e| unreachable!("bad built-in pattern {re}: {e}"))
}

static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
});
static DNS_SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));
static DNS_LABEL: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
static KIND: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"));
static HEADER_NAME: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"));
static PATH_CHARS: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$"));
static DURATION: LazyLock<Regex> = LazyLock::new(|| pattern(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"));
static GRPC_SERVICE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$"));
static GRPC_METHOD: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[A-Za-z_][A-Za-z_0-9]*$"));
static CORS_ORIGIN: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(\*|https?://(\*|(\*\.)?(([\w-]+\.?)+)?[\w-]+)(:\d{1,5})?)$"));
static RFC3339: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
});

fn length(value: &str, min: usize, max: usize) -> Check {
    let n = value.chars().count();
    if n < min {
        Err(if min == 1 {
            "must not be empty".to_string()
        } else {
            format!("must be at least {min} characters")
        })
    } else if n > max {
        Err(format!("must be at most {max} characters, not {n}"))
    } else {
        Ok(())
    }
}

/// A Gateway API `Hostname`: lowercase RFC 1123, optionally a leading `*.` label, 1–253
/// characters, not an IP address.
pub(super) fn hostname(value: &str) -> Check {
    let shown = code(value);
    length(value, 1, 253)?;
    if !HOSTNAME.is_match(value) {
        return Err(if value.contains('*') {
            format!("invalid hostname {shown}: a wildcard must be a whole leading `*.` label")
        } else {
            format!("invalid hostname {shown}: must be a lowercase RFC 1123 host name")
        });
    }
    if value.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(format!(
            "invalid hostname {shown}: IP addresses are not allowed"
        ));
    }
    Ok(())
}

/// A `PreciseHostname` (redirect and rewrite targets): a hostname without wildcard.
pub(super) fn precise_hostname(value: &str) -> Check {
    let shown = code(value);
    if value.starts_with("*.") {
        return Err(format!(
            "invalid hostname {shown}: wildcards are not allowed here"
        ));
    }
    hostname(value)
}

/// An object name: 1–253 characters (routes, Gateways and backends are DNS subdomains, but
/// the Gateway API references only bound the length).
pub(super) fn object_name(value: &str) -> Check {
    length(value, 1, 253)
}

/// A DNS subdomain (metadata names of most kinds): lowercase, 1–253 characters.
pub(super) fn dns_subdomain(value: &str) -> Check {
    let shown = code(value);
    length(value, 1, 253)?;
    if DNS_SUBDOMAIN.is_match(value) {
        Ok(())
    } else {
        Err(format!(
            "invalid name {shown}: must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
        ))
    }
}

/// A `SectionName` (listener and rule names): a DNS subdomain.
pub(super) fn section_name(value: &str) -> Check {
    dns_subdomain(value)
}

/// A namespace (or Service) name: an RFC 1123 DNS label, 1–63 characters.
pub(super) fn dns_label(value: &str) -> Check {
    let shown = code(value);
    length(value, 1, 63)?;
    if DNS_LABEL.is_match(value) {
        Ok(())
    } else {
        Err(format!(
            "invalid name {shown}: must be lowercase letters, digits and '-', starting and ending with a letter or digit"
        ))
    }
}

/// A `Kind`: 1–63 characters, `^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`.
pub(super) fn kind(value: &str) -> Check {
    let shown = code(value);
    length(value, 1, 63)?;
    if KIND.is_match(value) {
        Ok(())
    } else {
        Err(format!("invalid kind {shown}"))
    }
}

/// A `Group`: empty (core) or a DNS subdomain, at most 253 characters.
pub(super) fn group(value: &str) -> Check {
    let shown = code(value);
    length(value, 0, 253)?;
    if value.is_empty() || DNS_SUBDOMAIN.is_match(value) {
        Ok(())
    } else {
        Err(format!("invalid API group {shown}"))
    }
}

/// An `HTTPHeaderName`: 1–256 token characters (so no pseudo-headers such as `:path`).
pub(super) fn header_name(value: &str) -> Check {
    let shown = code(value);
    length(value, 1, 256)?;
    if HEADER_NAME.is_match(value) {
        Ok(())
    } else {
        Err(format!("invalid header name {shown}"))
    }
}

/// A value bounded by length only (header values 1–4096, query values 1–1024, ...).
pub(super) fn value(value: &str, min: usize, max: usize) -> Check {
    length(value, min, max)
}

/// An `Exact` or `PathPrefix` path value.
pub(super) fn path(value: &str) -> Check {
    length(value, 1, 1024)?;
    if !value.starts_with('/') {
        return Err("must start with '/'".to_string());
    }
    for bad in ["//", "/./", "/../", "%2f", "%2F", "#"] {
        if value.contains(bad) {
            return Err(format!("must not contain `{bad}`"));
        }
    }
    for bad in ["/..", "/."] {
        if value.ends_with(bad) {
            return Err(format!("must not end with `{bad}`"));
        }
    }
    if !PATH_CHARS.is_match(value) {
        return Err(
            "may only contain the characters [-A-Za-z0-9/._~!$&'()*+,;=:@] and %XX escapes"
                .to_string(),
        );
    }
    Ok(())
}

/// A regular expression, compiled with regex-lite (the engine the filter uses).
pub(super) fn regex(value: &str) -> Check {
    match Regex::new(value) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "invalid regular expression: {}",
            clean(
                &e.to_string().replace('\n', " "),
                crate::yaml::LIBRARY_MESSAGE
            )
        )),
    }
}

/// A Gateway API `Duration` (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`), parsed.
pub(super) fn duration(value: &str) -> Result<Duration, String> {
    let shown = code(value);
    if !DURATION.is_match(value) {
        return Err(format!(
            "invalid duration {shown}: expected up to four parts like `1h`, `30m`, `10s`, `500ms`"
        ));
    }
    let mut total = Duration::ZERO;
    let mut rest = value;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let amount: u64 = rest[..digits].parse().unwrap_or(0);
        rest = &rest[digits..];
        let (unit, millis) = if rest.starts_with("ms") {
            ("ms", 1)
        } else if rest.starts_with('h') {
            ("h", 3_600_000)
        } else if rest.starts_with('m') {
            ("m", 60_000)
        } else {
            ("s", 1000)
        };
        rest = &rest[unit.len()..];
        total += Duration::from_millis(amount * millis);
    }
    Ok(total)
}

/// A fully qualified gRPC service name, for `Exact` method matches.
pub(super) fn grpc_service(value: &str) -> Check {
    let shown = code(value);
    length(value, 1, 1024)?;
    if GRPC_SERVICE.is_match(value) {
        Ok(())
    } else {
        Err(format!("invalid gRPC service name {shown}"))
    }
}

/// A gRPC method name, for `Exact` method matches.
pub(super) fn grpc_method(value: &str) -> Check {
    let shown = code(value);
    length(value, 1, 1024)?;
    if GRPC_METHOD.is_match(value) {
        Ok(())
    } else {
        Err(format!("invalid gRPC method name {shown}"))
    }
}

/// A CORS origin: `*`, or `http(s)://host[:port]` with an optional `*.` wildcard host.
pub(super) fn cors_origin(value: &str) -> Check {
    let shown = code(value);
    length(value, 1, 253)?;
    if CORS_ORIGIN.is_match(value) {
        Ok(())
    } else {
        Err(format!(
            "invalid origin {shown}: expected `*` or `scheme://host[:port]`"
        ))
    }
}

/// An RFC 3339 timestamp, as in `metadata.creationTimestamp`.
pub(super) fn timestamp(value: &str) -> Check {
    let shown = code(value);
    if RFC3339.is_match(value) {
        Ok(())
    } else {
        Err(format!(
            "invalid timestamp {shown}: expected RFC 3339, such as 2024-01-31T12:00:00Z"
        ))
    }
}

/// A port number, 1–65535.
pub(super) fn port(value: i32) -> Result<u16, String> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("port must be between 1 and 65535, not {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        let cases: [(&str, bool); 12] = [
            ("example.com", true),
            ("*.example.com", true),
            ("a", true),
            ("foo-1.bar", true),
            ("Example.com", false),
            ("*.*.example.com", false),
            ("foo.*.com", false),
            ("*", false),
            ("-a.com", false),
            ("1.2.3.4", false),
            ("", false),
            ("a.b-", false),
        ];
        for (h, ok) in cases {
            assert_eq!(hostname(h).is_ok(), ok, "{h}");
        }
        assert!(precise_hostname("*.example.com").is_err());
        assert!(hostname(&"a".repeat(254)).is_err());
    }

    #[test]
    fn paths() {
        let cases = [
            ("/", Ok(())),
            ("/foo/bar-baz_~!$&'()*+,;=:@", Ok(())),
            ("/a%20b", Ok(())),
            ("foo", Err("must start with '/'")),
            ("/a//b", Err("must not contain `//`")),
            ("/a/./b", Err("must not contain `/./`")),
            ("/a/../b", Err("must not contain `/../`")),
            ("/a%2fb", Err("must not contain `%2f`")),
            ("/a%2Fb", Err("must not contain `%2F`")),
            ("/a#b", Err("must not contain `#`")),
            ("/a/..", Err("must not end with `/..`")),
            ("/a/.", Err("must not end with `/.`")),
        ];
        for (p, want) in cases {
            assert_eq!(path(p), want.map_err(str::to_string), "{p}");
        }
        assert!(path("/a b").is_err());
        assert!(path("/%zz").is_err());
        assert!(path(&format!("/{}", "a".repeat(1024))).is_err());
    }

    #[test]
    fn durations() {
        let ok = [
            ("0s", 0),
            ("500ms", 500),
            ("1h", 3_600_000),
            ("1h30m", 5_400_000),
            ("1m1s1ms", 61_001),
            ("99999s", 99_999_000),
        ];
        for (d, ms) in ok {
            assert_eq!(duration(d), Ok(Duration::from_millis(ms)), "{d}");
        }
        for bad in [
            "",
            "1",
            "1d",
            "1.5s",
            "100000s",
            "1h1m1s1ms1h",
            "-1s",
            "1 s",
        ] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_tokens() {
        assert!(header_name("x-Custom_1").is_ok());
        assert!(header_name(":path").is_err());
        assert!(header_name("a b").is_err());
        assert!(dns_label("gateway-conformance-infra").is_ok());
        assert!(dns_label("Bad").is_err());
        assert!(kind("HTTPRoute").is_ok());
        assert!(kind("1Kind").is_err());
        assert!(group("").is_ok());
        assert!(group("gateway.networking.k8s.io").is_ok());
        assert!(group("Bad_Group").is_err());
        assert!(grpc_service("gateway_api_conformance.echo_basic.grpcecho.GrpcEcho").is_ok());
        assert!(grpc_service(".Foo.bar").is_ok());
        assert!(grpc_service("foo..bar").is_err());
        assert!(grpc_method("Echo").is_ok());
        assert!(grpc_method("1Echo").is_err());
        assert!(cors_origin("*").is_ok());
        assert!(cors_origin("https://*.foo.com:8443").is_ok());
        assert!(cors_origin("ftp://foo.com").is_err());
        assert!(timestamp("2024-01-31T12:00:00Z").is_ok());
        assert!(timestamp("2024-01-31 12:00").is_err());
        assert_eq!(port(80), Ok(80));
        assert!(port(0).is_err());
        assert!(port(65536).is_err());
        assert!(regex("^/v[0-9]+").is_ok());
        assert!(regex("(").is_err());
    }
}
