//! The crate's error type: what can go wrong *loading* a module or building an [`crate::Envoy`].
//!
//! Guest misbehaviour at run time is not an `Error`: it is reported in the exchange (a trap
//! marks the VM failed, a bad status is a host error), exactly as Envoy keeps serving.

use std::fmt;

/// Why a module could not be loaded or an Envoy could not be built.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

/// The category of an [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The `.wasm` file could not be read.
    Io { path: String, message: String },
    /// wasmtime rejected or failed to compile the module.
    Compile(String),
    /// The module does not export `proxy_abi_version_0_2_1`.
    MissingAbiVersion,
    /// The module imports something Envoy does not provide.
    UnknownImport { module: String, name: String },
    /// An import is known but its signature differs from the host's.
    ImportSignature(String),
    /// Neither `malloc` nor `proxy_on_memory_allocate` is exported.
    MissingAllocator,
    /// The module exports no linear memory named `memory`.
    MissingMemory,
    /// Instantiation failed (for example the memory cap was exceeded).
    Instantiate(String),
    /// A builder option was invalid (for example zero workers).
    Config(String),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Io { path, message } => write!(f, "cannot read wasm module {path}: {message}"),
            ErrorKind::Compile(m) => write!(f, "cannot compile wasm module: {m}"),
            ErrorKind::MissingAbiVersion => write!(
                f,
                "missing or unknown proxy-wasm ABI version: the module must export proxy_abi_version_0_2_1"
            ),
            ErrorKind::UnknownImport { module, name } => write!(
                f,
                "the module imports {module}.{name}, which Envoy does not provide (loading fails in Envoy too)"
            ),
            ErrorKind::ImportSignature(m) => {
                write!(f, "an import has an unexpected signature: {m}")
            }
            ErrorKind::MissingAllocator => write!(
                f,
                "missing malloc function: the module exports neither malloc nor proxy_on_memory_allocate"
            ),
            ErrorKind::MissingMemory => write!(f, "the module exports no memory named `memory`"),
            ErrorKind::Instantiate(m) => write!(f, "cannot instantiate wasm module: {m}"),
            ErrorKind::Config(m) => write!(f, "invalid host configuration: {m}"),
        }
    }
}

impl std::error::Error for Error {}
