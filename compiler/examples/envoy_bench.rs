//! `scripts/bench --envoy`: gatewasm against Envoy's own router, measured inside a real
//! Envoy. The generated tables of `routing_bench` (10 to 10,000 rules, without and with a
//! twentieth of regular expressions) are each compiled once and run in four configurations —
//! Envoy's native route table, gatewasm as deployed, a no-op wasm filter and no filter —
//! interleaved and repeated, with Envoy (`--concurrency 1`) on core 0 and the load generator
//! and upstream on core 1. Envoy's CPU time per request, read from `/proc`, is the figure
//! that stays comparable on a busy machine; req/s, latency, memory, start-up and table swap
//! times come with it, then the ratios issue 15 sets targets for.
//!
//! `scripts/bench --envoy [--json] [--sizes 10,100] [--repeat N] [--quick]`

#[path = "envoy_bench/args.rs"]
mod args;
#[path = "envoy_bench/configs.rs"]
mod configs;
#[path = "envoy_bench/h2load.rs"]
mod h2load;
#[path = "envoy_bench/measure.rs"]
mod measure;
#[path = "envoy_bench/print.rs"]
mod print;
#[path = "envoy_bench/procfs.rs"]
mod procfs;
#[path = "envoy_bench/report.rs"]
mod report;
#[path = "envoy_bench/runs.rs"]
mod runs;
#[path = "envoy_bench/swap.rs"]
mod swap;
#[path = "tables/mod.rs"]
mod tables;
#[path = "envoy_bench/targets.rs"]
mod targets;
#[path = "envoy_bench/upstream.rs"]
mod upstream;

use gatewasm::routetest::envoy::{version, TempDir};
use serde_json::json;

use args::Args;
use configs::Context;
use h2load::Shape;
use measure::Bench;
use report::Results;
use upstream::Upstream;

/// Connections and streams per connection of every load: a few of each, as a proxy in
/// front of a handful of clients sees.
const CONNECTIONS: usize = 4;
const STREAMS: usize = 4;

fn main() {
    let outcome = args::parse(std::env::args().skip(1)).and_then(|a| run(&a));
    if let Err(e) = outcome {
        eprintln!("envoy_bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    pin_self()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let work = TempDir::new(&format!("gatewasm-envoy-bench-{}", std::process::id()))?;
    let upstream = Upstream::start(&args.envoy, &work.0, &rt)?;
    let shape = |requests| Shape {
        requests,
        connections: CONNECTIONS,
        streams: STREAMS,
    };
    let bench = Bench {
        envoy: args.envoy.clone(),
        rt: &rt,
        upstream: &upstream,
        ticks_per_second: procfs::ticks_per_second()?,
        load: shape(args.requests),
        warmup: shape(args.warmup),
        scratch: work.0.clone(),
    };
    let cx = Context {
        wasm: &args.wasm,
        noop: &args.noop,
        upstream_port: upstream.port,
    };
    let mut results = Results::default();
    runs::measure_all(&bench, &cx, args, &work.0, &mut results)?;
    let report = results.report(about(args)?);
    if args.json {
        println!("{report}");
    } else {
        print::print(&report);
    }
    Ok(())
}

/// Keeps this process (and the h2load and upstream it starts) on core 1, away from the
/// Envoy under test, which its launch pins to core 0.
fn pin_self() -> Result<(), String> {
    let pid = std::process::id().to_string();
    let out = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", "1", &pid])
        .output()
        .map_err(|e| format!("cannot run taskset: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "taskset could not pin the benchmark to core 1 (it needs two cores): {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// What the figures were measured with.
fn about(args: &Args) -> Result<serde_json::Value, String> {
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    Ok(json!({
        "envoy": version(&args.envoy)?,
        "wasm_bytes": size(&args.wasm),
        "noop_bytes": size(&args.noop),
        "repeat": args.repeat,
        "requests": args.requests,
        "warmup": args.warmup,
        "connections": CONNECTIONS,
        "streams": STREAMS,
    }))
}
