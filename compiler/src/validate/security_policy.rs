//! SecurityPolicy: its targets as for every Envoy Gateway policy, and the CRD rules of
//! Envoy Gateway v1.9's `authorization` on client addresses. Any other way to authorize
//! (JWT claims, headers, operations) or authenticate is an error, so nothing is silently
//! dropped: a policy gatewasm ran only in part could let in what it should refuse.

use super::backend_traffic_policy::{parse_cidr, targets};
use super::Ctx;
use crate::model::{AuthorizationRule, SecurityPolicySpec};
use crate::quote::quote;
use crate::valid::{AccessRule, SecurityPolicy};

/// Validates and defaults a SecurityPolicy.
pub(super) fn security_policy(ctx: &mut Ctx, spec: &SecurityPolicySpec) -> SecurityPolicy {
    for field in spec.other.keys() {
        ctx.not_compiled(
            &format!("spec.{field}"),
            "gatewasm only compiles `authorization` on clientCIDRs from a SecurityPolicy",
            "move this setting into a SecurityPolicy applied by Envoy Gateway, or remove it",
        );
    }
    let (targets, selectors) = targets(
        ctx,
        spec.target_ref.as_ref(),
        &spec.target_refs,
        &spec.target_selectors,
    );
    if targets.is_empty() && selectors.is_empty() {
        ctx.error("spec", "a policy needs `targetRefs` or `targetSelectors`");
    }
    let mut policy = SecurityPolicy {
        targets,
        selectors,
        rules: Vec::new(),
        default_allow: false,
    };
    let Some(authz) = &spec.authorization else {
        if spec.other.is_empty() {
            ctx.error(
                "spec.authorization",
                "the policy has no `authorization`: nothing to compile",
            );
        }
        return policy;
    };
    policy.default_allow = match authz.default_action.as_deref() {
        None | Some("Deny") => false,
        Some("Allow") => true,
        Some(other) => {
            ctx.error(
                "spec.authorization.defaultAction",
                format!(
                    "unsupported value {}: supported values are \"Allow\", \"Deny\"",
                    quote(other)
                ),
            );
            false
        }
    };
    for (i, r) in authz.rules.iter().enumerate() {
        policy
            .rules
            .extend(rule(ctx, &format!("spec.authorization.rules[{i}]"), r));
    }
    policy
}

fn rule(ctx: &mut Ctx, at: &str, r: &AuthorizationRule) -> Option<AccessRule> {
    let others = r.other.keys().map(|k| format!("{at}.{k}"));
    let principal_others = r
        .principal
        .other
        .keys()
        .map(|k| format!("{at}.principal.{k}"));
    let mut refused = false;
    for field in others.chain(principal_others) {
        ctx.not_compiled(
            &field,
            "gatewasm authorizes only on principal.clientCIDRs",
            "a rule gatewasm ran without it would match more requests than written; remove it, or keep this policy for routes Envoy Gateway serves",
        );
        refused = true;
    }
    let allow = match r.action.as_str() {
        "Allow" => true,
        "Deny" => false,
        other => {
            ctx.error(
                &format!("{at}.action"),
                format!(
                    "unsupported value {}: supported values are \"Allow\", \"Deny\"",
                    quote(other)
                ),
            );
            return None;
        }
    };
    if r.principal.client_cidrs.is_empty() {
        ctx.error(
            &format!("{at}.principal.clientCIDRs"),
            "at least one client CIDR is required",
        );
        return None;
    }
    let mut cidrs = Vec::new();
    for (k, text) in r.principal.client_cidrs.iter().enumerate() {
        match parse_cidr(text) {
            Some(c) => cidrs.push(c),
            None => {
                ctx.error(
                    &format!("{at}.principal.clientCIDRs[{k}]"),
                    format!(
                        "{} is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32",
                        quote(text)
                    ),
                );
                refused = true;
            }
        }
    }
    (!refused).then_some(AccessRule { allow, cidrs })
}
