//! What the fuzz targets share: requests built from fuzz input, biased towards the strings a
//! route table names (hostnames, paths, header and query names and values, gRPC services) so
//! the fuzzer reaches matches instead of 404s, and the blob framing of `blob_decode_eval`.

use arbitrary::{Arbitrary, Unstructured};
use gatewasm_filter::blob::{
    HostPattern, PathMatch, RouteTable, StringMatch, FORMAT_VERSION, HEADER_LEN, MAGIC,
};
use gatewasm_filter::engine::{Decision, Dice, Request, Router, Strategy};

/// Strings and ports taken from a route table, for [`FuzzRequest::build`] to pick from.
#[derive(Debug, Default)]
pub struct Dict {
    words: Vec<String>,
    ports: Vec<u16>,
}

const STATIC_WORDS: &[&str] = &[
    "",
    "/",
    "GET",
    "POST",
    "OPTIONS",
    "HEAD",
    "content-type",
    "application/grpc",
    "application/grpc+proto",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "https://www.foo.com",
    "%2F",
    "%2e%2e",
    "..",
    "?",
    "&",
    "=",
];

fn host_words(pattern: &HostPattern, out: &mut Vec<String>) {
    match pattern {
        HostPattern::Exact(h) => out.push(h.clone()),
        HostPattern::Wildcard(suffix) => {
            out.push(format!("x{suffix}"));
            out.push(format!("a.b{suffix}"));
            out.push(suffix.trim_start_matches('.').to_owned());
        }
    }
}

fn string_match_words(table: &RouteTable, m: &StringMatch, out: &mut Vec<String>) {
    match m {
        StringMatch::Exact(v) => out.push(v.clone()),
        StringMatch::Regex(id) => {
            if let Some(r) = table.regexes.get(id.index()) {
                out.push(r.clone());
            }
        }
    }
}

impl Dict {
    /// The strings `table` names, and the static ones every table may look at.
    pub fn of(table: &RouteTable) -> Dict {
        let mut words: Vec<String> = STATIC_WORDS.iter().map(|w| (*w).to_owned()).collect();
        let mut ports = Vec::new();
        for l in &table.listeners {
            ports.push(l.port);
            if let Some(h) = &l.hostname {
                host_words(h, &mut words);
            }
        }
        for g in &table.host_groups {
            if let Some(h) = &g.host {
                host_words(h, &mut words);
            }
        }
        for m in &table.matches {
            match &m.path {
                PathMatch::Exact(p) => words.push(p.clone()),
                PathMatch::Prefix(p) => {
                    words.push(p.clone());
                    words.push(format!("{p}/x"));
                }
                PathMatch::Regex(id) => {
                    if let Some(r) = table.regexes.get(id.index()) {
                        words.push(r.clone());
                    }
                }
                PathMatch::Grpc { service, method } => {
                    let mut parts = Vec::new();
                    for part in [service, method].into_iter().flatten() {
                        string_match_words(table, part, &mut parts);
                    }
                    words.push(format!("/{}", parts.join("/")));
                    words.extend(parts);
                }
            }
            words.extend(m.method.iter().cloned());
            for h in &m.headers {
                words.push(h.name.clone());
                string_match_words(table, &h.value, &mut words);
            }
            for q in &m.query {
                let mut values = Vec::new();
                string_match_words(table, &q.value, &mut values);
                for v in values {
                    words.push(format!("?{}={v}", q.name));
                    words.push(format!("&{}={v}", q.name));
                }
                words.push(q.name.clone());
            }
        }
        for r in &table.rules {
            if let Some(cors) = &r.filters.cors {
                words.extend(cors.allow_origins.iter().cloned());
                words.extend(cors.allow_methods.iter().cloned());
            }
        }
        words.sort();
        words.dedup();
        ports.sort_unstable();
        ports.dedup();
        Dict { words, ports }
    }

    fn word(&self, i: u8) -> &str {
        if self.words.is_empty() {
            return "";
        }
        &self.words[usize::from(i) % self.words.len()]
    }
}

/// A string: one of the dictionary's, or any.
#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Raw(String),
}

impl Text {
    fn get(&self, dict: &Dict) -> String {
        match self {
            Text::Known(i) => dict.word(*i).to_owned(),
            Text::Raw(s) => s.clone(),
        }
    }
}

/// A piece of a `:path`, concatenated with the others.
#[derive(Arbitrary, Debug)]
enum Piece {
    Known(u8),
    Raw(String),
    Slash,
    Dot,
    DotDot,
    Percent(u8),
    Query,
}

#[derive(Arbitrary, Debug)]
enum Port {
    Listener(u8),
    Raw(u16),
}

/// One request, as the fuzzer describes it.
#[derive(Arbitrary, Debug)]
pub struct FuzzRequest {
    port: Port,
    sni: Option<Text>,
    https: bool,
    authority: Text,
    authority_port: Option<u16>,
    method: Text,
    path: Vec<Piece>,
    headers: Vec<(Text, Text)>,
    grpc: bool,
    /// Seeds the dice for weighted backends and mirror sampling.
    pub seed: u64,
}

/// The strings a [`Request`] borrows.
#[derive(Debug)]
pub struct OwnedRequest {
    port: u16,
    sni: Option<String>,
    scheme: &'static str,
    authority: String,
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
}

impl OwnedRequest {
    /// The headers as the engine borrows them.
    pub fn headers(&self) -> Vec<(&str, &[u8])> {
        gatewasm_filter::engine::borrow_headers(&self.headers)
    }

    /// The request the engine evaluates, with `headers` from [`OwnedRequest::headers`].
    pub fn request<'a>(&'a self, headers: &'a [(&'a str, &'a [u8])]) -> Request<'a> {
        Request {
            port: self.port,
            sni: self.sni.as_deref(),
            scheme: self.scheme,
            authority: &self.authority,
            method: &self.method,
            path: &self.path,
            headers,
        }
    }
}

impl FuzzRequest {
    /// The request, with dictionary words filled in. Header names are lowercase, as the
    /// proxy hands them over.
    pub fn build(&self, dict: &Dict) -> OwnedRequest {
        let port = match self.port {
            Port::Listener(i) if !dict.ports.is_empty() => {
                dict.ports[usize::from(i) % dict.ports.len()]
            }
            Port::Listener(i) => u16::from(i),
            Port::Raw(p) => p,
        };
        let mut authority = self.authority.get(dict);
        if let Some(p) = self.authority_port {
            authority = format!("{authority}:{p}");
        }
        let mut path = String::new();
        for piece in &self.path {
            match piece {
                Piece::Known(i) => path.push_str(dict.word(*i)),
                Piece::Raw(s) => path.push_str(s),
                Piece::Slash => path.push('/'),
                Piece::Dot => path.push_str("/."),
                Piece::DotDot => path.push_str("/.."),
                Piece::Percent(b) => path.push_str(&format!("%{b:02X}")),
                Piece::Query => path.push('?'),
            }
        }
        let mut headers: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.get(dict).to_ascii_lowercase(), v.get(dict).into_bytes()))
            .collect();
        if self.grpc {
            headers.push(("content-type".into(), b"application/grpc".to_vec()));
        }
        OwnedRequest {
            port,
            sni: self.sni.as_ref().map(|s| s.get(dict)),
            scheme: if self.https { "https" } else { "http" },
            authority,
            method: self.method.get(dict),
            path,
            headers,
        }
    }
}

/// Up to `max` requests from the rest of `u`.
pub fn requests(u: &mut Unstructured<'_>, max: usize) -> Vec<FuzzRequest> {
    let mut out = Vec::new();
    while out.len() < max && !u.is_empty() {
        match FuzzRequest::arbitrary(u) {
            Ok(r) => out.push(r),
            Err(_) => break,
        }
    }
    out
}

/// Evaluates `req` with `strategy`, the dice seeded with `seed`.
pub fn evaluate<'r>(
    router: &'r Router,
    strategy: Strategy,
    req: &Request<'_>,
    seed: u64,
) -> Decision<'r> {
    router
        .evaluate_with(strategy, req, &mut Dice::new(seed), &mut |_, _| {})
        .1
}

/// `payload` behind a correct blob header (magic, version, no flags, length, CRC-32), so the
/// fuzzer's mutations reach postcard and validation instead of stopping at the checksum.
pub fn wrap_payload(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The input of `blob_decode_eval`: `[mode][len lo][len hi][blob part: len bytes][requests]`.
/// Mode bit 0 set: the blob part is a payload and gets a correct header ([`wrap_payload`]);
/// clear: the blob part is passed as it is (the header checks are fuzzed too).
pub struct BlobInput<'a> {
    /// What `Router::from_blob` gets.
    pub blob: Vec<u8>,
    /// The bytes requests are built from.
    pub rest: &'a [u8],
}

impl<'a> BlobInput<'a> {
    /// Splits fuzz input; `None` if it is shorter than the three framing bytes.
    pub fn split(data: &'a [u8]) -> Option<BlobInput<'a>> {
        let (&mode, data) = data.split_first()?;
        let (len, data) = data.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_le_bytes(*len)).min(data.len());
        let (part, rest) = data.split_at(len);
        let blob = if mode & 1 == 1 {
            wrap_payload(part)
        } else {
            part.to_vec()
        };
        Some(BlobInput { blob, rest })
    }

    /// The fuzz input for a blob (payload framing when it has a valid header) and requests.
    pub fn join(blob: &[u8], rest: &[u8]) -> Vec<u8> {
        let (mode, part) = match blob.get(HEADER_LEN..) {
            Some(payload) if blob.starts_with(&MAGIC) => (1u8, payload),
            _ => (0u8, blob),
        };
        let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
        let mut out = vec![mode];
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&part[..usize::from(len)]);
        out.extend_from_slice(rest);
        out
    }
}
