//! Local limits: one token bucket per (rule, route or shared, distinct slot) in proxy-wasm
//! shared data, updated with compare-and-swap so every worker VM of one Envoy draws from the
//! same tokens.
//!
//! The bucket refills like Envoy's local rate limiter: `requests` tokens at most, and the
//! whole allowance back at the end of each window (windows start when the bucket is first
//! used and follow each other back to back). A request takes `cost` tokens if that many are
//! left; cost 0 only checks that the bucket is not empty.
//!
//! The update is a read → decide → write-if-unchanged loop: `proxy_set_shared_data` with the
//! CAS read refuses the write when another worker wrote in between, and the loop re-reads.
//! That is what makes admission exact across workers (Istio's first wasm limiter wrote
//! without CAS and admitted up to workers × limit).
//!
//! A Distinct rule hashes the client's values into a fixed number of slots, so a flood of
//! new values cannot create more keys than the compile-time slot count. The slot remembers
//! a 64-bit fingerprint of its owner. A client whose slot holds another owner's bucket takes
//! the slot over when that bucket is full again (idle for a window), and otherwise shares it:
//! a collision can only make two clients limit each other earlier, never admit more than
//! one client's limit.

use crate::stream::{Host, HostError};

/// Bytes of a bucket's stored state: owner fingerprint, tokens, window start (u64 LE each).
const STATE_LEN: usize = 24;

/// Attempts before giving up on a contended key (then the failure mode decides).
const MAX_ATTEMPTS: usize = 64;

/// CAS passed when creating a key: non-zero, so two workers creating the same key at once
/// cannot both succeed (a non-zero CAS creates a missing key but is checked on an existing
/// one, whose CAS the host numbers from 1 upwards).
const CREATE_CAS: u32 = u32::MAX;

/// What taking from a bucket gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// The request may pass.
    pub allowed: bool,
    /// Tokens left after this request.
    pub remaining: u64,
    /// Seconds until the bucket refills (rounded up).
    pub reset_secs: u64,
}

/// A bucket's limit and window.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Tokens per window.
    pub requests: u64,
    /// Window length in nanoseconds.
    pub window_ns: u64,
    /// Tokens a request takes.
    pub cost: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    owner: u64,
    tokens: u64,
    window_start: u64,
}

impl State {
    fn encode(self) -> [u8; STATE_LEN] {
        let mut out = [0; STATE_LEN];
        out[..8].copy_from_slice(&self.owner.to_le_bytes());
        out[8..16].copy_from_slice(&self.tokens.to_le_bytes());
        out[16..].copy_from_slice(&self.window_start.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<State> {
        let word = |i: usize| {
            bytes
                .get(i..i + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes)
        };
        (bytes.len() == STATE_LEN).then_some(())?;
        Some(State {
            owner: word(0)?,
            tokens: word(8)?,
            window_start: word(16)?,
        })
    }

    /// The state at `now`: refilled for every window that ended, capped at the limit (which
    /// may have shrunk since the state was written), and owned by `owner` if it was idle.
    fn at(self, owner: u64, limit: &Limit, now: u64) -> State {
        let mut s = self;
        s.tokens = s.tokens.min(limit.requests);
        if now >= s.window_start.saturating_add(limit.window_ns) {
            let windows = (now - s.window_start) / limit.window_ns;
            s.window_start += windows * limit.window_ns;
            s.tokens = limit.requests;
        }
        if s.owner != owner && s.tokens == limit.requests {
            s.owner = owner;
        }
        s
    }
}

/// Takes `limit.cost` tokens from the bucket at `key` for the client `owner` (0 for rules
/// without Distinct selectors).
///
/// # Errors
/// A failed host call, or a key still contended after [`MAX_ATTEMPTS`] tries.
pub fn take(
    host: &mut impl Host,
    key: &str,
    owner: u64,
    limit: &Limit,
    now: u64,
) -> Result<Taken, HostError> {
    for _ in 0..MAX_ATTEMPTS {
        let (value, cas) = host.shared_get(key)?;
        let stored = value.as_deref().and_then(State::decode);
        let fresh = State {
            owner,
            tokens: limit.requests,
            window_start: now,
        };
        let before = stored.unwrap_or(fresh);
        let mut state = before.at(owner, limit, now);
        let allowed = if limit.cost == 0 {
            state.tokens > 0
        } else {
            state.tokens >= limit.cost
        };
        if allowed {
            state.tokens -= limit.cost;
        }
        let taken = Taken {
            allowed,
            remaining: state.tokens,
            reset_secs: (state.window_start + limit.window_ns)
                .saturating_sub(now)
                .div_ceil(1_000_000_000),
        };
        if stored == Some(state) {
            // A refused request on an unchanged bucket needs no write.
            return Ok(taken);
        }
        let cas = match (stored, cas) {
            (Some(_), Some(cas)) => cas,
            _ => CREATE_CAS,
        };
        if host.shared_set(key, &state.encode(), cas)? {
            return Ok(taken);
        }
    }
    Err(HostError(format!(
        "rate limit bucket {key} still contended after {MAX_ATTEMPTS} attempts"
    )))
}

/// A keyed 64-bit FNV-1a hash of the distinct values: picks the slot and identifies the owner.
pub fn fingerprint(seed: u64, entries: &[(String, String)]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for (k, v) in entries {
        for b in k.bytes().chain([0]).chain(v.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    // FNV's low bits mix poorly; fold the high half in before the slot is taken modulo.
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_refuses_other_lengths() {
        let s = State {
            owner: 7,
            tokens: 3,
            window_start: 99,
        };
        assert_eq!(State::decode(&s.encode()), Some(s));
        assert_eq!(State::decode(&[0; 23]), None);
    }

    #[test]
    fn refills_whole_windows_and_takes_over_idle_slots() {
        let limit = Limit {
            requests: 10,
            window_ns: 60,
            cost: 1,
        };
        let used = State {
            owner: 1,
            tokens: 0,
            window_start: 0,
        };
        assert_eq!(used.at(1, &limit, 59).tokens, 0);
        let later = used.at(2, &limit, 130);
        assert_eq!(
            (later.tokens, later.window_start, later.owner),
            (10, 120, 2)
        );
        // Another owner shares a bucket in use rather than resetting it.
        assert_eq!(used.at(2, &limit, 30).owner, 1);
    }
}
