//! Validated SecurityPolicy: its targets and its client-address authorization. Only
//! `authorization` rules on `clientCIDRs` are compiled; validation refuses everything else.

use gatewasm_filter::blob::Cidr;

use super::{PolicyTarget, TargetSelector};

/// A validated SecurityPolicy spec.
#[derive(Clone, Debug, PartialEq)]
pub struct SecurityPolicy {
    /// Targets by name (`targetRef` and `targetRefs`), in the policy's namespace.
    pub targets: Vec<PolicyTarget>,
    /// Targets by label, in the policy's namespace.
    pub selectors: Vec<TargetSelector>,
    /// `authorization.rules`, tried in order.
    pub rules: Vec<AccessRule>,
    /// `authorization.defaultAction` is `Allow` (the default is Deny).
    pub default_allow: bool,
}

/// One authorization rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessRule {
    /// `action: Allow`.
    pub allow: bool,
    /// `principal.clientCIDRs`.
    pub cidrs: Vec<Cidr>,
}
