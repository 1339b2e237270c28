//! The request as the engine sees it: connection facts plus the headers rules may name.

/// Request headers as the proxy hands them over: lowercase names, values as raw bytes,
/// repeated names as separate entries in arrival order. Borrowed, so the filter decodes the
/// host's header map without a copy per header.
pub type HeaderList<'a> = [(&'a str, &'a [u8])];

/// A [`HeaderList`] over headers held as owned strings (the CLI's requests).
pub fn borrow_headers(owned: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect()
}

/// What the engine needs to know about one request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Destination port of the downstream connection (selects the listener).
    pub port: u16,
    /// TLS SNI of the downstream connection, if any.
    pub sni: Option<&'a str>,
    /// `:scheme`.
    pub scheme: &'a str,
    /// `:authority` (the Host header).
    pub authority: &'a str,
    /// `:method`.
    pub method: &'a str,
    /// `:path`, including the query.
    pub path: &'a str,
    /// All request headers.
    pub headers: &'a HeaderList<'a>,
}

impl Request<'_> {
    /// The first value of a header; `name` must be lowercase.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// True for gRPC calls (`content-type: application/grpc[+proto|...]`).
    pub fn is_grpc(&self) -> bool {
        self.header("content-type")
            .is_some_and(|v| v.starts_with(b"application/grpc"))
    }
}

/// The first value of query parameter `name` in `query` (with or without the leading `?`),
/// percent-decoded. Names compare case-sensitively after decoding.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        let decoded = match tail {
            [hi, lo, after @ ..] if b == b'%' => hexval(*hi).zip(hexval(*lo)).map(|d| (d, after)),
            _ => None,
        };
        match decoded {
            Some(((hi, lo), after)) => {
                out.push(hi * 16 + lo);
                rest = after;
            }
            None => {
                out.push(b);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hexval(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_query_value_wins_and_is_decoded() {
        assert_eq!(query_param("?a=1&b=2&a=3", "a").as_deref(), Some("1"));
        assert_eq!(query_param("a%20b=x%2Fy", "a b").as_deref(), Some("x/y"));
        assert_eq!(query_param("?flag&x=1", "flag").as_deref(), Some(""));
        assert_eq!(query_param("?A=1", "a"), None);
        assert_eq!(query_param("", "a"), None);
        // Malformed escapes stay as written; multi-byte text and escapes decode as UTF-8.
        assert_eq!(query_param("q=%zz%4%", "q").as_deref(), Some("%zz%4%"));
        assert_eq!(query_param("q=é%41%C3%A9", "q").as_deref(), Some("éAé"));
    }
}
