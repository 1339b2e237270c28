//! One Envoy run of one configuration: started pinned to core 0 and timed until its first
//! 200, then loaded with a warm-up and a measured window, whose Envoy CPU time is read from
//! `/proc` just before and just after, so idle moments and other processes do not count.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gatewasm::routetest::envoy::client::{Client, Outgoing, Protocol};
use gatewasm::routetest::envoy::process::{Envoy, Launch};

use crate::configs::Deployed;
use crate::h2load::{self, Shape};
use crate::procfs;
use crate::tables::{Probe, BIG_HOST};
use crate::upstream::Upstream;

/// Longer than any start-up or swap seen: V8 compiling the module and a 10,000-rule table.
const PATIENCE: Duration = Duration::from_secs(60);

/// What every run shares.
pub struct Bench<'a> {
    pub envoy: PathBuf,
    pub rt: &'a tokio::runtime::Runtime,
    pub upstream: &'a Upstream,
    pub ticks_per_second: f64,
    pub load: Shape,
    pub warmup: Shape,
    /// Where h2load writes its per-request log.
    pub scratch: PathBuf,
}

/// One measured load.
pub struct Sample {
    pub per_second: f64,
    pub cpu_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// Starts Envoy on `d` with `workers` worker threads and waits for `probe` to be answered
/// 200 through the Gateway listener. Returns Envoy and the wall milliseconds from exec to
/// that answer.
///
/// # Errors
/// Envoy does not start or never answers 200.
pub fn start(
    b: &Bench<'_>,
    d: &Deployed,
    workers: usize,
    probe: &Probe,
) -> Result<(Envoy, f64), String> {
    let started = Instant::now();
    let mut envoy = Envoy::spawn(&Launch {
        binary: &b.envoy,
        bootstrap: &d.bootstrap,
        workdir: &d.root,
        admin_port: d.admin_port,
        workers,
        cpus: Some("0"),
    })?;
    let mut client = Client::new();
    let req = outgoing(d.port, probe, BIG_HOST);
    poll(b, &mut envoy, &mut client, &req, 200)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    envoy.await_live(b.rt, &mut client)?;
    Ok((envoy, ms))
}

/// Sends `req` until it is answered `status`, checking that Envoy still runs.
///
/// # Errors
/// Envoy exited, or did not answer `status` within a minute.
pub fn poll(
    b: &Bench<'_>,
    envoy: &mut Envoy,
    client: &mut Client,
    req: &Outgoing,
    status: u16,
) -> Result<(), String> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        envoy.check_alive()?;
        let got = b.rt.block_on(client.send(req));
        if got.as_ref().is_ok_and(|r| r.status == status) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let seen = got.map(|r| r.status.to_string());
            return Err(envoy.failure(&format!(
                "{} {} was not answered {status} within {} s (last: {seen:?})",
                req.authority,
                req.path,
                PATIENCE.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `probe` as one HTTP/1.1 request to `host` on `port`.
pub fn outgoing(port: u16, probe: &Probe, host: &str) -> Outgoing {
    Outgoing {
        source: None,
        port,
        tls: None,
        protocol: Protocol::Http1,
        method: probe.method.clone(),
        path: probe.path.clone(),
        authority: host.to_owned(),
        headers: probe.headers.clone(),
        body: Vec::new(),
        connection: 0,
    }
}

/// Loads Envoy with `probe` (warm-up, then the measured window) and checks that every
/// measured request was answered `status`, and reached the upstream exactly when
/// `forwarded`.
///
/// # Errors
/// h2load failed, or an answer or the upstream's count was not the one expected.
pub fn load(
    b: &Bench<'_>,
    envoy: &Envoy,
    port: u16,
    probe: &Probe,
    status: u16,
    forwarded: bool,
) -> Result<Sample, String> {
    let log = b.scratch.join("h2load.log");
    let per = u64::from(forwarded);
    let served = b.upstream.served(b.rt)? + per * b.warmup.requests as u64;
    h2load::run(port, probe, b.warmup, &log)?;
    await_served(b, served)?;
    let cpu = procfs::cpu_seconds(envoy.pid(), b.ticks_per_second)?;
    let load = h2load::run(port, probe, b.load, &log)?;
    let cpu = procfs::cpu_seconds(envoy.pid(), b.ticks_per_second)? - cpu;
    let answered = load.statuses.get(&status).copied().unwrap_or(0);
    if answered != b.load.requests {
        return Err(envoy.failure(&format!(
            "{} of {} requests for {} were answered {status}: {:?}",
            answered, b.load.requests, probe.path, load.statuses
        )));
    }
    await_served(b, served + per * answered as u64)?;
    Ok(Sample {
        per_second: load.per_second,
        cpu_us: cpu * 1e6 / answered as f64,
        p50_us: load.p50_us,
        p99_us: load.p99_us,
    })
}

/// Waits for the upstream's count to reach `count` (it counts a request when its stream
/// ends, which may be just after the client has its answer), and fails past it.
fn await_served(b: &Bench<'_>, count: u64) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let served = b.upstream.served(b.rt)?;
        if served > count {
            return Err(format!("the upstream served {served}, expected {count}"));
        }
        if served == count {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("the upstream served {served}, expected {count}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
