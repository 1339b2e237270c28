//! Typed indices into the flat tables of a [`super::RouteTable`].
//!
//! The blob stores references as `u32` positions instead of pointers; a newtype per table
//! keeps a rule index from being used as a backend index. Decoding checks every id against
//! its table, so once a table is validated, `table.rules.at(id)` always finds its entry.
//!
//! The position is private: an id is minted only by [`RuleId::from_index`] (and its
//! siblings), which refuses a position a `u32` cannot hold instead of wrapping onto an id
//! already in use.

use serde::{Deserialize, Serialize};

/// An entry of a table by its typed id.
///
/// `validate()` checks every id a decoded table holds against the table it names (the
/// `Check` methods and `ratelimit::validate`), so `None` only comes from a table that did not
/// go through `decode`. The filter looks entries up through this rather than by indexing so
/// that even such a table gets a defined answer instead of a panic.
pub trait Lookup<Id> {
    /// What the table holds.
    type Entry;
    /// The entry `id` names, if it is in range.
    fn at(&self, id: Id) -> Option<&Self::Entry>;
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident => $field:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(u32);

        impl $name {
            /// The id of position `index` in its table; `None` past `u32::MAX`, which the
            /// wire format cannot carry.
            pub fn from_index(index: usize) -> Option<Self> {
                u32::try_from(index).ok().map(Self)
            }

            /// The position in its table.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl Lookup<$name> for [$field] {
            type Entry = $field;
            fn at(&self, id: $name) -> Option<&$field> {
                self.get(id.index())
            }
        }

        impl core::ops::Index<$name> for Vec<$field> {
            type Output = $field;
            // Panics like any slice index: this is for the compiler, which indexes tables it
            // has just built; the filter's lints hold it to `Lookup::at`.
            #[allow(clippy::indexing_slicing)]
            fn index(&self, id: $name) -> &$field {
                &self[id.index()]
            }
        }
    )*};
}

use super::model::{Backend, HostGroup, Listener, Match, Route, Rule};

ids! {
    /// A listener of the compiled Gateway.
    ListenerId => Listener;
    /// A set of matches that share one effective hostname on one listener.
    HostGroupId => HostGroup;
    /// One match of one rule (matches of a rule are OR'ed).
    MatchId => Match;
    /// A rule of a route.
    RuleId => Rule;
    /// An HTTPRoute or GRPCRoute.
    RouteId => Route;
    /// A backend Service port, i.e. an Envoy cluster.
    BackendId => Backend;
    /// A regular expression in [`super::RouteTable::regexes`].
    RegexId => String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_holds_any_u32_position_and_refuses_the_next() {
        assert_eq!(RuleId::from_index(7).map(RuleId::index), Some(7));
        let last = u32::MAX as usize;
        assert_eq!(RuleId::from_index(last).map(RuleId::index), Some(last));
        if let Some(past) = last.checked_add(1) {
            assert_eq!(RuleId::from_index(past), None);
        }
    }
}
