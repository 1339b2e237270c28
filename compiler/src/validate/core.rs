//! Metadata of every kind, and the kinds with little to check: GatewayClass, ReferenceGrant,
//! Service and Namespace.

use std::collections::HashMap;

use super::{syntax, Ctx};
use crate::model::{
    GatewayClassSpec, IntOrString, Kind, ObjectMeta, ReferenceGrantSpec, ServiceSpec, ServiceType,
};
use crate::quote::code;

/// The label the API server adds to every Namespace.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Names, namespace and creation timestamp.
pub(super) fn metadata(ctx: &mut Ctx, kind: Kind, meta: &ObjectMeta) {
    let name_check = match kind {
        Kind::Namespace | Kind::Service => syntax::dns_label(&meta.name),
        _ => syntax::dns_subdomain(&meta.name),
    };
    ctx.check("metadata.name", name_check);
    if kind.is_namespaced() {
        ctx.check("metadata.namespace", syntax::dns_label(&meta.namespace));
    }
    if let Some(ts) = &meta.creation_timestamp {
        ctx.check("metadata.creationTimestamp", syntax::timestamp(ts));
    }
}

/// A Namespace's metadata with `kubernetes.io/metadata.name` added, as the API server does
/// (listener selectors commonly select on it).
pub(super) fn namespace_meta(meta: &ObjectMeta) -> ObjectMeta {
    let mut meta = meta.clone();
    meta.labels
        .insert(NAMESPACE_NAME_LABEL.to_string(), meta.name.clone());
    meta
}

/// GatewayClass: the controller name is a domain-prefixed path.
pub(super) fn gateway_class(ctx: &mut Ctx, spec: &GatewayClassSpec) -> GatewayClassSpec {
    let controller = &spec.controller_name;
    let valid = controller
        .split_once('/')
        .is_some_and(|(domain, path)| syntax::dns_subdomain(domain).is_ok() && !path.is_empty());
    if !valid || controller.len() > 253 {
        ctx.error(
            "spec.controllerName",
            format!(
                "invalid controllerName {}: expected `example.com/path`",
                code(controller)
            ),
        );
    }
    spec.clone()
}

/// ReferenceGrant: 1–16 `from` and `to` entries with well-formed names.
pub(super) fn reference_grant(ctx: &mut Ctx, spec: &ReferenceGrantSpec) -> ReferenceGrantSpec {
    for (list, len) in [("from", spec.from.len()), ("to", spec.to.len())] {
        let p = format!("spec.{list}");
        if len == 0 {
            ctx.error(&p, format!("at least one `{list}` entry is required"));
        }
        ctx.at_most(&p, len, 16, "entries");
    }
    for (i, f) in spec.from.iter().enumerate() {
        let p = format!("spec.from[{i}]");
        ctx.check(&format!("{p}.group"), syntax::group(&f.group));
        ctx.check(&format!("{p}.kind"), syntax::kind(&f.kind));
        ctx.check(&format!("{p}.namespace"), syntax::dns_label(&f.namespace));
    }
    for (i, t) in spec.to.iter().enumerate() {
        let p = format!("spec.to[{i}]");
        ctx.check(&format!("{p}.group"), syntax::group(&t.group));
        ctx.check(&format!("{p}.kind"), syntax::kind(&t.kind));
        if let Some(name) = &t.name {
            ctx.check(&format!("{p}.name"), syntax::object_name(name));
        }
    }
    spec.clone()
}

/// Service: ports 1–65535, named (uniquely) when there are several; ExternalName needs
/// `externalName`.
pub(super) fn service(ctx: &mut Ctx, spec: &ServiceSpec) -> ServiceSpec {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let several = spec.ports.len() > 1;
    for (i, port) in spec.ports.iter().enumerate() {
        let p = format!("spec.ports[{i}]");
        ctx.port(&format!("{p}.port"), port.port);
        match &port.name {
            None if several => ctx.error(
                &format!("{p}.name"),
                "name is required when a Service has several ports",
            ),
            None => {}
            Some(name) => {
                if let Some(earlier) = names.insert(name, i) {
                    ctx.error_help(
                        &format!("{p}.name"),
                        format!("duplicate port name {}", code(name)),
                        format!("spec.ports[{earlier}] has the same name"),
                    );
                }
            }
        }
        if let Some(IntOrString::Int(target)) = port.target_port {
            ctx.port(&format!("{p}.targetPort"), target);
        }
    }
    if spec.r#type == Some(ServiceType::ExternalName) && spec.external_name.is_none() {
        ctx.error(
            "spec.externalName",
            "externalName is required for type ExternalName",
        );
    }
    spec.clone()
}
