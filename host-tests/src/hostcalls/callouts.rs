//! HTTP and gRPC callout hostcalls (§2.5, §2.6). Calls are recorded for assertions and queued;
//! the VM answers them on the root context once the issuing guest call has returned.

use std::time::Duration;

use wasmtime::{Caller, Linker, Result};

use super::hostcall;
use crate::abi::{token, Status};
use crate::callout::{GrpcCall, HttpCall, PendingCallout};
use crate::memory;
use crate::pairs::{parse_pairs, HeaderMap};
use crate::state::HostState;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    hostcall!(linker, "env", "proxy_http_call", http_call,
        (up: i32, un: i32, hp: i32, hn: i32, bp: i32, bn: i32, tp: i32, tn: i32, timeout: i32, out: i32) -> i32);
    hostcall!(linker, "env", "proxy_grpc_call", grpc_call,
        (sp: i32, sn: i32, svp: i32, svn: i32, mp: i32, mn: i32, mdp: i32, mdn: i32, msgp: i32, msgn: i32, timeout: i32, out: i32) -> i32);
    hostcall!(linker, "env", "proxy_grpc_stream", grpc_stream,
        (sp: i32, sn: i32, svp: i32, svn: i32, mp: i32, mn: i32, mdp: i32, mdn: i32, out: i32) -> i32);
    hostcall!(linker, "env", "proxy_grpc_send", grpc_send, (tok: i32, p: i32, n: i32, end: i32) -> i32);
    hostcall!(linker, "env", "proxy_grpc_cancel", grpc_cancel, (tok: i32) -> i32);
    hostcall!(linker, "env", "proxy_grpc_close", grpc_close, (tok: i32) -> i32);
    Ok(())
}

fn cluster_known(st: &HostState, cluster: &str) -> bool {
    st.plugin
        .clusters
        .as_ref()
        .is_none_or(|known| known.contains(cluster))
}

fn map_of(raw: &[u8]) -> HeaderMap {
    parse_pairs(raw).into_iter().collect()
}

#[allow(clippy::too_many_arguments)]
fn http_call(
    c: &mut Caller<'_, HostState>,
    up: i32,
    un: i32,
    hp: i32,
    hn: i32,
    bp: i32,
    bn: i32,
    tp: i32,
    tn: i32,
    timeout: i32,
    out: i32,
) -> Result<i32> {
    let cluster = memory::read_string(c, up, un)?;
    let mut headers = map_of(&memory::read(c, hp, hn)?);
    let body = memory::read(c, bp, bn)?;
    let trailers = map_of(&memory::read(c, tp, tn)?);
    let st = c.data_mut();
    let complete = [":path", ":method", ":authority"]
        .iter()
        .all(|h| headers.contains(h));
    if !complete || timeout < 0 || !cluster_known(st, &cluster) {
        return Ok(Status::BadArgument.code());
    }
    if !body.is_empty() {
        headers.replace("content-length", body.len().to_string());
    }
    st.next_http_token += 4;
    let call = HttpCall {
        worker: st.worker,
        token: st.next_http_token,
        cluster,
        headers,
        body,
        trailers,
        timeout: Duration::from_millis(timeout as u64),
    };
    let tok = call.token;
    st.http_calls.push(call.clone());
    st.pending.push_back(PendingCallout::Http(call));
    memory::write_u32(c, out, tok)?;
    Ok(Status::Ok.code())
}

#[allow(clippy::too_many_arguments)]
fn grpc_call(
    c: &mut Caller<'_, HostState>,
    sp: i32,
    sn: i32,
    svp: i32,
    svn: i32,
    mp: i32,
    mn: i32,
    mdp: i32,
    mdn: i32,
    msgp: i32,
    msgn: i32,
    timeout: i32,
    out: i32,
) -> Result<i32> {
    let cluster = memory::read_string(c, sp, sn)?;
    let service = memory::read_string(c, svp, svn)?;
    let method = memory::read_string(c, mp, mn)?;
    let metadata = map_of(&memory::read(c, mdp, mdn)?);
    let message = memory::read(c, msgp, msgn)?;
    let st = c.data_mut();
    if !cluster_known(st, &cluster) {
        // Envoy tries the GrpcService proto, then a cluster name: unknown ⇒ ParseFailure.
        return Ok(Status::ParseFailure.code());
    }
    st.next_grpc_token += 4;
    let call = GrpcCall {
        worker: st.worker,
        token: st.next_grpc_token,
        cluster,
        service,
        method,
        metadata,
        message,
        timeout: Duration::from_millis(timeout.max(0) as u64),
    };
    let tok = call.token;
    st.grpc_calls.push(call.clone());
    st.pending.push_back(PendingCallout::Grpc(call));
    memory::write_u32(c, out, tok)?;
    Ok(Status::Ok.code())
}

/// Streams are opened and accepted but never answered (no test needs server streaming yet).
#[allow(clippy::too_many_arguments)]
fn grpc_stream(
    c: &mut Caller<'_, HostState>,
    sp: i32,
    sn: i32,
    _svp: i32,
    _svn: i32,
    _mp: i32,
    _mn: i32,
    _mdp: i32,
    _mdn: i32,
    out: i32,
) -> Result<i32> {
    let cluster = memory::read_string(c, sp, sn)?;
    let st = c.data_mut();
    if !cluster_known(st, &cluster) {
        return Ok(Status::ParseFailure.code());
    }
    st.next_grpc_stream_token += 4;
    let tok = st.next_grpc_stream_token;
    st.grpc_streams.insert(tok);
    memory::write_u32(c, out, tok)?;
    Ok(Status::Ok.code())
}

fn grpc_send(c: &mut Caller<'_, HostState>, tok: i32, p: i32, n: i32, _end: i32) -> Result<i32> {
    memory::read(c, p, n)?;
    let tok = tok as u32;
    if tok & 3 != token::GRPC_STREAM {
        return Ok(Status::BadArgument.code());
    }
    if !c.data().grpc_streams.contains(&tok) {
        return Ok(Status::NotFound.code());
    }
    Ok(Status::Ok.code())
}

/// Cancel and close behave alike here: the callout is forgotten and never answered.
fn forget(st: &mut HostState, tok: i32) -> Status {
    let tok = tok as u32;
    match tok & 3 {
        token::GRPC_CALL => {
            let before = st.pending.len();
            st.pending
                .retain(|p| !matches!(p, PendingCallout::Grpc(g) if g.token == tok));
            if st.pending.len() == before {
                Status::NotFound
            } else {
                Status::Ok
            }
        }
        token::GRPC_STREAM => {
            if st.grpc_streams.remove(&tok) {
                Status::Ok
            } else {
                Status::NotFound
            }
        }
        _ => Status::BadArgument,
    }
}

fn grpc_cancel(c: &mut Caller<'_, HostState>, tok: i32) -> Result<i32> {
    Ok(forget(c.data_mut(), tok).code())
}

fn grpc_close(c: &mut Caller<'_, HostState>, tok: i32) -> Result<i32> {
    Ok(forget(c.data_mut(), tok).code())
}
