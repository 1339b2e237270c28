//! The envelope: header, checksum and postcard payload.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::access::Access;
use super::idle::IdleTimeouts;
use super::model::RouteTable;
use super::ratelimit::LocalStyle;
use super::validate::validate;

/// The first four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"GWSM";
/// The newest payload format this build reads. It writes the oldest that can carry a table
/// ([`RouteTable::format_version`]), so tables that use nothing new stay readable by
/// filters that predate it.
pub const FORMAT_VERSION: u16 = 4;
/// The oldest payload format this build reads. Versions 3 and 4 only added enum variants at
/// the end and sections after the table, which leaves every older payload a valid newer one.
pub const MIN_FORMAT_VERSION: u16 = 2;
/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 16;

/// Why a blob was refused. The message says what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    message: String,
}

impl DecodeError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

/// What format 3 appends after the table: the parts of it a format 2 payload has no room
/// for.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Appendix {
    access: Access,
    styles: Vec<LocalStyle>,
}

/// Serializes a table into a blob.
///
/// # Errors
/// Only if postcard cannot encode the table, which does not happen for owned data; the
/// result is kept fallible so callers never need to unwrap.
pub fn encode(table: &RouteTable) -> Result<Vec<u8>, DecodeError> {
    let cannot = |e: postcard::Error| DecodeError::new(format!("cannot encode route table: {e}"));
    let mut payload = postcard::to_allocvec(table).map_err(cannot)?;
    let appendix = Appendix {
        access: table.access.clone(),
        styles: table.rate_limits.styles.clone(),
    };
    // Format 4's section follows format 3's, which must then be there even when empty.
    if appendix != Appendix::default() || !table.idle.is_empty() {
        payload.extend(postcard::to_allocvec(&appendix).map_err(cannot)?);
    }
    if !table.idle.is_empty() {
        payload.extend(postcard::to_allocvec(&table.idle).map_err(cannot)?);
    }
    let len = u32::try_from(payload.len())
        .map_err(|_| DecodeError::new("route table larger than 4 GiB"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&table.format_version().to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Reads and validates a blob.
///
/// # Errors
/// A [`DecodeError`] for a short or oversized input, a wrong magic, a newer or unknown format
/// version, unknown flags, a length or checksum mismatch, a payload postcard cannot read, or a
/// table whose references, strings or regular expressions are invalid.
pub fn decode(bytes: &[u8]) -> Result<RouteTable, DecodeError> {
    let (version, payload) = read_header(bytes)?;
    let (mut table, mut rest) = postcard::take_from_bytes::<RouteTable>(payload)
        .map_err(|e| DecodeError::new(format!("payload is not a valid route table: {e}")))?;
    if version >= 3 && !rest.is_empty() {
        let appendix;
        (appendix, rest) = postcard::take_from_bytes::<Appendix>(rest).map_err(|e| {
            DecodeError::new(format!("payload's format 3 appendix is not valid: {e}"))
        })?;
        table.access = appendix.access;
        table.rate_limits.styles = appendix.styles;
    }
    if version >= 4 && !rest.is_empty() {
        (table.idle, rest) = postcard::take_from_bytes::<IdleTimeouts>(rest).map_err(|e| {
            DecodeError::new(format!("payload's format 4 section is not valid: {e}"))
        })?;
    }
    if !rest.is_empty() {
        return Err(DecodeError::new(format!(
            "payload has {} trailing bytes after the route table",
            rest.len()
        )));
    }
    validate(&table)?;
    Ok(table)
}

fn read_header(bytes: &[u8]) -> Result<(u16, &[u8]), DecodeError> {
    // A fixed-size header: the reads below index an array by constants, checked at compile
    // time.
    let Some((header, payload)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::new(format!(
            "blob is {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    };
    if header[0..4] != MAGIC {
        return Err(DecodeError::new(format!(
            "not a gatewasm blob: expected magic {:?}, found {:02x?}",
            "GWSM",
            &header[0..4]
        )));
    }
    let version = u16::from_le_bytes([header[4], header[5]]);
    if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        let hint = if version > FORMAT_VERSION {
            "; it was compiled by a newer gatewasm: upgrade the filter .wasm first"
        } else {
            ""
        };
        return Err(DecodeError::new(format!(
            "blob format version {version} is not supported (this filter reads versions {MIN_FORMAT_VERSION} to {FORMAT_VERSION}){hint}"
        )));
    }
    let flags = u16::from_le_bytes([header[6], header[7]]);
    if flags != 0 {
        return Err(DecodeError::new(format!(
            "blob sets unknown flags {flags:#06x}"
        )));
    }
    let declared = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
    if declared != payload.len() {
        return Err(DecodeError::new(format!(
            "blob header declares a {declared}-byte payload, found {} bytes (truncated or padded)",
            payload.len()
        )));
    }
    let expected = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    let found = crc32fast::hash(payload);
    if expected != found {
        return Err(DecodeError::new(format!(
            "blob checksum mismatch: header says {expected:#010x}, payload hashes to {found:#010x} (corrupted in transit?)"
        )));
    }
    Ok((version, payload))
}
