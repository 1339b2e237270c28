//! Guest linear-memory access for hostcalls.
//!
//! Every access is bounds-checked against the *current* memory size (the handle is re-read
//! on each access, so growth inside a guest call is always seen). An out-of-range pointer is a
//! trap, not a status: the SDK never produces one, so it signals a broken module or host.
//! Buffers returned to the guest are allocated *inside* the guest with its own allocator, at
//! exactly the requested length, because the SDK rebuilds them with `Vec::from_raw_parts`.

use wasmtime::{bail, Caller, Memory, Result};

use crate::state::HostState;

fn memory(c: &Caller<'_, HostState>) -> Result<Memory> {
    match c.data().memory {
        Some(m) => Ok(m),
        None => bail!("guest memory is not available"),
    }
}

fn range(ptr: i32, len: i32) -> Result<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let len = len as u32 as usize;
    match start.checked_add(len) {
        Some(end) => Ok(start..end),
        None => bail!("guest memory access overflows: ptr {start:#x} len {len}"),
    }
}

/// Copies `len` bytes at `ptr` out of guest memory.
pub(crate) fn read(c: &Caller<'_, HostState>, ptr: i32, len: i32) -> Result<Vec<u8>> {
    let mem = memory(c)?;
    let r = range(ptr, len)?;
    match mem.data(c).get(r.clone()) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => bail!(
            "out-of-bounds guest memory read: {:#x}..{:#x} (memory is {} bytes); Envoy would return InvalidMemoryAccess",
            r.start,
            r.end,
            mem.data_size(c)
        ),
    }
}

/// Reads a guest string (lossy, for names and log lines).
pub(crate) fn read_string(c: &Caller<'_, HostState>, ptr: i32, len: i32) -> Result<String> {
    Ok(String::from_utf8_lossy(&read(c, ptr, len)?).into_owned())
}

/// Copies `bytes` into guest memory at `ptr`.
pub(crate) fn write(c: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> Result<()> {
    let mem = memory(c)?;
    let r = range(ptr, bytes.len() as i32)?;
    let size = mem.data_size(&*c);
    match mem.data_mut(&mut *c).get_mut(r.clone()) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            Ok(())
        }
        None => bail!(
            "out-of-bounds guest memory write: {:#x}..{:#x} (memory is {size} bytes)",
            r.start,
            r.end
        ),
    }
}

/// Writes a little-endian u32.
pub(crate) fn write_u32(c: &mut Caller<'_, HostState>, ptr: i32, v: u32) -> Result<()> {
    write(c, ptr, &v.to_le_bytes())
}

/// Writes a little-endian u64.
pub(crate) fn write_u64(c: &mut Caller<'_, HostState>, ptr: i32, v: u64) -> Result<()> {
    write(c, ptr, &v.to_le_bytes())
}

/// Allocates `len` bytes in the guest and returns the pointer.
pub(crate) fn allocate(c: &mut Caller<'_, HostState>, len: usize) -> Result<i32> {
    let Some(alloc) = c.data().allocator.clone() else {
        bail!("missing malloc function");
    };
    let Ok(len) = i32::try_from(len) else {
        bail!("cannot return {len} bytes to a wasm32 guest");
    };
    c.data_mut().in_allocator = true;
    let result = alloc.call(&mut *c, len);
    c.data_mut().in_allocator = false;
    let ptr = result?;
    if ptr == 0 {
        bail!("the guest allocator returned null for {len} bytes");
    }
    Ok(ptr)
}

/// Returns a buffer to the guest through the out-pointers `rp` (data) and `rn` (size): ptr 0 /
/// len 0 without allocating when `bytes` is empty (cpp-host `copyToPointerSize`).
pub(crate) fn return_bytes(
    c: &mut Caller<'_, HostState>,
    bytes: &[u8],
    rp: i32,
    rn: i32,
) -> Result<()> {
    if bytes.is_empty() {
        write_u32(c, rp, 0)?;
        return write_u32(c, rn, 0);
    }
    let ptr = allocate(c, bytes.len())?;
    write(c, ptr, bytes)?;
    write_u32(c, rp, ptr as u32)?;
    write_u32(c, rn, bytes.len() as u32)
}
