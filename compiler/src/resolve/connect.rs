//! BackendTrafficPolicy `timeout.tcp.connectTimeout` → clusters of their own. Envoy sets a
//! connect timeout per cluster, and gatewasm's clusters are per Service port, shared by every
//! rule; Envoy Gateway's are per route rule. So a rule whose governing policy sets one sends
//! to a copy of each of its backends' clusters, named `<cluster>~connect-<ms>ms`, which
//! carries the timeout; rules without one keep the shared clusters.

use std::collections::{BTreeMap, HashMap};

use gatewasm_filter::blob::{Backend, BackendId};

use super::backends::ClusterTemplate;
use super::ids::{self, TooMany};
use super::targets::{Level, RuleOn};
use super::Resolved;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::valid::{BackendTrafficPolicy, Valid};
use crate::warning::Warning;

/// Moves the rules `best` binds to a policy with a connect timeout onto clusters that carry
/// it, and records each such cluster's timeout in `resolved.connect_timeouts`.
///
/// # Errors
/// More backends than the blob can number.
pub fn apply(
    best: &BTreeMap<RuleOn, (Level, usize)>,
    policies: &[Valid<BackendTrafficPolicy>],
    template: &ClusterTemplate,
    resolved: &mut Resolved,
    diagnostics: &mut Diagnostics,
) -> Result<(), TooMany> {
    // The longest timeout a rule gets on any of its listeners: its backends are the same on
    // all of them.
    let mut by_rule: BTreeMap<usize, (u64, usize)> = BTreeMap::new();
    for (&(_, rule), &(_, pi)) in best {
        let Some(timeout) = policies[pi].spec.connect else {
            continue;
        };
        let ms = timeout.as_millis() as u64;
        let entry = by_rule.entry(rule).or_insert((ms, pi));
        if ms > entry.0 {
            *entry = (ms, pi);
        }
    }
    if by_rule.is_empty() {
        return Ok(());
    }
    if template.0 == ClusterTemplate::ISTIO {
        for &(_, pi) in by_rule.values() {
            diagnostics.push(not_with_istio(&policies[pi]));
        }
        return Ok(());
    }
    let mut copies: HashMap<(BackendId, u64), BackendId> = HashMap::new();
    for (rule, (ms, _)) in by_rule {
        let choices = resolved.rules[rule].rule.backends.iter_mut();
        for id in choices.filter_map(|b| b.backend.as_mut()) {
            let copy = match copies.get(&(*id, ms)) {
                Some(&copy) => copy,
                None => {
                    let shared = &resolved.backends[id.index()];
                    let copy = Backend {
                        cluster: format!("{}~connect-{ms}ms", shared.cluster),
                        ..shared.clone()
                    };
                    resolved.connect_timeouts.insert(copy.cluster.clone(), ms);
                    let new = ids::push(
                        &mut resolved.backends,
                        copy,
                        BackendId::from_index,
                        "backends",
                    )?;
                    copies.insert((*id, ms), new);
                    new
                }
            };
            *id = copy;
        }
    }
    Ok(())
}

fn not_with_istio(p: &Valid<BackendTrafficPolicy>) -> Diagnostic {
    p.source
        .diagnostic(
            Severity::Warning(Warning::UnsupportedFeature),
            &p.label(),
            "spec.timeout.tcp.connectTimeout",
            "not carried out: with Istio's cluster names the clusters are Istio's",
        )
        .with_help("set connectTimeout in a DestinationRule's trafficPolicy.connectionPool.tcp")
}
