//! Stream-control hostcalls (§2.4): continue, close, local replies, status, effective
//! context and `proxy_done`. Every stream effect is *deferred*: it is recorded here and applied
//! by the stream driver after the guest call returns, as Envoy does to avoid re-entrancy.

use wasmtime::{Caller, Linker, Result};

use super::hostcall;
use crate::abi::{stream, Status};
use crate::memory;
use crate::pairs::parse_pairs;
use crate::state::{Access, HostState, LocalReply};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    hostcall!(linker, "env", "proxy_continue_stream", continue_stream, (kind: i32) -> i32);
    hostcall!(linker, "env", "proxy_close_stream", close_stream, (kind: i32) -> i32);
    hostcall!(linker, "env", "proxy_send_local_response", send_local_response,
        (status: i32, dp: i32, dn: i32, bp: i32, bn: i32, hp: i32, hn: i32, grpc: i32) -> i32);
    hostcall!(linker, "env", "proxy_get_status", get_status, (out_code: i32, rp: i32, rn: i32) -> i32);
    hostcall!(linker, "env", "proxy_set_effective_context", set_effective_context, (ctx: i32) -> i32);
    hostcall!(linker, "env", "proxy_done", done, () -> i32);
    Ok(())
}

fn continue_stream(c: &mut Caller<'_, HostState>, kind: i32) -> Result<i32> {
    let st = c.data_mut();
    match kind {
        stream::HTTP_REQUEST | stream::HTTP_RESPONSE => {
            if let Some(s) = st.active_stream() {
                if kind == stream::HTTP_REQUEST {
                    s.effects.continue_request = true;
                } else {
                    s.effects.continue_response = true;
                }
                // Envoy nulls the request-side pointers immediately, for both stream types.
                s.access[0] = Access::Gone;
                s.access[1] = Access::Gone;
                s.bodies[0] = None;
            }
            Ok(Status::Ok.code())
        }
        stream::DOWNSTREAM => Ok(Status::Ok.code()),
        stream::UPSTREAM => {
            st.host_error(
                "proxy_continue_stream(Upstream): Envoy returns Unimplemented (12), which the Rust SDK cannot represent"
                    .to_string(),
            );
            Ok(Status::InternalFailure.code())
        }
        _ => Ok(Status::BadArgument.code()),
    }
}

fn close_stream(c: &mut Caller<'_, HostState>, kind: i32) -> Result<i32> {
    let st = c.data_mut();
    match kind {
        stream::HTTP_REQUEST | stream::HTTP_RESPONSE => {
            if let Some(s) = st.active_stream() {
                s.effects.reset = true;
            }
            Ok(Status::Ok.code())
        }
        stream::DOWNSTREAM | stream::UPSTREAM => Ok(Status::Ok.code()),
        _ => Ok(Status::BadArgument.code()),
    }
}

#[allow(clippy::too_many_arguments)]
fn send_local_response(
    c: &mut Caller<'_, HostState>,
    status: i32,
    dp: i32,
    dn: i32,
    bp: i32,
    bn: i32,
    hp: i32,
    hn: i32,
    grpc: i32,
) -> Result<i32> {
    let details = memory::read_string(c, dp, dn)?.replace(char::is_whitespace, "_");
    let body = memory::read(c, bp, bn)?;
    let headers = parse_pairs(&memory::read(c, hp, hn)?);
    let st = c.data_mut();
    let reply = LocalReply {
        status: status as u32 as u16,
        details,
        body,
        headers,
        grpc_status: u32::try_from(grpc).ok().filter(|g| *g <= 16),
    };
    match st.active_stream() {
        Some(s) if s.local_reply_sent || s.effects.local_reply.is_some() => {
            st.host_error(
                "proxy_send_local_response called twice for one stream (envoy #28826: used to hang the client); ignored"
                    .to_string(),
            );
        }
        Some(s) => s.effects.local_reply = Some(reply),
        // From a root context Envoy silently does nothing (envoy #39797).
        None => st.trace(|| "send_local_response without a stream context: ignored".to_string()),
    }
    Ok(Status::Ok.code())
}

fn get_status(c: &mut Caller<'_, HostState>, out_code: i32, rp: i32, rn: i32) -> Result<i32> {
    let (code, message) = c.data().status.clone();
    memory::write_u32(c, out_code, code)?;
    memory::return_bytes(c, &message, rp, rn)?;
    Ok(Status::Ok.code())
}

fn set_effective_context(c: &mut Caller<'_, HostState>, ctx: i32) -> Result<i32> {
    let st = c.data_mut();
    let ctx = ctx as u32;
    if st.live_contexts.contains(&ctx) {
        st.effective_context = ctx;
        Ok(Status::Ok.code())
    } else {
        Ok(Status::BadArgument.code())
    }
}

/// Only a root context parked by `proxy_on_done` returning false may call it; the host never
/// parks roots, so Envoy's answer is always NotFound.
fn done(_c: &mut Caller<'_, HostState>) -> Result<i32> {
    Ok(Status::NotFound.code())
}
