//! The routing benchmark: generated route tables of 10 to 50,000 rules, measured through the
//! release `.wasm` in the wasmtime host, side by side with the same `.wasm` configured to scan
//! linearly and to decide nothing (`"engine": "linear"` / `"off"`, accepted only by a build
//! with the `bench-engines` feature), so every figure is also a ratio. Fuel (wasm operators executed) is deterministic; wall time is this machine's.
//!
//! `scripts/bench` runs it (`cargo run --profile bench --example routing_bench`);
//! `scripts/bench --json` prints one JSON object; `scripts/bench --regex` only the regular
//! expression rows; `--rules N` only the table of N rules.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use gatewasm::compile::{compile, Compiled};
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm::validate::RegexLimits;
use gatewasm_host::{Envoy, Exchange, Request, WasmModule};
use serde_json::{json, Value};
use tables::BIG_HOST;

const SIZES: [usize; 4] = [10, 1_000, 10_000, 50_000];
const SAMPLES: usize = 2_000;

#[path = "tables/mod.rs"]
mod tables;

/// A fifth of the rules are regular expressions.
const REGEX_EVERY: tables::RegexEvery = Some(5);

/// The three requests: the busy host's highest-precedence match, its lowest, and a miss.
fn requests(c: &Compiled) -> [(String, Request); 3] {
    let probes = tables::probes(c).expect("the generated table has its probes");
    let request = |p: tables::Probe| {
        let mut r = Request::new(&p.method, &format!("http://{BIG_HOST}{}", p.path));
        for (name, value) in &p.headers {
            r = r.header(name, value);
        }
        (p.path, r)
    };
    [
        request(probes.first),
        request(probes.last),
        request(probes.miss),
    ]
}

struct Measure {
    fuel: u64,
    host_calls: u64,
    median_ns: u64,
    p99_ns: u64,
}

fn measure(envoy: &mut Envoy, req: &Request, check: impl Fn(&Exchange)) -> Measure {
    for _ in 0..50 {
        check(&envoy.send(req.clone()));
    }
    let mut times = Vec::with_capacity(SAMPLES);
    let mut last = None;
    for _ in 0..SAMPLES {
        let r = req.clone();
        let start = Instant::now();
        let ex = envoy.send(r);
        times.push(start.elapsed().as_nanos() as u64);
        last = Some(ex);
    }
    times.sort_unstable();
    let ex = last.expect("sampled");
    Measure {
        fuel: ex.fuel,
        host_calls: ex.host_calls,
        median_ns: times[times.len() / 2],
        p99_ns: times[times.len() * 99 / 100],
    }
}

fn envoy(module: &WasmModule, blob: &[u8], engine: &str) -> (Envoy, Duration) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
    let config = format!(r#"{{"blob": "{b64}", "engine": "{engine}"}}"#);
    let start = Instant::now();
    let envoy = Envoy::builder(module)
        .plugin_config(config.into_bytes())
        .build()
        .expect("host starts");
    let took = start.elapsed();
    envoy.configure_result().expect("configured");
    (envoy, took)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json_out = args.iter().any(|a| a == "--json");
    // `--regex`: only the regular expression rows.
    // `--rules N`: only the table of N rules.
    let chosen: Vec<usize> = args
        .windows(2)
        .filter(|w| w[0] == "--rules")
        .map(|w| w[1].parse().expect("--rules takes a number"))
        .collect();
    let sizes: &[usize] = if args.iter().any(|a| a == "--regex") {
        &[]
    } else if chosen.is_empty() {
        &SIZES
    } else {
        &chosen
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wasm = args
        .iter()
        .position(|a| a == "--wasm")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || root.join("target/bench/wasm32-wasip1/release/gatewasm_filter.wasm"),
            PathBuf::from,
        );
    let module = WasmModule::load(&wasm)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/build-wasm --bench)", wasm.display()));
    let mut tables = serde_json::Map::new();
    for &rules in sizes {
        let text = tables::manifests(rules, REGEX_EVERY);
        let start = Instant::now();
        let loaded = load::load_str("bench.yaml", &text).expect("generated manifests load");
        let compiled = compile(loaded, &Options::default()).expect("generated manifests compile");
        let compile_ms = start.elapsed().as_secs_f64() * 1e3;
        let reqs = requests(&compiled);
        let (mut indexed, configure) = envoy(&module, &compiled.blob, "indexed");
        let (mut linear, _) = envoy(&module, &compiled.blob, "linear");
        let (mut off, _) = envoy(&module, &compiled.blob, "off");
        let memory = indexed.memory_sizes()[0];
        let configure_fuel = indexed.fuel_used()[0];
        let routed = |ex: &Exchange| assert!(ex.upstream.is_some(), "a hit must be forwarded");
        let missed = |ex: &Exchange| assert_eq!(ex.response.status, 404, "a miss must be a 404");
        let any = |_: &Exchange| {};
        let first = measure(&mut indexed, &reqs[0].1, routed);
        let last = measure(&mut indexed, &reqs[1].1, routed);
        let miss = measure(&mut indexed, &reqs[2].1, missed);
        // The linear scan charges every expression it passes to the regex budget, which the
        // index skips: on the largest table it runs out and answers 414 (recorded below).
        let lin = measure(&mut linear, &reqs[1].1, any);
        let linear_status = linear.send(reqs[1].1.clone()).response.status;
        let floor = measure(&mut off, &reqs[1].1, any);
        tables.insert(
            rules.to_string(),
            json!({
                "fuel_first": first.fuel,
                "fuel_last": last.fuel,
                "fuel_miss": miss.fuel,
                "wall_ns_median": last.median_ns,
                "wall_ns_p99": last.p99_ns,
                "wall_ns_median_first": first.median_ns,
                "wall_ns_median_miss": miss.median_ns,
                "null_wall_ns_median": floor.median_ns,
                "linear_wall_ns_median": lin.median_ns,
                "linear_fuel_last": lin.fuel,
                "linear_status": linear_status,
                "null_fuel": floor.fuel,
                "host_calls": last.host_calls,
                "configure_ms": configure.as_secs_f64() * 1e3,
                "configure_fuel": configure_fuel,
                "memory_bytes": memory,
                "compile_ms": compile_ms,
                "blob_bytes": compiled.blob.len(),
                "blob_bytes_per_rule": compiled.blob.len() as f64 / rules as f64,
            }),
        );
    }
    let report = json!({
        "wasm_bytes": std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0),
        "tables": tables,
        "regex": regex_rows(&module),
    });
    if json_out {
        println!("{report}");
        return;
    }
    print_table(&report);
}

/// The most expensive expression the default limit accepts, then expressions that stalled
/// Envoy for seconds before there was a budget (accepted here only with a raised limit).
const REGEXES: [&str; 5] = [
    "/api/v1/(.*){1,18}",
    "/api/v1/(.*){1,1000}",
    "/api/v1/(.*){1,4000}",
    "/api/v1/(a{1,1000}){1,10}b",
    ".*(.*){1,1000}",
];

/// Each of [`REGEXES`] as the only route, against a path of 60 KB and 8 KB, and of the
/// longest length its program may run on within a request's budget (the worst case a request
/// can cost; the stalling patterns never run, so theirs is a 16-byte path, refused).
fn regex_rows(module: &WasmModule) -> Value {
    let options = Options {
        regex_limits: RegexLimits {
            max_size: u32::MAX,
            warn_size: u32::MAX,
        },
        ..Options::default()
    };
    let rows = REGEXES.iter().map(|pattern| {
        let text = format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: bench, namespace: bench}}\n\
             spec:\n  gatewayClassName: gatewasm\n  listeners:\n  - {{name: http, port: 80, protocol: HTTP}}\n\
             ---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: bench}}\nspec: {{ports: [{{port: 8080}}]}}\n\
             ---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r, namespace: bench}}\n\
             spec:\n  parentRefs: [{{name: bench}}]\n  rules:\n  - matches: [{{path: {{type: RegularExpression, value: '{pattern}'}}}}]\n\
             \x20   backendRefs: [{{name: svc, port: 8080}}]\n"
        );
        let loaded = load::load_str("regex.yaml", &text).expect("regex manifests load");
        let compiled = compile(loaded, &options).expect("regex manifests compile");
        let size = gatewasm_filter::engine::budget::program_size(pattern).expect("sized");
        let (mut envoy, _) = envoy(module, &compiled.blob, "indexed");
        let fit = gatewasm_filter::engine::budget::longest_input(size).max(16);
        let mut row = json!({"pattern": pattern, "program_size": size, "fit_bytes": fit});
        for (name, len) in [("60k", 60 * 1024), ("8k", 8 * 1024), ("fit", fit)] {
            let path = format!("/api/v1/{}", "a".repeat(len - 8));
            let req = Request::get(&format!("http://bench.example{path}"));
            let m = measure(&mut envoy, &req, |_| {});
            let status = envoy.send(req).response.status;
            row[name] = json!({"status": status, "fuel": m.fuel, "wall_ns_median": m.median_ns});
        }
        row
    });
    Value::Array(rows.collect())
}

fn print_table(report: &Value) {
    let tables = report["tables"].as_object().expect("tables");
    if tables.is_empty() {
        return print_regex_rows(report);
    }
    // `--rules N` may leave out the 10-rule table: its ratio column is then NaN.
    let small_fuel = tables
        .get("10")
        .and_then(|t| t["fuel_last"].as_f64())
        .unwrap_or(f64::NAN);
    println!("gatewasm routing benchmark (release .wasm {} bytes; wall times include the host's own work)\n", report["wasm_bytes"]);
    println!(
        "{:>7} | {:>9} {:>9} {:>9} {:>6} | {:>9} {:>9} {:>9} {:>9} {:>6} {:>6} | {:>5} | {:>8} {:>8} | {:>8} {:>8}",
        "rules", "fuel 1st", "fuel last", "fuel miss", "×10r", "wall med", "wall p99", "null med", "linear", "×null", "×lin", "calls", "conf ms", "mem KiB", "comp ms", "B/rule"
    );
    for (rules, t) in tables {
        let f = |k: &str| t[k].as_f64().unwrap_or(0.0);
        println!(
            "{:>7} | {:>9} {:>9} {:>9} {:>6.2} | {:>9} {:>9} {:>9} {:>9} {:>6.2} {:>6.2} | {:>5} | {:>8.1} {:>8} | {:>8.1} {:>8.1}",
            rules,
            f("fuel_first"),
            f("fuel_last"),
            f("fuel_miss"),
            f("fuel_last") / small_fuel,
            f("wall_ns_median"),
            f("wall_ns_p99"),
            f("null_wall_ns_median"),
            f("linear_wall_ns_median"),
            f("wall_ns_median") / f("null_wall_ns_median"),
            f("wall_ns_median") / f("linear_wall_ns_median"),
            f("host_calls"),
            f("configure_ms"),
            f("memory_bytes") / 1024.0,
            f("compile_ms"),
            f("blob_bytes_per_rule"),
        );
    }
    println!("\nfuel = wasm operators per request (deterministic); ×10r = fuel of the lowest-precedence hit relative to the 10-rule table;");
    println!("×null = wall time over the same .wasm deciding nothing; ×lin = wall time over the same .wasm scanning linearly.");
    print_regex_rows(report);
}

fn print_regex_rows(report: &Value) {
    println!("\nregular expressions: one route; paths of 60 KB, 8 KB and the longest the budget runs it on");
    println!("(each cell: status, fuel, median wall µs)");
    println!(
        "{:>28} {:>6} | {:>26} | {:>26} | {:>5} {:>26}",
        "pattern", "size", "60 KB", "8 KB", "bytes", "longest run"
    );
    for row in report["regex"].as_array().into_iter().flatten() {
        let cell = |k: &str| {
            let c = &row[k];
            format!(
                "{} {:>12} {:>8.1}",
                c["status"],
                c["fuel"].as_u64().unwrap_or(0),
                c["wall_ns_median"].as_f64().unwrap_or(0.0) / 1e3
            )
        };
        println!(
            "{:>28} {:>6} | {:>26} | {:>26} | {:>5} {:>26}",
            row["pattern"].as_str().unwrap_or(""),
            // A JSON value ignores the width; the number does not.
            row["program_size"].as_u64().unwrap_or(0),
            cell("60k"),
            cell("8k"),
            row["fit_bytes"].as_u64().unwrap_or(0),
            cell("fit")
        );
    }
}
