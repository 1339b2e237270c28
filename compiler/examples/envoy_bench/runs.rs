//! The runs: each table compiled once, its configurations laid out once, then started in a
//! rotating order for every repeat, so a slow moment of the machine falls on every
//! configuration in turn rather than on one.

use std::path::Path;
use std::time::Instant;

use gatewasm::compile::{compile, Compiled};
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm_filter::blob::PathMatch;

use crate::args::Args;
use crate::configs::{lay_out, Config, Context, Deployed};
use crate::measure::{self, Bench};
use crate::procfs;
use crate::report::{Kind, Results, TableInfo, TableKey};
use crate::swap;
use crate::tables::{self, Probes};

/// With regular expressions, one rule in twenty is one.
const REGEX_EVERY: usize = 20;

/// One compiled table, and the table a swap replaces it with (largest size only).
struct Table {
    key: TableKey,
    compiled: Compiled,
    probes: Probes,
    swapped: Option<Compiled>,
}

/// Every table of `args.sizes`, without and with regular expressions, then the memory of
/// two workers at 10 rules.
///
/// # Errors
/// A table that does not compile, an Envoy that fails, or a check of a load that fails.
pub fn measure_all(
    b: &Bench<'_>,
    cx: &Context<'_>,
    args: &Args,
    work: &Path,
    results: &mut Results,
) -> Result<(), String> {
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    for &rules in &args.sizes {
        for regex in [false, true] {
            let table = Table::compile((rules, regex), rules == largest, results)?;
            eprintln!("envoy_bench: {rules} rules, regex {regex}");
            let dir = work.join(format!("{rules}-{regex}"));
            measure_table(b, cx, args.repeat, &table, &dir, results)?;
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    if args.sizes.contains(&10) {
        eprintln!("envoy_bench: memory with 2 workers");
        rss_two_workers(b, cx, args.repeat, &work.join("workers-2"), results)?;
    }
    Ok(())
}

impl Table {
    fn compile(key: TableKey, swap: bool, results: &mut Results) -> Result<Table, String> {
        let text = tables::manifests(key.0, key.1.then_some(REGEX_EVERY));
        let started = Instant::now();
        let compiled = compile_text(&text)?;
        let compile_ms = started.elapsed().as_secs_f64() * 1e3;
        let swapped = swap
            .then(|| compile_text(&(text.clone() + &swap::new_route())))
            .transpose()?;
        let regex_rules = compiled
            .table
            .matches
            .iter()
            .filter(|m| matches!(m.path, PathMatch::Regex(_)))
            .count();
        results.tables.insert(
            key,
            TableInfo {
                regex_rules,
                compile_ms,
                blob_bytes: compiled.blob.len(),
            },
        );
        Ok(Table {
            key,
            probes: tables::probes(&compiled)?,
            compiled,
            swapped,
        })
    }
}

fn compile_text(text: &str) -> Result<Compiled, String> {
    let loaded = load::load_str("bench.yaml", text)
        .map_err(|d| format!("the generated manifests do not load:\n{d}"))?;
    compile(loaded, &Options::default())
        .map_err(|d| format!("the generated manifests do not compile:\n{d}"))
}

/// Lays out every configuration.
fn deploy_all(c: &Compiled, dir: &Path, cx: &Context<'_>) -> Result<Vec<Deployed>, String> {
    Config::ALL
        .iter()
        .map(|&config| lay_out(config, c, &dir.join(config.name()), cx))
        .collect()
}

/// `deployed` in the order of repeat `rep`: each repeat starts with the next one.
fn rotated(deployed: &[Deployed], rep: usize) -> impl Iterator<Item = &Deployed> {
    let n = deployed.len().max(1);
    deployed.iter().cycle().skip(rep % n).take(deployed.len())
}

fn measure_table(
    b: &Bench<'_>,
    cx: &Context<'_>,
    repeat: usize,
    table: &Table,
    dir: &Path,
    results: &mut Results,
) -> Result<(), String> {
    let deployed = deploy_all(&table.compiled, dir, cx)?;
    for rep in 0..repeat {
        for d in rotated(&deployed, rep) {
            one_run(b, cx, table, d, results)
                .map_err(|e| format!("{} rules, {}: {e}", table.key.0, d.config.name()))?;
        }
    }
    Ok(())
}

/// One start of one configuration: start-up, a hit and (where it routes) a miss, memory,
/// and at the largest size the table swap.
fn one_run(
    b: &Bench<'_>,
    cx: &Context<'_>,
    table: &Table,
    d: &Deployed,
    results: &mut Results,
) -> Result<(), String> {
    let key = (table.key, d.config);
    let (mut envoy, startup) = measure::start(b, d, 1, &table.probes.last)?;
    results.startup_ms.entry(key).or_default().push(startup);
    let hit = measure::load(b, &envoy, d.port, &table.probes.last, 200, true)?;
    let loads = &mut results.loads;
    loads
        .entry((table.key, d.config, Kind::Hit))
        .or_default()
        .push(hit);
    if d.config.routes() {
        let miss = measure::load(b, &envoy, d.port, &table.probes.miss, 404, false)?;
        loads
            .entry((table.key, d.config, Kind::Miss))
            .or_default()
            .push(miss);
    }
    let rss = procfs::rss_mib(envoy.pid())?;
    results.rss_mib.entry(key).or_default().push(rss);
    if let Some(new) = &table.swapped {
        if let Some(ms) = swap::time(b, cx, &mut envoy, d, (&table.compiled, new))? {
            results.swap_ms.entry(key).or_default().push(ms);
        }
    }
    Ok(())
}

/// Resident memory of each configuration with two workers on the 10-rule table, after a
/// warm-up load has reached both.
fn rss_two_workers(
    b: &Bench<'_>,
    cx: &Context<'_>,
    repeat: usize,
    dir: &Path,
    results: &mut Results,
) -> Result<(), String> {
    let table = Table::compile((10, false), false, &mut Results::default())?;
    let deployed = deploy_all(&table.compiled, dir, cx)?;
    for rep in 0..repeat {
        for d in rotated(&deployed, rep) {
            let (envoy, _) = measure::start(b, d, 2, &table.probes.last)?;
            crate::h2load::run(
                d.port,
                &table.probes.last,
                b.warmup,
                &b.scratch.join("h2load.log"),
            )?;
            let rss = procfs::rss_mib(envoy.pid())?;
            results
                .rss_two_workers
                .entry(d.config)
                .or_default()
                .push(rss);
        }
    }
    Ok(())
}
