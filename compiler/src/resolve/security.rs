//! SecurityPolicy authorization → the blob's [`Access`]: which policy governs each attached
//! rule on each listener ([`super::targets`], the precedence every Envoy Gateway policy has),
//! and the policy's rules in the blob's form.

use gatewasm_filter::blob::{self, Access, AccessPolicy};

use super::ids::TooMany;
use super::targets::{self, Policy};
use super::Resolved;
use crate::diag::Diagnostics;
use crate::valid::{Gateway, PolicyTarget, SecurityPolicy, TargetSelector, Valid, Validated};

impl Policy for SecurityPolicy {
    fn targets(&self) -> &[PolicyTarget] {
        &self.targets
    }

    fn selectors(&self) -> &[TargetSelector] {
        &self.selectors
    }

    fn what(&self) -> String {
        "its authorization".to_owned()
    }
}

/// Fills `resolved.access` for the routes attached to `gateway`.
pub fn build(
    input: &Validated,
    gateway: &Valid<Gateway>,
    resolved: &mut Resolved,
    diagnostics: &mut Diagnostics,
) -> Result<(), TooMany> {
    let policies = &input.security_policies;
    let best = targets::bind(input, policies, gateway, resolved, diagnostics);
    let mut out = Access::default();
    out.bindings = targets::numbered(best, &mut out.policies, "authorization policies", |pi| {
        Ok(policy_blob(&policies[pi]))
    })?;
    resolved.access = out;
    Ok(())
}

fn policy_blob(p: &Valid<SecurityPolicy>) -> AccessPolicy {
    AccessPolicy {
        namespace: p.meta.namespace.clone(),
        name: p.meta.name.clone(),
        source: format!("{}:{}", p.source.file.blob_name, p.source.line()),
        rules: p
            .spec
            .rules
            .iter()
            .map(|r| blob::AccessRule {
                allow: r.allow,
                cidrs: r.cidrs.clone(),
            })
            .collect(),
        default_allow: p.spec.default_allow,
    }
}
