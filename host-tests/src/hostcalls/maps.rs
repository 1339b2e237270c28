//! Header-map hostcalls (§2.3) with Envoy's availability rules: a map is live from its
//! callback until the filter continues it, read-only in the access-log phase, and
//! `BadArgument` otherwise — except `get_header_map_pairs`, which is always `Ok`.

use wasmtime::{Caller, Linker, Result};

use super::hostcall;
use crate::abi::{map, Status};
use crate::memory;
use crate::pairs::{parse_strict, HeaderMap};
use crate::state::{Access, HostState};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    hostcall!(linker, "env", "proxy_get_header_map_pairs", get_pairs, (kind: i32, rp: i32, rn: i32) -> i32);
    hostcall!(linker, "env", "proxy_set_header_map_pairs", set_pairs, (kind: i32, p: i32, n: i32) -> i32);
    hostcall!(linker, "env", "proxy_get_header_map_value", get_value, (kind: i32, kp: i32, kn: i32, rp: i32, rn: i32) -> i32);
    hostcall!(linker, "env", "proxy_add_header_map_value", add_value, (kind: i32, kp: i32, kn: i32, vp: i32, vn: i32) -> i32);
    hostcall!(linker, "env", "proxy_replace_header_map_value", replace_value, (kind: i32, kp: i32, kn: i32, vp: i32, vn: i32) -> i32);
    hostcall!(linker, "env", "proxy_remove_header_map_value", remove_value, (kind: i32, kp: i32, kn: i32) -> i32);
    hostcall!(linker, "env", "proxy_get_header_map_size", get_size, (kind: i32, out: i32) -> i32);
    Ok(())
}

/// Result of looking a map up for reading.
enum Readable {
    Map(HeaderMap),
    /// No live map: `BadArgument` (or `NotFound` in the access-log phase).
    Gone {
        in_log: bool,
    },
    Invalid,
}

fn readable(st: &mut HostState, kind: i32) -> Readable {
    match kind {
        map::HTTP_REQUEST_HEADERS..=map::HTTP_RESPONSE_TRAILERS => {
            let i = kind as usize;
            match st.active_stream() {
                Some(s) if s.access[i] != Access::Gone => Readable::Map(s.maps[i].clone()),
                Some(s) => Readable::Gone { in_log: s.in_log },
                None => Readable::Gone { in_log: false },
            }
        }
        map::GRPC_RECEIVE_INITIAL_METADATA | map::GRPC_RECEIVE_TRAILING_METADATA => {
            Readable::Gone { in_log: false }
        }
        map::HTTP_CALL_RESPONSE_HEADERS => match &st.callout {
            Some(v) if v.grpc_message.is_none() => Readable::Map(v.headers.clone()),
            _ => Readable::Gone { in_log: false },
        },
        map::HTTP_CALL_RESPONSE_TRAILERS => match &st.callout {
            Some(v) if v.grpc_message.is_none() => Readable::Map(v.trailers.clone()),
            _ => Readable::Gone { in_log: false },
        },
        _ => Readable::Invalid,
    }
}

/// Applies a mutation to a live map 0–3; request-header mutations clear the route cache.
fn mutate(st: &mut HostState, kind: i32, f: impl FnOnce(&mut HeaderMap)) -> Status {
    if !(map::HTTP_REQUEST_HEADERS..=map::HTTP_RESPONSE_TRAILERS).contains(&kind) {
        return Status::BadArgument;
    }
    let i = kind as usize;
    match st.active_stream() {
        Some(s) if s.access[i] == Access::Live => {
            f(&mut s.maps[i]);
            if kind == map::HTTP_REQUEST_HEADERS {
                s.route_cache_clears += 1;
            }
            Status::Ok
        }
        _ => Status::BadArgument,
    }
}

fn get_pairs(c: &mut Caller<'_, HostState>, kind: i32, rp: i32, rn: i32) -> Result<i32> {
    let bytes = match readable(c.data_mut(), kind) {
        Readable::Map(m) => m.serialize(),
        Readable::Gone { .. } => Vec::new(),
        Readable::Invalid => return Ok(Status::BadArgument.code()),
    };
    memory::return_bytes(c, &bytes, rp, rn)?;
    Ok(Status::Ok.code())
}

fn get_value(
    c: &mut Caller<'_, HostState>,
    kind: i32,
    kp: i32,
    kn: i32,
    rp: i32,
    rn: i32,
) -> Result<i32> {
    let key = memory::read(c, kp, kn)?;
    // Which header the module asked for: tests check it reads only what its rules name.
    c.data_mut().trace(|| {
        format!(
            "[vm->host]   map {kind} key {}",
            String::from_utf8_lossy(&key)
        )
    });
    let value = match readable(c.data_mut(), kind) {
        Readable::Map(m) => match m.get_bytes(&key) {
            Some(v) => v.to_vec(),
            None => return Ok(Status::NotFound.code()),
        },
        Readable::Gone { in_log: true } => return Ok(Status::NotFound.code()),
        Readable::Gone { in_log: false } | Readable::Invalid => {
            return Ok(Status::BadArgument.code())
        }
    };
    memory::return_bytes(c, &value, rp, rn)?;
    Ok(Status::Ok.code())
}

fn get_size(c: &mut Caller<'_, HostState>, kind: i32, out: i32) -> Result<i32> {
    match readable(c.data_mut(), kind) {
        Readable::Map(m) => {
            memory::write_u32(c, out, m.byte_size() as u32)?;
            Ok(Status::Ok.code())
        }
        _ => Ok(Status::BadArgument.code()),
    }
}

fn set_pairs(c: &mut Caller<'_, HostState>, kind: i32, p: i32, n: i32) -> Result<i32> {
    let raw = memory::read(c, p, n)?;
    let pairs = match parse_strict(&raw) {
        Some(pairs) => pairs,
        None => {
            // cpp-host's toPairs silently turns malformed input into "no headers".
            c.data_mut().host_error(format!(
                "proxy_set_header_map_pairs({kind}): malformed or oversized map ({} bytes) wipes every header, as in Envoy",
                raw.len()
            ));
            Vec::new()
        }
    };
    Ok(mutate(c.data_mut(), kind, |m| m.set_all(pairs)).code())
}

fn add_value(
    c: &mut Caller<'_, HostState>,
    kind: i32,
    kp: i32,
    kn: i32,
    vp: i32,
    vn: i32,
) -> Result<i32> {
    let key = memory::read(c, kp, kn)?;
    let value = memory::read(c, vp, vn)?;
    Ok(mutate(c.data_mut(), kind, |m| m.add(&key, &value)).code())
}

fn replace_value(
    c: &mut Caller<'_, HostState>,
    kind: i32,
    kp: i32,
    kn: i32,
    vp: i32,
    vn: i32,
) -> Result<i32> {
    let key = memory::read(c, kp, kn)?;
    let value = memory::read(c, vp, vn)?;
    Ok(mutate(c.data_mut(), kind, |m| m.replace(&key, &value)).code())
}

fn remove_value(c: &mut Caller<'_, HostState>, kind: i32, kp: i32, kn: i32) -> Result<i32> {
    let key = memory::read(c, kp, kn)?;
    Ok(mutate(c.data_mut(), kind, |m| {
        m.remove(&key);
    })
    .code())
}
