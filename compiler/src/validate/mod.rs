//! The validate stage: applies the CRD defaults the Kubernetes API server would apply, and
//! enforces the CRD validation rules (OpenAPI patterns, limits and CEL rules), turning the
//! loaded [`crate::model`] objects into [`crate::valid`] ones.
//!
//! Every violation becomes a diagnostic with the object's file and the line of the offending
//! field, and validation goes on to find the rest. Cross-object questions (does the parent
//! exist, is a backend permitted) belong to `resolve`; the only cross-object check here is
//! that no object is defined twice.

mod backend_tls_policy;
mod backend_traffic_policy;
pub use backend_traffic_policy::{parse_cidr, BURST_ANNOTATION, STATUS_ANNOTATION};
mod core;
mod eg_backend;
mod gateway;
mod grpc_route;
mod http_route;
mod http_route_filter;
mod route;
mod security_policy;
mod syntax;

use std::collections::HashMap;

use gatewasm_filter::engine::budget;

use crate::diag::{Diagnostics, Severity};
use crate::load::Loaded;
use crate::model::{Body, Object, ObjectKey};
use crate::source::Source;
use crate::valid::{Valid, Validated};
use crate::warning::Warning;

/// Validates and defaults every loaded object. Diagnostics already in `loaded` are kept, so
/// `validate(loader.finish())` reports load and validation problems together. Returns every
/// diagnostic, sorted, if any is an error; otherwise the validated objects carry the notes and
/// warnings.
pub fn validate(loaded: Loaded) -> Result<Validated, Diagnostics> {
    validate_with(loaded, &RegexLimits::default())
}

/// [`validate`] with regular expression limits other than the defaults.
///
/// # Errors
/// As [`validate`].
pub fn validate_with(loaded: Loaded, limits: &RegexLimits) -> Result<Validated, Diagnostics> {
    let Loaded {
        objects,
        mut diagnostics,
    } = loaded;
    duplicates(&objects, &mut diagnostics);
    let mut out = Validated::default();
    for object in &objects {
        let label = object.label();
        let mut ctx = Ctx {
            source: &object.source,
            label: &label,
            namespace: &object.meta.namespace,
            limits,
            diagnostics: &mut diagnostics,
        };
        core::metadata(&mut ctx, object.kind(), &object.meta);
        match &object.body {
            Body::GatewayClass(spec) => out
                .gateway_classes
                .push(wrap(object, core::gateway_class(&mut ctx, spec))),
            Body::Gateway(spec) => out
                .gateways
                .push(wrap(object, gateway::gateway(&mut ctx, spec))),
            Body::HttpRoute(spec) => out
                .http_routes
                .push(wrap(object, http_route::http_route(&mut ctx, spec))),
            Body::GrpcRoute(spec) => out
                .grpc_routes
                .push(wrap(object, grpc_route::grpc_route(&mut ctx, spec))),
            Body::ReferenceGrant(spec) => out
                .reference_grants
                .push(wrap(object, core::reference_grant(&mut ctx, spec))),
            Body::Service(spec) => out
                .services
                .push(wrap(object, core::service(&mut ctx, spec))),
            Body::Namespace(spec) => out.namespaces.push(Valid {
                meta: core::namespace_meta(&object.meta),
                ..wrap(object, spec.clone())
            }),
            Body::BackendTrafficPolicy(spec) => out.backend_traffic_policies.push(wrap(
                object,
                backend_traffic_policy::backend_traffic_policy(&mut ctx, &object.meta, spec),
            )),
            Body::HttpRouteFilter(spec) => out.http_route_filters.push(wrap(
                object,
                http_route_filter::http_route_filter(&mut ctx, spec),
            )),
            Body::EgBackend(spec) => out
                .eg_backends
                .push(wrap(object, eg_backend::eg_backend(&mut ctx, spec))),
            Body::SecurityPolicy(spec) => out.security_policies.push(wrap(
                object,
                security_policy::security_policy(&mut ctx, spec),
            )),
            Body::BackendTlsPolicy(spec) => {
                if let Some(policy) = backend_tls_policy::backend_tls_policy(&mut ctx, spec) {
                    out.backend_tls_policies.push(wrap(object, policy));
                }
            }
            // The ingress stage converted them into the Gateway API objects validated here.
            Body::Ingress(_) | Body::IngressClass(_) => {}
        }
    }
    diagnostics.sort();
    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        out.diagnostics = diagnostics;
        Ok(out)
    }
}

/// An error for each object defined again after its first definition.
fn duplicates(objects: &[Object], diagnostics: &mut Diagnostics) {
    let mut first: HashMap<ObjectKey, &Source> = HashMap::new();
    for object in objects {
        if let Some(earlier) = first.get(&object.key()) {
            let d = object
                .source
                .diagnostic(
                    Severity::Error,
                    &object.label(),
                    "",
                    "defined more than once",
                )
                .with_related(earlier.related("", "first defined here"));
            diagnostics.push(d);
        } else {
            first.insert(object.key(), &object.source);
        }
    }
}

/// A validated spec with its object's source and metadata.
fn wrap<T>(object: &Object, spec: T) -> Valid<T> {
    Valid {
        source: object.source.clone(),
        kind: object.kind(),
        api_version: object.api_version.clone(),
        meta: object.meta.clone(),
        spec,
    }
}

/// The object being validated and where its diagnostics go.
pub(super) struct Ctx<'a> {
    source: &'a Source,
    label: &'a str,
    /// The object's namespace, the default for references without one.
    namespace: &'a str,
    limits: &'a RegexLimits,
    diagnostics: &'a mut Diagnostics,
}

/// How large a regular expression's program may be (see
/// [`gatewasm_filter::engine::budget`]): the filter runs every expression under a
/// per-request budget, so a larger program only ever matches shorter inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegexLimits {
    /// Larger programs are refused.
    pub max_size: u32,
    /// Larger programs are warned about.
    pub warn_size: u32,
}

impl Default for RegexLimits {
    fn default() -> Self {
        RegexLimits {
            max_size: budget::DEFAULT_MAX_PROGRAM_SIZE,
            warn_size: budget::DEFAULT_WARN_PROGRAM_SIZE,
        }
    }
}

impl Ctx<'_> {
    /// Reports an error at `field`.
    fn error(&mut self, field: &str, message: impl Into<String>) {
        let d = self
            .source
            .diagnostic(Severity::Error, self.label, field, message);
        self.diagnostics.push(d);
    }

    /// Reports an error at `field` with a help line.
    fn error_help(&mut self, field: &str, message: impl Into<String>, help: impl Into<String>) {
        let mut d = self
            .source
            .diagnostic(Severity::Error, self.label, field, message);
        d.help = Some(help.into());
        self.diagnostics.push(d);
    }

    /// Reports a warning at `field`.
    fn warn(&mut self, warning: Warning, field: &str, message: impl Into<String>) {
        let d = self
            .source
            .diagnostic(Severity::Warning(warning), self.label, field, message);
        self.diagnostics.push(d);
    }

    /// Checks a regular expression at `field`: it compiles with regex-lite (the filter's
    /// engine) and its program is within the limits.
    fn regex(&mut self, field: &str, pattern: &str) {
        if let Err(message) = syntax::regex(pattern) {
            return self.error(field, message);
        }
        let Ok(size) = budget::program_size(pattern) else {
            return self.error(field, "invalid regular expression");
        };
        if size > self.limits.max_size {
            self.error_help(
                field,
                format!(
                    "regular expression program size {size} exceeds the limit {}",
                    self.limits.max_size
                ),
                "counted repetitions multiply their body (`(.*){1,1000}` is 5000 instructions); \
                 write `.*` once, or raise the limit with --regex-max-size",
            );
        } else if size > self.limits.warn_size {
            self.warn(
                Warning::RegexCost,
                field,
                format!(
                    "regular expression program size {size} is above {}: the filter runs it only on values up to {} bytes and answers longer ones 414 (path, query) or 431 (header)",
                    self.limits.warn_size,
                    budget::longest_input(size)
                ),
            );
        }
    }

    /// Reports a field of an Envoy Gateway object that gatewasm does not compile, named by
    /// the last part of its path, with what gatewasm does compile (`compiled`).
    fn not_compiled(&mut self, field: &str, compiled: &str, help: &str) {
        let name = field.rsplit('.').next().unwrap_or_default();
        let message = format!("{} is not compiled: {compiled}", crate::quote::code(name));
        self.error_help(field, message, help);
    }

    /// Reports the message of a failed syntax check at `field`.
    fn check(&mut self, field: &str, result: syntax::Check) {
        if let Err(message) = result {
            self.error(field, message);
        }
    }

    /// Reports a list longer than `max`.
    fn at_most(&mut self, field: &str, len: usize, max: usize, what: &str) {
        if len > max {
            self.error(
                field,
                format!("at most {max} {what} are allowed, found {len}"),
            );
        }
    }

    /// A checked port, or 0 after reporting.
    fn port(&mut self, field: &str, value: i32) -> u16 {
        syntax::port(value).unwrap_or_else(|message| {
            self.error(field, message);
            0
        })
    }

    /// A checked duration, or zero after reporting.
    fn duration(&mut self, field: &str, value: &str) -> std::time::Duration {
        syntax::duration(value).unwrap_or_else(|message| {
            self.error(field, message);
            std::time::Duration::ZERO
        })
    }
}

#[cfg(test)]
mod tests;
