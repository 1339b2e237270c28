//! The host's controllable time and its deterministic randomness.
//!
//! Envoy uses its dispatcher's real clock; a test host needs one the test owns so ticks and
//! time-dependent filter logic are reproducible. `random_get` feeds std's `HashMap` seeds, so
//! it is a seedable PRNG rather than the OS's entropy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// 2026-01-01T00:00:00Z in nanoseconds since the Unix epoch.
pub const DEFAULT_EPOCH_NANOS: u64 = 1_767_225_600 * 1_000_000_000;

/// A wall clock shared by every VM of one [`crate::Envoy`]; monotonic time is the same value.
#[derive(Clone, Debug)]
pub struct Clock {
    nanos: Arc<AtomicU64>,
}

impl Clock {
    /// A clock reading `epoch_nanos`.
    pub fn new(epoch_nanos: u64) -> Clock {
        Clock {
            nanos: Arc::new(AtomicU64::new(epoch_nanos)),
        }
    }

    /// Current time in nanoseconds since the Unix epoch.
    pub fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }

    /// Sets the time; tests may move it backwards, Envoy's clock never does.
    pub fn set_nanos(&self, nanos: u64) {
        self.nanos.store(nanos, Ordering::SeqCst);
    }
}

/// splitmix64: tiny, fast and fully determined by its seed.
#[derive(Clone, Debug)]
pub struct Prng {
    state: u64,
}

impl Prng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Prng {
        Prng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_is_deterministic() {
        let mut a = Prng::new(7);
        let mut b = Prng::new(7);
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(Prng::new(8).next_u64(), Prng::new(7).next_u64());
    }

    #[test]
    fn clock_is_shared_between_clones() {
        let c = Clock::new(DEFAULT_EPOCH_NANOS);
        c.clone().set_nanos(DEFAULT_EPOCH_NANOS + 5);
        assert_eq!(c.now_nanos(), DEFAULT_EPOCH_NANOS + 5);
    }
}
