//! A compiled filter module: wasmtime `Engine` + `Module` + a pre-linked `InstancePre`, built
//! once and instantiated per worker VM.
//!
//! Cranelift in a debug build takes seconds for a release filter, so [`WasmModule::load`]
//! keeps a process-wide cache keyed by path, size and modification time: every test in a
//! binary shares one compilation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use wasmtime::{Config, Engine, ExternType, InstancePre, Linker, Module};

use crate::error::{Error, ErrorKind};
use crate::state::HostState;
use crate::{hostcalls, wasi};

/// The ABI marker export the host requires.
const ABI_MARKER: &str = "proxy_abi_version_0_2_1";

/// A compiled, linked proxy-wasm module. Cheap to clone.
#[derive(Clone)]
pub struct WasmModule {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    module: Module,
    pre: InstancePre<HostState>,
    path: Option<PathBuf>,
    compile_time: Duration,
    size: usize,
}

type CacheKey = (PathBuf, u64, Option<SystemTime>);

fn cache() -> &'static Mutex<HashMap<CacheKey, WasmModule>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, WasmModule>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

impl WasmModule {
    /// Loads, validates, compiles and links the module at `path`, or returns the cached
    /// compilation of the same file (same size and mtime).
    ///
    /// # Errors
    /// Unreadable file, invalid wasm, a missing `proxy_abi_version_0_2_1` export, a missing
    /// allocator or memory, or any import Envoy does not provide.
    pub fn load(path: impl AsRef<Path>) -> Result<WasmModule, Error> {
        let path = path.as_ref();
        let io = |e: std::io::Error| {
            Error::new(ErrorKind::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let key = (
            path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
            meta.len(),
            meta.modified().ok(),
        );
        // Compile under the lock: two tests racing for the same file should compile once.
        let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = cache.get(&key) {
            return Ok(m.clone());
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let module = WasmModule::compile(&bytes, Some(path.to_path_buf()))?;
        cache.insert(key, module.clone());
        Ok(module)
    }

    /// Compiles a module from bytes (not cached).
    ///
    /// # Errors
    /// As [`WasmModule::load`], without the I/O case.
    pub fn from_bytes(bytes: &[u8]) -> Result<WasmModule, Error> {
        WasmModule::compile(bytes, None)
    }

    fn compile(bytes: &[u8], path: Option<PathBuf>) -> Result<WasmModule, Error> {
        let started = Instant::now();
        let mut config = Config::new();
        config.consume_fuel(true);
        let engine =
            Engine::new(&config).map_err(|e| Error::new(ErrorKind::Compile(format!("{e:?}"))))?;
        let module = Module::new(&engine, bytes)
            .map_err(|e| Error::new(ErrorKind::Compile(format!("{e:?}"))))?;
        validate(&module)?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        hostcalls::add_to_linker(&mut linker)
            .and_then(|_| wasi::add_to_linker(&mut linker))
            .map_err(|e| {
                Error::new(ErrorKind::Compile(format!("linking host functions: {e:?}")))
            })?;
        // Every import name is known at this point, so a failure is a signature mismatch.
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| Error::new(ErrorKind::ImportSignature(format!("{e:?}"))))?;
        Ok(WasmModule {
            inner: Arc::new(Inner {
                engine,
                module,
                pre,
                path,
                compile_time: started.elapsed(),
                size: bytes.len(),
            }),
        })
    }

    /// Module imports as (module, name).
    pub fn imports(&self) -> Vec<(String, String)> {
        self.inner
            .module
            .imports()
            .map(|i| (i.module().to_string(), i.name().to_string()))
            .collect()
    }

    /// Names of the module's exports.
    pub fn exports(&self) -> Vec<String> {
        self.inner
            .module
            .exports()
            .map(|e| e.name().to_string())
            .collect()
    }

    /// How long validation, compilation and linking took.
    pub fn compile_time(&self) -> Duration {
        self.inner.compile_time
    }

    /// Size of the `.wasm` in bytes.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// The file it was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn instance_pre(&self) -> &InstancePre<HostState> {
        &self.inner.pre
    }
}

impl std::fmt::Debug for WasmModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmModule")
            .field("path", &self.inner.path)
            .field("size", &self.inner.size)
            .finish()
    }
}

/// Envoy's load-time checks: ABI marker, allocator, memory, and every import known.
fn validate(module: &Module) -> Result<(), Error> {
    let has_func = |name: &str| {
        module
            .exports()
            .any(|e| e.name() == name && matches!(e.ty(), ExternType::Func(_)))
    };
    if !has_func(ABI_MARKER) {
        return Err(Error::new(ErrorKind::MissingAbiVersion));
    }
    for import in module.imports() {
        let known = match import.module() {
            "env" => hostcalls::ENV_IMPORTS.contains(&import.name()),
            m if wasi::MODULES.contains(&m) => wasi::IMPORTS.contains(&import.name()),
            _ => false,
        };
        if !known || !matches!(import.ty(), ExternType::Func(_)) {
            return Err(Error::new(ErrorKind::UnknownImport {
                module: import.module().to_string(),
                name: import.name().to_string(),
            }));
        }
    }
    if !has_func("malloc") && !has_func("proxy_on_memory_allocate") {
        return Err(Error::new(ErrorKind::MissingAllocator));
    }
    if !module
        .exports()
        .any(|e| e.name() == "memory" && matches!(e.ty(), ExternType::Memory(_)))
    {
        return Err(Error::new(ErrorKind::MissingMemory));
    }
    Ok(())
}
