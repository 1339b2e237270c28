//! The decoder treats blobs as hostile: every malformed input is refused with a precise
//! message, and none panics.

// Integration tests are their own crate: the filter's no-panic lints guard the library, not
// the assertions that check it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gatewasm_filter::blob::{
    self, Backend, BackendId, HostGroup, HostGroupId, HostPattern, Listener, Match, MatchId,
    PathMatch, PathModifier, RegexId, Route, RouteId, RouteKind, RouteTable, Rule, RuleId,
    StringMatch, WeightedBackend, FORMAT_VERSION, HEADER_LEN,
};

fn sample() -> RouteTable {
    RouteTable {
        gateway: "default/gw".into(),
        listeners: vec![Listener {
            name: "http".into(),
            port: 80,
            tls: false,
            hostname: None,
            host_groups: vec![HostGroupId::from_index(0).unwrap()],
        }],
        host_groups: vec![HostGroup {
            host: Some(HostPattern::Exact("app.example.com".into())),
            matches: vec![MatchId::from_index(0).unwrap()],
        }],
        matches: vec![Match {
            rule: RuleId::from_index(0).unwrap(),
            path: PathMatch::Prefix("/api".into()),
            method: None,
            headers: vec![blob::HeaderMatch {
                name: "x-env".into(),
                value: StringMatch::Regex(RegexId::from_index(0).unwrap()),
            }],
            query: vec![],
        }],
        rules: vec![Rule {
            route: RouteId::from_index(0).unwrap(),
            index: 0,
            name: None,
            filters: Default::default(),
            backends: vec![WeightedBackend {
                weight: 1,
                backend: Some(BackendId::from_index(0).unwrap()),
                filters: Default::default(),
            }],
            timeouts: Default::default(),
            retry: None,
        }],
        routes: vec![Route {
            kind: RouteKind::Http,
            namespace: "default".into(),
            name: "app".into(),
            source: "routes.yaml:1".into(),
        }],
        backends: vec![Backend {
            namespace: "default".into(),
            name: "api".into(),
            port: 8080,
            cluster: "default/api:8080".into(),
        }],
        regexes: vec!["prod|staging".into()],
        rate_limits: Default::default(),
        access: Default::default(),
        idle: Default::default(),
    }
}

fn err(bytes: &[u8]) -> String {
    blob::decode(bytes)
        .expect_err("must be refused")
        .to_string()
}

fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&bytes[HEADER_LEN..]);
    let len = (bytes.len() - HEADER_LEN) as u32;
    bytes[8..12].copy_from_slice(&len.to_le_bytes());
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    bytes
}

fn encode_raw(table: &RouteTable) -> Vec<u8> {
    let mut bytes = b"GWSM".to_vec();
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&[0; 10]);
    bytes.extend_from_slice(&postcard::to_allocvec(table).expect("encodes"));
    reseal(bytes)
}

#[test]
fn round_trips() {
    let table = sample();
    let bytes = blob::encode(&table).expect("encodes");
    assert_eq!(&bytes[..4], b"GWSM");
    assert_eq!(blob::decode(&bytes).expect("decodes"), table);
}

#[test]
fn refuses_short_input() {
    assert_eq!(err(b""), "blob is 0 bytes, shorter than the 16-byte header");
    assert_eq!(
        err(b"GWSM"),
        "blob is 4 bytes, shorter than the 16-byte header"
    );
}

#[test]
fn refuses_wrong_magic() {
    let mut bytes = blob::encode(&sample()).expect("encodes");
    bytes[0] = b'X';
    assert!(
        err(&bytes).starts_with("not a gatewasm blob: expected magic"),
        "{}",
        err(&bytes)
    );
}

#[test]
fn refuses_newer_versions_with_advice() {
    let mut bytes = blob::encode(&sample()).expect("encodes");
    bytes[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        err(&bytes),
        "blob format version 5 is not supported (this filter reads versions 2 to 4); it was compiled by a newer gatewasm: upgrade the filter .wasm first"
    );
    bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
    assert_eq!(
        err(&bytes),
        "blob format version 1 is not supported (this filter reads versions 2 to 4)"
    );
}

/// Blobs as `gatewasm compile` wrote them when each format was added: the examples (format
/// 2), `manifests/tests/route-filter-rewrite.yaml` (format 3, for its regex rewrites) and
/// `manifests/tests/timeouts.yaml` (format 4, for its idle timeouts). They must stay
/// readable, and a table that uses nothing newer must still be written in its old format,
/// byte for byte, so filters that predate the newer one keep reading it.
#[test]
fn reads_and_writes_each_format_as_before() {
    let fixtures = [
        ("format-2.blob", 2u16),
        ("format-3.blob", 3),
        ("format-4.blob", 4),
    ];
    for (file, version) in fixtures {
        let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).expect("fixture");
        assert_eq!(bytes[4..6], version.to_le_bytes(), "{file}");
        let table = blob::decode(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(table.format_version(), version, "{file}");
        assert_eq!(blob::encode(&table).expect("encodes"), bytes, "{file}");
    }
}

#[test]
fn refuses_unknown_flags() {
    let mut bytes = blob::encode(&sample()).expect("encodes");
    bytes[6] = 1;
    assert_eq!(err(&bytes), "blob sets unknown flags 0x0001");
}

#[test]
fn refuses_truncation() {
    let bytes = blob::encode(&sample()).expect("encodes");
    let cut = &bytes[..bytes.len() - 3];
    assert!(err(cut).contains("truncated or padded"), "{}", err(cut));
}

#[test]
fn refuses_every_flipped_payload_byte() {
    let bytes = blob::encode(&sample()).expect("encodes");
    for i in HEADER_LEN..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x20;
        assert!(
            err(&bad).starts_with("blob checksum mismatch"),
            "byte {i}: {}",
            err(&bad)
        );
    }
}

#[test]
fn refuses_garbage_payload_with_a_valid_envelope() {
    let mut bytes = blob::encode(&sample()).expect("encodes");
    bytes.truncate(HEADER_LEN);
    bytes.extend_from_slice(&[0xff; 7]);
    assert!(err(&reseal(bytes)).starts_with("payload is not a valid route table"));
}

#[test]
fn refuses_trailing_payload_bytes() {
    let mut bytes = blob::encode(&sample()).expect("encodes");
    bytes.push(0);
    assert_eq!(
        err(&reseal(bytes)),
        "payload has 1 trailing bytes after the route table"
    );
}

#[test]
fn refuses_dangling_ids() {
    let mut t = sample();
    t.matches[0].rule = RuleId::from_index(5).unwrap();
    assert_eq!(
        err(&encode_raw(&t)),
        "matches[0] refers to rule 5, but the table has 1"
    );
    let mut t = sample();
    t.rules[0].backends[0].backend = Some(BackendId::from_index(1).unwrap());
    assert_eq!(
        err(&encode_raw(&t)),
        "rules[0].backends[0] refers to backend 1, but the table has 1"
    );
    let mut t = sample();
    t.listeners[0]
        .host_groups
        .push(HostGroupId::from_index(9).unwrap());
    assert_eq!(
        err(&encode_raw(&t)),
        "listeners[0] refers to host group 9, but the table has 1"
    );
    let mut t = sample();
    t.host_groups[0]
        .matches
        .push(MatchId::from_index(3).unwrap());
    assert_eq!(
        err(&encode_raw(&t)),
        "host_groups[0] refers to match 3, but the table has 1"
    );
    let mut t = sample();
    t.matches[0].headers[0].value = StringMatch::Regex(RegexId::from_index(2).unwrap());
    assert_eq!(
        err(&encode_raw(&t)),
        "matches[0] refers to regex 2, but the table has 1"
    );
}

#[test]
fn refuses_bad_regexes_and_values() {
    let mut t = sample();
    t.regexes[0] = "(unclosed".into();
    assert!(err(&encode_raw(&t)).starts_with("regexes[0] \"(unclosed\" does not parse"));
    let mut t = sample();
    t.matches[0].headers[0].name = "X-Env".into();
    assert_eq!(
        err(&encode_raw(&t)),
        "matches[0] has an invalid header name \"X-Env\""
    );
    let mut t = sample();
    t.matches[0].path = PathMatch::Exact("relative".into());
    assert_eq!(
        err(&encode_raw(&t)),
        "matches[0] has path \"relative\" that does not start with '/'"
    );
}

#[test]
fn refuses_format_3_paths_where_they_cannot_be() {
    let with = |filters: blob::Filters| {
        let mut t = sample();
        t.rules[0].filters = filters.into();
        err(&encode_raw(&t))
    };
    let rewrite = |path| blob::Rewrite {
        hostname: None,
        path: Some(path),
    };
    let redirect = |path| blob::Redirect {
        scheme: None,
        hostname: None,
        port: None,
        path: Some(path),
        status: 301,
    };
    let location = PathModifier::Location("https://a.example.com".into());
    let filters = blob::Filters {
        rewrite: Some(Box::new(rewrite(location))),
        ..Default::default()
    };
    assert_eq!(
        with(filters),
        "rules[0] rewrites the path to a Location, which only a redirect can have"
    );
    let smuggled = PathModifier::Location("/a\r\nset-cookie: x".into());
    let filters = blob::Filters {
        redirect: Some(Box::new(redirect(smuggled))),
        ..Default::default()
    };
    assert_eq!(
        with(filters),
        "rules[0] has an invalid Location header value \"/a\\r\\nset-cookie: x\""
    );
    let regex = PathModifier::Regex {
        regex: RegexId::from_index(0).unwrap(),
        substitution: "/\\x".into(),
    };
    let filters = blob::Filters {
        rewrite: Some(Box::new(rewrite(regex))),
        ..Default::default()
    };
    assert!(with(filters).starts_with("rules[0] rewrites with substitution"));
}

#[test]
fn random_bytes_never_panic() {
    let mut state = 0x1234_5678_9abc_def0_u64;
    let valid = blob::encode(&sample()).expect("encodes");
    for round in 0..2_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 256) as usize;
        let mut bytes: Vec<u8> = (0..len)
            .map(|i| (state.rotate_left(i as u32) & 0xff) as u8)
            .collect();
        if round % 2 == 0 {
            // Keep a valid envelope so the payload decoder and validator see the garbage.
            bytes = reseal([&valid[..HEADER_LEN], &bytes[..]].concat());
        }
        let _ = blob::decode(&bytes);
    }
}

/// `"engine"` can make the filter forward without deciding; only a benchmark build may read it.
#[cfg(not(feature = "bench-engines"))]
#[test]
fn the_deployed_filter_refuses_an_engine_mode() {
    use base64::Engine as _;
    let blob = base64::engine::general_purpose::STANDARD.encode(blob::encode(&sample()).unwrap());
    for engine in ["off", "linear", "indexed"] {
        let json = format!(r#"{{"blob": "{blob}", "engine": "{engine}", "failOpen": true}}"#);
        let e = gatewasm_filter::config::parse(Some(json.into_bytes())).unwrap_err();
        assert!(
            e.message.contains("unknown field `engine`"),
            "{}",
            e.message
        );
    }
    let json = format!(r#"{{"blob": "{blob}"}}"#);
    assert!(gatewasm_filter::config::parse(Some(json.into_bytes())).is_ok());
}

/// What `on_configure` logs for a refused configuration: one short line, whatever the
/// configuration holds. Values are cut with their length stated, and control and bidi
/// characters arrive escaped, never raw in Envoy's log.
#[test]
fn configure_errors_are_short_and_escaped() {
    use base64::Engine as _;
    use gatewasm_filter::config;

    let huge = "x".repeat(1 << 20);
    let json = |blob: &[u8], extra: &str| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
        format!("{{\"blob\": \"{b64}\"{extra}}}").into_bytes()
    };
    let good = blob::encode(&sample()).expect("encodes");
    let with = |edit: &dyn Fn(&mut RouteTable)| {
        let mut t = sample();
        edit(&mut t);
        encode_raw(&t)
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "1 MB cluster header",
            json(&good, &format!(", \"clusterHeader\": \"{huge} \"")),
            "\"clusterHeader\" \"xxxxxxxx",
        ),
        (
            "controls in the cluster header",
            json(
                &good,
                ", \"clusterHeader\": \"a\\u001b[31m\\u0000\\nb\\u202e\"",
            ),
            r#""clusterHeader" "a\u{1b}[31m\u{0}\nb\u{202e}" is not a valid header name"#,
        ),
        (
            "1 MB unknown JSON field with a bidi override",
            json(&good, &format!(", \"\u{202e}{huge}\": 1")),
            "neither a gatewasm blob nor valid JSON: unknown field `\\u{202e}xxx",
        ),
        (
            "1 MB header name with NUL in the blob",
            with(&|t| t.matches[0].headers[0].name = format!("\0{huge}")),
            "matches[0] has an invalid header name \"\\u{0}xxx",
        ),
        (
            "1 MB regex that does not parse",
            with(&|t| t.regexes[0] = format!("({huge}\u{1b}")),
            "regexes[0] \"(xxx",
        ),
        (
            "upper-case wildcard host",
            with(&|t| t.host_groups[0].host = Some(HostPattern::Wildcard(".Example.com".into()))),
            "host_groups[0] has an invalid wildcard hostname suffix \".Example.com\"",
        ),
    ];
    for (what, bytes, want) in cases {
        let message = match config::parse(Some(bytes.clone())) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains(want), "{what}: {message}");
        assert!(message.len() < 1024, "{what}: {} bytes", message.len());
        assert!(
            !message.chars().any(|c| c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
            "{what}: {message:?}"
        );
        assert!(!message.contains("Wildcard("), "{what}: {message}");
    }
}

/// `listenPorts` maps Envoy ports to Gateway ports; anything that is not a port, or one
/// Envoy port named twice, is refused at configure time.
#[test]
fn listen_ports_are_ports() {
    use base64::Engine as _;
    use gatewasm_filter::config;

    let b64 =
        base64::engine::general_purpose::STANDARD.encode(blob::encode(&sample()).expect("encodes"));
    let parse = |ports: &str| {
        config::parse(Some(
            format!("{{\"blob\": \"{b64}\", \"listenPorts\": {ports}}}").into_bytes(),
        ))
    };
    let ok = parse(r#"{"10080": 80, "8443": 443}"#).expect("a map of ports");
    assert_eq!(ok.listen_ports, vec![(8443, 443), (10080, 80)]);
    assert_eq!(ok.gateway_port(10080), 80);
    assert_eq!(
        ok.gateway_port(80),
        80,
        "an unmapped port is its own number"
    );
    for (bad, want) in [
        (r#"{"http": 80}"#, "maps \"http\" to 80"),
        (r#"{"0": 80}"#, "maps \"0\" to 80"),
        (r#"{"70000": 80}"#, "maps \"70000\" to 80"),
        (r#"{"10080": 0}"#, "maps \"10080\" to 0"),
        (
            r#"{"10080": 80, "010080": 81}"#,
            "maps Envoy port 10080 twice",
        ),
        (
            r#"{"10080": 65536}"#,
            "neither a gatewasm blob nor valid JSON",
        ),
    ] {
        let e = parse(bad).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(want), "{bad}: {e}");
    }
}

/// Format 3's appendix (client-address authorization, rate limit styles) comes back as it
/// went, and a format 2 header with an appendix is refused.
#[test]
fn the_format_3_appendix_round_trips() {
    let mut t = sample();
    let first = |i| blob::ListenerId::from_index(i).unwrap();
    t.rate_limits.policies = vec![blob::RlPolicy {
        namespace: "default".into(),
        name: "limits".into(),
        source: "p.yaml:1".into(),
        local: vec![],
        global: vec![],
    }];
    t.rate_limits.styles = vec![blob::LocalStyle {
        policy: 0,
        burst_multiplier: Some(2),
        status: 503,
    }];
    t.access = blob::Access {
        policies: vec![blob::AccessPolicy {
            namespace: "default".into(),
            name: "office".into(),
            source: "s.yaml:1".into(),
            rules: vec![],
            default_allow: false,
        }],
        bindings: vec![blob::Binding {
            listener: first(0),
            rule: RuleId::from_index(0).unwrap(),
            policy: 0,
        }],
    };
    let bytes = blob::encode(&t).expect("encodes");
    assert_eq!(bytes[4..6], 3u16.to_le_bytes());
    assert_eq!(blob::decode(&bytes).expect("decodes"), t);
    let mut older = bytes.clone();
    older[4..6].copy_from_slice(&2u16.to_le_bytes());
    assert!(err(&older).contains("trailing bytes after the route table"));
}

/// Format 4's section (stream idle timeouts) follows format 3's, which is written even when
/// empty so the sections keep their places; a format 3 header is refused with it.
#[test]
fn the_format_4_section_round_trips() {
    let idle = blob::IdleTimeouts {
        policies: vec![blob::IdlePolicy {
            namespace: "default".into(),
            name: "slow".into(),
            source: "t.yaml:1".into(),
            idle_ms: 300_000,
        }],
        bindings: vec![blob::Binding {
            listener: blob::ListenerId::from_index(0).unwrap(),
            rule: RuleId::from_index(0).unwrap(),
            policy: 0,
        }],
    };
    let mut t = sample();
    t.idle = idle;
    let bytes = blob::encode(&t).expect("encodes");
    assert_eq!(bytes[4..6], 4u16.to_le_bytes());
    assert_eq!(blob::decode(&bytes).expect("decodes"), t);
    let mut older = bytes.clone();
    older[4..6].copy_from_slice(&3u16.to_le_bytes());
    assert!(err(&reseal(older)).contains("trailing bytes after the route table"));
    t.idle.bindings[0].policy = 1;
    assert!(err(&blob::encode(&t).expect("encodes"))
        .contains("idle.bindings[0] refers outside the table"));
}
