//! One worker VM: a wasmtime store + instance, the guarded way the host calls into it, module
//! start-up, root-context set-up, and callout delivery.
//!
//! Every host→guest call goes through [`Vm::call`]: it resets the effective context (cpp-host
//! does so on every entry), measures fuel, traces, and turns a trap into "this VM has failed"
//! — after which Envoy never calls into it again.

use std::collections::HashMap;

use wasmtime::{Func, Instance, Store, StoreLimitsBuilder, Val};

use crate::abi::LogLevel;
use crate::callout::{HttpCallOutcome, PendingCallout};
use crate::error::{Error, ErrorKind};
use crate::module::WasmModule;
use crate::state::{CalloutView, HostState, LogSource, Phase};

/// Envoy caps guest memory at 1 GiB.
const MEMORY_CAP: usize = 1 << 30;
/// Root context id of the single plugin (0 is the VM context and never reaches the module).
pub(crate) const ROOT_CONTEXT: u32 = 1;
/// A callout chain longer than this is a runaway filter.
const MAX_CALLOUTS_PER_PUMP: usize = 10_000;

/// Result of a guarded guest call: `Err` means the VM trapped (or had already failed).
pub(crate) type CallResult = Result<i32, ()>;

pub(crate) struct Vm {
    pub store: Store<HostState>,
    instance: Instance,
    funcs: HashMap<&'static str, Option<Func>>,
    /// Why the VM (or its plugin) failed, if it did.
    pub failed: Option<String>,
    fuel_limit: u64,
}

impl Vm {
    /// Instantiates the module into a fresh store.
    pub fn instantiate(
        module: &WasmModule,
        mut state: HostState,
        fuel_limit: u64,
    ) -> Result<Vm, Error> {
        state.limits = StoreLimitsBuilder::new().memory_size(MEMORY_CAP).build();
        let mut store = Store::new(module.engine(), state);
        store.limiter(|s| &mut s.limits);
        let instantiate = |e: wasmtime::Error| Error::new(ErrorKind::Instantiate(format!("{e:?}")));
        store.set_fuel(fuel_limit).map_err(instantiate)?;
        let instance = module
            .instance_pre()
            .instantiate(&mut store)
            .map_err(instantiate)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| Error::new(ErrorKind::MissingMemory))?;
        // cpp-host looks for `malloc` first, then `proxy_on_memory_allocate`.
        let allocator = instance
            .get_typed_func::<i32, i32>(&mut store, "malloc")
            .or_else(|_| {
                instance.get_typed_func::<i32, i32>(&mut store, "proxy_on_memory_allocate")
            })
            .map_err(|_| Error::new(ErrorKind::MissingAllocator))?;
        let st = store.data_mut();
        st.memory = Some(memory);
        st.allocator = Some(allocator);
        Ok(Vm {
            store,
            instance,
            funcs: HashMap::new(),
            failed: None,
            fuel_limit,
        })
    }

    fn func(&mut self, name: &'static str) -> Option<Func> {
        if let Some(f) = self.funcs.get(name) {
            return *f;
        }
        let f = self.instance.get_func(&mut self.store, name);
        self.funcs.insert(name, f);
        f
    }

    /// True if the module exports `name`.
    pub fn exports(&mut self, name: &'static str) -> bool {
        self.func(name).is_some()
    }

    /// Calls export `name` on behalf of context `ctx`. A missing export answers `default`
    /// (cpp-host skips callbacks the module does not export). A trap marks the VM failed.
    pub fn call(&mut self, name: &'static str, ctx: u32, args: &[i32], default: i32) -> CallResult {
        if self.failed.is_some() {
            return Err(());
        }
        let Some(func) = self.func(name) else {
            return Ok(default);
        };
        let params: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
        let ty = func.ty(&self.store);
        let mut results = vec![Val::I32(0); ty.results().len()];
        {
            let st = self.store.data_mut();
            st.current_context = ctx;
            st.effective_context = 0;
            st.trace(|| format!("[host->vm] {name}({})", join(args)));
        }
        // Fuel is refilled per call so one runaway callback cannot starve later ones.
        let _ = self.store.set_fuel(self.fuel_limit);
        let outcome = func.call(&mut self.store, &params, &mut results);
        let left = self.store.get_fuel().unwrap_or(0);
        let st = self.store.data_mut();
        st.fuel_used += self.fuel_limit.saturating_sub(left);
        st.current_context = 0;
        st.effective_context = 0;
        match outcome {
            Ok(()) => {
                let ret = results.first().and_then(Val::i32).unwrap_or(default);
                st.trace(|| format!("[host<-vm] {name} return: {ret}"));
                Ok(ret)
            }
            Err(e) => {
                // The short form (root cause) for reports; the backtrace goes to the log.
                let cause = e.chain().last().map(|c| c.to_string()).unwrap_or_default();
                let message = format!("wasm trap in {name}: {cause}");
                st.trace(|| format!("[host<-vm] {name} trap: {cause}"));
                st.log(
                    LogLevel::Critical,
                    LogSource::Host,
                    format!("{message}\n{e:?}"),
                );
                self.failed = Some(message);
                Err(())
            }
        }
    }

    /// Module start-up (`_initialize` + `main`/`__main_void`, or `_start`) in the restricted
    /// phase, then the root context: create, `on_vm_start`, `on_configure`.
    pub fn start(&mut self) {
        self.store.data_mut().phase = Phase::Startup;
        let started = if self.exports("_initialize") {
            let mut ok = self.call("_initialize", 0, &[], 0).is_ok();
            if ok && self.exports("main") {
                let params = self.func("main").map(|f| f.ty(&self.store).params().len());
                let args: &[i32] = if params == Some(2) { &[0, 0] } else { &[] };
                ok = self.call("main", 0, args, 0).is_ok();
            } else if ok && self.exports("__main_void") {
                ok = self.call("__main_void", 0, &[], 0).is_ok();
            }
            ok
        } else if self.exports("_start") {
            self.call("_start", 0, &[], 0).is_ok()
        } else {
            true
        };
        self.store.data_mut().phase = Phase::Running;
        if !started {
            return;
        }
        let (vm_len, plugin_len) = {
            let st = self.store.data_mut();
            st.root_context = ROOT_CONTEXT;
            st.live_contexts.insert(ROOT_CONTEXT);
            st.next_context = ROOT_CONTEXT + 1;
            (
                st.plugin.vm_config.len() as i32,
                st.plugin.plugin_config.len() as i32,
            )
        };
        if self
            .call(
                "proxy_on_context_create",
                ROOT_CONTEXT,
                &[ROOT_CONTEXT as i32, 0],
                0,
            )
            .is_err()
        {
            return;
        }
        match self.call(
            "proxy_on_vm_start",
            ROOT_CONTEXT,
            &[ROOT_CONTEXT as i32, vm_len],
            1,
        ) {
            Ok(0) => {
                self.fail("proxy_on_vm_start returned false");
                return;
            }
            Ok(_) => {}
            Err(()) => return,
        }
        self.pump();
        self.store.data_mut().configuring = true;
        let configured = self.call(
            "proxy_on_configure",
            ROOT_CONTEXT,
            &[ROOT_CONTEXT as i32, plugin_len],
            1,
        );
        self.store.data_mut().configuring = false;
        if configured == Ok(0) {
            self.fail("proxy_on_configure returned false");
            return;
        }
        self.pump();
    }

    /// Marks the plugin failed without a trap (start-up or configure returned false).
    pub fn fail(&mut self, why: &str) {
        self.store.data_mut().log(
            LogLevel::Critical,
            LogSource::Host,
            format!("plugin failed: {why}"),
        );
        self.failed = Some(why.to_string());
    }

    /// Delivers every queued callout answer on the root context, including callouts issued
    /// by those answers' callbacks, as Envoy would once the current guest call has returned.
    pub fn pump(&mut self) {
        for _ in 0..MAX_CALLOUTS_PER_PUMP {
            if self.failed.is_some() {
                return;
            }
            let Some(next) = self.store.data_mut().pending.pop_front() else {
                return;
            };
            self.deliver(next);
        }
        self.store.data_mut().host_error(format!(
            "more than {MAX_CALLOUTS_PER_PUMP} chained callouts: the filter loops"
        ));
    }

    fn deliver(&mut self, callout: PendingCallout) {
        let root = self.store.data().root_context as i32;
        match callout {
            PendingCallout::Http(call) => {
                let responder = self.store.data().plugin.http_responder.clone();
                let (view, status) = match responder(&call) {
                    HttpCallOutcome::NoReply => return,
                    HttpCallOutcome::Response(r) => (
                        CalloutView {
                            headers: r.header_map(),
                            trailers: r.trailers.clone(),
                            body: r.body.clone(),
                            grpc_message: None,
                        },
                        (0, Vec::new()),
                    ),
                    HttpCallOutcome::Reset => (CalloutView::default(), (11, b"reset".to_vec())),
                };
                let args = [
                    root,
                    call.token as i32,
                    view.headers.len() as i32,
                    view.body.len() as i32,
                    view.trailers.len() as i32,
                ];
                let st = self.store.data_mut();
                st.status = status;
                st.callout = Some(view);
                let _ = self.call("proxy_on_http_call_response", root as u32, &args, 0);
            }
            PendingCallout::Grpc(call) => {
                let responder = self.store.data().plugin.grpc_responder.clone();
                match responder.respond(&call) {
                    Ok(message) => {
                        let len = message.len() as i32;
                        let st = self.store.data_mut();
                        st.status = (0, Vec::new());
                        st.callout = Some(CalloutView {
                            grpc_message: Some(message),
                            ..CalloutView::default()
                        });
                        let args = [root, call.token as i32, len];
                        let _ = self.call("proxy_on_grpc_receive", root as u32, &args, 0);
                    }
                    Err(status) => {
                        let st = self.store.data_mut();
                        st.status = (status.code, status.message.into_bytes());
                        st.callout = None;
                        let args = [root, call.token as i32, status.code as i32];
                        let _ = self.call("proxy_on_grpc_close", root as u32, &args, 0);
                    }
                }
            }
        }
        self.store.data_mut().callout = None;
    }

    /// Fires `proxy_on_tick` on the root context.
    pub fn tick(&mut self) {
        let root = self.store.data().root_context;
        let _ = self.call("proxy_on_tick", root, &[root as i32], 0);
        self.pump();
    }

    /// Delivers `proxy_on_queue_ready`.
    pub fn queue_ready(&mut self, root: u32, queue: u32) {
        let _ = self.call(
            "proxy_on_queue_ready",
            root,
            &[root as i32, queue as i32],
            0,
        );
        self.pump();
    }

    /// Current linear memory size in bytes.
    pub fn memory_size(&self) -> usize {
        self.store
            .data()
            .memory
            .map(|m| m.data_size(&self.store))
            .unwrap_or(0)
    }
}

fn join(args: &[i32]) -> String {
    args.iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
