//! gatewasm's filter crate: Gateway API routing evaluated inside a proxy.
//!
//! * [`blob`] — the compiled route table and its versioned, checksummed wire format. The
//!   compiler writes it; everything else reads it through [`blob::decode`].
//! * [`engine`] — plain Rust routing semantics: given a table and a request, a
//!   [`engine::Decision`]. The single source of truth for what a request does.
//! * [`access`] — Envoy Gateway SecurityPolicy client-address authorization after routing,
//!   before rate limits.
//! * [`ratelimit`] — Envoy Gateway BackendTrafficPolicy rate limits after routing: local
//!   token buckets in shared data and calls to Envoy's rate limit service.
//! * [`regex_size`] — what a regular expression's program costs, as RE2 counts it: the
//!   compiler's limit and the engine's per-request budget.
//! * [`quote`] — untrusted values in messages: escaped, cut, their length stated.
//! * [`config`] — the plugin configuration (a raw blob, or JSON carrying one plus options).
//! * [`host`] — the host boundary: the [`host::Host`] trait, all the filter needs from a
//!   proxy.
//! * [`pairs`] — the proxy-wasm map encoding (header maps, local reply headers).
//! * [`stream`] — one HTTP stream's handling against a [`host::Host`]: read the request, ask
//!   the engine, apply the decision. The proxy-wasm glue and the CLI's native test runner
//!   both drive it, so they cannot disagree.
//! * `proxy` (wasm32-wasip1 only) — the thin proxy-wasm adapter that implements
//!   [`host::Host`] with the SDK's host calls.

#![deny(missing_docs)]

pub mod access;
pub mod blob;
pub mod config;
pub mod decision_log;
pub mod engine;
pub mod host;
pub mod metrics;
pub mod pairs;
pub mod quote;
pub mod ratelimit;
pub mod regex_size;
pub mod stream;

// Only for WASI hosts (Envoy): in the browser playground (wasm32-unknown-unknown) there is no
// proxy-wasm host to import from.
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod proxy;
