//! The Gateway API conformance corpus, every file, natively and through the release `.wasm`.

mod common;

use std::path::PathBuf;

use gatewasm::cli::driver_factory;
use gatewasm::resolve::Options;
use gatewasm::routetest::run::{run_file, RunOptions};

/// The corpus files. A missing corpus fails the test: a run that checked nothing must not
/// pass.
fn corpus() -> Vec<PathBuf> {
    let dir = common::repo().join("../shared/conformance");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the conformance corpus is not at {} ({e}): put the shared corpus beside the repository",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("base.yaml"))
        .collect();
    files.sort();
    files
}

fn run(wasm: Option<PathBuf>) {
    let files = corpus();
    assert_eq!(files.len(), 60, "the corpus has 60 test files");
    let options = RunOptions {
        wasm,
        verbose: false,
        compile: Options {
            // Created by the upstream suite at run time; `does-not-exist` must stay missing.
            assume_secrets: vec!["gateway-conformance-infra/tls-validity-checks-certificate".into()],
            ..Options::default()
        },
        seed: 0x5eed,
        ..RunOptions::default()
    };
    let (factory, _) = driver_factory(&options).expect("driver");
    let (mut cases, mut statuses, mut failures) = (0, 0, Vec::new());
    for f in &files {
        let r = run_file(f, &options, &factory);
        cases += r.cases_passed();
        statuses += r.status_passed();
        if !r.ok() {
            failures.push(format!(
                "{}: {:?}\n{}",
                f.display(),
                r.error,
                r.details(false)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!((cases, statuses), (322, 183));
}

#[test]
fn corpus_native() {
    run(None);
}

#[test]
fn corpus_through_the_release_wasm() {
    run(Some(common::release_wasm()));
}
