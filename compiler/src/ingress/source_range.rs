//! `allowlist-source-range` (and its older name `whitelist-source-range`) and
//! `denylist-source-range`: nginx writes `deny` for each denied range, then `allow` for each
//! allowed one and `deny all` after them, so the first that holds the client's address
//! decides and the deny list wins (docs/ingress-nginx-behaviour.md §11). An Envoy Gateway
//! SecurityPolicy whose authorization rules say the same, in the same order, targets the
//! Ingress's HTTPRoutes.

use serde_json::{json, Value};

use super::annotations::PREFIX;
use super::settings::{unread, value};
use super::{envoy_gateway, Served};
use crate::diag::Diagnostics;
use crate::model::Object;
use crate::validate::parse_cidr;

/// The annotations read here, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 3] = [
    "allowlist-source-range",
    "whitelist-source-range",
    "denylist-source-range",
];

/// An Ingress's client-address lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranges {
    /// Refused first.
    deny: Vec<String>,
    /// Then allowed.
    allow: Vec<String>,
    /// Every other address is refused: there is an allow list (or a broken list).
    refuse_rest: bool,
    /// The annotation the policy stands for, without the prefix.
    pub annotation: &'static str,
}

/// The lists `object` asks for, if any. A list with an entry that is not an address or a
/// CIDR makes ingress-nginx answer 503 on every path of the Ingress; gatewasm refuses every
/// client instead (403), with a warning.
pub fn read(object: &Object, diagnostics: &mut Diagnostics) -> Option<Ranges> {
    let allow_name = ["allowlist-source-range", "whitelist-source-range"]
        .into_iter()
        .find(|n| value(object, n).is_some());
    let deny = value(object, "denylist-source-range");
    let allow = allow_name.and_then(|n| value(object, n));
    if allow.is_none() && deny.is_none() {
        return None;
    }
    let annotation = allow_name.unwrap_or("denylist-source-range");
    let mut broken = false;
    let mut list = |name: &str, text: Option<&str>| -> Vec<String> {
        let entries: Vec<String> = text
            .into_iter()
            .flat_map(|t| t.split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(with_prefix)
            .collect();
        if let Some(bad) = entries.iter().find(|e| parse_cidr(e).is_none()) {
            diagnostics.push(unread(object, name, format!("{PREFIX}{name} has {bad}, which is not an address or a CIDR: ingress-nginx answers 503 on every path of this Ingress; gatewasm refuses every client (403)")));
            broken = true;
        }
        entries
    };
    let deny = list("denylist-source-range", deny);
    let allow = list(allow_name.unwrap_or("allowlist-source-range"), allow);
    Some(if broken {
        Ranges {
            deny: Vec::new(),
            allow: Vec::new(),
            refuse_rest: true,
            annotation,
        }
    } else {
        Ranges {
            refuse_rest: !allow.is_empty(),
            deny,
            allow,
            annotation,
        }
    })
}

/// A bare address as the one-address CIDR Envoy Gateway's `clientCIDRs` requires.
pub fn with_prefix(entry: &str) -> String {
    match entry.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_ipv4() => format!("{entry}/32"),
        Ok(_) => format!("{entry}/128"),
        Err(_) => entry.to_owned(),
    }
}

impl Ranges {
    /// The SecurityPolicy `name` applying these lists to the HTTPRoutes `routes`, in the
    /// namespace of `served`.
    pub fn policy(&self, served: &Served<'_>, name: &str, routes: &[(String, String)]) -> Value {
        let mut rules = Vec::new();
        if !self.deny.is_empty() {
            rules.push(json!({"name": "denylist", "action": "Deny", "principal": {"clientCIDRs": self.deny}}));
        }
        if !self.allow.is_empty() {
            rules.push(json!({"name": "allowlist", "action": "Allow", "principal": {"clientCIDRs": self.allow}}));
        }
        let default = if self.refuse_rest { "Deny" } else { "Allow" };
        let spec = json!({
            "targetRefs": envoy_gateway::target_refs(routes),
            "authorization": {"defaultAction": default, "rules": rules},
        });
        envoy_gateway::object(served, "SecurityPolicy", name, spec)
    }
}
