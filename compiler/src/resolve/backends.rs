//! backendRefs and mirror targets → Services: kind, ReferenceGrant and existence checks,
//! and the Envoy cluster name each valid backend gets.

use std::collections::{HashMap, HashSet};

use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::model::{
    Kind, LocalObjectReference, ReferenceGrantSpec, ENVOY_GATEWAY_GROUP, GATEWAY_GROUP,
};
use crate::quote::quote;
use crate::valid::{BackendRef, EgBackend, HttpRouteFilter, Valid, Validated};
use crate::warning::Warning;

use super::Options;

/// How Envoy cluster names are formed from a Service port: `{namespace}`, `{name}` and
/// `{port}` are replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTemplate(pub String);

impl ClusterTemplate {
    /// gatewasm's default, `{namespace}/{name}:{port}`.
    pub const DEFAULT: &'static str = "{namespace}/{name}:{port}";
    /// Istio's outbound cluster names.
    pub const ISTIO: &'static str = "outbound|{port}||{name}.{namespace}.svc.cluster.local";

    /// The cluster name of a Service port.
    pub fn render(&self, namespace: &str, name: &str, port: u16) -> String {
        self.0
            .replace("{namespace}", namespace)
            .replace("{name}", name)
            .replace("{port}", &port.to_string())
    }
}

impl Default for ClusterTemplate {
    fn default() -> Self {
        ClusterTemplate(Self::DEFAULT.to_owned())
    }
}

/// A resolved backend: a Service port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BackendKey {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Service port.
    pub port: u16,
}

/// Why a reference is invalid: the warning, whose name is the status reason a controller
/// writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefProblem {
    /// [`Warning::InvalidKind`], [`Warning::RefNotPermitted`] or [`Warning::BackendNotFound`].
    pub warning: Warning,
    /// What exactly is wrong.
    pub message: String,
    /// What to add or change.
    pub help: String,
}

/// Checks references against the Services and ReferenceGrants of the input.
pub struct Resolver<'v> {
    services: HashMap<(&'v str, &'v str), Option<HashSet<u16>>>,
    grants: Vec<&'v Valid<ReferenceGrantSpec>>,
    /// HTTPRouteFilters by namespace and name.
    route_filters: HashMap<(&'v str, &'v str), &'v HttpRouteFilter>,
    /// Envoy Gateway Backends by namespace and name.
    eg_backends: HashMap<(&'v str, &'v str), &'v EgBackend>,
    check_existence: bool,
    /// Cluster names are rendered with this template.
    pub template: ClusterTemplate,
}

impl<'v> Resolver<'v> {
    /// Indexes the input's Services and grants.
    pub fn new(
        input: &'v Validated,
        options: &Options,
        diagnostics: &mut Diagnostics,
    ) -> Resolver<'v> {
        let services = input
            .services
            .iter()
            .map(|s| {
                let ports = (!s.spec.ports.is_empty()).then(|| {
                    s.spec
                        .ports
                        .iter()
                        .filter_map(|p| u16::try_from(p.port).ok())
                        .collect()
                });
                ((s.meta.namespace.as_str(), s.meta.name.as_str()), ports)
            })
            .collect::<HashMap<_, _>>();
        let uses_backends = !input.http_routes.is_empty() || !input.grpc_routes.is_empty();
        if services.is_empty() && uses_backends && !options.assume_backends {
            diagnostics.push(
                Diagnostic::new(
                    Severity::Warning(Warning::BackendNotFound),
                    "the input holds no Service: every backendRef is reported as BackendNotFound and answers 500",
                )
                .with_help("add the Service manifests, or pass --assume-backends when Services are deployed separately"),
            );
        }
        Resolver {
            services,
            grants: input.reference_grants.iter().collect(),
            route_filters: input
                .http_route_filters
                .iter()
                .map(|f| ((f.meta.namespace.as_str(), f.meta.name.as_str()), &f.spec))
                .collect(),
            eg_backends: input
                .eg_backends
                .iter()
                .map(|b| ((b.meta.namespace.as_str(), b.meta.name.as_str()), &b.spec))
                .collect(),
            check_existence: !options.assume_backends,
            template: options.cluster_template.clone(),
        }
    }

    /// The HTTPRouteFilter an ExtensionRef filter of a route in namespace `from` names, when
    /// it is one and the input holds it.
    pub fn route_filter(
        &self,
        from: &str,
        e: &LocalObjectReference,
    ) -> Option<&'v HttpRouteFilter> {
        if e.group != ENVOY_GATEWAY_GROUP || e.kind != Kind::HttpRouteFilter.name() {
            return None;
        }
        self.route_filters.get(&(from, e.name.as_str())).copied()
    }

    /// Resolves a reference made by a route of `kind` in namespace `from`.
    pub fn check(&self, kind: Kind, from: &str, r: &BackendRef) -> Result<BackendKey, RefProblem> {
        let eg_backend = r.group == ENVOY_GATEWAY_GROUP && r.kind == Kind::EgBackend.name();
        if !r.is_service() && !eg_backend {
            return Err(RefProblem {
                warning: Warning::InvalidKind,
                message: format!(
                    "backendRef {} has kind {} in group {}: gatewasm forwards only to core Services and Envoy Gateway Backends",
                    r.name,
                    quote(&r.kind),
                    quote(&r.group)
                ),
                help: "point it at a Service (group \"\", kind Service); its share of requests answers 500 until then".to_owned(),
            });
        }
        if r.namespace != from && !self.granted(kind, from, r) {
            return Err(RefProblem {
                warning: Warning::RefNotPermitted,
                message: format!(
                    "backendRef {}/{} crosses namespaces and no ReferenceGrant in {} allows {} from {from}",
                    r.namespace,
                    r.name,
                    r.namespace,
                    kind.name()
                ),
                help: format!(
                    "add a ReferenceGrant in namespace {}: spec: {{from: [{{group: {GATEWAY_GROUP}, kind: {}, namespace: {from}}}], to: [{{group: \"\", kind: Service, name: {}}}]}}",
                    r.namespace,
                    kind.name(),
                    r.name
                ),
            });
        }
        if eg_backend {
            return self.eg_backend(r);
        }
        let Some(port) = r.port else {
            return Err(self.not_found(
                r,
                format!("backendRef {}/{} names no port", r.namespace, r.name),
            ));
        };
        if self.check_existence {
            match self.services.get(&(r.namespace.as_str(), r.name.as_str())) {
                None => {
                    return Err(self.not_found(
                        r,
                        format!("Service {}/{} is not in the input", r.namespace, r.name),
                    ))
                }
                Some(Some(ports)) if !ports.contains(&port) => {
                    return Err(self.not_found(
                        r,
                        format!("Service {}/{} has no port {port}", r.namespace, r.name),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(BackendKey {
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            port,
        })
    }

    /// An Envoy Gateway Backend: it must be in the input (its endpoints make the cluster), and
    /// no Service may share its name, since clusters are named by namespace, name and port.
    fn eg_backend(&self, r: &BackendRef) -> Result<BackendKey, RefProblem> {
        let key = (r.namespace.as_str(), r.name.as_str());
        let Some(backend) = self.eg_backends.get(&key) else {
            return Err(RefProblem {
                warning: Warning::BackendNotFound,
                message: format!("Backend {}/{} is not in the input", r.namespace, r.name),
                help: format!(
                    "add the Backend {}/{} manifest to the input; its share of requests answers 500 until then",
                    r.namespace, r.name
                ),
            });
        };
        if self.services.contains_key(&key) {
            return Err(RefProblem {
                warning: Warning::InvalidKind,
                message: format!(
                    "Backend {}/{} has the name of a Service in its namespace: their clusters would share a name",
                    r.namespace, r.name
                ),
                help: "rename the Backend".to_owned(),
            });
        }
        let port = r
            .port
            .or_else(|| backend.endpoints.first().map(|(_, p)| *p))
            .unwrap_or(0);
        Ok(BackendKey {
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            port,
        })
    }

    /// A BackendNotFound problem, with the Service's ports when it exists.
    fn not_found(&self, r: &BackendRef, message: String) -> RefProblem {
        let help = match self.services.get(&(r.namespace.as_str(), r.name.as_str())) {
            Some(Some(ports)) => {
                let mut ports: Vec<u16> = ports.iter().copied().collect();
                ports.sort_unstable();
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                format!("Service {}/{} has ports {}", r.namespace, r.name, ports.join(", "))
            }
            _ => format!(
                "add the Service {}/{} manifest to the input, or pass --assume-backends when Services are deployed separately; its share of requests answers 500 until then",
                r.namespace, r.name
            ),
        };
        RefProblem {
            warning: Warning::BackendNotFound,
            message,
            help,
        }
    }

    /// Whether the input holds no Service while references are checked against them: the
    /// resolver has warned once, and each reference is not reported again.
    pub fn reports_each_missing(&self) -> bool {
        !self.check_existence || !self.services.is_empty()
    }

    fn granted(&self, kind: Kind, from: &str, r: &BackendRef) -> bool {
        self.grants.iter().any(|g| {
            g.meta.namespace == r.namespace
                && g.spec.from.iter().any(|f| {
                    f.group == GATEWAY_GROUP && f.kind == kind.name() && f.namespace == from
                })
                && g.spec.to.iter().any(|t| {
                    t.group == r.group
                        && t.kind == r.kind
                        && t.name.as_ref().is_none_or(|n| *n == r.name)
                })
        })
    }
}
