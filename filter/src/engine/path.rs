//! Request paths: RFC 3986 normalisation, segment-wise prefixes and prefix replacement.
//!
//! Matching runs on the normalised path and the normalised path is what the backend
//! receives, so `/public/../admin` is `/admin` for both the matcher and the upstream, and a
//! rule for `/public` can never be used to reach something else. `%2F` stays encoded: it is
//! data, not a separator.

/// The request target split into a normalised path and the raw query (with its `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// Normalised path, always starting with `/`.
    pub path: String,
    /// The query including its leading `?`, or empty; passed through untouched.
    pub query: &'a str,
}

/// Why a request target cannot be routed; answered with 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The path does not start with `/` (absolute-form and `*` are not routable).
    NotAbsolutePath,
    /// A `%` is not followed by two hex digits.
    BadPercentEncoding,
}

/// Normalises a `:path` value: percent-encoded unreserved characters are decoded, other
/// escapes get uppercase hex, runs of `/` collapse to one, and `.`/`..` segments are resolved.
pub fn normalize(raw: &str) -> Result<Target<'_>, Malformed> {
    let (path, query) = match raw.find('?') {
        Some(i) => (&raw[..i], &raw[i..]),
        None => (raw, ""),
    };
    let path = path.split('#').next().unwrap_or("");
    if !path.starts_with('/') {
        return Err(Malformed::NotAbsolutePath);
    }
    let decoded = decode_unreserved(path)?;
    Ok(Target {
        path: remove_dot_segments(&decoded),
        query,
    })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn decode_unreserved(path: &str) -> Result<String, Malformed> {
    if !path.contains('%') {
        return Ok(path.to_owned());
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            let next = path[i..].find('%').map_or(bytes.len(), |n| i + n);
            out.push_str(&path[i..next]);
            i = next;
            continue;
        }
        let (Some(hi), Some(lo)) = (
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) else {
            return Err(Malformed::BadPercentEncoding);
        };
        let value = hi * 16 + lo;
        if is_unreserved(value) {
            out.push(char::from(value));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(hi)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(lo)]));
        }
        i += 3;
    }
    Ok(out)
}

/// Resolves `.` and `..` segments (RFC 3986 §5.2.4) and merges duplicate slashes.
fn remove_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in path.split('/').skip(1) {
        trailing_slash = false;
        match segment {
            "" => trailing_slash = true,
            "." => trailing_slash = true,
            ".." => {
                segments.pop();
                trailing_slash = true;
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if trailing_slash || out.is_empty() {
        out.push('/');
    }
    out
}

/// True when `prefix` (no trailing slash unless it is `/`) covers `path` segment by segment:
/// `/v2` covers `/v2`, `/v2/` and `/v2/x`, never `/v2x`.
pub fn has_prefix(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// ReplacePrefixMatch: replaces the matched `prefix` of `path` with `replacement`, keeping
/// the remaining segments.
pub fn replace_prefix(path: &str, prefix: &str, replacement: &str) -> String {
    let rest = if prefix == "/" {
        path
    } else {
        path.get(prefix.len()..).unwrap_or("")
    };
    let head = replacement.trim_end_matches('/');
    let mut out = String::with_capacity(head.len() + rest.len() + 1);
    if !head.starts_with('/') {
        out.push('/');
    }
    out.push_str(head);
    if rest.is_empty() && head.is_empty() {
        return "/".to_owned();
    }
    if out.ends_with('/') && rest.starts_with('/') {
        out.pop();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_rfc3986() {
        let cases = [
            ("/", "/"),
            ("/a/b", "/a/b"),
            ("/a//b///c", "/a/b/c"),
            ("/public/../admin", "/admin"),
            ("/public/%2e%2e/admin", "/admin"),
            ("/a/./b/.", "/a/b/"),
            ("/../../x", "/x"),
            ("/a/b/..", "/a/"),
            ("/%7Euser/%41", "/~user/A"),
            ("/a%2fb", "/a%2Fb"),
            ("/a%2Fb/../c", "/c"),
            ("/x/", "/x/"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize(raw).map(|t| t.path), Ok(want.to_owned()), "{raw}");
        }
    }

    #[test]
    fn keeps_the_query_raw() {
        let t = normalize("/a/../b?x=%2e&y=/..").expect("valid");
        assert_eq!((t.path.as_str(), t.query), ("/b", "?x=%2e&y=/.."));
    }

    #[test]
    fn refuses_malformed_targets() {
        assert_eq!(normalize("a/b"), Err(Malformed::NotAbsolutePath));
        assert_eq!(normalize("*"), Err(Malformed::NotAbsolutePath));
        assert_eq!(normalize("/a%zz"), Err(Malformed::BadPercentEncoding));
        assert_eq!(normalize("/a%4"), Err(Malformed::BadPercentEncoding));
    }

    #[test]
    fn prefixes_are_segment_wise() {
        assert!(has_prefix("/v2", "/v2"));
        assert!(has_prefix("/v2/", "/v2"));
        assert!(has_prefix("/v2/x", "/v2"));
        assert!(!has_prefix("/v2x", "/v2"));
        assert!(has_prefix("/anything", "/"));
        assert!(!has_prefix("/v", "/v2"));
    }

    #[test]
    fn replaces_prefixes_per_the_spec_table() {
        let cases = [
            ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
            ("/foo", "/foo", "/xyz", "/xyz"),
            ("/foo/bar", "/foo", "", "/bar"),
            ("/foo/bar", "/foo", "/", "/bar"),
            ("/foo/", "/foo", "", "/"),
            ("/foo", "/foo", "/", "/"),
            ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
            ("/abc", "/", "/xyz", "/xyz/abc"),
        ];
        for (path, prefix, replacement, want) in cases {
            assert_eq!(
                replace_prefix(path, prefix, replacement),
                want,
                "{path} {prefix} {replacement}"
            );
        }
    }
}
