//! Runs route-test files: compile each state of a file, send every case through a driver,
//! check what happened, and record each outcome ([`FileReport`]), which the CLI renders as
//! text, JSON or JUnit XML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::compile::{compile, Compiled};
use crate::load::{self, Loaded};
use crate::model::{Kind, ObjectKey};
use crate::resolve::Options;

use super::check::{self, Observed};
use super::driver::{Driver, Factory, RateLimitService, SentRequest, Setup};
use super::format::{self, Case, Phase, StatusExpectation};
use super::status;

/// Requests sent for a distribution check (weights, mirror percentages), as upstream does.
const SAMPLES: u32 = 500;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run through this `.wasm` in the wasmtime host instead of the native engine.
    pub wasm: Option<PathBuf>,
    /// Print every case, not only failures.
    pub verbose: bool,
    /// Compile options (Secrets assumed to exist, cluster names).
    pub compile: Options,
    /// Seed of the random source behind weighted choices.
    pub seed: u64,
    /// The rate limit service Global rate-limit cases call. Without one (nor
    /// `rate_limit_address`), each file gets a fresh in-process service
    /// ([`RateLimitService::in_memory`]), which Envoy calls over gRPC.
    pub rate_limit_service: Option<RateLimitService>,
    /// Run through this Envoy binary (with `wasm` as its filter) instead.
    pub envoy: Option<PathBuf>,
    /// `HOST:PORT` of the rate limit service, for an Envoy cluster to point at.
    pub rate_limit_address: Option<String>,
    /// Envoy's listeners carry no gatewasm metadata and bind other ports than the Gateway's
    /// (`--attached`).
    pub attached: bool,
    /// Envoy routes with its own router on the `--emit envoy-routes` tables instead of the
    /// filter (`--native-routes`).
    pub native_routes: bool,
    /// Replace the file's Ingresses by what `gatewasm convert` prints for them, read back
    /// (`--converted`).
    pub converted: bool,
    /// Run the cases against this deployed table instead of compiling the file's objects
    /// (`--blob`).
    pub deployed: Option<std::sync::Arc<crate::inspect::Deployed>>,
}

/// The outcome of one file: what it checked, in order, and what stopped it.
#[derive(Debug, Default)]
pub struct FileReport {
    /// Every case, status expectation and note, in the order they came.
    pub entries: Vec<Entry>,
    /// A problem that stopped the file (unreadable, does not compile).
    pub error: Option<String>,
}

/// One file's run.
#[derive(Debug)]
pub struct FileRun {
    /// The route-test file.
    pub path: PathBuf,
    /// What happened in it.
    pub report: FileReport,
    /// How long it took.
    pub elapsed: std::time::Duration,
}

/// One thing a file's run produced; `phase` names the phase it ran in, if any.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Entry {
    /// A case and what happened to it.
    Case(CaseResult),
    /// A status expectation (`expectStatus`).
    Status {
        /// The phase, if not the file's first state.
        phase: Option<String>,
        /// What was expected, as [`status::describe`] writes it.
        expectation: String,
        /// Why it did not hold; `None` when it held.
        failure: Option<String>,
    },
    /// A status expectation that was not checked: the run has no manifests to take a
    /// status from (`--blob`).
    StatusSkipped {
        /// The phase, if not the file's first state.
        phase: Option<String>,
        /// What was expected, as [`status::describe`] writes it.
        expectation: String,
        /// Why it was not checked.
        reason: String,
    },
    /// Something worth telling that is neither (a reload, a sample drawn again).
    Note {
        /// The phase, if not the file's first state.
        phase: Option<String>,
        /// The note.
        text: String,
    },
}

/// One case's outcome.
#[derive(Debug, Serialize)]
pub struct CaseResult {
    /// The phase, if not the file's first state.
    pub phase: Option<String>,
    /// `#id METHOD path host HOST port PORT (name)`.
    pub label: String,
    /// What happened, in one line (`→ 200 shop/api-v1 /path`); empty when skipped.
    pub summary: String,
    /// How long the case took, in seconds.
    pub seconds: f64,
    /// Passed, failed (and why) or skipped (and why).
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Whether a case passed.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Outcome {
    /// Every expectation held.
    Passed,
    /// Some did not: each failed check.
    Failed {
        /// The failed checks.
        failures: Vec<String>,
    },
    /// The case did not run: it needs a rate limit service the run lacks.
    Skipped {
        /// Why, and what to do about it.
        reason: String,
    },
}

impl FileReport {
    /// True when nothing failed.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.cases_failed() == 0 && self.status_failed() == 0
    }

    /// The cases, in order.
    pub fn cases(&self) -> impl Iterator<Item = &CaseResult> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Case(c) => Some(c),
            _ => None,
        })
    }

    fn count_cases(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.cases().filter(|c| f(&c.outcome)).count()
    }

    fn count_status(&self, held: bool) -> usize {
        let matching =
            |e: &&Entry| matches!(e, Entry::Status { failure, .. } if failure.is_none() == held);
        self.entries.iter().filter(matching).count()
    }

    /// Cases that passed.
    pub fn cases_passed(&self) -> usize {
        self.count_cases(|o| matches!(o, Outcome::Passed))
    }

    /// Cases that failed.
    pub fn cases_failed(&self) -> usize {
        self.count_cases(|o| matches!(o, Outcome::Failed { .. }))
    }

    /// Cases not run: they need a rate limit service and the run has none.
    pub fn cases_skipped(&self) -> usize {
        self.count_cases(|o| matches!(o, Outcome::Skipped { .. }))
    }

    /// Status expectations that held.
    pub fn status_passed(&self) -> usize {
        self.count_status(true)
    }

    /// Status expectations that did not.
    pub fn status_failed(&self) -> usize {
        self.count_status(false)
    }

    /// Status expectations not checked.
    pub fn status_skipped(&self) -> usize {
        let skipped = |e: &&Entry| matches!(e, Entry::StatusSkipped { .. });
        self.entries.iter().filter(skipped).count()
    }

    /// What to print under the file's line: failures, skips and notes; passing cases too
    /// when `verbose`.
    pub fn details(&self, verbose: bool) -> String {
        let mut out = String::new();
        for entry in &self.entries {
            let _ = match entry {
                Entry::Case(c) => write_case(&mut out, c, verbose),
                Entry::Status {
                    phase,
                    expectation,
                    failure: Some(why),
                } => writeln!(
                    out,
                    "  {}status {expectation}: {why}",
                    prefix(phase.as_deref())
                ),
                Entry::Status { .. } => Ok(()),
                Entry::StatusSkipped {
                    phase,
                    expectation,
                    reason,
                } => writeln!(
                    out,
                    "  {}skip status {expectation}: {reason}",
                    prefix(phase.as_deref())
                ),
                Entry::Note { phase, text } => {
                    writeln!(out, "  {}{text}", prefix(phase.as_deref()))
                }
            };
        }
        out
    }
}

/// `[phase] `, or nothing in the file's first state.
fn prefix(phase: Option<&str>) -> String {
    phase.map(|p| format!("[{p}] ")).unwrap_or_default()
}

fn write_case(out: &mut String, c: &CaseResult, verbose: bool) -> std::fmt::Result {
    let (label, prefix) = (&c.label, prefix(c.phase.as_deref()));
    match &c.outcome {
        Outcome::Passed if verbose => {
            writeln!(out, "  {prefix}ok   {label}\n         {}", c.summary)
        }
        Outcome::Passed => Ok(()),
        Outcome::Failed { failures } => {
            writeln!(out, "  {prefix}FAIL {label}\n         {}", c.summary)?;
            failures
                .iter()
                .try_for_each(|f| writeln!(out, "         - {f}"))
        }
        Outcome::Skipped { reason } => {
            writeln!(out, "  {prefix}skip {label}\n         {reason}")
        }
    }
}

/// Runs one route-test file.
pub fn run_file(path: &Path, options: &RunOptions, drivers: &Factory) -> FileReport {
    let mut report = FileReport::default();
    let ran = match &options.deployed {
        Some(deployed) => super::deployed::run_file(path, deployed, options, drivers, &mut report),
        None => run_file_inner(path, options, drivers, &mut report),
    };
    if let Err(e) = ran {
        report.error = Some(e);
    }
    report
}

/// The file at `path`: its display name, its text and its parsed form.
pub(super) fn read(path: &Path) -> Result<(String, String, format::TestFile), String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let file = format::parse(&text).map_err(|e| format!("{name}: not a route-test file: {e}"))?;
    Ok((name, text, file))
}

fn run_file_inner(
    path: &Path,
    options: &RunOptions,
    drivers: &Factory,
    report: &mut FileReport,
) -> Result<(), String> {
    let (name, text, file) = read(path)?;
    let render = |d: crate::diag::Diagnostics| {
        d.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let objects = match file.resources {
        Some(_) => load::load_route_test_resources(&name, &text).map_err(render)?,
        None => load::RouteTestObjects {
            resources: Loaded::default(),
            phase_applies: Vec::new(),
        },
    };
    if file.resources.is_none() && file.manifests.is_empty() {
        return Err(format!(
            "{name}: names no objects to compile: add `manifests:` or `resources:`"
        ));
    }
    let mut state = objects.resources;
    if !file.manifests.is_empty() {
        let base = path.parent().unwrap_or(Path::new("."));
        let paths: Vec<PathBuf> = file.manifests.iter().map(|m| base.join(m)).collect();
        let extra = load::load_paths(&paths).map_err(render)?;
        for object in extra.objects {
            state.apply(object);
        }
    }
    if options.converted {
        state = crate::ingress::reloaded(state).map_err(render)?;
    }
    // A file counts from zero, and its phases share the counts, as they would share a
    // service.
    let in_process;
    let options = if options.rate_limit_service.is_none() && options.rate_limit_address.is_none() {
        in_process = RunOptions {
            rate_limit_service: Some(RateLimitService::in_memory()),
            ..options.clone()
        };
        &in_process
    } else {
        options
    };
    // One driver per Gateway, kept across phases when it can take the new state in place.
    let mut live: BTreeMap<String, Box<dyn Driver>> = BTreeMap::new();
    run_state(
        &state,
        &file.expect_status,
        &file.cases,
        None,
        options,
        drivers,
        &mut live,
        report,
    )?;
    for (phase, applies) in file.phases.iter().zip(objects.phase_applies) {
        apply_changes(&mut state, phase, applies)?;
        run_state(
            &state,
            &phase.expect_status,
            &phase.cases,
            Some(&phase.name),
            options,
            drivers,
            &mut live,
            report,
        )?;
    }
    Ok(())
}

fn apply_changes(
    state: &mut Loaded,
    phase: &Phase,
    applies: Vec<crate::model::Object>,
) -> Result<(), String> {
    for d in &phase.changes.delete {
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.name() == d.kind)
            .ok_or_else(|| {
                format!(
                    "phase {}: cannot delete unknown kind {}",
                    phase.name, d.kind
                )
            })?;
        let namespace = match (&d.namespace, kind.is_namespaced()) {
            (Some(ns), _) => ns.clone(),
            (None, true) => "default".to_owned(),
            (None, false) => String::new(),
        };
        let key = ObjectKey {
            kind,
            namespace,
            name: d.name.clone(),
        };
        if state.delete(&key).is_none() {
            return Err(format!(
                "phase {}: {} {}/{} to delete is not in the state",
                phase.name, d.kind, key.namespace, key.name
            ));
        }
    }
    for object in applies {
        state.apply(object);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_state(
    state: &Loaded,
    expect_status: &[StatusExpectation],
    cases: &[Case],
    phase: Option<&str>,
    options: &RunOptions,
    drivers: &Factory,
    live: &mut BTreeMap<String, Box<dyn Driver>>,
    report: &mut FileReport,
) -> Result<(), String> {
    let prefix = prefix(phase);
    let compiled = compile_gateways(state, cases, options, &prefix)?;
    if let Some(first) = compiled.values().next() {
        check_status(expect_status, first, phase, report);
    }
    let setup = Setup {
        workers: cases.iter().filter_map(|c| c.workers).max().unwrap_or(1),
        rate_limit_service: options.rate_limit_service.clone(),
    };
    start_drivers(&compiled, &setup, options, drivers, live, phase, report)?;
    for case in cases {
        run_one(case, live, options, phase, report)?;
    }
    for (gw, d) in live.iter_mut() {
        d.finish().map_err(|e| format!("{prefix}{gw}: {e}"))?;
    }
    Ok(())
}

/// The state compiled for every Gateway the cases name (any one for a status-only file).
fn compile_gateways(
    state: &Loaded,
    cases: &[Case],
    options: &RunOptions,
    prefix: &str,
) -> Result<BTreeMap<String, Compiled>, String> {
    let mut gateways: BTreeSet<String> = cases.iter().map(|c| c.request.gateway.clone()).collect();
    if gateways.is_empty() {
        // Status only: any Gateway gives the same (global) status.
        let first = state
            .of_kind(Kind::Gateway)
            .next()
            .map(|g| format!("{}/{}", g.meta.namespace, g.meta.name))
            .ok_or("the file has neither cases nor a Gateway")?;
        gateways.insert(first);
    }
    let mut compiled = BTreeMap::new();
    for gw in &gateways {
        let opts = Options {
            gateway: Some(gw.clone()),
            ..options.compile.clone()
        };
        let c = compile(state.clone(), &opts).map_err(|d| {
            format!(
                "{prefix}does not compile for {gw}:\n{}",
                d.iter()
                    .map(|x| format!("  {x}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
        compiled.insert(gw.clone(), c);
    }
    Ok(compiled)
}

/// Counts and reports the status expectations against `compiled`'s status.
fn check_status(
    expect_status: &[StatusExpectation],
    compiled: &Compiled,
    phase: Option<&str>,
    report: &mut FileReport,
) {
    for e in expect_status {
        report.entries.push(Entry::Status {
            phase: phase.map(str::to_owned),
            expectation: status::describe(e),
            failure: status::check(e, &compiled.status).err(),
        });
    }
}

/// Reloads each Gateway's running driver with its new routes, or starts one; stops those
/// no case of this state names.
fn start_drivers(
    compiled: &BTreeMap<String, Compiled>,
    setup: &Setup,
    options: &RunOptions,
    drivers: &Factory,
    live: &mut BTreeMap<String, Box<dyn Driver>>,
    phase: Option<&str>,
    report: &mut FileReport,
) -> Result<(), String> {
    let prefix = prefix(phase);
    // A Gateway no case of this state names keeps no driver (nor an Envoy) running.
    live.retain(|gw, _| compiled.contains_key(gw));
    for (gw, c) in compiled {
        let reloaded = match live.get_mut(gw) {
            Some(d) => d
                .reload(c, setup)
                .map_err(|e| format!("{prefix}{gw}: {e}"))?,
            None => false,
        };
        if reloaded {
            if options.verbose {
                report.entries.push(Entry::Note {
                    phase: phase.map(str::to_owned),
                    text: format!("{gw}: the new routes were applied to the running driver"),
                });
            }
        } else {
            live.insert(gw.clone(), drivers(c.into(), setup)?);
        }
    }
    Ok(())
}

/// Runs one case on its Gateway's driver and reports it.
pub(super) fn run_one(
    case: &Case,
    live: &mut BTreeMap<String, Box<dyn Driver>>,
    options: &RunOptions,
    phase: Option<&str>,
    report: &mut FileReport,
) -> Result<(), String> {
    let label = case_label(case);
    if let Some(by) = &case.advance_clock {
        let by = parse_duration(by).ok_or_else(|| {
            format!("{label}: advanceClock {by:?} is not a duration like 61s, 1m or 500ms")
        })?;
        // Every Gateway's filter, and an in-process rate limit service, see the same time.
        for d in live.values_mut() {
            d.advance_clock(by);
        }
        if let Some(service) = &options.rate_limit_service {
            service.advance_clock(by);
        }
    }
    let driver = live
        .get_mut(&case.request.gateway)
        .ok_or_else(|| format!("no driver for {}", case.request.gateway))?;
    let started = Instant::now();
    let phase = phase.map(str::to_owned);
    let result = |summary: String, outcome: Outcome| CaseResult {
        phase: phase.clone(),
        label: label.clone(),
        summary,
        seconds: started.elapsed().as_secs_f64(),
        outcome,
    };
    let Some((mut failures, mut summary)) = run_case(case, driver.as_mut())? else {
        let reason = "Global rate limits: the driver has no rate limit service";
        let skipped = Outcome::Skipped {
            reason: reason.to_owned(),
        };
        report
            .entries
            .push(Entry::Case(result(String::new(), skipped)));
        return Ok(());
    };
    // In Envoy the filter draws real random numbers (the other drivers are seeded), so a
    // share of a sample is off by more than its tolerance now and then (~1-3 % of
    // 500-request weight checks): one new sample decides, the first miss stays reported.
    if !failures.is_empty() && options.envoy.is_some() && is_sampled(case) {
        report.entries.push(Entry::Note {
            phase: phase.clone(),
            text: format!(
                "note {label}: the first sample missed ({}); drawing a new one",
                failures.join("; ")
            ),
        });
        if let Some((again, s)) = run_case(case, driver.as_mut())? {
            (failures, summary) = (again, s);
        }
    }
    let outcome = if failures.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed { failures }
    };
    report.entries.push(Entry::Case(result(summary, outcome)));
    Ok(())
}

/// True when the case checks shares of a random sample (weights, mirror percentages).
fn is_sampled(case: &Case) -> bool {
    std::iter::once(&case.expect)
        .chain(case.expect_derived.as_ref())
        .any(|e| {
            !e.backend_weights.is_empty()
                || e.mirrored_to.iter().any(|m| m.percent.unwrap_or(100) < 100)
        })
}

pub(super) fn case_label(case: &Case) -> String {
    let r = &case.request;
    let target = match &r.grpc {
        Some(g) => format!("gRPC {}/{}", g.service, g.method),
        None => format!("{} {}", r.method, r.path),
    };
    let host = r.host.as_deref().unwrap_or("(gateway address)");
    let name = case
        .name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    format!("#{} {target} host {host} port {}{name}", case.id, r.port)
}

/// One line saying what happened.
fn summarize(seen: &Observed) -> String {
    let mut s = format!("→ {}", seen.status);
    if let Some(g) = seen.grpc_status {
        let _ = write!(s, " grpc-status {g}");
    }
    match &seen.backend {
        Some(b) => {
            let _ = write!(s, " {b} {}", seen.backend_path.as_deref().unwrap_or(""));
        }
        None => s.push_str(" answered by the gateway"),
    }
    if let Some(loc) = seen.response_header("location") {
        let _ = write!(s, " location {loc}");
    }
    for m in &seen.mirrors {
        let _ = write!(s, " mirror→{}", m.backend);
    }
    s
}

/// A Gateway API style duration: `61s`, `1m30s`, `500ms`, `1h`.
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let mut total = std::time::Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let amount: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, millis) = [("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
            .into_iter()
            .find(|(u, _)| rest.starts_with(u))?;
        rest = &rest[unit.len()..];
        total += std::time::Duration::from_millis(amount.checked_mul(millis)?);
    }
    Some(total)
}

/// What the case reported, or `None` when it needs a rate limit service the run lacks.
type CaseOutcome = Option<(Vec<String>, String)>;

fn run_case(case: &Case, driver: &mut dyn Driver) -> Result<CaseOutcome, String> {
    let upstream: Vec<(String, String)> = case
        .upstream_response_headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut req = SentRequest::from_case(&case.request, &upstream);
    if let Some(delay) = &case.upstream_delay {
        req.upstream_delay = Some(parse_duration(delay).ok_or_else(|| {
            format!("upstreamDelay {delay:?} is not a duration like 3s or 1500ms")
        })?);
    }
    req.source = case.source_address.as_ref().map(|a| {
        if a.contains(':') {
            format!("[{a}]:40000")
        } else {
            format!("{a}:40000")
        }
    });
    let expects: Vec<&format::Expect> = std::iter::once(&case.expect)
        .chain(case.expect_derived.as_ref())
        .collect();
    req.wants_log = expects.iter().any(|e| e.log.is_some());
    let sampled = is_sampled(case);
    let repeat = expects.iter().filter_map(|e| e.repeat).max().unwrap_or(1);
    let n = match case.repeat {
        Some(n) => n.max(1),
        None if sampled => SAMPLES,
        None => repeat.max(1),
    };
    let workers = case.workers.unwrap_or(1).max(1);
    let mut seen = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        req.worker = i % workers;
        seen.push(driver.send(&req)?);
    }
    if seen.iter().any(|o| o.needs_rate_limit_service) {
        return Ok(None);
    }
    let mut statuses: BTreeMap<u16, u32> = BTreeMap::new();
    for o in &seen {
        *statuses.entry(o.status).or_default() += 1;
    }
    let summary = if sampled && case.repeat.is_none() {
        let counts = check::backend_counts(&seen);
        format!("→ {n} requests: {counts:?}")
    } else if case.repeat.is_some() {
        format!(
            "→ {n} requests: statuses {statuses:?}; last {}",
            summarize(&seen[seen.len() - 1])
        )
    } else {
        summarize(&seen[0])
    };
    let headers_named = expects
        .iter()
        .any(|e| e.request_headers.is_some() || !e.request_headers_absent.is_empty());
    let mut failures = Vec::new();
    for e in expects {
        if !e.status_counts.is_empty() && e.status_counts != statuses {
            failures.push(format!(
                "status counts {statuses:?}, expected {:?}",
                e.status_counts
            ));
        }
        // A repeated case checks its other expectations on the last response: the state
        // after every request was counted.
        let checked = if case.repeat.is_some() {
            &seen[seen.len() - 1..]
        } else {
            &seen[..]
        };
        failures.extend(check_all(&case.request, e, checked, headers_named));
    }
    failures.dedup();
    Ok(Some((failures, summary)))
}

fn check_all(
    req: &format::CaseRequest,
    e: &format::Expect,
    seen: &[Observed],
    headers_named: bool,
) -> Vec<String> {
    if !e.backend_weights.is_empty() {
        return weights(e, seen);
    }
    if !e.backend_in.is_empty() {
        return backend_in(e, seen);
    }
    let mut failures = check::single(req, e, &seen[0], headers_named);
    failures.extend(mirrors(req, e, seen));
    failures
}

/// `backendWeights`: each backend's share of the sample within the tolerance.
fn weights(e: &format::Expect, seen: &[Observed]) -> Vec<String> {
    let mut failures = Vec::new();
    let counts = check::backend_counts(seen);
    let tolerance = e.weight_tolerance.unwrap_or(0.05);
    let n = seen.len() as f64;
    for (backend, want) in &e.backend_weights {
        let got = f64::from(counts.get(backend).copied().unwrap_or(0)) / n;
        let bad = if *want == 0.0 {
            got > 0.0
        } else {
            (got - want).abs() > tolerance
        };
        if bad {
            failures.push(format!(
                "{backend}: expected share {want} ± {tolerance}, got {got:.3}"
            ));
        }
    }
    for (backend, count) in &counts {
        if !e.backend_weights.contains_key(backend) {
            failures.push(format!(
                "{count} requests went to {backend}, which has no expected share"
            ));
        }
    }
    failures
}

/// `backendIn`: every request served by one of the backends, with its expected headers.
fn backend_in(e: &format::Expect, seen: &[Observed]) -> Vec<String> {
    let mut failures = Vec::new();
    for o in seen {
        match &o.backend {
            Some(b) if e.backend_in.contains(b) => {
                if let Some(headers) = e.request_headers_by_backend.get(b) {
                    for (name, value) in headers {
                        if o.request_header(name).as_deref() != Some(value) {
                            failures.push(format!(
                                "{b} got {name}: {:?}, expected {value:?}",
                                o.request_header(name)
                            ));
                        }
                    }
                }
            }
            other => failures.push(format!(
                "request served by {other:?}, expected one of {:?}",
                e.backend_in
            )),
        }
    }
    failures.sort();
    failures.dedup();
    failures
}

/// `mirroredTo`: each mirror got copies of the request, all of them or its percentage.
fn mirrors(req: &format::CaseRequest, e: &format::Expect, seen: &[Observed]) -> Vec<String> {
    let mut failures = Vec::new();
    let sampled_mirrors = e.mirrored_to.iter().any(|m| m.percent.unwrap_or(100) < 100);
    for m in &e.mirrored_to {
        let percent = m.percent.unwrap_or(100);
        let copies: Vec<&check::Mirrored> = seen
            .iter()
            .flat_map(|o| o.mirrors.iter())
            .filter(|c| c.backend == m.backend)
            .collect();
        let target = req.target();
        if let Some(c) = copies.iter().find(|c| c.path != target) {
            failures.push(format!(
                "mirror {} got path {}, expected {target}",
                m.backend, c.path
            ));
        }
        let body = req.body.as_deref().unwrap_or_default().as_bytes();
        if let Some(c) = copies.iter().find(|c| c.body != body) {
            failures.push(format!(
                "mirror {} got a body of {} bytes, expected the {} bytes sent",
                m.backend,
                c.body.len(),
                body.len()
            ));
        }
        let hits = copies.len() as u32;
        let ok = if sampled_mirrors {
            check::binomial_ok(hits, seen.len() as u32, f64::from(percent) / 100.0)
        } else {
            hits == seen.len() as u32
        };
        if !ok {
            failures.push(format!(
                "mirror {} received {hits} copies of {} requests, expected {percent}%",
                m.backend,
                seen.len()
            ));
        }
    }
    failures
}
