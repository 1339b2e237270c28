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
    let (path, query) = raw
        .find('?')
        .and_then(|i| raw.split_at_checked(i))
        .unwrap_or((raw, ""));
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

fn hex(c: Option<char>) -> Option<u8> {
    c?.to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn upper_hex(digit: u8) -> char {
    char::from(if digit < 10 {
        b'0' + digit
    } else {
        b'A' + digit - 10
    })
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn decode_unreserved(path: &str) -> Result<String, Malformed> {
    if !path.contains('%') {
        return Ok(path.to_owned());
    }
    let mut out = String::with_capacity(path.len());
    // Every piece after the first follows a `%`, so it must open with two hex digits.
    let mut pieces = path.split('%');
    out.push_str(pieces.next().unwrap_or_default());
    for piece in pieces {
        let mut rest = piece.chars();
        let (Some(hi), Some(lo)) = (hex(rest.next()), hex(rest.next())) else {
            return Err(Malformed::BadPercentEncoding);
        };
        let value = hi * 16 + lo;
        if is_unreserved(value) {
            out.push(char::from(value));
        } else {
            out.push('%');
            out.push(upper_hex(hi));
            out.push(upper_hex(lo));
        }
        out.push_str(rest.as_str());
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
            ("/é%41/ü", "/éA/ü"),
            ("/%e2%82%ac%2e", "/%E2%82%AC."),
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
        assert_eq!(normalize("/a%"), Err(Malformed::BadPercentEncoding));
        assert_eq!(normalize("/a%%41"), Err(Malformed::BadPercentEncoding));
        assert_eq!(normalize("/a%4é"), Err(Malformed::BadPercentEncoding));
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
