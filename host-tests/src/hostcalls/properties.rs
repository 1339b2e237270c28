//! Property and foreign-function hostcalls (§2.10, §2.11).

use wasmtime::{Caller, Linker, Result};

use super::hostcall;
use crate::abi::Status;
use crate::memory;
use crate::properties;
use crate::state::HostState;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    hostcall!(linker, "env", "proxy_get_property", get_property, (p: i32, n: i32, rp: i32, rn: i32) -> i32);
    hostcall!(linker, "env", "proxy_set_property", set_property, (p: i32, n: i32, vp: i32, vn: i32) -> i32);
    hostcall!(linker, "env", "proxy_call_foreign_function", call_foreign_function,
        (np: i32, nn: i32, ap: i32, an: i32, rp: i32, rn: i32) -> i32);
    Ok(())
}

fn get_property(c: &mut Caller<'_, HostState>, p: i32, n: i32, rp: i32, rn: i32) -> Result<i32> {
    let path = memory::read(c, p, n)?;
    match properties::get(c.data(), &path) {
        Ok(value) => {
            memory::return_bytes(c, &value, rp, rn)?;
            Ok(Status::Ok.code())
        }
        Err(status) => Ok(status.code()),
    }
}

/// Stored as stream filter state under the raw path (Envoy: `wasm.` + path bytes).
fn set_property(c: &mut Caller<'_, HostState>, p: i32, n: i32, vp: i32, vn: i32) -> Result<i32> {
    let path = memory::read(c, p, n)?;
    let value = memory::read(c, vp, vn)?;
    match c.data_mut().active_stream() {
        Some(s) => {
            s.filter_state.insert(path, value);
            Ok(Status::Ok.code())
        }
        None => Ok(Status::NotFound.code()),
    }
}

/// Envoy registers compress, uncompress, set_envoy_filter_state, clear_route_cache and
/// declare_property. Only `clear_route_cache` is simulated; the others are flagged.
fn call_foreign_function(
    c: &mut Caller<'_, HostState>,
    np: i32,
    nn: i32,
    ap: i32,
    an: i32,
    rp: i32,
    rn: i32,
) -> Result<i32> {
    let name = memory::read_string(c, np, nn)?;
    memory::read(c, ap, an)?;
    let st = c.data_mut();
    match name.as_str() {
        "clear_route_cache" => {
            if let Some(s) = st.active_stream() {
                s.route_cache_clears += 1;
            }
            memory::return_bytes(c, &[], rp, rn)?;
            Ok(Status::Ok.code())
        }
        "compress" | "uncompress" | "set_envoy_filter_state" | "declare_property" => {
            st.host_error(format!(
                "foreign function {name} exists in Envoy but is not simulated"
            ));
            Ok(Status::InternalFailure.code())
        }
        _ => Ok(Status::NotFound.code()),
    }
}
