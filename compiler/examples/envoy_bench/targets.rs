//! Issue 15's targets, each read from the report's figures and judged: met, not met, or not
//! measured (a size or configuration the run did not include).

use serde_json::{json, Map, Value};

/// One target: the worst value over the tables it applies to, against its limit.
struct Target {
    what: &'static str,
    value: Option<f64>,
    limit: Option<f64>,
    /// The value must stay at or below the limit (else at or above).
    at_most: bool,
}

impl Target {
    fn json(&self) -> Value {
        let met = match (self.value, self.limit) {
            (Some(v), Some(l)) => json!(if self.at_most { v <= l } else { v >= l }),
            _ => Value::Null,
        };
        json!({"target": self.what, "value": self.value, "limit": self.limit, "met": met})
    }
}

/// The figure at `path` of every table of `rules` rules (any size when `None`).
fn figures<'a>(
    tables: &'a [Value],
    rules: Option<u64>,
    path: &'a str,
) -> impl Iterator<Item = Option<f64>> + 'a {
    tables
        .iter()
        .filter(move |t| rules.is_none_or(|r| t["rules"].as_u64() == Some(r)))
        .map(move |t| t.pointer(path).and_then(Value::as_f64))
}

/// The largest of the figures, `None` if any is missing or there are none.
fn worst_high(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.reduce(|a, b| Some(a?.max(b?))).flatten()
}

/// The smallest of the figures, `None` if any is missing or there are none.
fn worst_low(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.reduce(|a, b| Some(a?.min(b?))).flatten()
}

/// Every target of issue 15, as JSON objects in the order.
pub fn evaluate(tables: &[Value], rss_two_workers: &Map<String, Value>) -> Value {
    let both = |rules: u64| {
        worst_low(
            figures(tables, Some(rules), "/ratios/hit/req_per_s_vs_native").chain(figures(
                tables,
                Some(rules),
                "/ratios/miss/req_per_s_vs_native",
            )),
        )
    };
    let targets = [
        Target {
            what: "gatewasm CPU over no filter ≤ 1.5 × the no-op filter's, every size (hits)",
            value: worst_high(figures(tables, None, "/ratios/hit/cpu_over_none_vs_noop")),
            limit: Some(1.5),
            at_most: true,
        },
        Target {
            what: "1,000 rules: ≥ 1.0 × native req/s, hits and misses",
            value: both(1_000),
            limit: Some(1.0),
            at_most: false,
        },
        Target {
            what: "10,000 rules: ≥ 2.0 × native req/s, hits and misses",
            value: both(10_000),
            limit: Some(2.0),
            at_most: false,
        },
        Target {
            what: "10 rules: × native req/s no lower than the no-op filter's (hits)",
            value: worst_low(figures(tables, Some(10), "/ratios/hit/req_per_s_vs_native")),
            limit: worst_high(figures(
                tables,
                Some(10),
                "/ratios/noop_req_per_s_vs_native",
            )),
            at_most: false,
        },
        Target {
            what: "10,000 rules: table swap ≤ 100 ms",
            value: worst_high(figures(tables, Some(10_000), "/configs/gatewasm/swap_ms")),
            limit: Some(100.0),
            at_most: true,
        },
        Target {
            what: "start-up over native ≤ 300 ms, every size",
            value: worst_high(figures(tables, None, "/ratios/startup_over_native_ms")),
            limit: Some(300.0),
            at_most: true,
        },
        Target {
            what: "10 rules, 2 workers: RSS over native ≤ 24 MiB",
            value: rss_two_workers
                .get("gatewasm_over_native")
                .and_then(Value::as_f64),
            limit: Some(24.0),
            at_most: true,
        },
    ];
    Value::Array(targets.iter().map(Target::json).collect())
}
