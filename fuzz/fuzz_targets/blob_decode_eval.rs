//! Any bytes → `Router::from_blob`; a blob that decodes is evaluated against a few requests
//! built from the rest of the input, with both strategies, and the rate limit rules that
//! govern a matched rule are selected. Nothing may panic: `decode` promises that every index
//! the engine follows has been checked.
//!
//! Input: `[mode][len: u16 LE][blob part][request bytes]`; see `gatewasm_fuzz::BlobInput`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use gatewasm_filter::engine::{path, Decision, Router, Strategy};
use gatewasm_filter::ratelimit;
use gatewasm_fuzz::{evaluate, requests, BlobInput, Dict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(input) = BlobInput::split(data) else {
        return;
    };
    let Ok(router) = Router::from_blob(&input.blob) else {
        return;
    };
    let dict = Dict::of(router.table());
    let mut u = Unstructured::new(input.rest);
    let client = String::arbitrary(&mut u).unwrap_or_default();
    let client = ratelimit::parse_client(&client);
    for r in requests(&mut u, 4) {
        let owned = r.build(&dict);
        let headers = owned.headers();
        let req = owned.request(&headers);
        let _ = evaluate(&router, Strategy::Linear, &req, r.seed);
        let (listener, decision) = router.evaluate_with(
            Strategy::Indexed,
            &req,
            &mut gatewasm_filter::engine::Dice::new(r.seed),
            &mut |_, _| {},
        );
        let (Some(listener), Decision::Forward(fwd)) = (listener, decision) else {
            continue;
        };
        let Ok(target) = path::normalize(req.path) else {
            continue;
        };
        let facts = ratelimit::Facts {
            method: req.method,
            path: &target.path,
            query: target.query,
            headers: req.headers,
            client_ip: client.as_ref().map(|(ip, _)| ip.as_slice()),
            client_text: client.as_ref().map_or("", |(_, t)| t.as_str()),
            budget: &gatewasm_filter::engine::Budget::default(),
        };
        if let Ok(Some(plan)) = ratelimit::plan(&router, listener, fwd.rule, &facts) {
            for (rule, entries) in &plan.local {
                let _ = ratelimit::bucket_keys(plan.policy, rule, &plan.route, entries);
            }
            for (rule, entries) in &plan.global {
                let _ = ratelimit::descriptor(plan.policy, rule, &plan.route, entries);
            }
        }
    }
});
