//! gatewasm's compiler: turns Kubernetes Gateway API manifests into the routing blob that the
//! gatewasm proxy-wasm filter evaluates.
//!
//! The compiler is a chain of stages, each with its own output type:
//!
//! 1. [`load`]: files, directories and stdin → [`load::Loaded`] (typed [`model`] objects, each
//!    with its [`source::Source`]);
//! 2. [`validate`]: CRD defaults and validation rules → [`valid::Validated`];
//! 3. `resolve`, `lower`, `encode`: attachment, references, precedence and the blob.
//! 4. [`emit`]: the blob and the documents that deploy it (Envoy bootstrap, ConfigMaps,
//!    Envoy Gateway and Istio policies).
//!
//! Every stage reports all the problems it finds as [`diag::Diagnostics`], each with a file,
//! line, object and field path.

pub mod cli;
pub mod compile;
pub mod diag;
pub mod emit;
pub mod exclude;
pub mod explain;
pub mod ingress;
pub mod inspect;
pub mod json;
pub mod load;
pub mod lower;
pub mod model;
pub mod provenance;
mod redirect_loop;
/// How messages show user-supplied values: the filter's helper, so the compiler's diagnostics
/// and the filter's log line escape and cut alike.
pub use gatewasm_filter::quote;
pub mod resolve;
pub mod routetest;
pub mod source;
pub mod status;
pub mod valid;
pub mod validate;
pub mod warning;
mod yaml;
