//! `gatewasm test --envoy`: route tests as real traffic through a real Envoy running the
//! emitted bootstrap and ConfigMap files, with an in-process echo upstream behind every
//! cluster. The Envoy benchmark (`compiler/examples/envoy_bench.rs`) deploys and starts
//! Envoy with the same pieces.

pub mod certs;
pub mod client;
pub mod deploy;
mod driver;
#[cfg(test)]
mod hot_swap_test;
pub mod kubelet;
pub mod process;
mod ratelimit;
#[cfg(test)]
mod readiness_test;
#[cfg(test)]
mod selftest;
pub mod upstream;

pub use driver::{factory, version, Patch, Setting, TempDir};
