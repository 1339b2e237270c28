//! Route attachment: which listeners accept which routes, and the status that says so.

use std::collections::{BTreeMap, HashMap};

use gatewasm_filter::blob::HostPattern;

use crate::diag::{Diagnostics, Severity};
use crate::model::{Kind, LabelSelector, ProtocolType, SelectorOperator, GATEWAY_GROUP};
use crate::status::{
    Condition, GatewayStatus, ListenerStatus, ParentRefStatus, RouteParentStatus, RouteStatus,
    StatusReport,
};
use crate::valid::{
    Gateway, GrpcRoute, HttpRoute, Listener, ParentRef, RouteNamespaces, Valid, Validated,
};
use crate::warning::Warning;

use super::backends::Resolver;
use super::hostnames;
use super::refs;
use super::refusal::{self, Refusal};
use super::{Options, RuleSource};

/// A route of either kind.
#[derive(Clone, Copy)]
pub enum RouteRef<'v> {
    /// An HTTPRoute.
    Http(&'v Valid<HttpRoute>),
    /// A GRPCRoute.
    Grpc(&'v Valid<GrpcRoute>),
}

impl<'v> RouteRef<'v> {
    /// The route's kind.
    pub fn kind(self) -> Kind {
        match self {
            RouteRef::Http(_) => Kind::HttpRoute,
            RouteRef::Grpc(_) => Kind::GrpcRoute,
        }
    }

    fn meta(self) -> &'v crate::model::ObjectMeta {
        match self {
            RouteRef::Http(r) => &r.meta,
            RouteRef::Grpc(r) => &r.meta,
        }
    }

    /// Namespace.
    pub fn namespace(self) -> &'v str {
        &self.meta().namespace
    }

    /// Name.
    pub fn name(self) -> &'v str {
        &self.meta().name
    }

    /// `metadata.creationTimestamp`.
    pub fn created(self) -> Option<&'v str> {
        self.meta().creation_timestamp.as_deref()
    }

    /// `file:line` of the route, the file as the user named it.
    pub fn source(self) -> String {
        let s = self.source_ref();
        format!("{}:{}", s.file.name, s.line())
    }

    /// `file:line` of the route as the blob records it (see `SourceFile::blob_name`).
    pub fn blob_source(self) -> String {
        let s = self.source_ref();
        format!("{}:{}", s.file.blob_name, s.line())
    }

    /// Where rule `index` of the route is written.
    pub fn rule_source(self, index: usize) -> RuleSource {
        RuleSource {
            object: self.label(),
            field: format!("spec.rules[{index}]"),
            source: self.source_ref().clone(),
        }
    }

    /// The route, as `Kind namespace/name`.
    fn label(self) -> String {
        format!(
            "{} {}/{}",
            self.kind().name(),
            self.namespace(),
            self.name()
        )
    }

    /// A diagnostic about `field` of the route, located at it.
    pub fn diagnostic(
        self,
        severity: Severity,
        field: &str,
        message: impl Into<String>,
    ) -> crate::diag::Diagnostic {
        self.source_ref()
            .diagnostic(severity, &self.label(), field, message)
    }

    fn source_ref(self) -> &'v crate::source::Source {
        match self {
            RouteRef::Http(r) => &r.source,
            RouteRef::Grpc(r) => &r.source,
        }
    }

    fn parent_refs(self) -> &'v [ParentRef] {
        match self {
            RouteRef::Http(r) => &r.spec.parent_refs,
            RouteRef::Grpc(r) => &r.spec.parent_refs,
        }
    }

    fn hostnames(self) -> &'v [String] {
        match self {
            RouteRef::Http(r) => &r.spec.hostnames,
            RouteRef::Grpc(r) => &r.spec.hostnames,
        }
    }

    fn generation(self) -> i64 {
        self.meta().generation.unwrap_or(1)
    }

    /// Age order for precedence and conflicts: oldest creationTimestamp first (routes without
    /// one count as newest), then `namespace/name`.
    pub fn age_key(self) -> (bool, String, String) {
        (
            self.created().is_none(),
            self.created().unwrap_or("").to_owned(),
            format!("{}/{}", self.namespace(), self.name()),
        )
    }
}

/// Effective hostnames of a route per listener index.
pub type HostsByListener = BTreeMap<usize, Vec<Option<HostPattern>>>;

/// A listener's hostnames claimed by a route: its kind, hostnames and `namespace/name`.
type Claim = (Kind, Vec<Option<HostPattern>>, String);

/// Every route's attachments and the status of everything.
pub struct World<'v> {
    /// Status of all Gateways and routes.
    pub status: StatusReport,
    /// (gateway index, route, per listener index: effective hostnames).
    attached: Vec<(usize, RouteRef<'v>, HostsByListener)>,
    gateways: Vec<&'v Valid<Gateway>>,
}

impl<'v> World<'v> {
    /// The routes attached to `gateway` with their hostnames per listener index, in input
    /// order.
    pub fn attached_to(
        &self,
        gateway: &Valid<Gateway>,
    ) -> impl Iterator<Item = (RouteRef<'v>, &HostsByListener)> + '_ {
        let index = self.gateways.iter().position(|g| std::ptr::eq(*g, gateway));
        self.attached
            .iter()
            .filter(move |(g, _, _)| Some(*g) == index)
            .map(|(_, r, l)| (*r, l))
    }
}

/// Route kinds a listener protocol can carry.
fn protocol_kinds(protocol: ProtocolType) -> &'static [Kind] {
    match protocol {
        ProtocolType::Http | ProtocolType::Https => &[Kind::HttpRoute, Kind::GrpcRoute],
        _ => &[],
    }
}

/// The kinds a listener accepts: its `allowedRoutes.kinds` that its protocol can carry, or
/// the protocol's defaults.
fn listener_kinds(l: &Listener) -> Vec<Kind> {
    let carried = protocol_kinds(l.protocol);
    if l.allowed_routes.kinds.is_empty() {
        return carried.to_vec();
    }
    l.allowed_routes
        .kinds
        .iter()
        .filter_map(|k| Kind::from_group_kind(&k.group, &k.kind))
        .filter(|k| carried.contains(k))
        .collect()
}

pub(super) fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    sel.match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && sel.match_expressions.iter().all(|e| {
            let value = labels.get(&e.key);
            match e.operator {
                SelectorOperator::In => value.is_some_and(|v| e.values.contains(v)),
                SelectorOperator::NotIn => value.is_none_or(|v| !e.values.contains(v)),
                SelectorOperator::Exists => value.is_some(),
                SelectorOperator::DoesNotExist => value.is_none(),
            }
        })
}

struct Namespaces<'v> {
    labels: HashMap<&'v str, &'v BTreeMap<String, String>>,
}

impl Namespaces<'_> {
    fn allows(&self, l: &Listener, gateway_ns: &str, route_ns: &str) -> bool {
        match &l.allowed_routes.namespaces {
            RouteNamespaces::All => true,
            RouteNamespaces::Same => gateway_ns == route_ns,
            RouteNamespaces::None => false,
            RouteNamespaces::Selector(sel) => match self.labels.get(route_ns) {
                Some(labels) => selector_matches(sel, labels),
                // A namespace that is not in the input still carries the label the API
                // server gives every namespace.
                None => {
                    let implicit = BTreeMap::from([(
                        "kubernetes.io/metadata.name".to_owned(),
                        route_ns.to_owned(),
                    )]);
                    selector_matches(sel, &implicit)
                }
            },
        }
    }
}

fn overlaps(a: &[Option<HostPattern>], b: &[Option<HostPattern>]) -> bool {
    use HostPattern::{Exact, Wildcard};
    a.iter().any(|x| {
        b.iter().any(|y| match (x, y) {
            (None, _) | (_, None) => true,
            (Some(Exact(p)), Some(Exact(q))) => p == q,
            (Some(Exact(h)), Some(w @ Wildcard(_))) | (Some(w @ Wildcard(_)), Some(Exact(h))) => {
                w.matches(h)
            }
            (Some(Wildcard(p)), Some(Wildcard(q))) => {
                p.ends_with(q.as_str()) || q.ends_with(p.as_str())
            }
        })
    })
}

/// What happened to one parentRef of one route before conflicts are settled.
struct ParentOutcome {
    gateway: Option<usize>,
    listeners: HostsByListener,
    refused: Option<Refusal>,
    /// The parentRef's position in `spec.parentRefs`.
    index: usize,
    /// Route hostnames no accepting listener takes (the route is served without them).
    unused_hostnames: Vec<String>,
}

/// Attaches every route of the input and writes the status.
pub fn attach_all<'v>(
    input: &'v Validated,
    options: &Options,
    refs: &Resolver<'_>,
    diagnostics: &mut Diagnostics,
) -> World<'v> {
    let parents = Parents::new(input);
    let routes = routes_in_order(input);
    let mut outcomes: Vec<Vec<(ParentRef, ParentOutcome)>> = routes
        .iter()
        .map(|route| parents.attach(*route, diagnostics))
        .collect();
    let gateways = parents.gateways;
    settle_conflicts(&routes, &gateways, &mut outcomes);
    let mut attached_count: HashMap<(usize, usize), u32> = HashMap::new();
    let mut report = StatusReport::default();
    let mut attached = Vec::new();
    for (route, outcomes) in routes.iter().zip(outcomes) {
        let issues = refs::issues(*route, refs);
        refs::report(*route, refs, &issues, diagnostics);
        let resolved = issues
            .first()
            .map(|i| (i.problem.warning.name(), i.problem.message.clone()));
        let mut parents = Vec::new();
        for (p, outcome) in outcomes {
            parents.push(parent_status(*route, &p, &outcome, &resolved));
            report_parent(*route, &p, &outcome, diagnostics);
            if let (Some(g), None) = (outcome.gateway, &outcome.refused) {
                for &l in outcome.listeners.keys() {
                    *attached_count.entry((g, l)).or_default() += 1;
                }
                attached.push((g, *route, outcome.listeners));
            }
        }
        report.routes.push(RouteStatus {
            kind: route.kind().name().to_owned(),
            namespace: route.namespace().to_owned(),
            name: route.name().to_owned(),
            source: route.source(),
            parents,
        });
    }
    for (g, gateway) in gateways.iter().enumerate() {
        report
            .gateways
            .push(gateway_status(gateway, g, &attached_count, options));
    }
    World {
        status: report,
        attached,
        gateways,
    }
}

/// HTTPRoutes and GRPCRoutes in input order.
fn routes_in_order(input: &Validated) -> Vec<RouteRef<'_>> {
    let mut routes: Vec<RouteRef<'_>> = input
        .http_routes
        .iter()
        .map(RouteRef::Http)
        .chain(input.grpc_routes.iter().map(RouteRef::Grpc))
        .collect();
    routes.sort_by_key(|r| match r {
        RouteRef::Http(r) => r.source.order,
        RouteRef::Grpc(r) => r.source.order,
    });
    routes
}

/// What a parentRef can name: the input's Gateways, and the namespaces routes come from.
struct Parents<'v> {
    gateways: Vec<&'v Valid<Gateway>>,
    by_name: HashMap<(&'v str, &'v str), usize>,
    namespaces: Namespaces<'v>,
}

impl<'v> Parents<'v> {
    fn new(input: &'v Validated) -> Self {
        let gateways: Vec<&Valid<Gateway>> = input.gateways.iter().collect();
        let by_name = gateways
            .iter()
            .enumerate()
            .map(|(i, g)| ((g.meta.namespace.as_str(), g.meta.name.as_str()), i))
            .collect();
        let namespaces = Namespaces {
            labels: input
                .namespaces
                .iter()
                .map(|n| (n.meta.name.as_str(), &n.meta.labels))
                .collect(),
        };
        Parents {
            gateways,
            by_name,
            namespaces,
        }
    }

    /// `ns/name, …` of the input's Gateways.
    fn names(&self) -> String {
        let names: Vec<String> = self
            .gateways
            .iter()
            .map(|g| format!("{}/{}", g.meta.namespace, g.meta.name))
            .collect();
        names.join(", ")
    }

    /// Each Gateway parentRef of `route` on its own, before conflicts between routes are
    /// settled; other parents are noted and left alone.
    fn attach(
        &self,
        route: RouteRef<'_>,
        diagnostics: &mut Diagnostics,
    ) -> Vec<(ParentRef, ParentOutcome)> {
        let mut per_parent = Vec::new();
        for (index, p) in route.parent_refs().iter().enumerate() {
            if p.group != GATEWAY_GROUP || p.kind != "Gateway" {
                diagnostics.push(crate::diag::Diagnostic::new(
                    Severity::Note,
                    format!(
                        "{} {}/{}: parentRef {} {}/{} is not a Gateway; gatewasm leaves it alone",
                        route.kind().name(),
                        route.namespace(),
                        route.name(),
                        p.kind,
                        p.namespace,
                        p.name
                    ),
                ));
                continue;
            }
            let gateway = self
                .by_name
                .get(&(p.namespace.as_str(), p.name.as_str()))
                .copied();
            let outcome = match gateway {
                None => ParentOutcome {
                    gateway: None,
                    listeners: BTreeMap::new(),
                    unused_hostnames: Vec::new(),
                    index,
                    refused: Some(Refusal {
                        warning: Warning::NoMatchingParent,
                        message: format!("Gateway {}/{} is not in the input", p.namespace, p.name),
                        help: Some(format!("the input's Gateways are {}", self.names())),
                    }),
                },
                Some(g) => ParentOutcome {
                    index,
                    ..attach_parent(self.gateways[g], route, p, &self.namespaces, g)
                },
            };
            per_parent.push((p.clone(), outcome));
        }
        per_parent
    }
}

/// An HTTPRoute and a GRPCRoute may not serve the same hostname on one listener: the older
/// route keeps it, and the other loses that listener.
fn settle_conflicts(
    routes: &[RouteRef<'_>],
    gateways: &[&Valid<Gateway>],
    outcomes: &mut [Vec<(ParentRef, ParentOutcome)>],
) {
    let mut by_age: Vec<usize> = (0..routes.len()).collect();
    by_age.sort_by_key(|&i| routes[i].age_key());
    let mut claimed: HashMap<(usize, usize), Vec<Claim>> = HashMap::new();
    for &i in &by_age {
        let route = routes[i];
        for (_, outcome) in outcomes[i].iter_mut() {
            let Some(g) = outcome.gateway else { continue };
            let mut lost = Vec::new();
            for (&l, hosts) in &outcome.listeners {
                let entry = claimed.entry((g, l)).or_default();
                if let Some((_, _, winner)) = entry
                    .iter()
                    .find(|(k, h, _)| *k != route.kind() && overlaps(h, hosts))
                {
                    lost.push((l, winner.clone()));
                } else {
                    entry.push((
                        route.kind(),
                        hosts.clone(),
                        format!("{}/{}", route.namespace(), route.name()),
                    ));
                }
            }
            for (l, winner) in &lost {
                outcome.listeners.remove(l);
                if outcome.listeners.is_empty() {
                    outcome.refused = Some(Refusal::new(
                        Warning::NotAllowedByListeners,
                        format!(
                            "an older route of the other kind, {winner}, already serves these hostnames on listener {}",
                            gateways[g].spec.listeners[*l].name
                        ),
                    ));
                }
            }
        }
    }
}

/// The status of `route` under parent `p`: `Accepted` from the outcome, `ResolvedRefs` from
/// the route's first invalid reference (`resolved`).
fn parent_status(
    route: RouteRef<'_>,
    p: &ParentRef,
    outcome: &ParentOutcome,
    resolved: &Option<(&'static str, String)>,
) -> RouteParentStatus {
    let generation = route.generation();
    let accepted = match &outcome.refused {
        None => Condition::new(
            "Accepted",
            true,
            "Accepted",
            "accepted by the Gateway",
            generation,
        ),
        Some(r) => Condition::new(
            "Accepted",
            false,
            r.warning.name(),
            r.message.clone(),
            generation,
        ),
    };
    let refs_condition = match resolved {
        None => Condition::new(
            "ResolvedRefs",
            true,
            "ResolvedRefs",
            "all references resolved",
            generation,
        ),
        Some((reason, msg)) => {
            Condition::new("ResolvedRefs", false, reason, msg.clone(), generation)
        }
    };
    RouteParentStatus {
        parent_ref: ParentRefStatus {
            group: p.group.clone(),
            kind: p.kind.clone(),
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            section_name: p.section_name.clone(),
            port: p.port,
        },
        conditions: vec![accepted, refs_condition],
    }
}

/// Warns about route hostnames the parent does not serve, and about a refused parent.
fn report_parent(
    route: RouteRef<'_>,
    p: &ParentRef,
    outcome: &ParentOutcome,
    diagnostics: &mut Diagnostics,
) {
    for h in &outcome.unused_hostnames {
        diagnostics.push(route.diagnostic(
            Severity::Warning(Warning::NoMatchingListenerHostname),
            "spec.hostnames",
            format!(
                "hostname {h} intersects no listener of {}/{} that accepts the route; it is not served there",
                p.namespace, p.name
            ),
        ));
    }
    if let Some(r) = &outcome.refused {
        let mut d = route.diagnostic(
            Severity::Warning(r.warning),
            &format!("spec.parentRefs[{}]", outcome.index),
            format!("not accepted by {}/{}: {}", p.namespace, p.name, r.message),
        );
        d.help.clone_from(&r.help);
        diagnostics.push(d);
    }
}

/// One parentRef that names a Gateway of the input (number `g`): the listeners that take
/// the route, with the hostnames it gets on each.
fn attach_parent(
    gateway: &Valid<Gateway>,
    route: RouteRef<'_>,
    p: &ParentRef,
    namespaces: &Namespaces<'_>,
    g: usize,
) -> ParentOutcome {
    let mut outcome = ParentOutcome {
        gateway: Some(g),
        listeners: BTreeMap::new(),
        refused: None,
        index: 0,
        unused_hostnames: Vec::new(),
    };
    let candidates: Vec<(usize, &Listener)> = gateway
        .spec
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| p.section_name.as_ref().is_none_or(|s| *s == l.name))
        .filter(|(_, l)| p.port.is_none_or(|port| port == l.port))
        .collect();
    if candidates.is_empty() {
        outcome.refused = Some(refusal::no_listener(p, &gateway.spec.listeners));
        return outcome;
    }
    let mut allowed_any = false;
    let mut refusals = Vec::new();
    let mut used = vec![false; route.hostnames().len()];
    for (i, l) in candidates {
        let kinds = listener_kinds(l);
        let allowed = kinds.contains(&route.kind())
            && namespaces.allows(l, &gateway.meta.namespace, route.namespace());
        if !allowed {
            refusals.extend(refusal::listener_refuses(
                l,
                &kinds,
                route.kind(),
                &gateway.meta.namespace,
                route.namespace(),
                namespaces.labels.get(route.namespace()).copied(),
            ));
            continue;
        }
        allowed_any = true;
        if let Some(hosts) = hostnames::intersect(route.hostnames(), l.hostname.as_deref()) {
            outcome.listeners.insert(i, hosts);
        }
        for (h, u) in route.hostnames().iter().zip(used.iter_mut()) {
            *u |= hostnames::intersect(std::slice::from_ref(h), l.hostname.as_deref()).is_some();
        }
    }
    if outcome.listeners.is_empty() {
        outcome.refused = Some(no_listener_takes(route, p, allowed_any, refusals));
    } else {
        outcome.unused_hostnames = route
            .hostnames()
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(h, _)| h.clone())
            .collect();
    }
    outcome
}

/// Why no selected listener takes the route: none allows it (`allowed_any` false; each
/// one's reason in `refusals`), or none shares a hostname with it.
fn no_listener_takes(
    route: RouteRef<'_>,
    p: &ParentRef,
    allowed_any: bool,
    refusals: Vec<(String, Option<String>)>,
) -> Refusal {
    if allowed_any {
        return Refusal::new(
            Warning::NoMatchingListenerHostname,
            format!(
                "no hostname of the route intersects a listener of Gateway {}/{}",
                p.namespace, p.name
            ),
        );
    }
    let (reasons, helps): (Vec<String>, Vec<Option<String>>) = refusals.into_iter().unzip();
    let helps: Vec<String> = helps.into_iter().flatten().collect();
    Refusal {
        warning: Warning::NotAllowedByListeners,
        message: format!(
            "no listener of Gateway {}/{} allows {} from namespace {}: {}",
            p.namespace,
            p.name,
            route.kind().name(),
            route.namespace(),
            reasons.join("; ")
        ),
        help: (!helps.is_empty()).then(|| helps.join("; ")),
    }
}

/// The status of Gateway number `g`; `attached` counts the routes on each (Gateway,
/// listener).
fn gateway_status(
    gateway: &Valid<Gateway>,
    g: usize,
    attached: &HashMap<(usize, usize), u32>,
    options: &Options,
) -> GatewayStatus {
    let generation = gateway.meta.generation.unwrap_or(1);
    let listeners: Vec<ListenerStatus> = gateway
        .spec
        .listeners
        .iter()
        .enumerate()
        .map(|(i, l)| ListenerStatus {
            name: l.name.clone(),
            supported_kinds: listener_kinds(l)
                .iter()
                .map(|k| format!("{}/{}", k.group(), k.name()))
                .collect(),
            attached_routes: attached.get(&(g, i)).copied().unwrap_or(0),
            conditions: listener_conditions(l, options, generation),
        })
        .collect();
    let all_programmed = listeners
        .iter()
        .all(|l| l.conditions.iter().all(Condition::is_true));
    GatewayStatus {
        namespace: gateway.meta.namespace.clone(),
        name: gateway.meta.name.clone(),
        source: format!("{}:{}", gateway.source.file.name, gateway.source.line()),
        conditions: vec![
            Condition::new(
                "Accepted",
                true,
                "Accepted",
                "compiled by gatewasm",
                generation,
            ),
            Condition::new(
                "Programmed",
                all_programmed,
                if all_programmed {
                    "Programmed"
                } else {
                    "Invalid"
                },
                if all_programmed {
                    "every listener is usable"
                } else {
                    "some listeners are not usable"
                },
                generation,
            ),
        ],
        listeners,
    }
}

/// A listener's `Accepted` (its protocol), `ResolvedRefs` (its certificates) and
/// `Programmed` (both) conditions.
fn listener_conditions(l: &Listener, options: &Options, generation: i64) -> Vec<Condition> {
    let supported = !protocol_kinds(l.protocol).is_empty();
    let accepted = if supported {
        Condition::new(
            "Accepted",
            true,
            "Accepted",
            "listener accepted",
            generation,
        )
    } else {
        Condition::new(
            "Accepted",
            false,
            "UnsupportedProtocol",
            format!(
                "gatewasm routes HTTP and HTTPS listeners, not {}",
                l.protocol.as_str()
            ),
            generation,
        )
    };
    let missing: Vec<String> = l
        .tls
        .iter()
        .flat_map(|t| t.certificate_refs.iter())
        .filter(|s| !secret_known(&s.namespace, &s.name, options))
        .map(|s| format!("{}/{}", s.namespace, s.name))
        .collect();
    let resolved = if missing.is_empty() {
        Condition::new(
            "ResolvedRefs",
            true,
            "ResolvedRefs",
            "references resolved",
            generation,
        )
    } else {
        Condition::new(
            "ResolvedRefs",
            false,
            "InvalidCertificateRef",
            format!("certificate Secret {} does not exist", missing.join(", ")),
            generation,
        )
    };
    let programmed = supported && missing.is_empty();
    let programmed = Condition::new(
        "Programmed",
        programmed,
        if programmed { "Programmed" } else { "Invalid" },
        if programmed {
            "compiled into the route table"
        } else {
            "listener is not usable"
        },
        generation,
    );
    vec![accepted, resolved, programmed]
}

/// Whether a certificate Secret exists: named by `--assume-secret`, or, when none is named,
/// assumed (TLS Secrets are usually created at deploy time and are not in the manifests).
fn secret_known(namespace: &str, name: &str, options: &Options) -> bool {
    options.assume_secrets.is_empty()
        || options
            .assume_secrets
            .iter()
            .any(|s| *s == format!("{namespace}/{name}"))
}
