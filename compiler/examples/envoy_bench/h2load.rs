//! The load generator: h2load (nghttp2) over h2c, pinned to the core Envoy does not run on,
//! sending one request a fixed number of times. Its log file gives every request's status
//! and time, so the percentiles are of all requests, not of h2load's own summaries.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::tables::{Probe, BIG_HOST};

/// How much load.
#[derive(Clone, Copy)]
pub struct Shape {
    pub requests: usize,
    pub connections: usize,
    /// Concurrent streams per connection.
    pub streams: usize,
}

/// What one load run saw.
pub struct Load {
    /// Requests answered, by status.
    pub statuses: BTreeMap<u16, usize>,
    pub per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// Sends `probe` to the listener on `port`, `shape.requests` times; `log` is h2load's
/// per-request log file (a scratch path).
///
/// # Errors
/// h2load cannot be run, fails, or prints no rate.
pub fn run(port: u16, probe: &Probe, shape: Shape, log: &Path) -> Result<Load, String> {
    if probe.method != "GET" {
        return Err(format!("h2load sends GET; the probe is {}", probe.method));
    }
    // h2load appends to its log.
    let _ = std::fs::remove_file(log);
    let mut command = Command::new("taskset");
    command.args(["-c", "1", "h2load", "-t", "1"]);
    command.args(["-n", &shape.requests.to_string()]);
    command.args(["-c", &shape.connections.to_string()]);
    command.args(["-m", &shape.streams.to_string()]);
    command.args(["-H", &format!(":authority: {BIG_HOST}")]);
    for (name, value) in &probe.headers {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    command.arg("--log-file").arg(log);
    command.arg(format!("http://127.0.0.1:{port}{}", probe.path));
    let out = command
        .output()
        .map_err(|e| format!("cannot run h2load (apt-get install nghttp2-client): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("h2load failed ({}): {text}", out.status));
    }
    let per_second = rate(&text).ok_or_else(|| format!("h2load printed no req/s: {text}"))?;
    let log_text =
        std::fs::read_to_string(log).map_err(|e| format!("cannot read {}: {e}", log.display()))?;
    let (statuses, mut times) = requests(&log_text);
    times.sort_unstable();
    Ok(Load {
        statuses,
        per_second,
        p50_us: percentile(&times, 50),
        p99_us: percentile(&times, 99),
    })
}

/// The rate of the `finished in 1.2s, 16234.56 req/s, …` line.
fn rate(stdout: &str) -> Option<f64> {
    let line = stdout.lines().find(|l| l.starts_with("finished in"))?;
    let field = line.split(", ").find(|f| f.ends_with(" req/s"))?;
    field.trim_end_matches(" req/s").parse().ok()
}

/// Statuses counted and request times in µs, from log lines `start<TAB>status<TAB>µs`.
fn requests(log: &str) -> (BTreeMap<u16, usize>, Vec<u64>) {
    let mut statuses = BTreeMap::new();
    let mut times = Vec::new();
    for line in log.lines() {
        let mut fields = line.split('\t').skip(1);
        let (Some(Ok(status)), Some(Ok(us))) = (
            fields.next().map(str::parse::<u16>),
            fields.next().map(str::parse::<u64>),
        ) else {
            continue;
        };
        *statuses.entry(status).or_insert(0) += 1;
        times.push(us);
    }
    (statuses, times)
}

/// The `p`th percentile of sorted `times` (0 without any).
fn percentile(times: &[u64], p: usize) -> f64 {
    let at = (times.len() * p / 100).min(times.len().saturating_sub(1));
    times.get(at).map_or(0.0, |&t| t as f64)
}
