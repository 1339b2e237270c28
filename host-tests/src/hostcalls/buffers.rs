//! Buffer hostcalls (§2.2): bodies, configuration and callout responses.

use wasmtime::{Caller, Linker, Result};

use super::hostcall;
use crate::abi::{buffer, Status};
use crate::memory;
use crate::state::HostState;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    hostcall!(linker, "env", "proxy_get_buffer_bytes", get_buffer_bytes, (kind: i32, start: i32, max: i32, rp: i32, rn: i32) -> i32);
    hostcall!(linker, "env", "proxy_set_buffer_bytes", set_buffer_bytes, (kind: i32, start: i32, size: i32, p: i32, n: i32) -> i32);
    hostcall!(linker, "env", "proxy_get_buffer_status", get_buffer_status, (kind: i32, out_len: i32, out_flags: i32) -> i32);
    Ok(())
}

/// The readable content of a buffer, or the status Envoy answers.
fn content(st: &mut HostState, kind: i32) -> Result<Vec<u8>, Status> {
    match kind {
        buffer::HTTP_REQUEST_BODY | buffer::HTTP_RESPONSE_BODY => {
            let index = kind as usize;
            match st.active_stream() {
                // Outside the body callback Envoy hands back an empty buffer.
                Some(s) => Ok(s.bodies[index].clone().unwrap_or_default()),
                None => Err(Status::NotFound),
            }
        }
        buffer::HTTP_CALL_RESPONSE_BODY => match &st.callout {
            Some(view) if view.grpc_message.is_none() => Ok(view.body.clone()),
            _ => Err(Status::NotFound),
        },
        buffer::GRPC_RECEIVE_BUFFER => {
            match st.callout.as_ref().and_then(|v| v.grpc_message.clone()) {
                Some(m) => Ok(m),
                None => Err(Status::NotFound),
            }
        }
        buffer::VM_CONFIGURATION => Ok(st.plugin.vm_config.clone()),
        buffer::PLUGIN_CONFIGURATION if st.configuring => Ok(st.plugin.plugin_config.clone()),
        buffer::PLUGIN_CONFIGURATION
        | buffer::DOWNSTREAM_DATA
        | buffer::UPSTREAM_DATA
        | buffer::CALL_DATA => Err(Status::NotFound),
        _ => Err(Status::BadArgument),
    }
}

fn get_buffer_bytes(
    c: &mut Caller<'_, HostState>,
    kind: i32,
    start: i32,
    max: i32,
    rp: i32,
    rn: i32,
) -> Result<i32> {
    let bytes = match content(c.data_mut(), kind) {
        Ok(b) => b,
        Err(s) => return Ok(s.code()),
    };
    let start = start as u32 as usize;
    let end = start.saturating_add(max as u32 as usize).min(bytes.len());
    let slice = bytes.get(start..end).unwrap_or_default();
    memory::return_bytes(c, slice, rp, rn)?;
    Ok(Status::Ok.code())
}

fn get_buffer_status(
    c: &mut Caller<'_, HostState>,
    kind: i32,
    out_len: i32,
    out_flags: i32,
) -> Result<i32> {
    let bytes = match content(c.data_mut(), kind) {
        Ok(b) => b,
        Err(s) => return Ok(s.code()),
    };
    memory::write_u32(c, out_len, bytes.len() as u32)?;
    memory::write_u32(c, out_flags, 0)?;
    Ok(Status::Ok.code())
}

/// Envoy supports prepend/replace-from-0 (`start == 0`) and append (`start >= len`) only.
fn set_buffer_bytes(
    c: &mut Caller<'_, HostState>,
    kind: i32,
    start: i32,
    size: i32,
    p: i32,
    n: i32,
) -> Result<i32> {
    if kind != buffer::HTTP_REQUEST_BODY && kind != buffer::HTTP_RESPONSE_BODY {
        return Ok(Status::BadArgument.code());
    }
    let data = memory::read(c, p, n)?;
    let index = kind as usize;
    let Some(body) = c
        .data_mut()
        .active_stream()
        .and_then(|s| s.bodies[index].as_mut())
    else {
        return Ok(Status::BadArgument.code());
    };
    let start = start as u32 as usize;
    if start == 0 {
        let drain = (size as u32 as usize).min(body.len());
        body.drain(..drain);
        body.splice(0..0, data);
    } else if start >= body.len() {
        body.extend_from_slice(&data);
    } else {
        return Ok(Status::BadArgument.code());
    }
    Ok(Status::Ok.code())
}
