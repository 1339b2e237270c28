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
mod connect;
mod gateway_checks;
pub(crate) mod hostnames;
pub mod ids;
pub mod ratelimit;
mod refs;
mod refusal;
mod regexes;
mod rules;
mod security;
mod targets;

use crate::diag::{Diagnostic, Diagnostics, Related, Severity};
use crate::source::Source;
use crate::status::StatusReport;
use crate::valid::{Valid, Validated};
use gatewasm_filter::blob::{self, HostPattern, ListenerId, RouteId};

pub use backends::ClusterTemplate;
pub use regexes::Regexes;

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
    /// `--gateway-class`: the GatewayClass names this pipeline compiles; empty: any.
    pub gateway_classes: Vec<String>,
    /// `--controller-name`: the controller the Gateway's GatewayClass must name.
    pub controller_name: Option<String>,
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

/// A route of the table, with the precedence fact the blob does not carry.
#[derive(Debug)]
pub struct ResolvedRoute {
    /// The route as the blob stores it.
    pub route: blob::Route,
    /// `metadata.creationTimestamp`, if written.
    pub created: Option<String>,
}

/// A rule of the table with its matches, in the order they are written.
#[derive(Debug)]
pub struct ResolvedRule {
    /// The rule as the blob stores it.
    pub rule: blob::Rule,
    /// Its matches; each one's `rule` is this rule's id.
    pub matches: Vec<blob::Match>,
    /// Where it is written.
    pub source: RuleSource,
}

/// Where a rule is written: its route's source and the rule's field path in it. Kept as
/// data so diagnostics about the rule can place it (and its snippet) like any other.
#[derive(Clone, Debug)]
pub struct RuleSource {
    /// The route, as `Kind namespace/name`.
    pub object: String,
    /// The rule's field path, `spec.rules[i]`.
    pub field: String,
    source: Source,
}

impl RuleSource {
    /// `file:line` of the rule.
    pub fn at(&self) -> String {
        let line = self
            .source
            .fields
            .locate(&self.field)
            .map_or(self.source.line(), |p| p.line);
        format!("{}:{line}", self.source.file.name)
    }

    /// The route and rule, as `Kind namespace/name spec.rules[i]`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.object, self.field)
    }

    /// A diagnostic about the rule, located at it.
    pub fn diagnostic(&self, severity: Severity, message: impl Into<String>) -> Diagnostic {
        self.source
            .diagnostic(severity, &self.object, &self.field, message)
    }

    /// The rule as another party of a diagnostic.
    pub fn related(&self) -> Related {
        self.source.related(&self.field, self.describe())
    }
}

/// What resolve hands to lower: everything of the route table but its precedence order.
/// Ids are positions in these lists; the rate limits are already bound to rules.
#[derive(Debug)]
pub struct Resolved {
    /// `namespace/name` of the compiled Gateway.
    pub name: String,
    /// Its HTTP and HTTPS listeners, without host groups (lower orders those).
    pub listeners: Vec<blob::Listener>,
    /// The attached routes.
    pub routes: Vec<ResolvedRoute>,
    /// Their rules, route by route.
    pub rules: Vec<ResolvedRule>,
    /// The backends rules and mirrors send to.
    pub backends: Vec<blob::Backend>,
    /// The regular expressions of matches and rate limit selectors.
    pub regexes: Regexes,
    /// BackendTrafficPolicy limits bound to the rules they govern.
    pub rate_limits: blob::RateLimits,
    /// SecurityPolicy authorization and the rules it governs.
    pub access: blob::Access,
    /// BackendTrafficPolicy stream idle timeouts and the rules they govern.
    pub idle: blob::IdleTimeouts,
    /// The clusters that carry a BackendTrafficPolicy connect timeout: name → milliseconds.
    pub connect_timeouts: std::collections::BTreeMap<String, u64>,
    /// Which routes serve which listener hostnames.
    pub attachments: Vec<Attachment>,
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
/// When the input has no Gateway, several and no `--gateway`, or not the named one; when
/// the table needs more ids than the blob can number.
pub fn resolve(input: &Validated, options: &Options) -> Result<Resolved, Diagnostics> {
    let index = select_gateway(input, options)?;
    let mut diagnostics = Diagnostics::new();
    let refs = backends::Resolver::new(input, options, &mut diagnostics);
    let world = attach::attach_all(input, options, &refs, &mut diagnostics);
    gateway_checks::check(
        input,
        &input.gateways[index],
        &world.status.gateways[index],
        options,
        &mut diagnostics,
    );
    let resolved =
        table(input, index, &refs, &world, &mut diagnostics).map_err(ids::TooMany::diagnostics)?;
    Ok(Resolved {
        status: world.status,
        diagnostics,
        ..resolved
    })
}

/// The table of `input.gateways[index]`: the routes `world` attached to it, then the rate
/// limits bound to their rules.
fn table(
    input: &Validated,
    index: usize,
    refs: &backends::Resolver<'_>,
    world: &attach::World<'_>,
    diagnostics: &mut Diagnostics,
) -> Result<Resolved, ids::TooMany> {
    let gateway = &input.gateways[index];
    let mut builder = rules::TableBuilder::new(gateway, index, refs)?;
    for (route, hosts_by_listener) in world.attached_to(gateway) {
        builder.add_route(route, hosts_by_listener, diagnostics)?;
    }
    let mut resolved = builder.finish();
    ratelimit::build(input, gateway, &refs.template, &mut resolved, diagnostics)?;
    security::build(input, gateway, &mut resolved, diagnostics)?;
    Ok(resolved)
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
