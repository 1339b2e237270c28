//! `--format json` (`-o json`): what `compile` and `test` tell people, as one JSON document
//! on standard output for programs. Diagnostics serialize through their serde derive
//! ([`crate::diag::Diagnostic`]), so a field added there appears here without a change.

use std::io::Write;

use serde::Serialize;

use crate::cli::{Report, TestResults, Totals};
use crate::compile::Compiled;
use crate::diag::Diagnostics;
use crate::routetest::run::Entry;

/// What `gatewasm compile` produced.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompileSummary {
    /// The Gateway compiled, `namespace/name`.
    gateway: String,
    listeners: usize,
    routes: usize,
    rules: usize,
    matches: usize,
    backends: usize,
    /// Where the blob and the documents went (`-`: standard output).
    outputs: Vec<String>,
    /// The blob's size in bytes.
    blob_bytes: usize,
    /// The blob's SHA-256, lowercase hex: pipelines compare blobs by it.
    blob_sha256: String,
}

impl CompileSummary {
    /// The summary of `compiled`, written to `outputs`.
    pub fn new(compiled: &Compiled, outputs: Vec<String>) -> CompileSummary {
        let t = &compiled.table;
        CompileSummary {
            gateway: t.gateway.to_string(),
            listeners: t.listeners.len(),
            routes: t.routes.len(),
            rules: t.rules.len(),
            matches: t.matches.len(),
            backends: t.backends.len(),
            outputs,
            blob_bytes: compiled.blob.len(),
            blob_sha256: crate::emit::sha256_hex(&compiled.blob),
        }
    }
}

/// `compile --format json`: the exit code, the summary when it compiled, every diagnostic.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompileDocument<'a> {
    exit_code: u8,
    compiled: Option<CompileSummary>,
    diagnostics: &'a Diagnostics,
}

/// The document for a finished `compile`.
pub fn compile(report: &Report, compiled: Option<CompileSummary>) -> CompileDocument<'_> {
    CompileDocument {
        exit_code: report.code,
        compiled,
        diagnostics: &report.diagnostics,
    }
}

/// `test -o json`: the exit code, the driver, every file with every case, and the totals.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDocument<'a> {
    exit_code: u8,
    driver: Option<&'a str>,
    files: Vec<TestFile<'a>>,
    totals: Option<&'a Totals>,
    seconds: Option<f64>,
    diagnostics: &'a Diagnostics,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TestFile<'a> {
    file: String,
    ok: bool,
    seconds: f64,
    error: Option<&'a str>,
    results: &'a [Entry],
}

/// The document for a finished `test`; `results` is `None` when nothing ran.
pub fn test<'a>(report: &'a Report, results: Option<&'a TestResults>) -> TestDocument<'a> {
    let files = results.map_or_else(Vec::new, |r| {
        r.files
            .iter()
            .map(|f| TestFile {
                file: f.path.display().to_string(),
                ok: f.report.ok(),
                seconds: f.elapsed.as_secs_f64(),
                error: f.report.error.as_deref(),
                results: &f.report.entries,
            })
            .collect()
    });
    TestDocument {
        exit_code: report.code,
        driver: results.map(|r| r.driver.as_str()),
        files,
        totals: results.map(|r| &r.totals),
        seconds: results.map(|r| r.elapsed.as_secs_f64()),
        diagnostics: &report.diagnostics,
    }
}

/// Writes `document` to standard output.
///
/// # Errors
/// When it cannot be written, with a message saying so.
pub fn print(document: &impl Serialize) -> Result<(), String> {
    serde_json::to_string_pretty(document)
        .map_err(|e| e.to_string())
        .and_then(|text| writeln!(std::io::stdout().lock(), "{text}").map_err(|e| e.to_string()))
        .map_err(|e| format!("cannot write the JSON report to standard output: {e}"))
}
