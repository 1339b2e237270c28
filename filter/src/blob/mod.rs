//! The compiled route table: the types the compiler writes and the filter reads, and the
//! versioned, checksummed envelope around them.
//!
//! A blob is a 16-byte header followed by a postcard payload:
//!
//! ```text
//! offset  size  field
//!      0     4  magic "GWSM"
//!      4     2  format version (u16 LE): 2 (rate limits), or 3 when the table uses
//!               regular-expression path rewrites, redirects to a Location as written,
//!               client-address authorization or ingress-nginx-style local rate limits; a
//!               filter reads both
//!      6     2  flags (u16 LE), no flag is defined yet: a set bit is refused
//!      8     4  payload length (u32 LE)
//!     12     4  CRC-32 (IEEE) of the payload (u32 LE)
//!     16     …  payload: postcard encoding of [`RouteTable`]; in format 3, followed by
//!               the postcard encoding of its [`Access`] and rate limit
//!               [`LocalStyle`]s when either is not empty
//! ```
//!
//! [`decode`] treats its input as hostile: every read is bounded, every index is checked
//! against the table it points into and every regular expression is compiled before a
//! [`RouteTable`] is handed out, so the engine's lookups always find their entry. No input
//! makes it panic.

mod access;
mod binding;
mod idle;
mod ids;
mod model;
mod ratelimit;
mod sized;
mod substitution;
mod validate;
mod wire;

pub use access::{Access, AccessPolicy, AccessRule};
pub use binding::{bound, Binding};
pub use idle::{idle_header, IdlePolicy, IdleTimeouts};
pub use ids::{BackendId, HostGroupId, ListenerId, Lookup, MatchId, RegexId, RouteId, RuleId};
pub use model::*;
pub use ratelimit::{
    Cidr, LocalStyle, PathCondition, RateLimits, RlPolicy, RlRule, Selector, Unit, ValueMatch,
    MAX_SLOTS,
};
pub use substitution::substitution_error;
pub use validate::anchored;
pub use wire::{
    decode, encode, DecodeError, FORMAT_VERSION, HEADER_LEN, MAGIC, MIN_FORMAT_VERSION,
};
