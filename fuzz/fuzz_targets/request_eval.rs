//! Fixed route tables, compiled once at start-up, against any request: the match index
//! (`Strategy::Indexed`) must decide exactly as the linear scan (`Strategy::Linear`, the
//! reference), and what the filter uses (`Strategy::Auto`) exactly as the index. A divergence
//! is the one intended panic here.
//!
//! Tables: the example shop (`manifests/examples`) and `fuzz/tables/mixed.yaml` (every kind of
//! path, host, header, query and gRPC condition). Input: `[table][request bytes]`.
#![no_main]

use arbitrary::Unstructured;
use gatewasm::compile::compile;
use gatewasm::load::Loader;
use gatewasm::resolve::Options;
use gatewasm_filter::engine::{Decision, Dice, ReplyReason, Router, Strategy};
use gatewasm_fuzz::{requests, Dict};
use libfuzzer_sys::fuzz_target;

struct Table {
    name: &'static str,
    router: Router,
    dict: Dict,
}

const TABLES: &[(&str, &[(&str, &str)])] = &[
    (
        "manifests/examples",
        &[
            (
                "gateway.yaml",
                include_str!("../../manifests/examples/gateway.yaml"),
            ),
            (
                "backends.yaml",
                include_str!("../../manifests/examples/backends.yaml"),
            ),
            (
                "routes.yaml",
                include_str!("../../manifests/examples/routes.yaml"),
            ),
        ],
    ),
    (
        "fuzz/tables/mixed.yaml",
        &[("mixed.yaml", include_str!("../tables/mixed.yaml"))],
    ),
];

fn compile_tables() -> Vec<Table> {
    TABLES
        .iter()
        .map(|(name, files)| {
            let mut loader = Loader::new();
            for (file, text) in *files {
                loader.add_str(file, text);
            }
            // A table that does not compile is a broken harness, not a finding.
            let loaded = loader
                .finish()
                .into_result()
                .unwrap_or_else(|e| panic!("{name} does not load: {e:?}"));
            let compiled = compile(loaded, &Options::default())
                .unwrap_or_else(|e| panic!("{name} does not compile: {e:?}"));
            let router = Router::from_blob(&compiled.blob)
                .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
            let dict = Dict::of(router.table());
            Table { name, router, dict }
        })
        .collect()
}

thread_local! {
    // The router caches compiled regexes in cells, so it is not `Sync`; libFuzzer calls the
    // target from one thread.
    static COMPILED: Vec<Table> = compile_tables();
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    COMPILED.with(|tables| {
        let table = &tables[usize::from(which) % tables.len()];
        check(table, rest);
    });
});

fn check(table: &Table, rest: &[u8]) {
    let mut u = Unstructured::new(rest);
    for r in requests(&mut u, 8) {
        let owned = r.build(&table.dict);
        let headers = owned.headers();
        let req = owned.request(&headers);
        let indexed = table.router.evaluate_with(
            Strategy::Indexed,
            &req,
            &mut Dice::new(r.seed),
            &mut |_, _| {},
        );
        let linear = table.router.evaluate_with(
            Strategy::Linear,
            &req,
            &mut Dice::new(r.seed),
            &mut |_, _| {},
        );
        // What the filter uses (`Strategy::Auto`, a scan of small listeners without
        // expressions) decides exactly as the index, regex budget included.
        let auto = table.router.evaluate_with(
            Strategy::Auto,
            &req,
            &mut Dice::new(r.seed),
            &mut |_, _| {},
        );
        assert_eq!(
            auto, indexed,
            "Auto and the index disagree on table {}",
            table.name
        );
        // The index skips expressions that cannot match, the scan runs them all: only the
        // scan may run out of its regular expression budget where the index did not.
        if is_budget_reply(&linear.1) {
            continue;
        }
        assert_eq!(
            indexed, linear,
            "index and linear scan disagree on table {}, request {owned:#?}",
            table.name
        );
    }
}

fn is_budget_reply(d: &Decision<'_>) -> bool {
    matches!(d, Decision::Reply(r) if matches!(
        r.reason,
        ReplyReason::RegexBudgetUri | ReplyReason::RegexBudgetHeader
    ))
}
