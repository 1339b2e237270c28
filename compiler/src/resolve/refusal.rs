//! Why a Gateway refuses a route's parentRef, in the words a user can act on: the status
//! condition's reason and message, and the warning's help.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Kind, LabelSelector, SelectorOperator};
use crate::valid::{Listener, ParentRef, RouteNamespaces};
use crate::warning::Warning;

/// A parentRef the Gateway does not accept.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// The warning, whose name is the `Accepted` condition's reason.
    pub warning: Warning,
    /// The condition's message.
    pub message: String,
    /// What to change.
    pub help: Option<String>,
}

impl Refusal {
    /// A refusal without help.
    pub fn new(warning: Warning, message: String) -> Refusal {
        Refusal {
            warning,
            message,
            help: None,
        }
    }
}

/// Why one listener, which accepts the route `kinds`, does not allow a route of `kind`
/// from namespace `route_ns`: its message and help; `None` when it does allow it. `labels`
/// are the namespace's, `None` when the Namespace object is not in the input.
pub fn listener_refuses(
    l: &Listener,
    kinds: &[Kind],
    kind: Kind,
    gateway_ns: &str,
    route_ns: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> Option<(String, Option<String>)> {
    if !kinds.contains(&kind) {
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        return Some((
            format!(
                "listener {} allows {} only",
                l.name,
                if names.is_empty() {
                    "no route kind".to_owned()
                } else {
                    names.join(", ")
                }
            ),
            Some(format!(
                "add {{kind: {}}} to the listener's allowedRoutes.kinds, or attach to a listener that carries it",
                kind.name()
            )),
        ));
    }
    Some(match &l.allowed_routes.namespaces {
        RouteNamespaces::All => return None,
        RouteNamespaces::None => (
            format!("listener {} allows routes from no namespace (from: None)", l.name),
            None,
        ),
        RouteNamespaces::Same => (
            format!(
                "listener {} allows routes from its own namespace {gateway_ns} only (from: Same)",
                l.name
            ),
            Some(format!("set allowedRoutes.namespaces.from to All or Selector on listener {}, or move the route to namespace {gateway_ns}", l.name)),
        ),
        RouteNamespaces::Selector(sel) => selector_refuses(l, sel, route_ns, labels),
    })
}

/// A `from: Selector` listener that does not select the route's namespace: says what the
/// selector wants and what the namespace has, or that its Namespace object is missing.
fn selector_refuses(
    l: &Listener,
    sel: &LabelSelector,
    route_ns: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> (String, Option<String>) {
    let wanted = describe_selector(sel);
    match labels {
        None => (
            format!(
                "listener {} selects namespaces by {wanted}, and the Namespace {route_ns} is not in the input: only its implicit label kubernetes.io/metadata.name={route_ns} was checked",
                l.name
            ),
            Some(format!(
                "add the Namespace {route_ns} manifest with its labels to the input (gatewasm cannot read them from the cluster)"
            )),
        ),
        Some(labels) => {
            let have: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (
                format!(
                    "listener {} selects namespaces by {wanted}; Namespace {route_ns} has {}",
                    l.name,
                    if have.is_empty() {
                        "no labels".to_owned()
                    } else {
                        format!("labels {}", have.join(", "))
                    }
                ),
                Some(format!(
                    "label Namespace {route_ns} to match {wanted}, or change the listener's allowedRoutes"
                )),
            )
        }
    }
}

/// `{a=b, c In (x, y)}`.
fn describe_selector(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel
        .match_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in &sel.match_expressions {
        let mut part = e.key.clone();
        let op = match e.operator {
            SelectorOperator::In => " In",
            SelectorOperator::NotIn => " NotIn",
            SelectorOperator::Exists => " Exists",
            SelectorOperator::DoesNotExist => " DoesNotExist",
        };
        part.push_str(op);
        if !e.values.is_empty() {
            let _ = write!(part, " ({})", e.values.join(", "));
        }
        parts.push(part);
    }
    if parts.is_empty() {
        "an empty selector".to_owned()
    } else {
        format!("{{{}}}", parts.join(", "))
    }
}

/// Why a parentRef's sectionName and port select no listener of its Gateway.
pub fn no_listener(p: &ParentRef, listeners: &[Listener]) -> Refusal {
    let names: Vec<String> = listeners
        .iter()
        .map(|l| format!("{} (port {})", l.name, l.port))
        .collect();
    Refusal {
        warning: Warning::NoMatchingParent,
        message: format!(
            "Gateway {}/{} has no listener{}{}",
            p.namespace,
            p.name,
            p.section_name
                .as_ref()
                .map(|s| format!(" named {s}"))
                .unwrap_or_default(),
            p.port
                .map(|port| format!(" on port {port}"))
                .unwrap_or_default()
        ),
        help: Some(format!("its listeners are {}", names.join(", "))),
    }
}
