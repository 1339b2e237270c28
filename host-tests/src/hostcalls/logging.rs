//! Logging, time and tick hostcalls (§2.1).

use wasmtime::{Caller, Linker, Result};

use super::hostcall;
use crate::abi::{LogLevel, Status};
use crate::memory;
use crate::state::{HostState, LogSource};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    hostcall!(linker, "env", "proxy_log", proxy_log, (level: i32, p: i32, n: i32) -> i32);
    hostcall!(linker, "env", "proxy_get_log_level", get_log_level, (out: i32) -> i32);
    hostcall!(linker, "env", "proxy_get_current_time_nanoseconds", get_current_time, (out: i32) -> i32);
    hostcall!(linker, "env", "proxy_set_tick_period_milliseconds", set_tick_period, (ms: i32) -> i32);
    Ok(())
}

fn proxy_log(c: &mut Caller<'_, HostState>, level: i32, p: i32, n: i32) -> Result<i32> {
    let Some(level) = LogLevel::from_raw(level) else {
        return Ok(Status::BadArgument.code());
    };
    let message = memory::read_string(c, p, n)?;
    c.data_mut().log(level, LogSource::Proxy, message);
    Ok(Status::Ok.code())
}

fn get_log_level(c: &mut Caller<'_, HostState>, out: i32) -> Result<i32> {
    let level = c.data().plugin.log_level;
    memory::write_u32(c, out, level)?;
    Ok(Status::Ok.code())
}

fn get_current_time(c: &mut Caller<'_, HostState>, out: i32) -> Result<i32> {
    let now = c.data().clock.now_nanos();
    memory::write_u64(c, out, now)?;
    Ok(Status::Ok.code())
}

/// Applies to the VM's root context; the first tick fires one full period later.
fn set_tick_period(c: &mut Caller<'_, HostState>, ms: i32) -> Result<i32> {
    let st = c.data_mut();
    let ms = ms as u32;
    st.tick_period_ms = ms;
    st.next_tick_nanos = (ms > 0).then(|| st.clock.now_nanos() + u64::from(ms) * 1_000_000);
    Ok(Status::Ok.code())
}
