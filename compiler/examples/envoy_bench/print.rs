//! The report as tables for humans, printed from the JSON object `--json` gives, so the two
//! never disagree.

use serde_json::Value;

use crate::configs::Config;

/// A number with `decimals` decimals, or `-` where the run measured nothing.
fn cell(v: &Value, decimals: usize, width: usize) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:>width$.decimals$}"),
        None => format!("{:>width$}", "-"),
    }
}

pub fn print(report: &Value) {
    let about = &report["about"];
    println!(
        "gatewasm in real Envoy {} (--concurrency 1 on core 0); h2load h2c {} connections × {} streams, \
         {} requests after {} unmeasured, and the upstream on core 1; medians of {} run(s)\n",
        about["envoy"].as_str().unwrap_or("?"),
        about["connections"],
        about["streams"],
        about["requests"],
        about["warmup"],
        about["repeat"],
    );
    print_figures(report);
    print_ratios(report);
    print_targets(report);
}

fn print_figures(report: &Value) {
    println!(
        "{:>6} {:>5} {:<8} | {:>8} {:>7} {:>7} {:>7} | {:>8} {:>7} {:>7} {:>7} | {:>7} {:>8} {:>7}",
        "rules",
        "regex",
        "config",
        "hit r/s",
        "CPU µs",
        "p50 µs",
        "p99 µs",
        "miss r/s",
        "CPU µs",
        "p50 µs",
        "p99 µs",
        "RSS MiB",
        "start ms",
        "swap ms"
    );
    for t in report["tables"].as_array().into_iter().flatten() {
        for config in Config::ALL {
            let c = &t["configs"][config.name()];
            let kind = |k: &str| {
                let f = &c[k];
                format!(
                    "{} {} {} {}",
                    cell(&f["req_per_s"], 0, 8),
                    cell(&f["cpu_us"], 1, 7),
                    cell(&f["p50_us"], 0, 7),
                    cell(&f["p99_us"], 0, 7)
                )
            };
            println!(
                "{:>6} {:>5} {:<8} | {} | {} | {} {} {}",
                t["rules"].as_u64().unwrap_or(0),
                regex(t),
                config.name(),
                kind("hit"),
                kind("miss"),
                cell(&c["rss_mib"], 1, 7),
                cell(&c["startup_ms"], 0, 8),
                cell(&c["swap_ms"], 1, 7)
            );
        }
    }
    println!("\nhit = the busy host's lowest-precedence rule (200 from the upstream); miss = no rule (404; noop and none route no table).");
    println!("CPU µs = Envoy's user+system CPU per request over the measured window (/proc); p50/p99 = h2load's per-request times.");
    println!("RSS after the run; start = exec to the first 200 through the listener; swap = new table written to the first request it answers.\n");
}

/// `0%` or the share of regular expression rules.
fn regex(table: &Value) -> String {
    let rules = table["rules"].as_f64().unwrap_or(1.0).max(1.0);
    let share = table["regex_rules"].as_f64().unwrap_or(0.0) / rules * 100.0;
    format!("{share:.0}%")
}

fn print_ratios(report: &Value) {
    println!(
        "{:>6} {:>5} | {:>9} {:>9} {:>9} | {:>9} {:>9} | {:>9} | {:>10}",
        "rules",
        "regex",
        "hit ×r/s",
        "hit ×CPU",
        "wasm/noop",
        "miss ×r/s",
        "miss ×CPU",
        "noop ×r/s",
        "start +ms"
    );
    for t in report["tables"].as_array().into_iter().flatten() {
        let r = &t["ratios"];
        println!(
            "{:>6} {:>5} | {} {} {} | {} {} | {} | {}",
            t["rules"].as_u64().unwrap_or(0),
            regex(t),
            cell(&r["hit"]["req_per_s_vs_native"], 2, 9),
            cell(&r["hit"]["cpu_vs_native"], 2, 9),
            cell(&r["hit"]["cpu_over_none_vs_noop"], 2, 9),
            cell(&r["miss"]["req_per_s_vs_native"], 2, 9),
            cell(&r["miss"]["cpu_vs_native"], 2, 9),
            cell(&r["noop_req_per_s_vs_native"], 2, 9),
            cell(&r["startup_over_native_ms"], 0, 10)
        );
    }
    println!("\n×r/s, ×CPU = gatewasm over native; wasm/noop = (gatewasm CPU − none CPU) / (noop CPU − none CPU), hits;");
    println!(
        "noop ×r/s = the no-op filter over native; start +ms = gatewasm's start-up minus native's."
    );
    let rss = &report["rss_two_workers_mib"];
    let line: Vec<String> = Config::ALL
        .iter()
        .map(|c| format!("{} {}", c.name(), cell(&rss[c.name()], 1, 0)))
        .collect();
    println!(
        "RSS MiB with 2 workers, 10 rules: {}; gatewasm over native {}\n",
        line.join(", "),
        cell(&rss["gatewasm_over_native"], 1, 0)
    );
}

fn print_targets(report: &Value) {
    println!("targets (issue 15):");
    for t in report["targets"].as_array().into_iter().flatten() {
        let verdict = match t["met"].as_bool() {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "not measured",
        };
        println!(
            "  {:<13} {:<72} value {} (limit {})",
            verdict,
            t["target"].as_str().unwrap_or(""),
            cell(&t["value"], 2, 0),
            cell(&t["limit"], 2, 0)
        );
    }
}
