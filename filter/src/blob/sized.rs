//! The table's long lists, decoded into exactly the room they need.
//!
//! serde reserves at most 1 MiB for a sequence whatever length it announces (a guard against a
//! hostile length), and grows the rest by doubling: a list of 50,000 rules ended with room for
//! 80,000, and while it grew, both copies were alive. A VM's linear memory never shrinks, so
//! that peak stayed. Here the announced length is reserved up to [`MAX_RESERVE`] bytes: a
//! hostile length costs at most that, and a table that size fits in one allocation.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

/// The most one announced length may reserve before its elements arrive.
pub const MAX_RESERVE: usize = 16 << 20;

/// Deserializes a `Vec<T>`, reserving its announced length (see the module comment).
pub fn vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_seq(Reserving(PhantomData))
}

struct Reserving<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for Reserving<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let most = MAX_RESERVE / core::mem::size_of::<T>().max(1);
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(most));
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(out)
    }
}
