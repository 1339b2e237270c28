//! The `env.proxy_*` imports of ABI 0.2.1, one file per area, plus Envoy's two emscripten
//! helpers. `add_to_linker` registers them all; every call passes through [`enter`], which
//! counts it, traces it Envoy-style (`[vm->host]`) and enforces the restricted phases
//! (module start-up and the guest allocator), where Envoy traps on most hostcalls.

mod buffers;
mod callouts;
mod logging;
mod maps;
mod metrics;
mod properties;
mod shared;
mod stream;

use std::fmt::Debug;

use wasmtime::{bail, Caller, Linker, Result};

use crate::state::{HostState, Phase};

/// Hostcalls allowed while `_initialize` / `main` / `_start` run (cpp-host #306, 2026 set).
const STARTUP_ALLOWED: &[&str] = &[
    "proxy_log",
    "emscripten_notify_memory_growth",
    "fd_write",
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "clock_time_get",
    "random_get",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "poll_oneoff",
];

/// Hostcalls allowed from inside the guest allocator (V8 "restricted_callback").
const ALLOCATOR_ALLOWED: &[&str] = &["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"];

/// Every `env` import the host provides.
pub(crate) const ENV_IMPORTS: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_header_map_size",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_send_local_response",
    "proxy_get_status",
    "proxy_set_effective_context",
    "proxy_done",
    "proxy_call_foreign_function",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_define_metric",
    "proxy_increment_metric",
    "proxy_record_metric",
    "proxy_get_metric",
    "pthread_equal",
    "emscripten_notify_memory_growth",
];

/// Bookkeeping at the start of every hostcall; `Err` (a trap) in a restricted phase.
pub(crate) fn enter(c: &mut Caller<'_, HostState>, name: &str, args: &[i64]) -> Result<()> {
    let st = c.data_mut();
    st.host_calls += 1;
    st.trace(|| format!("[vm->host] {name}({})", join(args)));
    if st.in_allocator && !ALLOCATOR_ALLOWED.contains(&name) {
        bail!("restricted_callback: {name} called from inside the guest allocator");
    }
    if st.phase == Phase::Startup && !STARTUP_ALLOWED.contains(&name) {
        bail!("restricted_callback: {name} called during module start-up (_initialize/main); Envoy traps here");
    }
    Ok(())
}

/// Bookkeeping at the end of every hostcall.
pub(crate) fn leave<T: Debug>(c: &mut Caller<'_, HostState>, name: &str, result: &Result<T>) {
    c.data_mut().trace(|| match result {
        Ok(v) => format!("[vm<-host] {name} return: {v:?}"),
        Err(e) => format!("[vm<-host] {name} trap: {e}"),
    });
}

fn join(args: &[i64]) -> String {
    args.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Wraps a hostcall function `f(&mut Caller, args..) -> Result<R>` into the linker.
macro_rules! hostcall {
    ($linker:expr, $module:expr, $name:literal, $f:path, ($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        $linker.func_wrap(
            $module,
            $name,
            move |mut c: wasmtime::Caller<'_, $crate::state::HostState>, $($arg: $ty),*| -> wasmtime::Result<$ret> {
                $crate::hostcalls::enter(&mut c, $name, &[$(i64::from($arg)),*])?;
                let r = $f(&mut c, $($arg),*);
                $crate::hostcalls::leave(&mut c, $name, &r);
                r
            },
        )?
    };
}
pub(crate) use hostcall;

/// Registers every `env` import.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    logging::add_to_linker(linker)?;
    buffers::add_to_linker(linker)?;
    maps::add_to_linker(linker)?;
    properties::add_to_linker(linker)?;
    shared::add_to_linker(linker)?;
    stream::add_to_linker(linker)?;
    callouts::add_to_linker(linker)?;
    metrics::add_to_linker(linker)?;
    hostcall!(linker, "env", "pthread_equal", pthread_equal, (a: i32, b: i32) -> i32);
    hostcall!(linker, "env", "emscripten_notify_memory_growth", notify_memory_growth, (index: i32) -> ());
    Ok(())
}

/// Envoy provides it for emscripten-built modules: threads are never shared, so equal ids.
fn pthread_equal(_c: &mut Caller<'_, HostState>, a: i32, b: i32) -> Result<i32> {
    Ok(i32::from(a == b))
}

/// Memory growth needs no action: memory is re-read on every access.
fn notify_memory_growth(_c: &mut Caller<'_, HostState>, _index: i32) -> Result<()> {
    Ok(())
}
