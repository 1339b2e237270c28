//! What the kernel counts of a process: CPU time and resident memory. CPU time, unlike wall
//! time, does not grow when another process takes the core, so the benchmark's per-request
//! cost stays comparable on a busy machine.

use std::path::Path;

/// User plus system CPU time of all of the process's threads, in seconds.
///
/// # Errors
/// The process is gone or its `stat` line has another shape.
pub fn cpu_seconds(pid: u32, ticks_per_second: f64) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // The command name may hold spaces; the fields after it do not.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the name: state is the 1st field, utime the 12th and stime the 13th.
    let tick = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| format!("{path} has no CPU time field {i}: {text:?}"))
    };
    Ok((tick(11)? + tick(12)?) / ticks_per_second)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of `/proc/*/stat`.
///
/// # Errors
/// `getconf` cannot be run or prints no number.
pub fn ticks_per_second() -> Result<f64, String> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .map_err(|e| format!("cannot run getconf CLK_TCK: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .map_err(|e| format!("getconf CLK_TCK printed {text:?}: {e}"))
}

/// The process's resident memory (`VmRSS`), in MiB.
///
/// # Errors
/// The process is gone or its status has no `VmRSS`.
pub fn rss_mib(pid: u32) -> Result<f64, String> {
    let path = Path::new("/proc").join(pid.to_string()).join("status");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .ok_or_else(|| format!("{} has no VmRSS", path.display()))
}
