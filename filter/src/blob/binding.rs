//! Which policy governs a rule on a listener: the compiler has applied Envoy Gateway's
//! precedence (route rule, route, listener, Gateway), so the filter only looks a binding up.
//! Rate limits and authorization keep their bindings the same way.

use serde::{Deserialize, Serialize};

use super::ids::{ListenerId, RuleId};
use super::wire::DecodeError;

/// Which policy governs a rule when it is reached through a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Binding {
    /// The listener the request came in on.
    pub listener: ListenerId,
    /// The route rule that matched.
    pub rule: RuleId,
    /// Index into the policies of the list the binding belongs to.
    pub policy: u32,
}

/// The policy `bindings` (sorted by listener and rule) bind to `rule` on `listener`.
pub fn bound(bindings: &[Binding], listener: ListenerId, rule: RuleId) -> Option<u32> {
    let i = bindings
        .binary_search_by(|b| (b.listener, b.rule).cmp(&(listener, rule)))
        .ok()?;
    bindings.get(i).map(|b| b.policy)
}

/// Checks that `bindings` (named `what` in messages) refer to listeners, rules and
/// `policies` the table has, and are sorted without repeats, as [`bound`] needs.
pub(super) fn validate(
    what: &str,
    bindings: &[Binding],
    listeners: usize,
    rules: usize,
    policies: usize,
) -> Result<(), DecodeError> {
    for (i, b) in bindings.iter().enumerate() {
        if b.listener.index() >= listeners
            || b.rule.index() >= rules
            || b.policy as usize >= policies
        {
            return Err(DecodeError::new(format!(
                "{what}.bindings[{i}] refers outside the table"
            )));
        }
        let previous = i.checked_sub(1).and_then(|p| bindings.get(p));
        if previous.is_some_and(|p| p >= b) {
            return Err(DecodeError::new(format!(
                "{what}.bindings[{i}] is out of order"
            )));
        }
    }
    Ok(())
}
