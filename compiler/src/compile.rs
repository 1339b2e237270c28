//! The whole pipeline for one Gateway: validate → resolve → lower → encode.

use crate::diag::Diagnostics;
use crate::load::Loaded;
use crate::resolve::{self, Options};
use crate::status::StatusReport;
use crate::valid::Validated;
use crate::{lower, validate};
use gatewasm_filter::blob::{self, RouteTable};

/// A compiled Gateway.
#[derive(Debug)]
pub struct Compiled {
    /// The blob the filter loads.
    pub blob: Vec<u8>,
    /// The table inside the blob.
    pub table: RouteTable,
    /// Status of every object in the input.
    pub status: StatusReport,
    /// For each rule of the table, where it is written (`file:line`).
    pub rule_sources: Vec<String>,
    /// Notes and warnings from every stage.
    pub diagnostics: Diagnostics,
    /// The validated input, for emitters that need more than the table (Service ports and
    /// app protocols, BackendTLSPolicies, listener certificates).
    pub validated: Validated,
}

/// Compiles loaded objects for the Gateway `options` selects.
///
/// # Errors
/// Every error diagnostic found (validation problems, a missing or ambiguous Gateway).
pub fn compile(loaded: Loaded, options: &Options) -> Result<Compiled, Diagnostics> {
    let validated = validate::validate_with(loaded, &options.regex_limits)?;
    let mut diagnostics = validated.diagnostics.clone();
    let resolved = resolve::resolve(&validated, options)?;
    diagnostics.append(resolved.diagnostics.clone());
    let status = resolved.status.clone();
    let rule_sources = resolved.rule_sources.clone();
    let (table, warnings) = lower::lower(resolved);
    diagnostics.append(warnings);
    let blob = blob::encode(&table).map_err(|e| {
        let mut d = Diagnostics::new();
        d.push(crate::diag::Diagnostic::error(e.to_string()));
        d
    })?;
    diagnostics.sort();
    Ok(Compiled {
        blob,
        table,
        status,
        rule_sources,
        diagnostics,
        validated,
    })
}
