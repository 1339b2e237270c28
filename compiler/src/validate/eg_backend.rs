//! Envoy Gateway's Backend: endpoints, `h2c`, and TLS without verification, checked as the
//! v1.9 CRD checks them; every other field is an error, so nothing is silently dropped.

use super::{syntax, Ctx};
use crate::model::EgBackendSpec;
use crate::quote::quote;
use crate::valid::EgBackend;

const H2C: &str = "gateway.envoyproxy.io/h2c";

/// Validates an Envoy Gateway Backend.
pub(super) fn eg_backend(ctx: &mut Ctx, spec: &EgBackendSpec) -> EgBackend {
    let not_compiled = |ctx: &mut Ctx, field: String| {
        ctx.not_compiled(
            &field,
            "gatewasm compiles a Backend's FQDN and IP endpoints, h2c, and TLS with insecureSkipVerify",
            "remove it, or keep this Backend for routes Envoy Gateway serves",
        );
    };
    for k in spec.other.keys() {
        not_compiled(ctx, format!("spec.{k}"));
    }
    if let Some(t) = spec.type_.as_deref().filter(|t| *t != "Endpoints") {
        ctx.error(
            "spec.type",
            format!("type {} is not compiled: only Endpoints", quote(t)),
        );
    }
    let endpoints = endpoints(ctx, spec, &not_compiled);
    let mut h2c = false;
    for (i, p) in spec.app_protocols.iter().enumerate() {
        if p == H2C {
            h2c = true;
        } else {
            ctx.error(
                &format!("spec.appProtocols[{i}]"),
                format!("{} is not compiled: only {H2C}", quote(p)),
            );
        }
    }
    let tls = spec.tls.as_ref().map(|t| {
        for k in t.other.keys() {
            not_compiled(ctx, format!("spec.tls.{k}"));
        }
        if t.insecure_skip_verify != Some(true) {
            ctx.error_help(
                "spec.tls",
                "TLS to a Backend is compiled only with insecureSkipVerify: true",
                "to verify the backend's certificate, point the route at a Service and add a BackendTLSPolicy",
            );
        }
        t.sni.clone()
    });
    EgBackend {
        endpoints,
        h2c,
        tls,
    }
}

/// Each endpoint's host and port.
fn endpoints(
    ctx: &mut Ctx,
    spec: &EgBackendSpec,
    not_compiled: &impl Fn(&mut Ctx, String),
) -> Vec<(String, u16)> {
    let mut endpoints = Vec::new();
    for (i, e) in spec.endpoints.iter().enumerate() {
        let at = format!("spec.endpoints[{i}]");
        for k in e.other.keys() {
            not_compiled(ctx, format!("{at}.{k}"));
        }
        let socket = match (&e.fqdn, &e.ip) {
            (Some(f), None) => {
                ctx.check(
                    &format!("{at}.fqdn.hostname"),
                    syntax::hostname(&f.hostname),
                );
                Some((
                    f.hostname.clone(),
                    ctx.port(&format!("{at}.fqdn.port"), f.port),
                ))
            }
            (None, Some(ip)) => {
                if ip.address.parse::<std::net::IpAddr>().is_err() {
                    ctx.error(
                        &format!("{at}.ip.address"),
                        format!("{} is not an IP address", quote(&ip.address)),
                    );
                }
                Some((
                    ip.address.clone(),
                    ctx.port(&format!("{at}.ip.port"), ip.port),
                ))
            }
            _ if !e.other.is_empty() => None,
            _ => {
                ctx.error(&at, "an endpoint needs exactly one of fqdn and ip");
                None
            }
        };
        endpoints.extend(socket);
    }
    if spec.endpoints.is_empty() {
        ctx.error(
            "spec.endpoints",
            "a Backend of type Endpoints needs at least one endpoint",
        );
    }
    endpoints
}
