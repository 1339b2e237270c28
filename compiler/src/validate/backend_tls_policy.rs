//! BackendTLSPolicy: the spec must hold what upstream TLS needs. Checked here, not where the
//! Envoy bootstrap reads it, so `compile -o` and every `--emit` accept the same inputs.

use serde::Deserialize;

use super::Ctx;
use crate::valid::BackendTlsPolicy;

/// The typed spec, or `None` with an error at `spec` naming what is missing or mistyped.
pub(super) fn backend_tls_policy(
    ctx: &mut Ctx<'_>,
    spec: &serde_json::Value,
) -> Option<BackendTlsPolicy> {
    BackendTlsPolicy::deserialize(spec)
        .map_err(|e| ctx.error("spec", e.to_string()))
        .ok()
}
