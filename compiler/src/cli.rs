//! The subcommands behind `main`: each takes parsed arguments, writes to the given error
//! stream (and stdout for results), and returns the exit code.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::compile::{compile as compile_loaded, Compiled};
use crate::diag::Diagnostics;
use crate::load;
use crate::resolve::Options;
use crate::routetest::driver::{Driver, Factory};
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
    let loaded = load::load_paths(paths).map_err(|d| {
        print_diagnostics(&d, err);
        let _ = writeln!(
            err,
            "error: {} problems; nothing was compiled",
            d.error_count()
        );
        ERROR
    })?;
    compile_loaded(loaded, options).map_err(|d| {
        print_diagnostics(&d, err);
        let _ = writeln!(
            err,
            "error: {} problems; nothing was compiled",
            d.error_count()
        );
        ERROR
    })
}

/// `gatewasm compile`.
pub fn compile(
    paths: &[PathBuf],
    options: &Options,
    output: &Path,
    strict: bool,
    err: &mut dyn Write,
) -> u8 {
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
    let written = if output == Path::new("-") {
        std::io::stdout().lock().write_all(&compiled.blob)
    } else {
        std::fs::write(output, &compiled.blob)
    };
    if let Err(e) = written {
        let _ = writeln!(err, "error: cannot write {}: {e}", output.display());
        return ERROR;
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
        output.display(),
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

/// `gatewasm test`.
pub fn test(
    paths: &[PathBuf],
    wasm: Option<PathBuf>,
    verbose: bool,
    compile: Options,
    err: &mut dyn Write,
) -> u8 {
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
    };
    let factory = match driver_factory(&options) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ERROR;
        }
    };
    let mut out = std::io::stdout().lock();
    let (mut cases_ok, mut cases_bad, mut status_ok, mut status_bad, mut files_bad) =
        (0, 0, 0, 0, 0);
    for f in &files {
        let r = run_file(f, &options, &factory);
        cases_ok += r.cases_passed;
        cases_bad += r.cases_failed;
        status_ok += r.status_passed;
        status_bad += r.status_failed;
        let verdict = if r.ok() { "ok  " } else { "FAIL" };
        if !r.ok() {
            files_bad += 1;
        }
        let _ = writeln!(
            out,
            "{verdict} {}: {} cases passed, {} failed; {} status passed, {} failed",
            f.display(),
            r.cases_passed,
            r.cases_failed,
            r.status_passed,
            r.status_failed
        );
        if let Some(e) = &r.error {
            let _ = writeln!(out, "  error: {e}");
        }
        let _ = out.write_all(r.details.as_bytes());
    }
    let engine = match &wasm {
        Some(p) => format!("through {}", p.display()),
        None => "native engine".to_owned(),
    };
    let _ = writeln!(
        out,
        "{} files ({engine}); status expectations: {status_ok} passed, {status_bad} failed",
        files.len()
    );
    // Last, alone on its line, in the form CI summaries read.
    let _ = writeln!(out, "cases: {cases_ok} passed, {cases_bad} failed");
    if files_bad == 0 {
        OK
    } else {
        FAILED
    }
}

/// The driver the options ask for: native, or the `.wasm` in the host.
///
/// # Errors
/// When the `.wasm` cannot be loaded.
pub fn driver_factory(options: &RunOptions) -> Result<Factory, String> {
    let seed = options.seed;
    match &options.wasm {
        None => Ok(Box::new(move |c: &Compiled| {
            let config = gatewasm_filter::config::parse(Some(&c.blob)).map_err(|e| e.message)?;
            Ok(Box::new(Native::new(config, seed)) as Box<dyn Driver>)
        })),
        #[cfg(feature = "wasm-host")]
        Some(path) => crate::routetest::wasm::factory(path, seed),
        #[cfg(not(feature = "wasm-host"))]
        Some(_) => Err(
            "this gatewasm was built without the `wasm-host` feature: --wasm is not available"
                .to_owned(),
        ),
    }
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
