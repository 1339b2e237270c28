//! The Envoy driver: every case as real traffic through a real Envoy running what a user
//! deploys, with the echo upstream behind every cluster telling which cluster got the
//! request and what it looked like.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::{Client, Incoming, Outgoing, Protocol};
use super::deploy::{bootstrap, lay_out, swap_routes, Deployment};
use super::process::{free_port, Envoy, Launch};
use super::ratelimit::RateLimitServer;
use super::upstream::{EchoUpstream, Received, TEST_ID_HEADER};
use crate::compile::Compiled;
use crate::emit::{layout, ListenPort};
use crate::routetest::check::{Mirrored, Observed};
use crate::routetest::driver::{
    BackendNames, Driver, Factory, RateLimitService, Routes, SentRequest, Setup,
};

/// For each routes ConfigMap file, Envoy's counters of its updates applied and refused: the
/// filter's ECDS resource, the backend clusters' CDS and the forwarding routes' RDS (counted
/// under each connection manager that shares it).
const UPDATES: [(&str, &str, &str); 3] = [
    (
        layout::RDS_KEY,
        "http.*.rds.gatewasm.update_success",
        "http.*.rds.gatewasm.update_rejected",
    ),
    (
        layout::ECDS_KEY,
        "extension_config_discovery.http_filter.gatewasm.config_reload",
        "extension_config_discovery.http_filter.gatewasm.config_fail",
    ),
    (
        layout::CDS_KEY,
        "cluster_manager.cds.update_success",
        "cluster_manager.cds.update_rejected",
    ),
];

/// Clusters Envoy has but does not route to yet (resolving their DNS names).
const WARMING: &str = "cluster_manager.warming_clusters";

/// How long mirrored copies and in-flight requests may take to settle after a response.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// A change to the laid-out bootstrap before Envoy starts: how the driver's own tests break
/// a deployment on purpose to prove that the cases notice.
pub type Patch = Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>;

/// How the deployments of one run differ from the emitted one.
#[derive(Clone, Default)]
pub struct Setting {
    /// `HOST:PORT` of the rate limit service; without it the rate limit cluster points at
    /// one in this process counting with the file's counters ([`Setup::rate_limit_service`]).
    pub rate_limit_address: Option<String>,
    /// Run as a filter attached to an Envoy gatewasm did not configure: the Gateway
    /// listeners lose their `gatewasm.port` metadata and bind free ports, which the plugin
    /// configuration's `listenPorts` maps back to the Gateway's.
    pub attached: bool,
    /// A change to the bootstrap before Envoy starts.
    pub patch: Option<Patch>,
    /// Route with Envoy's own router on the `--emit envoy-routes` tables instead of the
    /// filter ([`crate::emit::nativize_bootstrap`]), to compare it with the engine. Every
    /// change of routes then starts a new Envoy: its route tables are in the bootstrap.
    pub native_routes: bool,
}

/// What every Envoy of one run shares.
struct Run {
    binary: PathBuf,
    wasm: PathBuf,
    setting: Setting,
    rt: Arc<tokio::runtime::Runtime>,
}

/// Envoys started by this process, for unique working directories.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// The `envoy --version` line of `binary`, e.g. `1.40.0/Clean/RELEASE/BoringSSL`.
///
/// # Errors
/// The binary cannot be run.
pub fn version(binary: &Path) -> Result<String, String> {
    let out = std::process::Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .last()
        .and_then(|v| v.split_once('/'))
        .map(|(_, rest)| rest.to_owned())
        .ok_or_else(|| format!("{} --version printed {text:?}", binary.display()))
}

/// A factory starting one Envoy per compiled Gateway state.
///
/// # Errors
/// The tokio runtime cannot be built.
pub fn factory(binary: &Path, wasm: &Path, setting: Setting) -> Result<Factory, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the test runtime: {e}"))?;
    let run = Arc::new(Run {
        binary: binary.to_owned(),
        wasm: wasm.to_owned(),
        setting,
        rt: Arc::new(rt),
    });
    Ok(Box::new(move |routes: Routes<'_>, setup: &Setup| {
        // The bootstrap's listeners, clusters and certificates come from the manifests.
        let c = routes
            .compiled
            .ok_or("the Envoy driver deploys a compile, not a blob alone: give the manifests")?;
        Ok(Box::new(EnvoyDriver::start_retrying(&run, c, setup)?) as Box<dyn Driver>)
    }))
}

/// One Envoy with its upstream and client.
pub struct EnvoyDriver {
    // Dropped in this order: Envoy stops before its upstream and files go.
    envoy: Envoy,
    upstream: EchoUpstream,
    /// The in-process rate limit service, when the run names none.
    _rate_limit_server: Option<RateLimitServer>,
    client: Client,
    rt: Arc<tokio::runtime::Runtime>,
    /// The deployed files, removed with the driver.
    files: TempDir,
    /// The bootstrap Envoy runs (before any test patch): a later state that needs another
    /// one needs another Envoy.
    bootstrap: serde_json::Value,
    admin_port: u16,
    rate_limit_address: String,
    wasm: PathBuf,
    workers: usize,
    backends: BackendNames,
    /// Mirrored copies may still be on their way when the client has its answer.
    mirrors: bool,
    /// The ports the Gateway listeners bind (attached runs), kept across route swaps.
    listen_ports: Vec<ListenPort>,
    attached: bool,
    native_routes: bool,
    next_id: u64,
}

impl EnvoyDriver {
    /// `(applied, refused)` for each of [`UPDATES`].
    fn update_counts(&mut self) -> Result<Vec<(u64, u64)>, String> {
        UPDATES
            .iter()
            .map(|(_, applied, refused)| {
                Ok((
                    self.envoy.counter(&self.rt, &mut self.client, applied)?,
                    self.envoy.counter(&self.rt, &mut self.client, refused)?,
                ))
            })
            .collect()
    }

    /// Waits until Envoy has applied every changed routes file and warmed the clusters they
    /// brought, so the next case meets the new state.
    fn await_updates(&mut self, before: &[(u64, u64)], changed: &[String]) -> Result<(), String> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let now = self.update_counts()?;
            let mut applied = true;
            for ((key, _, _), (was, is)) in UPDATES.iter().zip(before.iter().zip(&now)) {
                if !changed.iter().any(|c| c == key) {
                    continue;
                }
                if is.1 != was.1 {
                    return Err(self.envoy.failure(&format!("Envoy refused the new {key}")));
                }
                applied &= is.0 != was.0;
            }
            if applied && self.envoy.counter(&self.rt, &mut self.client, WARMING)? == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.envoy.failure(&format!(
                    "Envoy did not apply the new {} within 10 s",
                    changed.join(", ")
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// [`EnvoyDriver::start`], again with fresh ports when Envoy could not bind one: ports
    /// are found free and only then bound by Envoy, so another process may take one between.
    fn start_retrying(run: &Run, c: &Compiled, setup: &Setup) -> Result<EnvoyDriver, String> {
        let mut retries = 2;
        loop {
            match Self::start(run, c, setup) {
                Err(e) if retries > 0 && e.contains("Address already in use") => retries -= 1,
                started => return started,
            }
        }
    }

    fn start(run: &Run, c: &Compiled, setup: &Setup) -> Result<EnvoyDriver, String> {
        let n = INSTANCES.fetch_add(1, Ordering::SeqCst);
        let root = TempDir::new(&format!("gatewasm-envoy-{}-{n}", std::process::id()))?;
        let upstream = EchoUpstream::start(run.rt.handle(), &crate::emit::backend_clusters(c))
            .map_err(|e| format!("cannot start the echo upstream: {e}"))?;
        let admin_port = free_port()?;
        let (rate_limit_server, rate_limit_address) = Self::rate_limit_service(run, setup)?;
        let listen_ports = if run.setting.attached {
            Self::shifted_ports(c)?
        } else {
            Vec::new()
        };
        let endpoint = |cluster: &str| upstream.port(cluster);
        let mut bootstrap = lay_out(
            c,
            &Deployment {
                root: &root.0,
                wasm: &run.wasm,
                admin_port,
                endpoint: &endpoint,
                rate_limit: &rate_limit_address,
                listen_ports: &listen_ports,
                attached: run.setting.attached,
            },
        )?;
        if run.setting.native_routes {
            crate::emit::nativize_bootstrap(&mut bootstrap, &crate::emit::native_routes(c)?)?;
        }
        let unpatched = bootstrap.clone();
        if let Some(patch) = &run.setting.patch {
            patch(&mut bootstrap);
        }
        let bootstrap_path = root.0.join("envoy.json");
        std::fs::write(&bootstrap_path, bootstrap.to_string())
            .map_err(|e| format!("cannot write {}: {e}", bootstrap_path.display()))?;
        let mut client = Client::new();
        let envoy = Envoy::start(
            &Launch {
                binary: &run.binary,
                bootstrap: &bootstrap_path,
                workdir: &root.0,
                admin_port,
                workers: setup.workers,
                cpus: None,
            },
            &run.rt,
            &mut client,
        )?;
        Ok(EnvoyDriver {
            envoy,
            upstream,
            _rate_limit_server: rate_limit_server,
            client,
            rt: Arc::clone(&run.rt),
            files: root,
            bootstrap: unpatched,
            admin_port,
            rate_limit_address,
            wasm: run.wasm.clone(),
            workers: setup.workers,
            backends: BackendNames::of(&c.table),
            mirrors: c.table.mirror_slots() > 0,
            listen_ports,
            attached: run.setting.attached,
            native_routes: run.setting.native_routes,
            next_id: 0,
        })
    }

    /// The rate limit service the bootstrap's cluster points at: the run's, or one started
    /// here counting with the file's counters (fresh ones when the file has none), so that
    /// Global cases count per file as in the other drivers and `advanceClock` reaches them.
    fn rate_limit_service(
        run: &Run,
        setup: &Setup,
    ) -> Result<(Option<RateLimitServer>, String), String> {
        if let Some(address) = &run.setting.rate_limit_address {
            return Ok((None, address.clone()));
        }
        let counters = setup
            .rate_limit_service
            .as_ref()
            .and_then(RateLimitService::in_process)
            .unwrap_or_default();
        let server = RateLimitServer::start(run.rt.handle(), counters)?;
        let address = server.address();
        Ok((Some(server), address))
    }

    /// A free port for each of the Gateway's listener ports, as an attached filter's Envoy
    /// binds other ports than the Gateway's.
    fn shifted_ports(c: &Compiled) -> Result<Vec<ListenPort>, String> {
        crate::emit::listener_ports(c)
            .into_iter()
            .map(|gateway| {
                Ok(ListenPort {
                    gateway,
                    envoy: free_port()?,
                })
            })
            .collect()
    }

    fn outgoing(&self, req: &SentRequest, id: &str) -> Result<Outgoing, String> {
        let get = |name: &str| {
            req.headers
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, v)| v.as_str())
        };
        let port = self.envoy.port(req.port).ok_or_else(|| {
            format!(
                "Envoy has no listener for Gateway port {} (the bootstrap binds only HTTP and HTTPS listeners)",
                req.port
            )
        })?;
        let authority = get(":authority");
        let tls = (get(":scheme") == "https").then(|| {
            req.sni.clone().unwrap_or_else(|| {
                authority
                    .rsplit_once(':')
                    .map_or(authority, |(h, _)| h)
                    .to_owned()
            })
        });
        let http2 =
            req.is_grpc() || matches!(req.protocol.as_deref(), Some("HTTP/2" | "h2c" | "h2"));
        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|(n, _)| !n.starts_with(':'))
            .cloned()
            .collect();
        headers.push((TEST_ID_HEADER.to_owned(), id.to_owned()));
        // A unary gRPC call carries one (empty) length-prefixed message.
        let body = if req.is_grpc() {
            vec![0; 5]
        } else {
            req.body.clone()
        };
        Ok(Outgoing {
            port,
            tls,
            protocol: if http2 {
                Protocol::Http2
            } else {
                Protocol::Http1
            },
            method: get(":method").to_owned(),
            path: get(":path").to_owned(),
            authority: authority.to_owned(),
            headers,
            body,
            connection: req.worker,
            source: req.source.as_deref().map(loopback_source).transpose()?,
        })
    }

    /// Waits until no request is on its way to a cluster, so every mirrored copy of the
    /// request just answered has arrived.
    fn settle(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let active = self.envoy.upstream_in_flight(&self.rt, &mut self.client)?;
            if active == 0 && self.upstream.in_flight() == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self
                    .envoy
                    .failure("requests to clusters were still in flight after 10 s"));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn observe(&mut self, got: &Incoming, id: &str) -> Observed {
        let seq = got
            .headers
            .iter()
            .find(|(n, _)| n == "x-echo-seq")
            .and_then(|(_, v)| v.parse::<u64>().ok());
        let mut records = self.upstream.take(id);
        let main = seq.and_then(|s| {
            let at = records.iter().position(|r| r.seq == s)?;
            Some(records.remove(at))
        });
        // A forwarded call carries it in the trailers, a trailers-only local reply in the
        // headers; a call that ends with neither must not pass as OK.
        let grpc_status = got
            .trailers
            .iter()
            .chain(&got.headers)
            .find(|(n, _)| n == "grpc-status")
            .and_then(|(_, v)| v.parse::<u32>().ok());
        let mut seen = Observed {
            status: got.status,
            grpc_status,
            local: main.is_none(),
            response_headers: got
                .headers
                .iter()
                .filter(|(n, _)| !n.starts_with(':'))
                .cloned()
                .collect(),
            ..Observed::default()
        };
        if let Some(m) = main {
            seen.backend = Some(self.backends.name(&m.cluster));
            seen.backend_path = Some(m.path);
            seen.backend_host = Some(m.authority);
            seen.request_headers = m.headers;
        }
        seen.mirrors = records
            .into_iter()
            .map(|r: Received| Mirrored {
                backend: self.backends.name(&r.cluster),
                path: r.path,
                body: r.body,
            })
            .collect();
        seen
    }
}

impl EnvoyDriver {
    /// The filter's metric families in Envoy's Prometheus output that are not among those
    /// documented: a name the bootstrap's tag extractors failed to turn into labels.
    fn unlabelled_metrics(&mut self) -> Result<Vec<String>, String> {
        let text = self.envoy.prometheus(&self.rt, &mut self.client)?;
        let known = gatewasm_filter::metrics::PROMETHEUS_NAMES;
        Ok(text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| name.starts_with("gatewasm_") && !known.contains(name))
            .map(|name| format!("a filter metric Prometheus sees unlabelled: {name}"))
            .collect())
    }
}

/// The decision's fields of an access log line: the `gatewasm` object's present values.
fn access_log_fields(entry: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    let fields = entry["gatewasm"].as_object().into_iter().flatten();
    fields
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// The address a case's `sourceAddress` (`ip:port`) is sent from: Envoy sees the real peer,
/// so only addresses this machine has, the 127.0.0.0/8 loopback range, can be sent from.
fn loopback_source(address: &str) -> Result<std::net::Ipv4Addr, String> {
    let ip = address.rsplit_once(':').map_or(address, |(ip, _)| ip);
    match ip.parse::<std::net::Ipv4Addr>() {
        Ok(ip) if ip.is_loopback() => Ok(ip),
        _ => Err(format!(
            "sourceAddress {ip}: through Envoy a request can only come from a loopback address (127.0.0.0/8), which Envoy then reports as the client's"
        )),
    }
}

impl Driver for EnvoyDriver {
    fn send(&mut self, req: &SentRequest) -> Result<Observed, String> {
        self.next_id += 1;
        let id = self.next_id.to_string();
        if !req.upstream_response_headers.is_empty() {
            self.upstream
                .set_response_headers(&id, req.upstream_response_headers.clone());
        }
        if let Some(delay) = req.upstream_delay {
            self.upstream.set_delay(&id, delay);
        }
        let out = self.outgoing(req, &id)?;
        let got = match self.rt.block_on(self.client.send(&out)) {
            Ok(got) => got,
            Err(e) => {
                self.envoy.check_alive()?;
                return Err(e);
            }
        };
        // Mirrored copies may still be on their way; a rate limit call has been answered
        // before the request could go on.
        if self.mirrors {
            self.settle()?;
        }
        let mut seen = self.observe(&got, &id);
        if req.wants_log {
            let entry = self.envoy.access_entry(&id).ok_or_else(|| {
                self.envoy
                    .failure(&format!("no access log line for request {id}"))
            })?;
            seen.log = access_log_fields(&entry);
        }
        Ok(seen)
    }

    fn reload(&mut self, c: &Compiled, setup: &Setup) -> Result<bool, String> {
        let mapped: Vec<u16> = self.listen_ports.iter().map(|l| l.gateway).collect();
        let same_ports = !self.attached || crate::emit::listener_ports(c) == mapped;
        if setup.workers != self.workers || !same_ports || self.native_routes {
            return Ok(false);
        }
        // New backends arrive by CDS with the routes: the upstream serves them first.
        for cluster in crate::emit::backend_clusters(c) {
            self.upstream
                .add(self.rt.handle(), &cluster)
                .map_err(|e| format!("cannot start the echo upstream: {e}"))?;
        }
        let before = self.update_counts()?;
        let endpoint = |cluster: &str| self.upstream.port(cluster);
        let deployment = Deployment {
            root: &self.files.0,
            wasm: &self.wasm,
            admin_port: self.admin_port,
            endpoint: &endpoint,
            rate_limit: &self.rate_limit_address,
            listen_ports: &self.listen_ports,
            attached: self.attached,
        };
        if bootstrap(c, &deployment)? != self.bootstrap {
            return Ok(false);
        }
        let changed = swap_routes(c, &deployment)?;
        self.await_updates(&before, &changed)?;
        self.backends = BackendNames::of(&c.table);
        self.mirrors = c.table.mirror_slots() > 0;
        Ok(true)
    }

    fn advance_clock(&mut self, by: Duration) {
        // Envoy's wall clock cannot be moved from outside (libfaketime deadlocks its
        // start-up), so the time passes for real. Windows start at a bucket's first use,
        // so only the time between requests matters, as in the other drivers.
        std::thread::sleep(by);
    }

    fn finish(&mut self) -> Result<(), String> {
        self.envoy.check_alive()?;
        let mut failures = self.envoy.failures();
        failures.extend(self.envoy.access_log_problems());
        if !self.native_routes {
            failures.extend(self.unlabelled_metrics()?);
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "Envoy logged failures:\n      {}",
                failures.join("\n      ")
            ))
        }
    }
}

/// A directory under the system's temporary one, removed when dropped unless
/// `GATEWASM_KEEP_ENVOY_FILES` is set.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory `name` (an older one of that name is removed first).
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn new(name: &str) -> Result<TempDir, String> {
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("GATEWASM_KEEP_ENVOY_FILES").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
