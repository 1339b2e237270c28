//! WASI preview1 as the oldest supported Envoy provides it (§4), written by hand so the host
//! needs no wasmtime-wasi (and its component-model build cost) and stays deterministic:
//! stdout/stderr become log lines, the clock is the host's, randomness is seeded.
//!
//! Registered under both `wasi_snapshot_preview1` and `wasi_unstable`. Memory faults inside
//! WASI calls answer `EFAULT` rather than trapping, as Envoy does.

use wasmtime::{Caller, Linker, Result};

use crate::abi::{errno, LogLevel};
use crate::hostcalls::hostcall;
use crate::memory;
use crate::state::{HostState, LogSource};

/// The WASI module names Envoy registers.
pub(crate) const MODULES: &[&str] = &["wasi_snapshot_preview1", "wasi_unstable"];

/// Every WASI function the host provides (the oldest Envoy set plus the Dec-2024 additions).
pub(crate) const IMPORTS: &[&str] = &[
    "fd_write",
    "fd_read",
    "fd_seek",
    "fd_close",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "environ_get",
    "environ_sizes_get",
    "args_get",
    "args_sizes_get",
    "clock_time_get",
    "random_get",
    "proc_exit",
    "path_open",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "sched_yield",
    "poll_oneoff",
];

/// Registers the WASI functions under both module names.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    for m in MODULES {
        hostcall!(linker, *m, "fd_write", fd_write, (fd: i32, iovs: i32, n: i32, out: i32) -> i32);
        hostcall!(linker, *m, "fd_read", nosys4, (a: i32, b: i32, c2: i32, d: i32) -> i32);
        hostcall!(linker, *m, "fd_seek", fd_seek, (fd: i32, offset: i64, whence: i32, out: i32) -> i32);
        hostcall!(linker, *m, "fd_close", success1, (fd: i32) -> i32);
        hostcall!(linker, *m, "fd_fdstat_get", fd_fdstat_get, (fd: i32, out: i32) -> i32);
        hostcall!(linker, *m, "fd_fdstat_set_flags", nosys2, (fd: i32, flags: i32) -> i32);
        hostcall!(linker, *m, "environ_get", success2, (a: i32, b: i32) -> i32);
        hostcall!(linker, *m, "environ_sizes_get", sizes_zero, (count: i32, size: i32) -> i32);
        hostcall!(linker, *m, "args_get", success2, (a: i32, b: i32) -> i32);
        hostcall!(linker, *m, "args_sizes_get", sizes_zero, (count: i32, size: i32) -> i32);
        hostcall!(linker, *m, "clock_time_get", clock_time_get, (id: i32, precision: i64, out: i32) -> i32);
        hostcall!(linker, *m, "random_get", random_get, (buf: i32, len: i32) -> i32);
        hostcall!(linker, *m, "proc_exit", proc_exit, (code: i32) -> ());
        hostcall!(linker, *m, "path_open", path_open,
            (fd: i32, dirflags: i32, p: i32, n: i32, oflags: i32, base: i64, inh: i64, fdflags: i32, out: i32) -> i32);
        hostcall!(linker, *m, "fd_prestat_get", badf2, (fd: i32, out: i32) -> i32);
        hostcall!(linker, *m, "fd_prestat_dir_name", nosys3, (fd: i32, p: i32, n: i32) -> i32);
        hostcall!(linker, *m, "sched_yield", sched_yield, () -> i32);
        hostcall!(linker, *m, "poll_oneoff", poll_oneoff, (input: i32, output: i32, n: i32, out: i32) -> i32);
    }
    Ok(())
}

/// fd 1 ⇒ one info line, fd 2 ⇒ one error line; iovecs joined, one trailing newline stripped.
fn fd_write(c: &mut Caller<'_, HostState>, fd: i32, iovs: i32, n: i32, out: i32) -> Result<i32> {
    let (level, source) = match fd {
        1 => (LogLevel::Info, LogSource::Stdout),
        2 => (LogLevel::Error, LogSource::Stderr),
        _ => return Ok(errno::BADF),
    };
    let mut text = Vec::new();
    for i in 0..n.max(0) {
        let Ok(iov) = memory::read(c, iovs.wrapping_add(i * 8), 8) else {
            return Ok(errno::FAULT);
        };
        let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
        let Ok(bytes) = memory::read(c, ptr, len) else {
            return Ok(errno::FAULT);
        };
        text.extend_from_slice(&bytes);
    }
    let written = text.len() as u32;
    if text.last() == Some(&b'\n') {
        text.pop();
    }
    c.data_mut()
        .log(level, source, String::from_utf8_lossy(&text).into_owned());
    if memory::write_u32(c, out, written).is_err() {
        return Ok(errno::FAULT);
    }
    Ok(errno::SUCCESS)
}

fn nosys2(_c: &mut Caller<'_, HostState>, _a: i32, _b: i32) -> Result<i32> {
    Ok(errno::NOSYS)
}

fn nosys3(_c: &mut Caller<'_, HostState>, _a: i32, _b: i32, _d: i32) -> Result<i32> {
    Ok(errno::NOSYS)
}

fn nosys4(_c: &mut Caller<'_, HostState>, _a: i32, _b: i32, _d: i32, _e: i32) -> Result<i32> {
    Ok(errno::NOSYS)
}

fn badf2(_c: &mut Caller<'_, HostState>, _a: i32, _b: i32) -> Result<i32> {
    Ok(errno::BADF)
}

fn success1(_c: &mut Caller<'_, HostState>, _a: i32) -> Result<i32> {
    Ok(errno::SUCCESS)
}

fn success2(_c: &mut Caller<'_, HostState>, _a: i32, _b: i32) -> Result<i32> {
    Ok(errno::SUCCESS)
}

/// Envoy's stub answers success without writing the new offset.
fn fd_seek(
    _c: &mut Caller<'_, HostState>,
    _fd: i32,
    _offset: i64,
    _whence: i32,
    _out: i32,
) -> Result<i32> {
    Ok(errno::SUCCESS)
}

fn sizes_zero(c: &mut Caller<'_, HostState>, count: i32, size: i32) -> Result<i32> {
    if memory::write_u32(c, count, 0).is_err() || memory::write_u32(c, size, 0).is_err() {
        return Ok(errno::FAULT);
    }
    Ok(errno::SUCCESS)
}

/// fd 1/2 only: a character device with write rights (24-byte `fdstat`).
fn fd_fdstat_get(c: &mut Caller<'_, HostState>, fd: i32, out: i32) -> Result<i32> {
    if fd != 1 && fd != 2 {
        return Ok(errno::BADF);
    }
    const FILETYPE_CHARACTER_DEVICE: u8 = 2;
    const RIGHT_FD_WRITE: u64 = 1 << 6;
    let mut stat = [0u8; 24];
    stat[0] = FILETYPE_CHARACTER_DEVICE;
    stat[8..16].copy_from_slice(&RIGHT_FD_WRITE.to_le_bytes());
    if memory::write(c, out, &stat).is_err() {
        return Ok(errno::FAULT);
    }
    Ok(errno::SUCCESS)
}

/// Realtime (0) and monotonic (1) both read the host clock; others ⇒ ENOTSUP.
fn clock_time_get(
    c: &mut Caller<'_, HostState>,
    id: i32,
    _precision: i64,
    out: i32,
) -> Result<i32> {
    if id != 0 && id != 1 {
        return Ok(errno::NOTSUP);
    }
    let now = c.data().clock.now_nanos();
    if memory::write_u64(c, out, now).is_err() {
        return Ok(errno::FAULT);
    }
    Ok(errno::SUCCESS)
}

fn random_get(c: &mut Caller<'_, HostState>, buf: i32, len: i32) -> Result<i32> {
    let len = len as u32 as usize;
    if len > 64 * 1024 {
        return Ok(errno::INVAL);
    }
    let mut bytes = vec![0u8; len];
    c.data_mut().rng.fill(&mut bytes);
    if memory::write(c, buf, &bytes).is_err() {
        return Ok(errno::FAULT);
    }
    Ok(errno::SUCCESS)
}

/// A no-op that returns, as in Envoy: the guest then traps on its own `unreachable`.
fn proc_exit(c: &mut Caller<'_, HostState>, code: i32) -> Result<()> {
    c.data_mut()
        .trace(|| format!("proc_exit({code}) ignored, as Envoy does"));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn path_open(
    _c: &mut Caller<'_, HostState>,
    _fd: i32,
    _dirflags: i32,
    _p: i32,
    _n: i32,
    _oflags: i32,
    _base: i64,
    _inh: i64,
    _fdflags: i32,
    _out: i32,
) -> Result<i32> {
    Ok(errno::NOENT)
}

fn sched_yield(_c: &mut Caller<'_, HostState>) -> Result<i32> {
    Ok(errno::SUCCESS)
}

/// Success with zero events: a filter's `thread::sleep` returns immediately, as in Envoy.
fn poll_oneoff(
    c: &mut Caller<'_, HostState>,
    _input: i32,
    _output: i32,
    _n: i32,
    out: i32,
) -> Result<i32> {
    if memory::write_u32(c, out, 0).is_err() {
        return Ok(errno::FAULT);
    }
    Ok(errno::SUCCESS)
}
