//! Every invalid reference a route makes — backendRefs and RequestMirror targets — with the
//! field path it is written at: the first gives the route's `ResolvedRefs` condition, and
//! each one its own warning.

use crate::diag::{Diagnostics, Severity};
use crate::model::{Kind, LocalObjectReference, ENVOY_GATEWAY_GROUP};
use crate::valid::{BackendRef, GrpcFilter, HttpFilter, WeightedBackend};

use super::attach::RouteRef;
use super::backends::{RefProblem, Resolver};
use crate::warning::Warning;

/// One invalid reference.
pub struct RefIssue {
    /// Where it is written, such as `spec.rules[0].backendRefs[1]`.
    pub field: String,
    /// What is wrong.
    pub problem: RefProblem,
    /// An ExtensionRef filter: the rule's own warning reports it as unsupported.
    extension: bool,
}

/// What a filter refers to.
trait FilterRefs {
    fn mirror(&self) -> Option<&BackendRef>;
    fn extension(&self) -> Option<&LocalObjectReference>;
}

impl FilterRefs for HttpFilter {
    fn mirror(&self) -> Option<&BackendRef> {
        match self {
            HttpFilter::RequestMirror(m) => Some(&m.backend),
            _ => None,
        }
    }
    fn extension(&self) -> Option<&LocalObjectReference> {
        match self {
            HttpFilter::ExtensionRef(e) => Some(e),
            _ => None,
        }
    }
}

impl FilterRefs for GrpcFilter {
    fn mirror(&self) -> Option<&BackendRef> {
        match self {
            GrpcFilter::RequestMirror(m) => Some(&m.backend),
            _ => None,
        }
    }
    fn extension(&self) -> Option<&LocalObjectReference> {
        match self {
            GrpcFilter::ExtensionRef(e) => Some(e),
            _ => None,
        }
    }
}

/// Every invalid reference of `route`, rule by rule: its backendRefs, then the filters of
/// the rule and of each backendRef.
pub fn issues(route: RouteRef<'_>, refs: &Resolver<'_>) -> Vec<RefIssue> {
    let mut walk = Walk {
        route,
        refs,
        out: Vec::new(),
    };
    match route {
        RouteRef::Http(r) => {
            for (i, rule) in r.spec.rules.iter().enumerate() {
                walk.rule(i, &rule.filters, &rule.backends);
            }
        }
        RouteRef::Grpc(r) => {
            for (i, rule) in r.spec.rules.iter().enumerate() {
                walk.rule(i, &rule.filters, &rule.backends);
            }
        }
    }
    walk.out
}

/// A warning for each issue, except those another warning already covers.
pub fn report(
    route: RouteRef<'_>,
    refs: &Resolver<'_>,
    issues: &[RefIssue],
    out: &mut Diagnostics,
) {
    for issue in issues {
        let quiet = issue.extension
            || (issue.problem.warning == Warning::BackendNotFound && !refs.reports_each_missing());
        if quiet {
            continue;
        }
        let mut d = route.diagnostic(
            Severity::Warning(issue.problem.warning),
            &issue.field,
            issue.problem.message.clone(),
        );
        d.help = Some(issue.problem.help.clone());
        out.push(d);
    }
}

struct Walk<'a> {
    route: RouteRef<'a>,
    refs: &'a Resolver<'a>,
    out: Vec<RefIssue>,
}

impl Walk<'_> {
    fn rule<F: FilterRefs>(&mut self, i: usize, filters: &[F], backends: &[WeightedBackend<F>]) {
        let rule = format!("spec.rules[{i}]");
        for (j, b) in backends.iter().enumerate() {
            self.check(format!("{rule}.backendRefs[{j}]"), &b.backend);
        }
        self.filters(&rule, filters);
        for (j, b) in backends.iter().enumerate() {
            self.filters(&format!("{rule}.backendRefs[{j}]"), &b.filters);
        }
    }

    fn filters<F: FilterRefs>(&mut self, at: &str, filters: &[F]) {
        for (k, f) in filters.iter().enumerate() {
            if let Some(m) = f.mirror() {
                self.check(format!("{at}.filters[{k}].requestMirror.backendRef"), m);
            }
            let Some(e) = f.extension() else {
                continue;
            };
            let ns = self.route.namespace();
            if self.refs.route_filter(ns, e).is_some() {
                continue;
            }
            let message = if e.group == ENVOY_GATEWAY_GROUP
                && e.kind == Kind::HttpRouteFilter.name()
            {
                format!("ExtensionRef filter names HTTPRouteFilter {ns}/{}, which the input does not hold; the rule answers 500", e.name)
            } else {
                format!(
                    "ExtensionRef filter {}/{} {} is not supported by gatewasm; the rule answers 500",
                    e.group, e.kind, e.name
                )
            };
            let (warning, help) = (Warning::InvalidKind, String::new());
            self.out.push(RefIssue {
                field: format!("{at}.filters[{k}]"),
                problem: RefProblem {
                    warning,
                    message,
                    help,
                },
                extension: true,
            });
        }
    }

    fn check(&mut self, field: String, b: &BackendRef) {
        if let Err(problem) = self
            .refs
            .check(self.route.kind(), self.route.namespace(), b)
        {
            self.out.push(RefIssue {
                field,
                problem,
                extension: false,
            });
        }
    }
}
