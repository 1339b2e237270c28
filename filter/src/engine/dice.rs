//! Randomness for weighted backends and mirror percentages.
//!
//! SplitMix64: tiny, fast and good enough to spread traffic. The proxy glue seeds one per VM
//! from the host's random source, so a test host with a fixed seed replays exactly.

/// A deterministic pseudo-random source.
#[derive(Debug, Clone)]
pub struct Dice {
    state: u64,
}

impl Dice {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Dice {
        Dice { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..n`; `n` must be non-zero.
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift keeps the bias below 2^-32 for the weights Gateway API allows.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u32, denominator: u32) -> bool {
        denominator != 0 && self.below(u64::from(denominator)) < u64::from(numerator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_evenly_and_honours_bounds() {
        let mut d = Dice::new(42);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[d.below(4) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
        assert!(!Dice::new(1).chance(0, 100));
        assert!(Dice::new(1).chance(100, 100));
        assert!(!Dice::new(1).chance(1, 0));
    }
}
