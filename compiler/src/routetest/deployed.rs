//! `gatewasm test --blob`: a route-test file's cases run against a deployed table instead of
//! the file's own objects, which are not read. What needs those objects is counted as not
//! run: status expectations, the cases of phases (each phase changes the objects, the blob
//! holds one state) and cases for another Gateway than the blob's.

use std::collections::BTreeMap;
use std::path::Path;

use super::driver::{Driver, Factory, RateLimitService, Routes, Setup};
use super::format::{Case, StatusExpectation};
use super::run::{case_label, run_one, CaseResult, Entry, FileReport, Outcome, RunOptions};
use super::status;
use crate::inspect::Deployed;

/// Runs the cases of the file at `path` against `deployed`.
///
/// # Errors
/// An unreadable file, or a driver that failed.
pub fn run_file(
    path: &Path,
    deployed: &Deployed,
    options: &RunOptions,
    drivers: &Factory,
    report: &mut FileReport,
) -> Result<(), String> {
    let (_, _, file) = super::run::read(path)?;
    // A file counts from zero, as when it runs on its own objects.
    let service = options
        .rate_limit_service
        .clone()
        .unwrap_or_else(RateLimitService::in_memory);
    let options = RunOptions {
        rate_limit_service: Some(service.clone()),
        ..options.clone()
    };
    let setup = Setup {
        workers: file
            .cases
            .iter()
            .filter_map(|c| c.workers)
            .max()
            .unwrap_or(1),
        rate_limit_service: Some(service),
    };
    let routes = Routes {
        blob: &deployed.blob,
        table: &deployed.table,
        compiled: None,
    };
    let gateway = deployed.table.gateway.clone();
    let mut live: BTreeMap<String, Box<dyn Driver>> = BTreeMap::new();
    live.insert(gateway.clone(), drivers(routes, &setup)?);
    skip_status(&file.expect_status, None, report);
    for case in &file.cases {
        if case.request.gateway == gateway {
            run_one(case, &mut live, &options, None, report)?;
        } else {
            let why = format!(
                "the case is for Gateway {}, the blob is Gateway {gateway}'s",
                case.request.gateway
            );
            skip_case(case, None, &why, report);
        }
    }
    for phase in &file.phases {
        let name = Some(phase.name.as_str());
        skip_status(&phase.expect_status, name, report);
        for case in &phase.cases {
            let why = "the phase changes the objects; the blob holds one state";
            skip_case(case, name, why, report);
        }
    }
    for d in live.values_mut() {
        d.finish().map_err(|e| format!("{gateway}: {e}"))?;
    }
    Ok(())
}

fn skip_case(case: &Case, phase: Option<&str>, why: &str, report: &mut FileReport) {
    report.entries.push(Entry::Case(CaseResult {
        phase: phase.map(str::to_owned),
        label: case_label(case),
        summary: String::new(),
        seconds: 0.0,
        outcome: Outcome::Skipped {
            reason: why.to_owned(),
        },
    }));
}

fn skip_status(expectations: &[StatusExpectation], phase: Option<&str>, report: &mut FileReport) {
    for e in expectations {
        report.entries.push(Entry::StatusSkipped {
            phase: phase.map(str::to_owned),
            expectation: status::describe(e),
            reason: "a blob has no status (test the manifests for it)".to_owned(),
        });
    }
}
