//! The command line of `scripts/bench --envoy`, and the run sizes it implies: `--quick` is
//! for trying a change in two minutes, the default run for figures worth quoting.

use std::path::PathBuf;

/// What one run measures, and with what.
pub struct Args {
    pub json: bool,
    pub sizes: Vec<usize>,
    pub repeat: usize,
    /// Requests per measured load, after `warmup` unmeasured ones.
    pub requests: usize,
    pub warmup: usize,
    /// The real Envoy binary (not a wrapper script: its process is the one measured).
    pub envoy: PathBuf,
    /// The release filter and the no-op filter.
    pub wasm: PathBuf,
    pub noop: PathBuf,
}

const USAGE: &str = "usage: envoy_bench --envoy-binary PATH --wasm PATH --noop PATH \
                     [--json] [--sizes 10,100] [--repeat N] [--quick]";

/// Reads the command line.
///
/// # Errors
/// An unknown flag, a flag without its value, or a value that is not a number.
pub fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        json: false,
        sizes: vec![10, 100, 1_000, 10_000],
        repeat: 3,
        requests: 10_000,
        warmup: 1_000,
        envoy: PathBuf::new(),
        wasm: PathBuf::new(),
        noop: PathBuf::new(),
    };
    let mut sizes = None;
    let mut repeat = None;
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))
        };
        match flag.as_str() {
            "--json" => out.json = true,
            "--quick" => {
                out.sizes = vec![10];
                out.repeat = 1;
                out.requests = 4_000;
                out.warmup = 500;
            }
            "--sizes" => sizes = Some(numbers(&value()?)?),
            "--repeat" => repeat = Some(number(&value()?)?),
            "--envoy-binary" => out.envoy = value()?.into(),
            "--wasm" => out.wasm = value()?.into(),
            "--noop" => out.noop = value()?.into(),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    // Given sizes and repeats win over --quick's, whatever the order.
    out.sizes = sizes.unwrap_or(out.sizes);
    out.repeat = repeat.unwrap_or(out.repeat).max(1);
    if [&out.envoy, &out.wasm, &out.noop]
        .iter()
        .any(|p| p.as_os_str().is_empty())
    {
        return Err(USAGE.to_owned());
    }
    Ok(out)
}

fn numbers(list: &str) -> Result<Vec<usize>, String> {
    list.split(',').map(number).collect()
}

fn number(text: &str) -> Result<usize, String> {
    text.trim()
        .replace('_', "")
        .parse()
        .map_err(|e| format!("{text:?} is not a number: {e}"))
}
