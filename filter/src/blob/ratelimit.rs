//! Rate limits as they travel in the blob: Envoy Gateway BackendTrafficPolicy `rateLimit`
//! sections, already resolved to the routes and listeners they apply to.
//!
//! The compiler has decided which policy governs each (listener, rule) pair (a policy on the
//! route rule beats one on the route, which beats one on the listener, which beats one on the
//! Gateway), so the filter only looks its binding up. Selectors are kept close to the API:
//! each rule's selectors are AND'ed, and a rule without selectors applies to every request of
//! the route.

use serde::{Deserialize, Serialize};

use super::binding::Binding;
use super::ids::RegexId;
use super::wire::DecodeError;

/// Every rate-limit policy of the compiled Gateway and where each applies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimits {
    /// The rate limit service domain of every global descriptor.
    pub domain: String,
    /// Policies, in the order the compiler found them.
    pub policies: Vec<RlPolicy>,
    /// Which policy governs a rule on a listener, sorted by (listener, rule).
    pub bindings: Vec<Binding>,
    /// The policies whose local rules count as ingress-nginx's `limit_req` does, sorted by
    /// policy. Not part of the table's own encoding: format 3 appends it ([`super::wire`]).
    #[serde(skip)]
    pub styles: Vec<LocalStyle>,
}

/// How a policy's local rules count when its gatewasm annotations ask for more than Envoy's
/// local rate limiter does: ingress-nginx's `limit_req … burst=B nodelay`, where each rule
/// refills continuously at its rate and holds `requests × burst_multiplier` requests beyond
/// the one its rate allows, and another status for a denied request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalStyle {
    /// Index into [`RateLimits::policies`].
    pub policy: u32,
    /// The burst, in requests per request of the rule's rate; `None` keeps Envoy's windows.
    pub burst_multiplier: Option<u32>,
    /// The status of a denied request (429 without a style).
    pub status: u16,
}

impl RateLimits {
    /// The style of policy number `policy`, if it has one.
    pub fn style(&self, policy: u32) -> Option<&LocalStyle> {
        let i = self
            .styles
            .binary_search_by_key(&policy, |s| s.policy)
            .ok()?;
        self.styles.get(i)
    }
}

impl RateLimits {
    /// True when some policy has Global rules: the deployment needs a rate limit service.
    pub fn has_global(&self) -> bool {
        self.policies.iter().any(|p| !p.global.is_empty())
    }
}

/// One BackendTrafficPolicy's `rateLimit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RlPolicy {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// Where the policy is written (`file:line`), for `explain`.
    pub source: String,
    /// `rateLimit.local.rules`, counted in the proxy.
    pub local: Vec<RlRule>,
    /// `rateLimit.global.rules`, counted by the rate limit service.
    pub global: Vec<RlRule>,
}

/// One rate-limit rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RlRule {
    /// Position of the rule in its `rules` list (names metrics and descriptors).
    pub index: u16,
    /// Conditions, all of which must hold (`clientSelectors` flattened); empty: every request.
    pub selectors: Vec<Selector>,
    /// Requests admitted per unit.
    pub requests: u32,
    /// The window.
    pub unit: Unit,
    /// Tokens one request takes (`cost.request.number`, default 1; 0 only checks).
    pub cost: u32,
    /// One bucket across every route the policy applies to, instead of one per route.
    pub shared: bool,
    /// Send the `x-ratelimit-*` headers for this rule (`xRateLimitHeaders`, default on).
    pub headers: bool,
    /// Buckets in the slot table of a rule with `Distinct` selectors (0 otherwise).
    pub slots: u32,
}

impl RlRule {
    /// True when some selector gives every distinct value its own bucket.
    pub fn is_distinct(&self) -> bool {
        self.selectors.iter().any(Selector::is_distinct)
    }
}

/// A rate-limit window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// 1 s.
    Second,
    /// 60 s.
    Minute,
    /// 3600 s.
    Hour,
    /// 86 400 s.
    Day,
    /// 7 days.
    Week,
    /// 30 days, as Envoy Gateway and envoyproxy/ratelimit count a month.
    Month,
    /// 365 days.
    Year,
}

impl Unit {
    /// Length of the window in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            Unit::Second => 1,
            Unit::Minute => 60,
            Unit::Hour => 3600,
            Unit::Day => 86_400,
            Unit::Week => 7 * 86_400,
            Unit::Month => 30 * 86_400,
            Unit::Year => 365 * 86_400,
        }
    }

    /// The API spelling (`Minute`).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Second => "Second",
            Unit::Minute => "Minute",
            Unit::Hour => "Hour",
            Unit::Day => "Day",
            Unit::Week => "Week",
            Unit::Month => "Month",
            Unit::Year => "Year",
        }
    }
}

/// One condition of a rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Selector {
    /// The first value of a request header (lowercase name).
    Header {
        /// Lowercase header name.
        name: String,
        /// Condition on the value.
        value: ValueMatch,
        /// The condition holds when the value does *not* match (never with `Distinct`).
        invert: bool,
    },
    /// The first value of a query parameter.
    Query {
        /// Parameter name, compared case-sensitively.
        name: String,
        /// Condition on the value.
        value: ValueMatch,
        /// The condition holds when the value does *not* match (never with `Distinct`).
        invert: bool,
    },
    /// The method is one of `methods` (uppercase), or with `invert` none of them.
    Methods {
        /// Uppercase methods, OR'ed.
        methods: Vec<String>,
        /// Holds when the method is not in the list.
        invert: bool,
    },
    /// The normalised path (without the query).
    Path {
        /// Condition on the path.
        path: PathCondition,
        /// Holds when the path does not match.
        invert: bool,
    },
    /// The client address is inside a CIDR range.
    SourceCidr {
        /// The range.
        cidr: Cidr,
        /// Every address in the range gets its own bucket.
        distinct: bool,
        /// Holds when the address is outside the range (never with `distinct`).
        invert: bool,
    },
}

impl Selector {
    /// True for `Distinct` header, query and source selectors.
    pub fn is_distinct(&self) -> bool {
        match self {
            Selector::Header { value, .. } | Selector::Query { value, .. } => {
                matches!(value, ValueMatch::Distinct)
            }
            Selector::SourceCidr { distinct, .. } => *distinct,
            Selector::Methods { .. } | Selector::Path { .. } => false,
        }
    }
}

/// A condition on a header or query value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ValueMatch {
    /// Equal bytes.
    Exact(String),
    /// The whole value matches the expression in [`super::RouteTable::regexes`].
    Regex(RegexId),
    /// Any present value; each value gets its own bucket.
    Distinct,
}

/// A condition on the request path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PathCondition {
    /// Equal to the value.
    Exact(String),
    /// Starts with the value's segments.
    Prefix(String),
    /// The whole path matches the expression.
    Regex(RegexId),
}

/// An IPv4 or IPv6 range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cidr {
    /// The network address; IPv4 as the first four bytes.
    pub address: [u8; 16],
    /// True for IPv4.
    pub v4: bool,
    /// Prefix length (at most 32 for IPv4, 128 for IPv6).
    pub prefix: u8,
}

impl Cidr {
    /// True when `ip` (4 or 16 bytes) is inside the range; other families never are.
    pub fn contains(&self, ip: &[u8]) -> bool {
        let width = if self.v4 { 4 } else { 16 };
        if ip.len() != width {
            return false;
        }
        // Byte by byte, each masked to the prefix bits that fall in it (all 8, some, none).
        let mut bits = u32::from(self.prefix);
        ip.iter().zip(&self.address).all(|(a, b)| {
            let mask = 0xffu8.checked_shl(8 - bits.min(8)).unwrap_or(0);
            bits = bits.saturating_sub(8);
            a & mask == b & mask
        })
    }
}

/// The most slots a Distinct rule may have: bounds the shared-data keys a flood can create.
pub const MAX_SLOTS: u32 = 1 << 20;

/// Checks what the types cannot say; `rules`, `listeners` and `regexes` are the table's sizes.
pub(super) fn validate(
    rl: &RateLimits,
    listeners: usize,
    rules: usize,
    regexes: usize,
) -> Result<(), DecodeError> {
    let err = |m: String| Err(DecodeError::new(m));
    let policies = rl.policies.len();
    super::binding::validate("rate_limits", &rl.bindings, listeners, rules, policies)?;
    for (p, policy) in rl.policies.iter().enumerate() {
        for (kind, list) in [("local", &policy.local), ("global", &policy.global)] {
            for (r, rule) in list.iter().enumerate() {
                let at = format!("rate_limits.policies[{p}].{kind}[{r}]");
                if rule.is_distinct() != (rule.slots > 0) || rule.slots > MAX_SLOTS {
                    return err(format!("{at} has {} slots", rule.slots));
                }
                for s in &rule.selectors {
                    selector(&at, s, regexes)?;
                }
            }
        }
    }
    for (i, style) in rl.styles.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|p| rl.styles.get(p));
        if style.policy as usize >= rl.policies.len()
            || previous.is_some_and(|p| p.policy >= style.policy)
            || !(400..=599).contains(&style.status)
        {
            return err(format!(
                "rate_limits.styles[{i}] refers outside the table, is out of order or has status {}",
                style.status
            ));
        }
    }
    if !rl.policies.iter().all(|p| p.global.is_empty()) && rl.domain.is_empty() {
        return err("rate_limits has global rules but no domain".into());
    }
    Ok(())
}

fn selector(at: &str, s: &Selector, regexes: usize) -> Result<(), DecodeError> {
    let regex = |id: &RegexId| {
        if id.index() < regexes {
            Ok(())
        } else {
            Err(DecodeError::new(format!(
                "{at} refers to regex {}",
                id.index()
            )))
        }
    };
    match s {
        Selector::Header {
            name,
            value,
            invert,
        }
        | Selector::Query {
            name,
            value,
            invert,
        } => {
            if name.is_empty()
                || (matches!(s, Selector::Header { .. }) && *name != name.to_ascii_lowercase())
            {
                return Err(DecodeError::new(format!(
                    "{at} has an invalid name {}",
                    crate::quote::quote(name)
                )));
            }
            if *invert && matches!(value, ValueMatch::Distinct) {
                return Err(DecodeError::new(format!(
                    "{at} inverts a Distinct selector"
                )));
            }
            match value {
                ValueMatch::Regex(id) => regex(id),
                ValueMatch::Exact(_) | ValueMatch::Distinct => Ok(()),
            }
        }
        Selector::Path {
            path: PathCondition::Regex(id),
            ..
        } => regex(id),
        Selector::Path { .. } | Selector::Methods { .. } => Ok(()),
        Selector::SourceCidr {
            cidr,
            distinct,
            invert,
        } => {
            if cidr.prefix > if cidr.v4 { 32 } else { 128 } || (*distinct && *invert) {
                return Err(DecodeError::new(format!(
                    "{at} has an invalid CIDR selector"
                )));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains_by_prefix() {
        let net = Cidr {
            address: [10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            v4: true,
            prefix: 12,
        };
        assert!(net.contains(&[10, 15, 255, 1]));
        assert!(!net.contains(&[10, 16, 0, 1]));
        assert!(!net.contains(&[0; 16]));
        let all = Cidr { prefix: 0, ..net };
        assert!(all.contains(&[192, 168, 1, 1]));
        let host = Cidr { prefix: 32, ..net };
        assert!(host.contains(&[10, 0, 0, 0]));
        assert!(!host.contains(&[10, 0, 0, 1]));
        let mut v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let net6 = Cidr {
            address: v6,
            v4: false,
            prefix: 127,
        };
        v6[15] = 1;
        assert!(net6.contains(&v6));
        v6[15] = 2;
        assert!(!net6.contains(&v6));
        assert!(!net6.contains(&[10, 0, 0, 0]));
        assert!(Cidr {
            prefix: 128,
            ..net6
        }
        .contains(&net6.address));
    }
}
