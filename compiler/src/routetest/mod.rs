//! Route tests: files in the Gateway API conformance corpus format, run against the
//! compiled routes either natively or through the `.wasm` in the wasmtime host.

pub mod check;
mod deployed;
pub mod driver;
#[cfg(feature = "envoy")]
pub mod envoy;
pub mod format;
pub mod junit;
pub mod native;
pub mod ratelimit_service;
pub mod run;
mod status;
#[cfg(feature = "wasm-host")]
pub mod wasm;
