//! `limit-rps`, `limit-rpm`, `limit-burst-multiplier` and `limit-allowlist`
//! (`limit-whitelist`): nginx's `limit_req` in one zone per Ingress, keyed by the client's
//! address, `burst = rate × multiplier` with `nodelay`, denied with 503
//! (docs/ingress-nginx-behaviour.md §10). An Envoy Gateway BackendTrafficPolicy on the
//! Ingress's HTTPRoutes carries it: a local rule per rate and address family with a Distinct
//! source (one bucket per client), `shared` (one zone for every path and host of the
//! Ingress), the allowlist as inverted sources, and gatewasm's annotations for nginx's
//! continuous refill with a burst and its status. Envoy Gateway itself would count these
//! rules in windows of the unit, without a burst, and answer 429.

use serde_json::{json, Value};

use super::annotations::PREFIX;
use super::settings::{unread, value};
use super::{envoy_gateway, Served};
use crate::diag::Diagnostics;
use crate::model::Object;
use crate::validate::{BURST_ANNOTATION, STATUS_ANNOTATION};

/// The annotations read here, without the prefix: carried out, so not warned about.
pub const ANNOTATIONS: [&str; 5] = [
    "limit-rps",
    "limit-rpm",
    "limit-burst-multiplier",
    "limit-allowlist",
    "limit-whitelist",
];

/// ingress-nginx's default `limit-burst-multiplier`.
const DEFAULT_MULTIPLIER: u32 = 5;
/// ingress-nginx's default `limit-req-status-code`.
const STATUS: u16 = 503;
/// Envoy Gateway allows 8 clientSelectors a rule: one is the client's own source.
const MAX_ALLOWLIST: usize = 7;

/// An Ingress's request limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second and per minute (each when set and not 0).
    rates: Vec<(u32, &'static str)>,
    multiplier: u32,
    /// Client ranges that are never limited.
    allowlist: Vec<String>,
}

/// The limits `object` asks for, if any. A value ingress-nginx refuses (which makes it drop
/// the whole Ingress) is a warning here, and the Ingress is served without limits.
pub fn read(object: &Object, diagnostics: &mut Diagnostics) -> Option<Limits> {
    let mut warn = |name: &str, message: String| diagnostics.push(unread(object, name, message));
    let mut rates = Vec::new();
    for (name, unit) in [("limit-rps", "Second"), ("limit-rpm", "Minute")] {
        let Some(text) = value(object, name) else {
            continue;
        };
        match text.parse::<u32>() {
            Ok(0) => {}
            Ok(n) => rates.push((n, unit)),
            Err(_) => {
                warn(name, format!("{PREFIX}{name} {text} is not a number: ingress-nginx refuses the whole Ingress; gatewasm serves it without limits"));
                return None;
            }
        }
    }
    if rates.is_empty() {
        return None;
    }
    let multiplier = match value(object, "limit-burst-multiplier") {
        None => DEFAULT_MULTIPLIER,
        Some(text) => text.parse::<u32>().unwrap_or_else(|_| {
            warn("limit-burst-multiplier", format!("{PREFIX}limit-burst-multiplier {text} is not a number: the default, {DEFAULT_MULTIPLIER}, is used"));
            DEFAULT_MULTIPLIER
        }),
    };
    let allow_name = ["limit-allowlist", "limit-whitelist"]
        .into_iter()
        .find(|n| value(object, n).is_some());
    let allowlist: Vec<String> = allow_name
        .and_then(|n| value(object, n))
        .into_iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(super::source_range::with_prefix)
        .collect();
    if let Some(name) = allow_name {
        if let Some(bad) = allowlist
            .iter()
            .find(|e| crate::validate::parse_cidr(e).is_none())
        {
            warn(name, format!("{PREFIX}{name} has {bad}, which is not an address or a CIDR: ingress-nginx refuses the whole Ingress; gatewasm serves it without limits"));
            return None;
        }
        if allowlist.len() > MAX_ALLOWLIST {
            warn(name, format!("{PREFIX}{name} has {} ranges; a BackendTrafficPolicy rule takes at most {MAX_ALLOWLIST}: the Ingress is served without limits", allowlist.len()));
            return None;
        }
    }
    Some(Limits {
        rates,
        multiplier,
        allowlist,
    })
}

impl Limits {
    /// The annotation the policy stands for, without the prefix.
    pub fn annotation(&self) -> &'static str {
        match self.rates.first() {
            Some((_, "Minute")) => "limit-rpm",
            _ => "limit-rps",
        }
    }

    /// The BackendTrafficPolicy `name` limiting the HTTPRoutes `routes`, in the namespace of
    /// `served`.
    pub fn policy(&self, served: &Served<'_>, name: &str, routes: &[(String, String)]) -> Value {
        let mut rules = Vec::new();
        for &(requests, unit) in &self.rates {
            for family in ["0.0.0.0/0", "::/0"] {
                let mut selectors =
                    vec![json!({"sourceCIDR": {"type": "Distinct", "value": family}})];
                selectors.extend(self.allowlist.iter().map(|range| {
                    json!({"sourceCIDR": {"type": "Exact", "value": range, "invert": true}})
                }));
                rules.push(json!({
                    "clientSelectors": selectors,
                    "limit": {"requests": requests, "unit": unit},
                    "shared": true,
                    "xRateLimitHeaders": "Off",
                }));
            }
        }
        let spec = json!({
            "targetRefs": envoy_gateway::target_refs(routes),
            "rateLimit": {"local": {"rules": rules}},
        });
        let mut policy = envoy_gateway::object(served, "BackendTrafficPolicy", name, spec);
        let annotations = &mut policy["metadata"]["annotations"];
        annotations[BURST_ANNOTATION] = json!(self.multiplier.to_string());
        annotations[STATUS_ANNOTATION] = json!(STATUS.to_string());
        policy
    }
}
