//! Shared-data and shared-queue hostcalls (§2.7, §2.8), backed by the Envoy-wide store.

use wasmtime::{Caller, Linker, Result};

use super::hostcall;
use crate::abi::Status;
use crate::memory;
use crate::shared::{QueueTarget, SetOutcome};
use crate::state::HostState;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    hostcall!(linker, "env", "proxy_get_shared_data", get_shared_data, (kp: i32, kn: i32, rp: i32, rn: i32, cas: i32) -> i32);
    hostcall!(linker, "env", "proxy_set_shared_data", set_shared_data, (kp: i32, kn: i32, vp: i32, vn: i32, cas: i32) -> i32);
    hostcall!(linker, "env", "proxy_register_shared_queue", register_queue, (np: i32, nn: i32, out: i32) -> i32);
    hostcall!(linker, "env", "proxy_resolve_shared_queue", resolve_queue, (vp: i32, vn: i32, np: i32, nn: i32, out: i32) -> i32);
    hostcall!(linker, "env", "proxy_dequeue_shared_queue", dequeue, (id: i32, rp: i32, rn: i32) -> i32);
    hostcall!(linker, "env", "proxy_enqueue_shared_queue", enqueue, (id: i32, p: i32, n: i32) -> i32);
    Ok(())
}

fn get_shared_data(
    c: &mut Caller<'_, HostState>,
    kp: i32,
    kn: i32,
    rp: i32,
    rn: i32,
    cas_out: i32,
) -> Result<i32> {
    let key = memory::read(c, kp, kn)?;
    let entry = {
        let st = c.data();
        let vm_id = st.plugin.vm_id.clone();
        st.shared().data.get(&vm_id, &key)
    };
    let Some((value, cas)) = entry else {
        return Ok(Status::NotFound.code());
    };
    memory::return_bytes(c, &value, rp, rn)?;
    memory::write_u32(c, cas_out, cas)?;
    Ok(Status::Ok.code())
}

fn set_shared_data(
    c: &mut Caller<'_, HostState>,
    kp: i32,
    kn: i32,
    vp: i32,
    vn: i32,
    cas: i32,
) -> Result<i32> {
    let key = memory::read(c, kp, kn)?;
    let value = memory::read(c, vp, vn)?;
    let st = c.data();
    let vm_id = st.plugin.vm_id.clone();
    let outcome = st.shared().data.set(&vm_id, &key, value, cas as u32);
    Ok(match outcome {
        SetOutcome::Ok => Status::Ok,
        SetOutcome::CasMismatch => Status::CasMismatch,
    }
    .code())
}

fn register_queue(c: &mut Caller<'_, HostState>, np: i32, nn: i32, out: i32) -> Result<i32> {
    let name = memory::read_string(c, np, nn)?;
    let st = c.data();
    let target = QueueTarget {
        vm: st.worker,
        root_context: st.root_context,
    };
    let vm_id = st.plugin.vm_id.clone();
    let id = st.shared().queues.register(&vm_id, &name, target);
    memory::write_u32(c, out, id)?;
    Ok(Status::Ok.code())
}

fn resolve_queue(
    c: &mut Caller<'_, HostState>,
    vp: i32,
    vn: i32,
    np: i32,
    nn: i32,
    out: i32,
) -> Result<i32> {
    let mut vm_id = memory::read_string(c, vp, vn)?;
    let name = memory::read_string(c, np, nn)?;
    let st = c.data();
    if vm_id.is_empty() {
        vm_id = st.plugin.vm_id.clone();
    }
    let id = st.shared().queues.resolve(&vm_id, &name);
    match id {
        Some(id) => {
            memory::write_u32(c, out, id)?;
            Ok(Status::Ok.code())
        }
        None => Ok(Status::NotFound.code()),
    }
}

fn dequeue(c: &mut Caller<'_, HostState>, id: i32, rp: i32, rn: i32) -> Result<i32> {
    let item = c.data().shared().queues.dequeue(id as u32);
    match item {
        Ok(bytes) => {
            memory::return_bytes(c, &bytes, rp, rn)?;
            Ok(Status::Ok.code())
        }
        Err(status) => Ok(status.code()),
    }
}

fn enqueue(c: &mut Caller<'_, HostState>, id: i32, p: i32, n: i32) -> Result<i32> {
    let item = memory::read(c, p, n)?;
    let status = c.data().shared().queues.enqueue(id as u32, item);
    Ok(status.code())
}
