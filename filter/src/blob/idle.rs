//! Stream idle timeouts as they travel in the blob: Envoy Gateway BackendTrafficPolicy
//! `timeout.http.streamIdleTimeout`, already resolved to the rules and listeners each governs
//! (the precedence of rate limits: route rule, route, listener, Gateway).
//!
//! Only an Envoy route can carry an idle timeout, and the filter forwards through one
//! catch-all route. So the compiler emits one more forwarding route per distinct timeout,
//! matched on a header the filter sets to the timeout in milliseconds; a rule without one
//! leaves the header unset and takes the catch-all route. Carried in the section format 4
//! appends after format 3's, so a table without it keeps its older format.

use serde::{Deserialize, Serialize};

use super::binding::Binding;
use super::ids::{ListenerId, RuleId};
use super::wire::DecodeError;

/// Every idle timeout policy of the compiled Gateway and where each applies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdleTimeouts {
    /// Policies, in the order the compiler found them.
    pub policies: Vec<IdlePolicy>,
    /// Which policy governs a rule on a listener, sorted by (listener, rule).
    pub bindings: Vec<Binding>,
}

impl IdleTimeouts {
    /// True when no policy applies anywhere.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// The policy governing `rule` on `listener`.
    pub fn policy_for(&self, listener: ListenerId, rule: RuleId) -> Option<&IdlePolicy> {
        let policy = super::binding::bound(&self.bindings, listener, rule)?;
        self.policies.get(policy as usize)
    }

    /// The timeout governing `rule` on `listener`, in milliseconds.
    pub fn governing(&self, listener: ListenerId, rule: RuleId) -> Option<u64> {
        self.policy_for(listener, rule).map(|p| p.idle_ms)
    }

    /// The distinct timeouts some rule uses, in milliseconds, ascending: one Envoy route each.
    pub fn distinct_ms(&self) -> Vec<u64> {
        let mut ms: Vec<u64> = self
            .bindings
            .iter()
            .filter_map(|b| self.policies.get(b.policy as usize))
            .map(|p| p.idle_ms)
            .collect();
        ms.sort_unstable();
        ms.dedup();
        ms
    }
}

/// One BackendTrafficPolicy's stream idle timeout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdlePolicy {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// Where the policy is written (`file:line`), for `explain`.
    pub source: String,
    /// The timeout in milliseconds; 0 disables it, as in Envoy.
    pub idle_ms: u64,
}

/// The request header that names a rule's idle timeout to Envoy's routes, beside the
/// cluster header (`<cluster_header>-idle-timeout`).
pub fn idle_header(cluster_header: &str) -> String {
    format!("{cluster_header}-idle-timeout")
}

/// Checks what the types cannot say; `listeners` and `rules` are the table's sizes.
pub(super) fn validate(
    idle: &IdleTimeouts,
    listeners: usize,
    rules: usize,
) -> Result<(), DecodeError> {
    let policies = idle.policies.len();
    super::binding::validate("idle", &idle.bindings, listeners, rules, policies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(idle_ms: u64) -> IdlePolicy {
        IdlePolicy {
            namespace: "web".into(),
            name: format!("p{idle_ms}"),
            source: "p.yaml:1".into(),
            idle_ms,
        }
    }

    fn binding(rule: usize, policy: u32) -> Option<Binding> {
        Some(Binding {
            listener: ListenerId::from_index(0)?,
            rule: RuleId::from_index(rule)?,
            policy,
        })
    }

    #[test]
    fn only_timeouts_some_rule_uses_get_a_route() {
        let idle = IdleTimeouts {
            policies: vec![policy(60_000), policy(5_000), policy(1_000)],
            bindings: [binding(0, 1), binding(1, 0), binding(2, 1)]
                .into_iter()
                .flatten()
                .collect(),
        };
        assert_eq!(idle.distinct_ms(), vec![5_000, 60_000]);
        let on = |rule| idle.governing(ListenerId::from_index(0)?, RuleId::from_index(rule)?);
        assert_eq!((on(0), on(1), on(3)), (Some(5_000), Some(60_000), None));
    }
}
