//! Helpers the integration tests share: where the repository and the release `.wasm` are.

#![allow(dead_code)] // each test binary uses the part it needs

use std::path::{Path, PathBuf};

use gatewasm_host::WasmModule;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The release filter `.wasm` users deploy.
pub fn release_wasm() -> PathBuf {
    let path = repo().join("target/wasm32-wasip1/release/gatewasm_filter.wasm");
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-wasm first",
        path.display()
    );
    path
}

/// The release filter, compiled once per test binary.
pub fn module() -> WasmModule {
    WasmModule::load(release_wasm()).expect("the release filter loads")
}
