//! Local limits: one token bucket per (rule, route or shared, distinct slot) in proxy-wasm
//! shared data, updated with compare-and-swap so every worker VM of one Envoy draws from the
//! same tokens.
//!
//! The bucket refills like Envoy's local rate limiter: `requests` tokens at most, and the
//! whole allowance back at the end of each window (windows start when the bucket is first
//! used and follow each other back to back). A request takes `cost` tokens if that many are
//! left; cost 0 only checks that the bucket is not empty.
//!
//! With a burst ([`Limit::burst`], ingress-nginx's `limit_req … burst=B nodelay`) the
//! bucket refills continuously instead: it holds `1 + burst` requests, one more coming back
//! every `window / requests`, and a refused request takes nothing. Its tokens are then
//! nanoseconds of credit (a request costs `window / requests` of them), so the refill is
//! exact in integers.
//!
//! The update is a read → decide → write-if-unchanged loop: `proxy_set_shared_data` with the
//! CAS read refuses the write when another worker wrote in between, and the loop re-reads.
//! That is what makes admission exact across workers (Istio's first wasm limiter wrote
//! without CAS and admitted up to workers × limit).
//!
//! A Distinct rule keeps a fixed number of slots, so a flood of new values cannot create more
//! keys than the compile-time slot count. A client's bucket lives in one of [`WAYS`]
//! neighbouring slots, tagged with a 64-bit fingerprint of its values, so clients never share
//! a bucket: a client takes its own slot if one holds its fingerprint, else an unused or idle
//! one (full again after a window without requests), else it evicts the way whose window
//! started longest ago and starts afresh. Eviction over-admits the evicted client, at most
//! once per window, as Envoy's LRU of dynamic descriptors does; it is counted, never a
//! denial of the newcomer.

use crate::host::{Host, HostError};

/// Neighbouring slots a Distinct client's bucket may live in.
pub const WAYS: u32 = 4;

/// The part of the host a bucket needs: proxy-wasm shared data with compare-and-swap.
pub trait SharedData {
    /// The value and CAS of `key`.
    ///
    /// # Errors
    /// A failed host call.
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError>;
    /// Writes `key` if its CAS is still `cas`; `Ok(false)` when another writer was first.
    ///
    /// # Errors
    /// A failed host call.
    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<bool, HostError>;
}

impl<H: Host> SharedData for H {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError> {
        self.shared_get(key)
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<bool, HostError> {
        self.shared_set(key, value, cas)
    }
}

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
    /// Another client's bucket was evicted to make room for this one.
    pub evicted: bool,
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
    /// Continuous refill holding this many requests beyond one, instead of windows.
    pub burst: Option<u64>,
}

impl Limit {
    /// What one request's token is worth in the bucket's units: 1 with windows,
    /// `window / requests` nanoseconds of credit with a burst.
    fn unit(&self) -> u64 {
        match self.burst {
            None => 1,
            Some(_) => self
                .window_ns
                .checked_div(self.requests)
                .unwrap_or(u64::MAX),
        }
    }

    /// A full bucket, in the bucket's units.
    fn full(&self) -> u64 {
        match self.burst {
            None => self.requests,
            Some(_) if self.requests == 0 => 0,
            Some(burst) => burst.saturating_add(1).saturating_mul(self.unit()),
        }
    }
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

    /// The state at `now`: refilled for every window that ended (or for the time since the
    /// last request, with a burst), capped at the limit (which may have shrunk since the
    /// state was written).
    fn at(self, limit: &Limit, now: u64) -> State {
        let mut s = self;
        s.tokens = s.tokens.min(limit.full());
        if limit.burst.is_some() {
            let elapsed = now.saturating_sub(s.window_start);
            s.tokens = s.tokens.saturating_add(elapsed).min(limit.full());
            s.window_start = s.window_start.max(now);
            return s;
        }
        if now >= s.window_start.saturating_add(limit.window_ns) {
            let windows = (now - s.window_start) / limit.window_ns;
            s.window_start += windows * limit.window_ns;
            s.tokens = limit.requests;
        }
        s
    }
}

/// Takes `limit.cost` tokens from `owner`'s bucket (0 for rules without Distinct selectors),
/// which lives at one of `keys` (the rule's candidate slots, see the module docs).
///
/// # Errors
/// A failed host call, or slots still contended after [`MAX_ATTEMPTS`] tries.
pub fn take(
    host: &mut impl SharedData,
    keys: &[String],
    owner: u64,
    limit: &Limit,
    now: u64,
) -> Result<Taken, HostError> {
    for _ in 0..MAX_ATTEMPTS {
        let mut ways = Vec::with_capacity(keys.len());
        for key in keys {
            let (value, cas) = host.get(key)?;
            ways.push((value.as_deref().and_then(State::decode), cas));
        }
        // `ways` holds one entry per key, so the way `choose` picks is in both.
        let chosen = choose(&ways, owner, limit, now)
            .and_then(|(way, evicted)| Some((keys.get(way)?, *ways.get(way)?, evicted)));
        let Some((key, (stored, cas), evicted)) = chosen else {
            continue;
        };
        let fresh = State {
            owner,
            tokens: limit.full(),
            window_start: now,
        };
        let mut state = match stored {
            Some(s) if s.owner == owner => s.at(limit, now),
            _ => fresh,
        };
        let unit = limit.unit();
        let cost = limit.cost.saturating_mul(unit);
        let allowed = if limit.cost == 0 {
            state.tokens >= unit.max(1)
        } else {
            state.tokens >= cost
        };
        if allowed {
            state.tokens -= cost;
        }
        let reset_ns = match limit.burst {
            None => (state.window_start + limit.window_ns).saturating_sub(now),
            // Until the next request's worth of credit is back.
            Some(_) => unit.saturating_sub(state.tokens % unit.max(1)),
        };
        let taken = Taken {
            allowed,
            remaining: state.tokens / unit.max(1),
            reset_secs: reset_ns.div_ceil(1_000_000_000),
            evicted,
        };
        if stored == Some(state) {
            // A refused request on an unchanged bucket needs no write.
            return Ok(taken);
        }
        let cas = match (stored, cas) {
            (Some(_), Some(cas)) => cas,
            _ => CREATE_CAS,
        };
        if host.set(key, &state.encode(), cas)? {
            return Ok(taken);
        }
    }
    Err(HostError(format!(
        "rate limit slots {} still contended after {MAX_ATTEMPTS} attempts",
        keys.first().map_or("", String::as_str)
    )))
}

/// The way `owner`'s request counts in, and whether that evicts another client: its own
/// bucket, else the first unused or idle way, else the way whose window started first.
fn choose(
    ways: &[(Option<State>, Option<u32>)],
    owner: u64,
    limit: &Limit,
    now: u64,
) -> Option<(usize, bool)> {
    if let Some(i) = ways
        .iter()
        .position(|(s, _)| s.is_some_and(|s| s.owner == owner))
    {
        return Some((i, false));
    }
    if let Some(i) = ways
        .iter()
        .position(|(s, _)| s.is_none_or(|s| s.at(limit, now).tokens == limit.full()))
    {
        return Some((i, false));
    }
    let oldest = ways
        .iter()
        .enumerate()
        .filter_map(|(i, (s, _))| s.map(|s| (s.window_start, i)))
        .min()?;
    Some((oldest.1, true))
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
    fn refills_whole_windows() {
        let limit = Limit {
            requests: 10,
            window_ns: 60,
            cost: 1,
            burst: None,
        };
        let used = State {
            owner: 1,
            tokens: 0,
            window_start: 0,
        };
        assert_eq!(used.at(&limit, 59).tokens, 0);
        let later = used.at(&limit, 130);
        assert_eq!((later.tokens, later.window_start), (10, 120));
    }

    /// Shared data as Envoy keeps it: a value and a CAS per key.
    #[derive(Default)]
    struct Memory(std::collections::HashMap<String, (Vec<u8>, u32)>);

    impl SharedData for Memory {
        fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), HostError> {
            Ok(self
                .0
                .get(key)
                .map_or((None, None), |(v, cas)| (Some(v.clone()), Some(*cas))))
        }

        fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<bool, HostError> {
            let next = match self.0.get(key) {
                Some((_, current)) if *current != cas => return Ok(false),
                Some((_, current)) => current + 1,
                None => 1,
            };
            self.0.insert(key.to_owned(), (value.to_vec(), next));
            Ok(true)
        }
    }

    /// `clients` distinct clients each send `requests` requests within one window, against a
    /// rule of 5 per minute over 4,096 slots, as `crate::ratelimit` names the slots.
    fn flood(clients: u64, requests: u64) -> (Memory, u64, u64, u64) {
        let limit = Limit {
            requests: 5,
            window_ns: 60_000_000_000,
            cost: 1,
            burst: None,
        };
        let slots = 4096;
        let mut memory = Memory::default();
        let (mut first_denied, mut evictions, mut over) = (0, 0, 0);
        for client in 0..clients {
            let owner = fingerprint(7, &[("x-user".to_owned(), format!("user-{client}"))]);
            let keys: Vec<String> = (0..WAYS)
                .map(|w| format!("rule.{}", (owner + u64::from(w)) % slots))
                .collect();
            for i in 0..requests {
                let now = client * 1_000 + i;
                let taken = take(&mut memory, &keys, owner, &limit, now).expect("memory host");
                first_denied += u64::from(i == 0 && !taken.allowed);
                over += u64::from(i >= limit.requests && taken.allowed);
                evictions += u64::from(taken.evicted);
            }
        }
        (memory, first_denied, evictions, over)
    }

    #[test]
    fn twenty_thousand_clients_are_never_denied_their_first_request() {
        let (memory, first_denied, evictions, over) = flood(20_000, 1);
        assert_eq!(first_denied, 0);
        assert!(memory.0.len() <= 4096, "{} keys", memory.0.len());
        assert!(evictions > 0, "the table was full, so someone was evicted");
        assert_eq!(over, 0);
    }

    #[test]
    fn a_million_clients_stay_within_the_slots() {
        let (memory, first_denied, _, _) = flood(1_000_000, 1);
        assert_eq!(first_denied, 0);
        assert_eq!(memory.0.len(), 4096);
    }

    #[test]
    fn each_client_gets_exactly_its_limit_while_the_table_has_room() {
        let (_, first_denied, evictions, over) = flood(1_000, 8);
        assert_eq!((first_denied, over), (0, 0));
        // Hashing puts five of a thousand clients in one set of four ways now and then.
        assert!(evictions <= 10, "{evictions} evictions");
    }

    /// ingress-nginx's example (docs/ingress-nginx-behaviour.md §10): 10 per second with a
    /// burst of 50 admits 51 back-to-back requests, then about 10 a second; refusals take
    /// nothing.
    #[test]
    fn a_burst_refills_continuously_as_nginx_limit_req_does() {
        let limit = Limit {
            requests: 10,
            window_ns: 1_000_000_000,
            cost: 1,
            burst: Some(50),
        };
        let mut memory = Memory::default();
        let keys = ["rule".to_owned()];
        let mut take_at = |now| {
            take(&mut memory, &keys, 0, &limit, now)
                .expect("memory host")
                .allowed
        };
        let admitted = (0..60).filter(|_| take_at(0)).count();
        assert_eq!(admitted, 51);
        // 99 ms later less than one request's worth is back; at 100 ms one is.
        assert!(!take_at(99_000_000));
        assert!(take_at(100_000_000));
        assert!(!take_at(100_000_000));
        // Half a second later, five more.
        let later = (0..8).filter(|_| take_at(600_000_000)).count();
        assert_eq!(later, 5);
    }
}
