//! Warnings about the compiled Gateway itself: a class gatewasm is not meant to compile,
//! and listeners that cannot serve (no route attached, a missing certificate, a protocol
//! gatewasm does not route), each at the listener's line.

use crate::diag::{Diagnostics, Severity};
use crate::status::GatewayStatus;
use crate::valid::{Gateway, Valid, Validated};
use crate::warning::Warning;

use super::Options;

/// Checks the Gateway's class and each listener's status.
pub fn check(
    input: &Validated,
    gateway: &Valid<Gateway>,
    status: &GatewayStatus,
    options: &Options,
    diagnostics: &mut Diagnostics,
) {
    if let Some((message, help)) = class_problem(input, gateway, options) {
        let mut d = gateway.source.diagnostic(
            Severity::Warning(Warning::UnknownGatewayClass),
            &label(gateway),
            "spec.gatewayClassName",
            message,
        );
        d.help = Some(help);
        diagnostics.push(d);
    }
    for (i, l) in status.listeners.iter().enumerate() {
        let field = format!("spec.listeners[{i}]");
        let at = |w: Warning, message: String, help: &str| {
            let mut d =
                gateway
                    .source
                    .diagnostic(Severity::Warning(w), &label(gateway), &field, message);
            d.help = Some(help.to_owned());
            d
        };
        // A listener condition's reason is the name of its warning.
        let refused = l
            .conditions
            .iter()
            .find(|c| !c.is_true())
            .and_then(|c| Warning::parse(&c.reason).map(|w| (w, c)));
        match refused {
            Some((w, c)) => diagnostics.push(at(
                w,
                format!("listener {}: {}", l.name, c.message),
                if w == Warning::UnsupportedProtocol {
                    "route its traffic with another Envoy filter chain, or remove the listener"
                } else {
                    "create the Secret, or name it with --assume-secret NAMESPACE/NAME when it is created at deploy time"
                },
            )),
            None if l.attached_routes == 0 => diagnostics.push(at(
                Warning::UnattachedListener,
                format!("listener {} has no attached route: it answers every request 404", l.name),
                "attach a route to it (parentRefs with sectionName), or remove the listener; a route that names it and was refused has a warning saying why",
            )),
            None => {}
        }
    }
}

fn label(gateway: &Valid<Gateway>) -> String {
    format!("Gateway {}/{}", gateway.meta.namespace, gateway.meta.name)
}

/// Why the Gateway's class is not one gatewasm compiles for: not among `--gateway-class`,
/// not among the input's GatewayClasses, or one whose controller is not `--controller-name`.
fn class_problem(
    input: &Validated,
    gateway: &Valid<Gateway>,
    options: &Options,
) -> Option<(String, String)> {
    let class = &gateway.spec.class_name;
    if !options.gateway_classes.is_empty() && !options.gateway_classes.contains(class) {
        return Some((
            format!(
                "gatewayClassName {class} is not a class this pipeline compiles (--gateway-class {})",
                options.gateway_classes.join(", ")
            ),
            "a controller of another class would program this Gateway too; fix gatewayClassName or --gateway-class".to_owned(),
        ));
    }
    if input.gateway_classes.is_empty() {
        return None;
    }
    let Some(found) = input.gateway_classes.iter().find(|c| c.meta.name == *class) else {
        let names: Vec<&str> = input
            .gateway_classes
            .iter()
            .map(|c| c.meta.name.as_str())
            .collect();
        return Some((
            format!("GatewayClass {class} is not in the input"),
            format!("the input's GatewayClasses are {}", names.join(", ")),
        ));
    };
    let controller = &found.spec.controller_name;
    match &options.controller_name {
        Some(want) if want != controller => Some((
            format!("GatewayClass {class} belongs to controller {controller}, not {want}"),
            "fix the class's controllerName or --controller-name, or point the Gateway at your class".to_owned(),
        )),
        _ => None,
    }
}
