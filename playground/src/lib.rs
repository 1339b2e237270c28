//! gatewasm in the browser: the compiler and the routing engine behind a small wasm-bindgen
//! surface for the playground page (`playground/www`).
//!
//! Nothing here decides anything about routing. The page's text goes through
//! [`gatewasm::load::load_str`], [`gatewasm::compile::compile`] and
//! [`gatewasm::explain::explain`] exactly as `gatewasm compile FILE` and `gatewasm explain`
//! run them, so the blob the page offers for download is byte for byte the CLI's. This crate
//! only turns the results into JSON for the page ([`report`]).

use gatewasm::compile::{compile, Compiled};
use gatewasm::diag::Diagnostics;
use gatewasm::load::load_str;
use gatewasm::resolve::Options;
use wasm_bindgen::prelude::*;

mod report;

/// One compilation of the editor's text, kept so that every request the user explains runs
/// against the same compiled table without compiling again.
#[wasm_bindgen]
pub struct Compilation {
    result: Result<Compiled, Diagnostics>,
}

#[wasm_bindgen]
impl Compilation {
    /// Compiles `text` as if it were the file `file` given to the CLI: the name ends up in
    /// the blob (every route's `file:line`), so it must match for the bytes to match.
    /// `gateway` (`namespace/name`, or empty) is the CLI's `--gateway`.
    #[wasm_bindgen(constructor)]
    pub fn new(file: &str, text: &str, gateway: &str) -> Compilation {
        let options = Options {
            gateway: (!gateway.trim().is_empty()).then(|| gateway.trim().to_owned()),
            ..Options::default()
        };
        Compilation {
            result: load_str(file, text).and_then(|loaded| compile(loaded, &options)),
        }
    }

    /// Diagnostics, summary and route status as JSON (see [`report::render`]).
    pub fn report(&self) -> String {
        report::render(&self.result)
    }

    /// The blob, when compilation succeeded.
    pub fn blob(&self) -> Option<Vec<u8>> {
        self.result.as_ref().ok().map(|c| c.blob.clone())
    }

    /// `gatewasm explain` for one request. `headers` holds one `Name: value` per line; `port`
    /// and `sni` default as on the command line (from the URL).
    ///
    /// # Errors
    /// When the manifests did not compile, or the URL or a header is malformed.
    pub fn explain(
        &self,
        method: &str,
        url: &str,
        headers: &str,
        port: Option<u16>,
        sni: Option<String>,
    ) -> Result<String, JsError> {
        let compiled = self
            .result
            .as_ref()
            .map_err(|_| JsError::new("the manifests do not compile; fix the errors first"))?;
        let headers: Vec<String> = headers
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let sni = sni.filter(|s| !s.trim().is_empty());
        let request = gatewasm::explain::ExplainRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            headers,
            port,
            sni,
            source: None,
        };
        gatewasm::explain::explain(gatewasm::explain::Against::Manifests(compiled), &request)
            .map_err(|e| JsError::new(&e))
    }
}
