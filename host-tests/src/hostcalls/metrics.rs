//! Metric hostcalls (§2.9). Ids are per VM (type in the low two bits: counters 4, 8, …;
//! gauges 5, 9, …; histograms 6, 10, …); values are per name, aggregated over all workers.

use wasmtime::{Caller, Linker, Result};

use super::hostcall;
use crate::abi::Status;
use crate::memory;
use crate::shared::MetricKind;
use crate::state::{HostState, MetricDef};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> Result<()> {
    hostcall!(linker, "env", "proxy_define_metric", define, (kind: i32, np: i32, nn: i32, out: i32) -> i32);
    hostcall!(linker, "env", "proxy_increment_metric", increment, (id: i32, delta: i64) -> i32);
    hostcall!(linker, "env", "proxy_record_metric", record, (id: i32, value: i64) -> i32);
    hostcall!(linker, "env", "proxy_get_metric", get, (id: i32, out: i32) -> i32);
    Ok(())
}

fn define(c: &mut Caller<'_, HostState>, kind: i32, np: i32, nn: i32, out: i32) -> Result<i32> {
    let Some(metric) = MetricKind::from_raw(kind) else {
        return Ok(Status::BadArgument.code());
    };
    let name = memory::read_string(c, np, nn)?;
    let st = c.data_mut();
    let slot = &mut st.next_metric[kind as usize];
    *slot += 4;
    let id = *slot;
    st.metrics.insert(
        id,
        MetricDef {
            kind: metric,
            name: name.clone(),
        },
    );
    st.shared().metrics.define(metric, &name);
    memory::write_u32(c, out, id)?;
    Ok(Status::Ok.code())
}

fn lookup(st: &HostState, id: i32) -> Option<MetricDef> {
    st.metrics.get(&(id as u32)).cloned()
}

fn increment(c: &mut Caller<'_, HostState>, id: i32, delta: i64) -> Result<i32> {
    let st = c.data();
    let Some(def) = lookup(st, id) else {
        return Ok(Status::NotFound.code());
    };
    Ok(st
        .shared()
        .metrics
        .increment(def.kind, &def.name, delta)
        .code())
}

fn record(c: &mut Caller<'_, HostState>, id: i32, value: i64) -> Result<i32> {
    let st = c.data();
    let Some(def) = lookup(st, id) else {
        return Ok(Status::NotFound.code());
    };
    Ok(st
        .shared()
        .metrics
        .record(def.kind, &def.name, value as u64)
        .code())
}

fn get(c: &mut Caller<'_, HostState>, id: i32, out: i32) -> Result<i32> {
    let st = c.data();
    let Some(def) = lookup(st, id) else {
        return Ok(Status::NotFound.code());
    };
    let value = st.shared().metrics.get(def.kind, &def.name);
    match value {
        Ok(v) => {
            memory::write_u64(c, out, v)?;
            Ok(Status::Ok.code())
        }
        Err(s) => Ok(s.code()),
    }
}
