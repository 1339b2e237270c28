//! `gatewasm-host`: a proxy-wasm ABI 0.2.1 host on wasmtime that loads a filter `.wasm` and
//! drives it the way Envoy does (see `docs/proxy-wasm-host.md` in the shared docs).
//!
//! ```no_run
//! use gatewasm_host::{Envoy, Request, WasmModule};
//! let module = WasmModule::load("filter.wasm")?;
//! let mut envoy = Envoy::builder(&module).workers(2).plugin_config("{}").build()?;
//! envoy.configure_result().expect("plugin starts");
//! let ex = envoy.send(Request::get("http://app.example.com/api").header("x-a", "b"));
//! assert_eq!(ex.response.status, 200);
//! # Ok::<(), gatewasm_host::Error>(())
//! ```
//!
//! Modules: `module` (compile + link once), `vm` (one worker instance), `envoy` (workers,
//! clock, router, upstream), `stream` (one HTTP stream in Envoy's order), `router` (the
//! `cluster_header` route), `hostcalls/*` and `wasi` (the imports), `memory`, `pairs`,
//! `properties`, `shared`, `clock`, `callout`, `abi`; `rls` (feature `rls`) bridges gRPC
//! callouts to a real rate limit service.

mod abi;
mod callout;
mod clock;
mod envoy;
mod error;
mod hostcalls;
mod http;
mod memory;
mod module;
mod pairs;
mod properties;
#[cfg(feature = "rls")]
pub mod rls;
mod router;
mod shared;
mod state;
mod stream;
mod vm;
mod wasi;

pub use abi::LogLevel;
pub use callout::{GrpcCall, GrpcResponder, GrpcStatus, HttpCall, HttpCallOutcome};
pub use clock::DEFAULT_EPOCH_NANOS;
pub use envoy::{Envoy, EnvoyBuilder, Exchange, WorkerStatus};
pub use error::{Error, ErrorKind};
pub use http::{http_to_grpc_status, Origin, Request, Response, UpstreamRequest, UpstreamResponse};
pub use module::WasmModule;
pub use pairs::HeaderMap;
pub use router::DEFAULT_CLUSTER_HEADER;
pub use state::{LogLine, LogSource};
