//! The match index against the linear scan it replaces: random route tables and random
//! requests must get the same decision from both.

use std::fmt::Write as _;

use gatewasm::compile::compile;
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm_filter::engine::{Decision, Dice, Request, Router, Strategy};

const SEGMENTS: [&str; 6] = ["a", "b", "api", "v1", "v2", "x"];
const HOSTS: [&str; 6] = [
    "a.example.com",
    "b.example.com",
    "x.a.example.com",
    "example.com",
    "other.org",
    "c.a.example.com",
];
const ROUTE_HOSTS: [&str; 7] = [
    "a.example.com",
    "*.example.com",
    "*.a.example.com",
    "example.com",
    "b.example.com",
    "other.org",
    "*.org",
];

fn pick<'a>(d: &mut Dice, from: &[&'a str]) -> &'a str {
    from[d.below(from.len() as u64) as usize]
}

fn path(d: &mut Dice, max: u64) -> String {
    let n = 1 + d.below(max);
    (0..n).map(|_| format!("/{}", pick(d, &SEGMENTS))).collect()
}

fn manifests(d: &mut Dice) -> String {
    let mut y = String::from(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: ns}\n\
         spec:\n  gatewayClassName: c\n  listeners:\n  - {name: http, port: 80, protocol: HTTP}\n\
         ---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ns}\nspec: {ports: [{name: a, port: 80}, {name: b, port: 81}, {name: c, port: 82}]}\n",
    );
    for r in 0..(1 + d.below(8)) {
        let _ = write!(y, "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r{r}, namespace: ns");
        if d.chance(1, 2) {
            let _ = write!(
                y,
                ", creationTimestamp: '2026-01-0{}T00:00:00Z'",
                1 + d.below(3)
            );
        }
        y.push_str("}\nspec:\n  parentRefs: [{name: gw}]\n");
        let hosts: Vec<&str> = (0..d.below(3)).map(|_| pick(d, &ROUTE_HOSTS)).collect();
        let mut unique = hosts.clone();
        unique.sort_unstable();
        unique.dedup();
        if !unique.is_empty() {
            let _ = writeln!(
                y,
                "  hostnames: [{}]",
                unique
                    .iter()
                    .map(|h| format!("'{h}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        y.push_str("  rules:\n");
        for rule in 0..(1 + d.below(5)) {
            y.push_str("  - matches:\n");
            for _ in 0..(1 + d.below(2)) {
                let p = path(d, 3);
                let path_match = match d.below(4) {
                    0 => format!("{{type: Exact, value: '{p}'}}"),
                    1 => format!("{{type: RegularExpression, value: '{p}(/.*)?'}}"),
                    _ => format!("{{type: PathPrefix, value: '{p}'}}"),
                };
                let _ = writeln!(y, "    - path: {path_match}");
                if d.chance(1, 3) {
                    let _ = writeln!(
                        y,
                        "      headers: [{{name: x-env, value: '{}'}}]",
                        pick(d, &["prod", "dev"])
                    );
                }
                if d.chance(1, 4) {
                    let _ = writeln!(y, "      method: {}", pick(d, &["GET", "POST"]));
                }
                if d.chance(1, 5) {
                    let _ = writeln!(y, "      queryParams: [{{name: q, value: '1'}}]");
                }
            }
            let _ = writeln!(
                y,
                "    backendRefs: [{{name: s, port: {}}}]",
                80 + (rule % 3)
            );
        }
    }
    y
}

#[test]
fn index_and_linear_scan_decide_alike() {
    let mut d = Dice::new(20261127);
    let mut compared = 0;
    for table in 0..300 {
        let text = manifests(&mut d);
        let loaded = load::load_str("random.yaml", &text)
            .unwrap_or_else(|e| panic!("table {table}:\n{text}\n{e:?}"));
        let compiled = compile(loaded, &Options::default())
            .unwrap_or_else(|e| panic!("table {table}:\n{text}\n{e:?}"));
        let router = Router::from_blob(&compiled.blob).expect("decodes");
        for _ in 0..200 {
            let mut p = path(&mut d, 4);
            if d.chance(1, 4) {
                p.push('/');
            }
            if d.chance(1, 4) {
                p.push_str("?q=1");
            }
            let host = pick(&mut d, &HOSTS);
            let method = pick(&mut d, &["GET", "POST"]);
            let env = pick(&mut d, &["prod", "dev", "none"]);
            let headers: Vec<(&str, &[u8])> = if env == "none" {
                vec![]
            } else {
                vec![("x-env", env.as_bytes())]
            };
            let req = Request {
                port: 80,
                sni: None,
                scheme: "http",
                authority: host,
                method,
                path: &p,
                headers: &headers,
            };
            let seed = d.next_u64();
            let indexed = router.evaluate_with(
                Strategy::Indexed,
                &req,
                &mut Dice::new(seed),
                &mut |_, _| {},
            );
            let linear =
                router.evaluate_with(Strategy::Linear, &req, &mut Dice::new(seed), &mut |_, _| {});
            assert_eq!(
                indexed, linear,
                "table {table}, {method} {host}{p} {env}\n{text}"
            );
            // What the filter uses must decide as the index does, regex budget included.
            let auto =
                router.evaluate_with(Strategy::Auto, &req, &mut Dice::new(seed), &mut |_, _| {});
            assert_eq!(auto, indexed, "Strategy::Auto on table {table}");
            // explain lists the matches that hold; the first must be the engine's choice.
            let first = linear.0.and_then(|l| {
                let holding = router.holding(l, &req);
                holding
                    .first()
                    .map(|&(_, m)| router.table().matches[m].rule)
            });
            let decided = match &linear.1 {
                Decision::Forward(f) => Some(f.rule),
                Decision::Reply(r) => r.rule,
            };
            assert_eq!(
                first, decided,
                "holding, table {table}, {method} {host}{p} {env}\n{text}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 60_000);
}
