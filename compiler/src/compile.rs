//! The whole pipeline for one Gateway: validate → resolve → lower → encode.

use std::collections::HashSet;

use crate::diag::Diagnostics;
use crate::load::Loaded;
use crate::model::ServiceProtocol;
use crate::resolve::ids::TooMany;
use crate::resolve::{self, Options, RuleSource};
use crate::status::StatusReport;
use crate::valid::{Gateway, Valid, Validated};
use crate::{lower, redirect_loop, validate};
use gatewasm_filter::blob::{self, Backend, RouteTable};

/// A compiled Gateway.
#[derive(Debug)]
pub struct Compiled {
    /// The blob the filter loads.
    pub blob: Vec<u8>,
    /// Digest of the input objects ([`crate::provenance::source_sha256`]).
    pub source_sha256: String,
    /// The table inside the blob.
    pub table: RouteTable,
    /// Status of every object in the input.
    pub status: StatusReport,
    /// For each rule of the table, where it is written.
    pub rule_sources: Vec<RuleSource>,
    /// Each route's `creationTimestamp` (see [`lower::decider`]).
    pub created: Vec<Option<String>>,
    /// Notes and warnings from every stage.
    pub diagnostics: Diagnostics,
    /// The validated input, for emitters that need more than the table (Service ports and
    /// app protocols, BackendTLSPolicies, listener certificates).
    pub validated: Validated,
    /// The compiled Gateway: its index in `validated.gateways` (see [`Compiled::gateway`]).
    gateway: usize,
    /// Every other TCP Service port of the input, named by the cluster-name template. Their
    /// clusters are emitted too, so a later routes update that first routes to one of them
    /// finds its cluster warm instead of racing its arrival.
    pub standby: Vec<Backend>,
    /// The clusters that carry a BackendTrafficPolicy connect timeout: name → milliseconds.
    pub connect_timeouts: std::collections::BTreeMap<String, u64>,
}

/// Compiles loaded objects for the Gateway `options` selects.
///
/// # Errors
/// Every error diagnostic found (validation problems, a missing or ambiguous Gateway).
pub fn compile(loaded: Loaded, options: &Options) -> Result<Compiled, Diagnostics> {
    let source_sha256 = crate::provenance::source_sha256(&loaded);
    let loaded = crate::ingress::translate(loaded)?;
    let validated = validate::validate_with(loaded, &options.regex_limits)?;
    let mut diagnostics = validated.diagnostics.clone();
    let resolved = resolve::resolve(&validated, options)?;
    diagnostics.append(resolved.diagnostics.clone());
    let status = resolved.status.clone();
    let gateway = resolved.gateway;
    let lower::Lowered {
        table,
        rule_sources,
        created,
        warnings,
        connect_timeouts,
    } = lower::lower(resolved).map_err(TooMany::diagnostics)?;
    diagnostics.append(warnings);
    let blob = blob::encode(&table).map_err(|e| {
        let mut d = Diagnostics::new();
        d.push(crate::diag::Diagnostic::error(e.to_string()));
        d
    })?;
    diagnostics.append(redirect_loop::check(&table, &blob, &rule_sources));
    diagnostics.sort();
    let standby = standby_backends(&validated, &table, options);
    Ok(Compiled {
        blob,
        source_sha256,
        table,
        status,
        rule_sources,
        created,
        diagnostics,
        validated,
        gateway,
        standby,
        connect_timeouts,
    })
}

impl Compiled {
    /// The Gateway the table was compiled for.
    pub fn gateway(&self) -> &Valid<Gateway> {
        &self.validated.gateways[self.gateway]
    }
}

/// The input's TCP Service ports no rule of `table` names.
fn standby_backends(validated: &Validated, table: &RouteTable, options: &Options) -> Vec<Backend> {
    // Clusters already emitted: the routed ones, then each standby as it is added.
    let mut seen: HashSet<String> = table.backends.iter().map(|b| b.cluster.clone()).collect();
    let mut out: Vec<Backend> = Vec::new();
    for service in &validated.services {
        for p in &service.spec.ports {
            let (Ok(port), None | Some(ServiceProtocol::TCP)) =
                (u16::try_from(p.port), &p.protocol)
            else {
                continue;
            };
            let (namespace, name) = (&service.meta.namespace, &service.meta.name);
            let cluster = options.cluster_template.render(namespace, name, port);
            if port > 0 && seen.insert(cluster.clone()) {
                out.push(Backend {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    port,
                    cluster,
                });
            }
        }
    }
    out
}
