//! What regular expressions may cost a request.
//!
//! regex-lite runs a Pike VM: a search costs at most (program size × input length) steps,
//! whatever the pattern. One repetition such as `(.*){1,1000}` makes the program thousands of
//! instructions long, and over a 60 KB path that is seconds of a worker's CPU. Three bounds
//! keep every request cheap:
//!
//! * the compiler refuses programs larger than a limit (like Envoy's RE2
//!   `re2.max_program_size`), measured by [`program_size`];
//! * no expression runs on an input longer than [`MAX_INPUT`] bytes;
//! * each request has [`REQUEST_BUDGET`] units of (program size × input length) for all the
//!   expressions it meets, charged before each one runs.
//!
//! A request that would exceed a bound is answered, not routed elsewhere: skipping an
//! expression that might have matched could send the request past a rule written to catch
//! it. The reply is 414 when the input is the path or query, 431 when it is a header.

use std::cell::Cell;

pub use crate::regex_size::program_size;

/// The longest input an expression runs on: the request-line limit of nginx
/// (`large_client_header_buffers 8k`), which Ingress NGINX users already live with.
pub const MAX_INPUT: usize = 8192;

/// Units of (program size × input length) one request may spend on expressions (routing and
/// rate-limit selection each). The Pike VM's worst case, every state live on every byte,
/// measures about 290 wasm operators per unit in the release `.wasm` (`scripts/bench`): some
/// 2–3 ms per request at most. Typical expressions are far cheaper than their charge (their
/// threads die after a few bytes), so the budget bounds the worst case, not the usual one:
/// a 30-instruction path expression runs on paths up to 1 KB.
pub const REQUEST_BUDGET: u64 = 1 << 15;

/// The compiler's default program size limit, Envoy's default RE2 error level.
pub const DEFAULT_MAX_PROGRAM_SIZE: u32 = 100;

/// Above this program size the compiler warns.
pub const DEFAULT_WARN_PROGRAM_SIZE: u32 = 50;

/// The longest input an expression of `size` can run on within a fresh request budget.
pub fn longest_input(size: u32) -> usize {
    let fits = (REQUEST_BUDGET / u64::from(size).max(1)).saturating_sub(1);
    usize::try_from(fits).unwrap_or(usize::MAX).min(MAX_INPUT)
}

/// Which part of the request an expression was about to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The path, a query parameter, or a gRPC service or method name.
    Uri,
    /// A header value.
    Header,
}

/// What is left of one request's budget. Once spent, every further expression fails
/// without running and [`Budget::exhausted`] says on what.
#[derive(Debug)]
pub struct Budget {
    left: Cell<u64>,
    exhausted: Cell<Option<Input>>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(REQUEST_BUDGET)
    }
}

impl Budget {
    /// A budget of `units`.
    pub fn new(units: u64) -> Budget {
        Budget {
            left: Cell::new(units),
            exhausted: Cell::new(None),
        }
    }

    /// Takes what running a program of `size` over `input` costs; false (and exhausted)
    /// when the input is too long or the budget too small.
    pub fn charge(&self, size: u32, input: &str, kind: Input) -> bool {
        if self.exhausted.get().is_some() {
            return false;
        }
        let cost = u64::from(size).saturating_mul(input.len() as u64 + 1);
        match self.left.get().checked_sub(cost) {
            Some(left) if input.len() <= MAX_INPUT => {
                self.left.set(left);
                true
            }
            _ => {
                self.exhausted.set(Some(kind));
                false
            }
        }
    }

    /// The input that ran the budget out, if it did.
    pub fn exhausted(&self) -> Option<Input> {
        self.exhausted.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_refuses_everything_after() {
        let budget = Budget::new(100);
        assert!(budget.charge(10, "123456789", Input::Uri));
        assert!(!budget.charge(10, "123456789", Input::Header));
        assert_eq!(budget.exhausted(), Some(Input::Header));
        assert!(!budget.charge(0, "", Input::Uri));
        assert_eq!(budget.exhausted(), Some(Input::Header));
    }

    #[test]
    fn long_inputs_never_run() {
        let budget = Budget::new(u64::MAX);
        assert!(budget.charge(1, &"a".repeat(MAX_INPUT), Input::Uri));
        assert!(!budget.charge(1, &"a".repeat(MAX_INPUT + 1), Input::Uri));
        assert_eq!(budget.exhausted(), Some(Input::Uri));
    }
}
