//! The figures of a run: medians of the repeated samples, the ratios between
//! configurations, and issue 15's targets, each met or not; as one JSON object, and as
//! tables for humans printed from that object (so both always say the same).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::configs::Config;
use crate::measure::Sample;

/// The request kinds: the busy host's lowest-precedence rule, and a path no rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Hit,
    Miss,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Hit => "hit",
            Kind::Miss => "miss",
        }
    }
}

/// Which table: rules, and whether a twentieth of them are regular expressions.
pub type TableKey = (usize, bool);

/// What a table is, beside its figures.
pub struct TableInfo {
    pub regex_rules: usize,
    pub compile_ms: f64,
    pub blob_bytes: usize,
}

/// Every sample of a run, before medians.
#[derive(Default)]
pub struct Results {
    pub tables: BTreeMap<TableKey, TableInfo>,
    pub loads: BTreeMap<(TableKey, Config, Kind), Vec<Sample>>,
    pub startup_ms: BTreeMap<(TableKey, Config), Vec<f64>>,
    pub rss_mib: BTreeMap<(TableKey, Config), Vec<f64>>,
    pub swap_ms: BTreeMap<(TableKey, Config), Vec<f64>>,
    /// RSS with two workers, on the 10-rule table without regular expressions.
    pub rss_two_workers: BTreeMap<Config, Vec<f64>>,
}

fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// `a / b`, or null when either is missing.
fn ratio(a: &Value, b: &Value) -> Value {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if b != 0.0 => json!(a / b),
        _ => Value::Null,
    }
}

/// `a - b`, or null when either is missing.
fn minus(a: &Value, b: &Value) -> Value {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => json!(a - b),
        _ => Value::Null,
    }
}

impl Results {
    /// The median figures of one configuration on one table.
    fn config(&self, key: TableKey, config: Config) -> Value {
        let mut out = Map::new();
        for kind in [Kind::Hit, Kind::Miss] {
            let samples = self.loads.get(&(key, config, kind));
            let figure = |f: fn(&Sample) -> f64| samples.and_then(|s| median(s.iter().map(f)));
            let value = match figure(|s| s.per_second) {
                None => Value::Null,
                Some(rps) => json!({
                    "req_per_s": rps,
                    "cpu_us": figure(|s| s.cpu_us),
                    "p50_us": figure(|s| s.p50_us),
                    "p99_us": figure(|s| s.p99_us),
                }),
            };
            out.insert(kind.name().to_owned(), value);
        }
        let one = |m: &BTreeMap<(TableKey, Config), Vec<f64>>| {
            json!(m
                .get(&(key, config))
                .and_then(|v| median(v.iter().copied())))
        };
        out.insert("rss_mib".to_owned(), one(&self.rss_mib));
        out.insert("startup_ms".to_owned(), one(&self.startup_ms));
        out.insert("swap_ms".to_owned(), one(&self.swap_ms));
        Value::Object(out)
    }

    /// One table's figures per configuration and its ratios.
    fn table(&self, key: TableKey, info: &TableInfo) -> Value {
        let configs: Map<String, Value> = Config::ALL
            .iter()
            .map(|&c| (c.name().to_owned(), self.config(key, c)))
            .collect();
        let ratios = ratios(&configs);
        json!({
            "rules": key.0,
            "regex": key.1,
            "regex_rules": info.regex_rules,
            "compile_ms": info.compile_ms,
            "blob_bytes": info.blob_bytes,
            "configs": configs,
            "ratios": ratios,
        })
    }

    /// The whole report; `about` names the Envoy, the modules and the load.
    pub fn report(&self, about: Value) -> Value {
        let tables: Vec<Value> = self
            .tables
            .iter()
            .map(|(&key, info)| self.table(key, info))
            .collect();
        let mut rss2: Map<String, Value> = self
            .rss_two_workers
            .iter()
            .map(|(c, v)| (c.name().to_owned(), json!(median(v.iter().copied()))))
            .collect();
        let overhead = minus(
            rss2.get("gatewasm").unwrap_or(&Value::Null),
            rss2.get("native").unwrap_or(&Value::Null),
        );
        rss2.insert("gatewasm_over_native".to_owned(), overhead);
        let targets = crate::targets::evaluate(&tables, &rss2);
        json!({
            "about": about,
            "tables": tables,
            "rss_two_workers_mib": rss2,
            "targets": targets,
        })
    }
}

/// gatewasm against native and against the floors, per request kind.
fn ratios(configs: &Map<String, Value>) -> Value {
    let get = |config: &str, kind: &str, figure: &str| configs[config][kind][figure].clone();
    let mut out = Map::new();
    for kind in ["hit", "miss"] {
        let cpu = |c: &str| get(c, kind, "cpu_us");
        // The floors forward every request: their hit is the floor of a miss too.
        let floor = |c: &str| get(c, "hit", "cpu_us");
        out.insert(
            kind.to_owned(),
            json!({
                "req_per_s_vs_native": ratio(&get("gatewasm", kind, "req_per_s"), &get("native", kind, "req_per_s")),
                "cpu_vs_native": ratio(&cpu("gatewasm"), &cpu("native")),
                "cpu_over_none_vs_noop": ratio(&minus(&cpu("gatewasm"), &floor("none")), &minus(&floor("noop"), &floor("none"))),
            }),
        );
    }
    out.insert(
        "noop_req_per_s_vs_native".to_owned(),
        ratio(
            &get("noop", "hit", "req_per_s"),
            &get("native", "hit", "req_per_s"),
        ),
    );
    out.insert(
        "startup_over_native_ms".to_owned(),
        minus(
            &configs["gatewasm"]["startup_ms"],
            &configs["native"]["startup_ms"],
        ),
    );
    Value::Object(out)
}
