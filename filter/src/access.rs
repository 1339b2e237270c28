//! SecurityPolicy client-address authorization for one request: the policy governing the
//! matched rule on its listener, and the client's address against its rules. The address
//! is read from the host only when a policy applies, since every property read costs the
//! request a crossing into Envoy.

use crate::blob::{AccessPolicy, ListenerId, RuleId};
use crate::engine::{Reply, ReplyReason, Request, Router};
use crate::host::{Host, HostError};

/// The policy that governs `rule` when it is reached through `listener`.
pub fn policy_for(router: &Router, listener: ListenerId, rule: RuleId) -> Option<&AccessPolicy> {
    let access = &router.table().access;
    let policy = crate::blob::bound(&access.bindings, listener, rule)?;
    access.policies.get(policy as usize)
}

/// The 403 for a client the policy governing `rule` does not allow; `None` to go on.
///
/// # Errors
/// The host could not say the client's address.
pub fn authorize(
    router: &Router,
    listener: ListenerId,
    rule: RuleId,
    req: &Request<'_>,
    host: &mut impl Host,
) -> Result<Option<Reply>, HostError> {
    let Some(policy) = policy_for(router, listener, rule) else {
        return Ok(None);
    };
    let client = host
        .source_address()?
        .and_then(|a| crate::ratelimit::parse_client(&a));
    if policy.allows(client.as_ref().map(|c| c.0.as_slice())) {
        Ok(None)
    } else {
        Ok(Some(Reply::for_rule(ReplyReason::Forbidden, req, rule)))
    }
}
