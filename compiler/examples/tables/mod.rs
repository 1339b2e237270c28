//! The generated route tables the benchmarks measure, and the requests they send, in one
//! place: `routing_bench` (the `.wasm` in the wasmtime host) and `envoy_bench` (real Envoy)
//! must measure the same tables for their figures to be compared.

use std::fmt::Write as _;

use gatewasm::compile::Compiled;
use gatewasm_filter::blob::{HostPattern, Match, MatchId, PathMatch, StringMatch};

/// The host a tenth of the rules are on, and every request goes to.
pub const BIG_HOST: &str = "api.bench.example";

/// Which rules are regular expressions: of the rules whose position `g` (counted over the
/// whole table) has `g % 5 == 2`, those with `g % every == 2`; the others of that fifth are
/// path prefixes. `Some(5)` is a fifth, `Some(20)` a twentieth, `None` none.
pub type RegexEvery = Option<usize>;

/// A route table of `rules` rules: a tenth on one busy host (the one requests go to), the
/// rest spread ten per host over up to 5,000 hosts, mixing Exact, PathPrefix,
/// RegularExpression, header and method matches, weighted backends and header filters.
pub fn manifests(rules: usize, regex_every: RegexEvery) -> String {
    let mut y = String::from(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: bench, namespace: bench}\n\
         spec:\n  gatewayClassName: gatewasm\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n",
    );
    for s in 0..10 {
        let _ = write!(
            y,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{s}, namespace: bench}}\nspec: {{ports: [{{port: 8080}}]}}\n"
        );
    }
    let big = (rules / 10).max(1);
    let rest = rules - big;
    let hosts = (rest / 10).clamp(1, 5_000);
    let mut route = 0;
    host_routes(&mut y, &mut route, BIG_HOST, big, regex_every);
    for h in 0..hosts {
        let count = rest / hosts + usize::from(h < rest % hosts);
        host_routes(
            &mut y,
            &mut route,
            &format!("h{h}.bench.example"),
            count,
            regex_every,
        );
    }
    y
}

/// `count` rules on `host`, sixteen to an HTTPRoute.
fn host_routes(y: &mut String, route: &mut usize, host: &str, count: usize, regex: RegexEvery) {
    let mut left = count;
    while left > 0 {
        let n = left.min(16);
        left -= n;
        let r = *route;
        let _ = write!(
            y,
            "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r{r}, namespace: bench}}\n\
             spec:\n  parentRefs: [{{name: bench}}]\n  hostnames: [{host}]\n  rules:\n"
        );
        for j in 0..n {
            let g = r * 16 + j;
            // Each route ends with its shortest prefix: the lowest precedence on the host.
            let m = if j == n - 1 {
                format!("path: {{type: PathPrefix, value: /r{r}}}")
            } else {
                rule_match(r, j, g, regex)
            };
            let _ = writeln!(y, "  - matches:\n    - {m}");
            if g.is_multiple_of(3) {
                let _ = writeln!(y, "    filters:\n    - type: RequestHeaderModifier\n      requestHeaderModifier: {{set: [{{name: x-route, value: r{r}-{j}}}]}}");
            }
            if g.is_multiple_of(4) {
                let _ = writeln!(y, "    backendRefs: [{{name: svc-{}, port: 8080, weight: 90}}, {{name: svc-{}, port: 8080, weight: 10}}]", g % 10, (g + 1) % 10);
            } else {
                let _ = writeln!(y, "    backendRefs: [{{name: svc-{}, port: 8080}}]", g % 10);
            }
        }
        *route += 1;
    }
}

/// The match of rule `j` of route `r`, the `g`-th rule of the table.
fn rule_match(r: usize, j: usize, g: usize, regex: RegexEvery) -> String {
    match g % 5 {
        0 => format!("path: {{type: Exact, value: /r{r}/exact{j}}}"),
        1 => format!("path: {{type: PathPrefix, value: /r{r}/prefix{j}}}"),
        2 if regex.is_some_and(|every| g % every == 2) => {
            format!("path: {{type: RegularExpression, value: '/r{r}/re{j}/[0-9]+'}}")
        }
        2 => format!("path: {{type: PathPrefix, value: /r{r}/pre{j}}}"),
        3 => format!("path: {{type: PathPrefix, value: /r{r}/hdr{j}}}\n      headers: [{{name: x-tenant, value: t{j}}}]"),
        _ => format!("path: {{type: Exact, value: /r{r}/post{j}}}\n      method: POST"),
    }
}

/// One request to [`BIG_HOST`]: the method, the path and the headers a match needs.
pub struct Probe {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// The requests every benchmark sends.
pub struct Probes {
    /// The busy host's highest-precedence match.
    // Only routing_bench sends it; envoy_bench, which includes this module too, does not.
    #[allow(dead_code)]
    pub first: Probe,
    /// Its lowest-precedence match: the hit the router must look furthest for.
    pub last: Probe,
    /// A path no rule of the busy host matches: 404.
    pub miss: Probe,
}

/// The requests of [`Probes`] for the compiled table.
///
/// # Errors
/// The table has no busy host, or its first or last match is not a plain path.
pub fn probes(c: &Compiled) -> Result<Probes, String> {
    let t = &c.table;
    let group = t
        .host_groups
        .iter()
        .find(|g| g.host == Some(HostPattern::Exact(BIG_HOST.into())))
        .ok_or("the generated table has no group for the busy host")?;
    let at = |id: Option<&MatchId>| -> Result<Probe, String> {
        let m = id
            .and_then(|&id| t.matches.get(id.index()))
            .ok_or("the busy host has no matches")?;
        probe(m)
    };
    Ok(Probes {
        first: at(group.matches.first())?,
        last: at(group.matches.last())?,
        miss: Probe {
            method: "GET".to_owned(),
            path: "/nothing/here".to_owned(),
            headers: Vec::new(),
        },
    })
}

/// A request `m` matches.
fn probe(m: &Match) -> Result<Probe, String> {
    let path = match &m.path {
        PathMatch::Exact(v) => v.clone(),
        PathMatch::Prefix(v) => format!("{v}/zz-none"),
        other => return Err(format!("unexpected first/last match {other:?}")),
    };
    let headers = m
        .headers
        .iter()
        .filter_map(|h| match &h.value {
            StringMatch::Exact(v) => Some((h.name.clone(), v.clone())),
            _ => None,
        })
        .collect();
    Ok(Probe {
        method: m.method.clone().unwrap_or_else(|| "GET".to_owned()),
        path,
        headers,
    })
}
