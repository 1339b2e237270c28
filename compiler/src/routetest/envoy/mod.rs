//! `gatewasm test --envoy`: route tests as real traffic through a real Envoy running the
//! emitted bootstrap and ConfigMap files, with an in-process echo upstream behind every
//! cluster.

pub mod certs;
pub mod client;
mod deploy;
mod driver;
#[cfg(test)]
mod hot_swap_test;
mod kubelet;
mod process;
mod ratelimit;
#[cfg(test)]
mod readiness_test;
#[cfg(test)]
mod selftest;
pub mod upstream;

pub use driver::{factory, version, Patch, Setting};
