//! BackendTrafficPolicy local rate limits through the release filter `.wasm` in the wasmtime
//! host: exact admission at the boundary (one worker and four interleaved), refill after the
//! window, Distinct isolation, a bounded slot table under a flood of keys, inverted and CIDR
//! selectors, the 429 and its headers, and the per-rule counters. Global limits with a real
//! rate limit service are in `ratelimit_global.rs`.

mod common;

use common::module;
use std::time::{Duration, Instant};

use gatewasm::compile::{compile, Compiled};
use gatewasm::load;
use gatewasm::resolve::Options;
use gatewasm_host::{Envoy, Exchange, Request};

/// A Gateway on port 80, one route `/` to `default/app:80`, and `policy` (its `spec`).
fn compiled(policy: &str) -> Compiled {
    let text = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: gw, namespace: default}}\n\
         spec:\n  gatewayClassName: gc\n  listeners:\n  - {{name: http, port: 80, protocol: HTTP}}\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: app, namespace: default}}\n\
         spec:\n  parentRefs: [{{name: gw}}]\n  rules:\n  - backendRefs: [{{name: app, port: 80}}]\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {{name: app, namespace: default}}\nspec:\n  ports: [{{port: 80}}]\n---\n\
         apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: BackendTrafficPolicy\nmetadata: {{name: limits, namespace: default}}\n\
         spec:\n  targetRefs: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, name: app}}]\n{policy}"
    );
    let loaded = load::load_str("policy.yaml", &text).expect("loads");
    compile(loaded, &Options::default()).expect("compiles")
}

fn envoy(c: &Compiled, workers: usize) -> Envoy {
    let envoy = Envoy::builder(&module())
        .workers(workers)
        .plugin_config(c.blob.clone())
        .clusters(["default/app:80"])
        .build()
        .expect("the host starts");
    envoy.configure_result().expect("the blob is accepted");
    envoy
}

fn get() -> Request {
    Request::get("http://app.example.com/orders").port(80)
}

/// Statuses of `n` requests, round-robin over `workers`.
fn statuses(
    envoy: &mut Envoy,
    n: usize,
    workers: usize,
    req: impl Fn(usize) -> Request,
) -> Vec<u16> {
    (0..n)
        .map(|i| {
            let ex = envoy.send(req(i).worker(i % workers));
            assert!(
                ex.trap.is_none() && ex.host_errors.is_empty(),
                "{:?} {:?}",
                ex.trap,
                ex.host_errors
            );
            ex.response.status
        })
        .collect()
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

const TEN_PER_MINUTE: &str =
    "  rateLimit:\n    local:\n      rules:\n      - limit: {requests: 10, unit: Minute}\n";

#[test]
fn admits_exactly_the_limit_then_refills_after_the_window() {
    let c = compiled(TEN_PER_MINUTE);
    let mut envoy = envoy(&c, 1);
    let first = statuses(&mut envoy, 15, 1, |_| get());
    assert_eq!(&first[..10], &[200; 10]);
    assert_eq!(&first[10..], &[429; 5]);
    envoy.advance_clock(Duration::from_secs(59));
    assert_eq!(
        statuses(&mut envoy, 1, 1, |_| get()),
        [429],
        "the window has not ended"
    );
    envoy.advance_clock(Duration::from_secs(1));
    let refilled = statuses(&mut envoy, 12, 1, |_| get());
    assert_eq!((count(&refilled, 200), count(&refilled, 429)), (10, 2));
    assert_eq!(
        envoy.counter("gatewasm.ratelimit.default/limits.local.rule_0.allowed"),
        Some(20)
    );
    assert_eq!(
        envoy.counter("gatewasm.ratelimit.default/limits.local.rule_0.limited"),
        Some(8)
    );
}

#[test]
fn four_interleaved_workers_admit_exactly_the_limit() {
    let c = compiled(
        "  rateLimit:\n    local:\n      rules:\n      - limit: {requests: 1000, unit: Hour}\n",
    );
    let mut envoy = envoy(&c, 4);
    let all = statuses(&mut envoy, 1200, 4, |_| get());
    assert_eq!((count(&all, 200), count(&all, 429)), (1000, 200));
    // Every worker served its share of the admitted requests: the bucket is shared.
    for w in 0..4 {
        let mine: Vec<u16> = all.iter().skip(w).step_by(4).copied().collect();
        assert_eq!(count(&mine, 200), 250, "worker {w}");
    }
}

#[test]
fn a_429_carries_the_rate_limit_headers() {
    let c = compiled(TEN_PER_MINUTE);
    let mut envoy = envoy(&c, 1);
    let ok = envoy.send(get());
    assert_eq!(
        ok.response.header("x-ratelimit-limit").as_deref(),
        Some("10, 10;w=60")
    );
    assert_eq!(
        ok.response.header("x-ratelimit-remaining").as_deref(),
        Some("9")
    );
    statuses(&mut envoy, 9, 1, |_| get());
    envoy.advance_clock(Duration::from_secs(20));
    let denied: Exchange = envoy.send(get());
    assert_eq!(denied.response.status, 429);
    assert!(
        denied.upstream.is_none(),
        "a limited request never reaches the backend"
    );
    assert_eq!(
        denied.response.header("x-ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(
        denied.response.header("x-ratelimit-reset").as_deref(),
        Some("40")
    );
    assert_eq!(denied.response.header("retry-after").as_deref(), Some("40"));
}

#[test]
fn distinct_clients_have_their_own_buckets() {
    let c = compiled(
        "  rateLimit:\n    local:\n      rules:\n      - clientSelectors:\n        - headers: [{name: x-api-key, type: Distinct}]\n        limit: {requests: 3, unit: Minute}\n",
    );
    let mut envoy = envoy(&c, 2);
    let key = |k: &'static str| move |_| get().header("x-api-key", k);
    let a = statuses(&mut envoy, 5, 2, key("alice"));
    let b = statuses(&mut envoy, 5, 2, key("bob"));
    assert_eq!(a, [200, 200, 200, 429, 429]);
    assert_eq!(
        b,
        [200, 200, 200, 429, 429],
        "alice's use does not touch bob's bucket"
    );
    let none = statuses(&mut envoy, 5, 2, |_| get());
    assert_eq!(
        none, [200; 5],
        "without the header the Distinct rule does not apply"
    );
}

#[test]
fn a_flood_of_distinct_keys_stays_within_the_slot_table() {
    let c = compiled(
        "  rateLimit:\n    local:\n      rules:\n      - clientSelectors:\n        - headers: [{name: x-api-key, type: Distinct}]\n        limit: {requests: 5, unit: Minute}\n",
    );
    let mut envoy = envoy(&c, 1);
    // scripts/test-ratelimit floods with 1,000,000 keys; the everyday run with fewer (each
    // request is ~0.1 ms in a debug host).
    let keys: usize = std::env::var("GATEWASM_FLOOD_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let mut admitted = 0usize;
    let mut before = Vec::new();
    for i in 0..keys {
        if i == 10_000 {
            // After the slot table filled and the allocator warmed up.
            before = envoy.memory_sizes();
        }
        let ex = envoy.send(get().header("x-api-key", format!("k{i}")));
        admitted += usize::from(ex.response.status == 200);
    }
    // 4096 slots by default: never more keys, however many clients.
    assert!(
        envoy.shared_data_keys() <= 4096,
        "{} keys",
        envoy.shared_data_keys()
    );
    // Every client has a bucket of its own: none is denied its first request because of
    // another; a full table evicts the oldest bucket instead, and counts it.
    assert_eq!(admitted, keys, "first requests denied");
    let evicted = envoy
        .counter("gatewasm.ratelimit.default/limits.local.rule_0.evicted")
        .unwrap_or(0);
    assert!(
        evicted as usize >= keys.saturating_sub(4096),
        "{evicted} evictions"
    );
    let after = envoy.memory_sizes();
    println!(
        "{keys} distinct keys: {} shared-data keys, {admitted} admitted, {evicted} evicted, VM memory {after:?} bytes",
        envoy.shared_data_keys()
    );
    assert_eq!(before, after, "the VM's memory did not grow");
}

#[test]
fn inverted_and_cidr_selectors_pick_their_clients() {
    let c = compiled(
        "  rateLimit:\n    local:\n      rules:\n      - clientSelectors:\n        - headers: [{name: x-user-tier, value: premium, invert: true}]\n          sourceCIDR: {value: 10.0.0.0/8}\n        limit: {requests: 2, unit: Minute}\n",
    );
    let mut envoy = envoy(&c, 1);
    let from = |addr: &'static str, tier: Option<&'static str>| {
        move |_| {
            let r = get().source(addr);
            match tier {
                Some(t) => r.header("x-user-tier", t),
                None => r,
            }
        }
    };
    // Inside 10/8 and not premium (including no tier at all): limited to 2.
    assert_eq!(
        statuses(&mut envoy, 3, 1, from("10.1.2.3:5000", None)),
        [200, 200, 429]
    );
    assert_eq!(
        statuses(&mut envoy, 1, 1, from("10.9.9.9:5000", Some("free"))),
        [429]
    );
    // Premium, or outside the range: the rule does not apply.
    assert_eq!(
        statuses(&mut envoy, 5, 1, from("10.1.2.3:5000", Some("premium"))),
        [200; 5]
    );
    assert_eq!(
        statuses(&mut envoy, 5, 1, from("192.168.1.1:5000", None)),
        [200; 5]
    );
}

#[test]
fn distinct_source_addresses_are_counted_apart() {
    let c = compiled(
        "  rateLimit:\n    local:\n      rules:\n      - clientSelectors:\n        - sourceCIDR: {value: 0.0.0.0/0, type: Distinct}\n        limit: {requests: 1, unit: Second}\n",
    );
    let mut envoy = envoy(&c, 1);
    let from = |addr: &'static str| move |_| get().source(addr);
    assert_eq!(statuses(&mut envoy, 2, 1, from("10.0.0.7:1")), [200, 429]);
    assert_eq!(statuses(&mut envoy, 2, 1, from("10.0.0.8:1")), [200, 429]);
    envoy.advance_clock(Duration::from_secs(1));
    assert_eq!(statuses(&mut envoy, 1, 1, from("10.0.0.7:1")), [200]);
}

#[test]
fn per_request_cost_of_a_local_limit() {
    let plain = compiled("  rateLimit:\n    local:\n      rules:\n      - clientSelectors: [{headers: [{name: x-never, value: x}]}]\n        limit: {requests: 1, unit: Second}\n");
    let limited = compiled(
        "  rateLimit:\n    local:\n      rules:\n      - limit: {requests: 4000000000, unit: Hour}\n",
    );
    let measure = |c: &Compiled| {
        let mut envoy = envoy(c, 1);
        envoy.send(get());
        let n = 2000u64;
        let start = Instant::now();
        let fuel: u64 = (0..n).map(|_| envoy.send(get()).fuel).sum();
        (fuel / n, start.elapsed() / n as u32)
    };
    let (base_fuel, base_time) = measure(&plain);
    let (rl_fuel, rl_time) = measure(&limited);
    println!("route without a matching rule: {base_fuel} fuel, {base_time:?} per request");
    println!("route with a local limit:      {rl_fuel} fuel, {rl_time:?} per request");
    assert!(rl_fuel > base_fuel, "taking a token costs something");
}
