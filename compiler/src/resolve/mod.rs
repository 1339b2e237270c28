//! The resolve stage: what a Gateway API controller decides about the validated objects.
//!
//! * parentRefs → listeners (sectionName, port, allowedRoutes namespaces and kinds,
//!   hostname intersection), with `Accepted` conditions and `attachedRoutes` counts;
//! * HTTPRoute/GRPCRoute hostname conflicts on one listener (the older route wins);
//! * backendRefs and mirrors → Services (kind, ReferenceGrant, existence), with
//!   `ResolvedRefs` conditions; an invalid reference keeps the route but its share of traffic
//!   answers 500;
//! * listener certificate references;
//! * the route table for the selected Gateway (everything but the precedence order, which is
//!   `lower`'s job);
//! * BackendTrafficPolicy rate limits bound to the rules they govern (`ratelimit`).
//!
//! It reports every problem at once; only a missing or ambiguous Gateway is fatal.

mod attach;
mod backends;
mod hostnames;
pub mod ratelimit;
mod rules;

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::status::StatusReport;
use crate::valid::{Valid, Validated};
use gatewasm_filter::blob::{self, HostPattern, ListenerId, RouteId};

pub use backends::ClusterTemplate;

/// How resolve treats references it cannot check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `namespace/name` of the Gateway to compile; required when the input has several.
    pub gateway: Option<String>,
    /// Treat backend Services as existing even though the input holds none.
    pub assume_backends: bool,
    /// How Envoy cluster names are formed.
    pub cluster_template: ClusterTemplate,
    /// TLS Secrets (`namespace/name`) known to exist although the input does not contain
    /// them (created at deploy time, e.g. by cert-manager or a test suite).
    pub assume_secrets: Vec<String>,
    /// How large a regular expression may be (checked by `validate`).
    pub regex_limits: crate::validate::RegexLimits,
}

/// A route attached to a listener of the compiled Gateway, with the hostnames it serves
/// there (`None`: every host the listener takes).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// The listener.
    pub listener: ListenerId,
    /// The route.
    pub route: RouteId,
    /// Effective hostnames after intersection with the listener's.
    pub hosts: Vec<Option<HostPattern>>,
}

/// Precedence facts about a route that the blob does not carry.
#[derive(Debug, Clone)]
pub struct RouteAge {
    /// `metadata.creationTimestamp`, if written.
    pub created: Option<String>,
}

/// What resolve hands to lower.
#[derive(Debug)]
pub struct Resolved {
    /// The table without host groups (lower orders those).
    pub table: blob::RouteTable,
    /// Which routes serve which listener hostnames.
    pub attachments: Vec<Attachment>,
    /// Per route in `table.routes`, its age for precedence.
    pub ages: Vec<RouteAge>,
    /// For each match in `table.matches`, its position in the rule's `matches`.
    pub match_positions: Vec<usize>,
    /// For each rule in `table.rules`, where it is written (`file:line`).
    pub rule_sources: Vec<String>,
    /// Status of everything in the input.
    pub status: StatusReport,
    /// Warnings and notes (never errors).
    pub diagnostics: Diagnostics,
    /// The compiled Gateway's index in the input's `gateways`.
    pub gateway: usize,
}

/// Runs the stage.
///
/// # Errors
/// When the input has no Gateway, several and no `--gateway`, or not the named one.
pub fn resolve(input: &Validated, options: &Options) -> Result<Resolved, Diagnostics> {
    let index = select_gateway(input, options)?;
    let gateway = &input.gateways[index];
    let mut diagnostics = Diagnostics::new();
    let refs = backends::Resolver::new(input, options, &mut diagnostics);
    let world = attach::attach_all(input, options, &refs, &mut diagnostics);
    let mut builder = rules::TableBuilder::new(gateway, &refs);
    for (route, hosts_by_listener) in world.attached_to(gateway) {
        builder.add_route(route, hosts_by_listener, &mut diagnostics);
    }
    let mut resolved = builder.finish(index);
    ratelimit::build(
        input,
        gateway,
        &mut resolved.table,
        &resolved.attachments,
        &mut diagnostics,
    );
    Ok(Resolved {
        status: world.status,
        diagnostics,
        ..resolved
    })
}

/// The index in `input.gateways` of the Gateway to compile.
fn select_gateway(input: &Validated, options: &Options) -> Result<usize, Diagnostics> {
    let name = |g: &Valid<crate::valid::Gateway>| format!("{}/{}", g.meta.namespace, g.meta.name);
    let mut diagnostics = Diagnostics::new();
    match (&options.gateway, input.gateways.as_slice()) {
        (Some(want), gateways) => {
            if let Some(i) = gateways.iter().position(|g| &name(g) == want) {
                return Ok(i);
            }
            let known: Vec<String> = gateways.iter().map(&name).collect();
            diagnostics.push(
                Diagnostic::error(format!("--gateway {want}: no such Gateway in the input"))
                    .with_help(if known.is_empty() {
                        "the input holds no Gateway; add the file that defines it".to_owned()
                    } else {
                        format!("the input defines: {}", known.join(", "))
                    }),
            );
        }
        (None, [_]) => return Ok(0),
        (None, []) => diagnostics.push(
            Diagnostic::error("the input holds no Gateway to compile routes for")
                .with_help("add the manifest that defines your Gateway (kind: Gateway)"),
        ),
        (None, several) => {
            let mut d = Diagnostic::new(
                Severity::Error,
                format!(
                    "the input defines {} Gateways; choose one with --gateway NAMESPACE/NAME",
                    several.len()
                ),
            );
            d.related = several
                .iter()
                .map(|g| g.source.related("", format!("Gateway {}", name(g))))
                .collect();
            diagnostics.push(d);
        }
    }
    Err(diagnostics)
}
