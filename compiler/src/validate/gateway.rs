//! Gateway defaults and rules: listener names, ports, hostnames and TLS per protocol,
//! unique port/protocol/hostname, allowed routes.

use std::collections::HashMap;

use super::{syntax, Ctx};
use crate::model::{
    FromNamespaces, GatewaySpec, LabelSelector, Listener as RawListener,
    ListenerTls as RawListenerTls, ProtocolType, SelectorOperator, TlsModeType, GATEWAY_GROUP,
};
use crate::quote::code;
use crate::valid::{
    AllowedRoutes, Gateway, Listener, ListenerTls, RouteGroupKind, RouteNamespaces, SecretRef,
};

/// Validates and defaults a Gateway spec.
pub(super) fn gateway(ctx: &mut Ctx, spec: &GatewaySpec) -> Gateway {
    ctx.check(
        "spec.gatewayClassName",
        syntax::object_name(&spec.gateway_class_name),
    );
    if spec.listeners.is_empty() {
        ctx.error("spec.listeners", "at least one listener is required");
    }
    ctx.at_most("spec.listeners", spec.listeners.len(), 64, "listeners");
    ctx.at_most("spec.addresses", spec.addresses.len(), 16, "addresses");
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut combos: HashMap<(i32, ProtocolType, Option<&str>), usize> = HashMap::new();
    for (i, l) in spec.listeners.iter().enumerate() {
        let p = format!("spec.listeners[{i}]");
        if let Some(earlier) = names.insert(&l.name, i) {
            ctx.error_help(
                &format!("{p}.name"),
                format!("duplicate listener name {}", code(&l.name)),
                format!("spec.listeners[{earlier}] has the same name"),
            );
        }
        if let Some(earlier) = combos.insert((l.port, l.protocol, l.hostname.as_deref()), i) {
            ctx.error_help(
                &p,
                "port, protocol and hostname must be unique among listeners",
                format!("spec.listeners[{earlier}] has the same combination"),
            );
        }
    }
    let listeners = spec
        .listeners
        .iter()
        .enumerate()
        .map(|(i, l)| listener(ctx, &format!("spec.listeners[{i}]"), l))
        .collect();
    Gateway {
        class_name: spec.gateway_class_name.clone(),
        listeners,
        addresses: spec.addresses.clone(),
        infrastructure: spec.infrastructure.clone(),
    }
}

fn listener(ctx: &mut Ctx, p: &str, l: &RawListener) -> Listener {
    ctx.check(&format!("{p}.name"), syntax::section_name(&l.name));
    let port = ctx.port(&format!("{p}.port"), l.port);
    let protocol = l.protocol.as_str();
    if let Some(h) = &l.hostname {
        if matches!(l.protocol, ProtocolType::Tcp | ProtocolType::Udp) {
            ctx.error(
                &format!("{p}.hostname"),
                format!("hostname must not be set for protocol {protocol}"),
            );
        } else {
            ctx.check(&format!("{p}.hostname"), syntax::hostname(h));
        }
    }
    let tls = l.tls.as_ref().map(|tls| listener_tls(ctx, p, l, tls));
    let allowed_routes = allowed_routes(ctx, p, l);
    Listener {
        name: l.name.clone(),
        hostname: l.hostname.clone(),
        port,
        protocol: l.protocol,
        tls,
        allowed_routes,
    }
}

/// The listener's `tls`, which its protocol must allow.
fn listener_tls(ctx: &mut Ctx, p: &str, l: &RawListener, tls: &RawListenerTls) -> ListenerTls {
    let tp = format!("{p}.tls");
    if matches!(
        l.protocol,
        ProtocolType::Http | ProtocolType::Tcp | ProtocolType::Udp
    ) {
        let protocol = l.protocol.as_str();
        ctx.error(&tp, format!("tls must not be set for protocol {protocol}"));
    }
    let mode = tls.mode.unwrap_or(TlsModeType::Terminate);
    if l.protocol == ProtocolType::Https && mode != TlsModeType::Terminate {
        ctx.error(
            &format!("{tp}.mode"),
            "tls mode must be Terminate for protocol HTTPS",
        );
    }
    if mode == TlsModeType::Terminate && tls.certificate_refs.is_empty() && tls.options.is_empty() {
        ctx.error(
            &tp,
            "certificateRefs or options must be set when mode is Terminate",
        );
    }
    ctx.at_most(
        &format!("{tp}.certificateRefs"),
        tls.certificate_refs.len(),
        64,
        "certificateRefs",
    );
    let certificate_refs = tls
        .certificate_refs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let rp = format!("{tp}.certificateRefs[{i}]");
            let s = SecretRef {
                group: r.group.clone().unwrap_or_default(),
                kind: r.kind.clone().unwrap_or_else(|| "Secret".to_string()),
                name: r.name.clone(),
                namespace: r
                    .namespace
                    .clone()
                    .unwrap_or_else(|| ctx.namespace.to_string()),
            };
            ctx.check(&format!("{rp}.group"), syntax::group(&s.group));
            ctx.check(&format!("{rp}.kind"), syntax::kind(&s.kind));
            ctx.check(&format!("{rp}.name"), syntax::object_name(&s.name));
            ctx.check(&format!("{rp}.namespace"), syntax::dns_label(&s.namespace));
            s
        })
        .collect();
    ListenerTls {
        mode,
        certificate_refs,
        options: tls.options.clone(),
    }
}

/// `allowedRoutes`, defaults filled in.
fn allowed_routes(ctx: &mut Ctx, p: &str, l: &RawListener) -> AllowedRoutes {
    let allowed = l.allowed_routes.clone().unwrap_or_default();
    let ap = format!("{p}.allowedRoutes");
    let ns = allowed.namespaces.unwrap_or_default();
    let namespaces = match ns.from.unwrap_or(FromNamespaces::Same) {
        FromNamespaces::All => RouteNamespaces::All,
        FromNamespaces::Same => RouteNamespaces::Same,
        FromNamespaces::None => RouteNamespaces::None,
        FromNamespaces::Selector => match ns.selector {
            Some(selector) => {
                label_selector(ctx, &format!("{ap}.namespaces.selector"), &selector);
                RouteNamespaces::Selector(selector)
            }
            None => {
                ctx.error(
                    &format!("{ap}.namespaces"),
                    "selector must be set when from is Selector",
                );
                RouteNamespaces::None
            }
        },
    };
    ctx.at_most(&format!("{ap}.kinds"), allowed.kinds.len(), 8, "kinds");
    let kinds = allowed
        .kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let kp = format!("{ap}.kinds[{i}]");
            let group = k.group.clone().unwrap_or_else(|| GATEWAY_GROUP.to_string());
            ctx.check(&format!("{kp}.group"), syntax::group(&group));
            ctx.check(&format!("{kp}.kind"), syntax::kind(&k.kind));
            RouteGroupKind {
                group,
                kind: k.kind.clone(),
            }
        })
        .collect();
    AllowedRoutes { namespaces, kinds }
}

/// `In`/`NotIn` need values; `Exists`/`DoesNotExist` take none (Kubernetes' own rule).
fn label_selector(ctx: &mut Ctx, p: &str, s: &LabelSelector) {
    for (i, e) in s.match_expressions.iter().enumerate() {
        let ep = format!("{p}.matchExpressions[{i}]");
        let needs_values = matches!(e.operator, SelectorOperator::In | SelectorOperator::NotIn);
        if needs_values && e.values.is_empty() {
            ctx.error(
                &format!("{ep}.values"),
                "values must be set for In and NotIn",
            );
        } else if !needs_values && !e.values.is_empty() {
            ctx.error(
                &format!("{ep}.values"),
                "values must be empty for Exists and DoesNotExist",
            );
        }
    }
}
