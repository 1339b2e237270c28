//! Client-address authorization as it travels in the blob: Envoy Gateway SecurityPolicy
//! `authorization` rules on `clientCIDRs`, already resolved to the rules and listeners they
//! govern (the same precedence as rate limits: route rule, route, listener, Gateway).
//!
//! A policy's rules are tried in order; the first whose ranges hold the client's address
//! decides, and `default_allow` decides for an address none holds. A denied request is
//! answered 403 before any rate limit counts it, as Envoy Gateway's RBAC filter runs before
//! its rate limit filters. Carried in the section format 3 appends after the table, so a
//! table without it is still written as format 2.

use serde::{Deserialize, Serialize};

use super::binding::Binding;
use super::ratelimit::Cidr;
use super::wire::DecodeError;

/// Every authorization policy of the compiled Gateway and where each applies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Access {
    /// Policies, in the order the compiler found them.
    pub policies: Vec<AccessPolicy>,
    /// Which policy governs a rule on a listener, sorted by (listener, rule).
    pub bindings: Vec<Binding>,
}

impl Access {
    /// True when no policy applies anywhere.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

/// One SecurityPolicy's `authorization`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessPolicy {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// Where the policy is written (`file:line`), for `explain`.
    pub source: String,
    /// The rules, tried in order.
    pub rules: Vec<AccessRule>,
    /// What an address no rule holds gets (`defaultAction: Allow`).
    pub default_allow: bool,
}

impl AccessPolicy {
    /// Whether a client at `ip` (4 or 16 bytes; `None` when the host gave no address) may
    /// pass. An unknown address is held by no range, so the default decides.
    pub fn allows(&self, ip: Option<&[u8]>) -> bool {
        ip.and_then(|ip| {
            self.rules
                .iter()
                .find(|r| r.cidrs.iter().any(|c| c.contains(ip)))
        })
        .map_or(self.default_allow, |r| r.allow)
    }
}

/// One authorization rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessRule {
    /// `action: Allow` (else Deny).
    pub allow: bool,
    /// `principal.clientCIDRs`.
    pub cidrs: Vec<Cidr>,
}

/// Checks what the types cannot say; `listeners` and `rules` are the table's sizes.
pub(super) fn validate(access: &Access, listeners: usize, rules: usize) -> Result<(), DecodeError> {
    let policies = access.policies.len();
    super::binding::validate("access", &access.bindings, listeners, rules, policies)?;
    for (p, policy) in access.policies.iter().enumerate() {
        let cidrs = policy.rules.iter().flat_map(|r| &r.cidrs);
        if let Some(c) = cidrs
            .into_iter()
            .find(|c| c.prefix > if c.v4 { 32 } else { 128 })
        {
            return Err(DecodeError::new(format!(
                "access.policies[{p}] has a range with prefix length {}",
                c.prefix
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4], prefix: u8) -> Cidr {
        let mut address = [0; 16];
        address[..4].copy_from_slice(&a);
        Cidr {
            address,
            v4: true,
            prefix,
        }
    }

    #[test]
    fn the_first_rule_holding_the_address_decides() {
        let policy = AccessPolicy {
            namespace: "web".into(),
            name: "p".into(),
            source: "p.yaml:1".into(),
            rules: vec![
                AccessRule {
                    allow: false,
                    cidrs: vec![v4([10, 1, 0, 0], 16)],
                },
                AccessRule {
                    allow: true,
                    cidrs: vec![v4([10, 0, 0, 0], 8)],
                },
            ],
            default_allow: false,
        };
        assert!(policy.allows(Some(&[10, 2, 3, 4])));
        assert!(!policy.allows(Some(&[10, 1, 3, 4])));
        assert!(!policy.allows(Some(&[192, 0, 2, 1])));
        assert!(!policy.allows(None));
        let open = AccessPolicy {
            default_allow: true,
            ..policy
        };
        assert!(open.allows(None));
        assert!(open.allows(Some(&[192, 0, 2, 1])));
    }
}
