//! Hot swaps under load, in a real Envoy running the emitted files: the routes ConfigMap is
//! switched the way the kubelet switches it while clients keep sending, and no request may
//! fail. Needs Envoy and the release filter: `scripts/test-envoy` runs it
//! (`cargo test --workspace --lib hot_swap -- --ignored --nocapture`, `GATEWASM_ENVOY` set).
//!
//! 1. A route to a backend no rule named before. Its Service was in the earlier compile's
//!    input, so that compile's CDS already carried its cluster (a standby cluster) and the
//!    update changes routes only: no request may see 503 (a route naming a cluster Envoy
//!    does not have yet).
//! 2. A corrupt, a truncated and a newer-format blob: each refused with one log line and a
//!    metric while the previous routes keep serving.
//! 3. A valid blob again, then a new `.wasm` (the wasm ConfigMap, then a routes update).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::client::{Client, Outgoing, Protocol};
use super::deploy::{lay_out, routes_files, swap_wasm, Deployment};
use super::kubelet;
use super::process::{free_port, Envoy, Launch};
use super::upstream::EchoUpstream;
use crate::compile::{compile, Compiled};
use crate::emit::layout;
use crate::load::load_str;
use crate::resolve::Options;

/// How long a valid update may take to serve its new route (the bar).
const TAKES_EFFECT: Duration = Duration::from_secs(2);
/// Clients sending at once, each on its own keep-alive connection.
const CLIENTS_PER_PATH: usize = 2;

const GATEWAY: &str = "
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gatewasm
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: default}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: default}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {value: /a}}], backendRefs: [{name: a, port: 80}]}]
";

const ROUTE_B: &str = "
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {value: /b}}], backendRefs: [{name: b, port: 80}]}]
";

const ROUTE_C: &str = "
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: c, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {value: /c}}], backendRefs: [{name: b, port: 80}]}]
";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compiled(text: &str) -> Compiled {
    compile(
        load_str("hot-swap.yaml", text).unwrap(),
        &Options::default(),
    )
    .unwrap()
}

/// What one request got: which client sent it, when it was answered, status, the backend
/// that answered.
struct Sample {
    client: usize,
    path: &'static str,
    at: Instant,
    status: Option<u16>,
    cluster: String,
    error: String,
}

/// Clients sending to each path until stopped, every answer recorded.
struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(rt: &tokio::runtime::Runtime, port: u16, paths: &[&'static str]) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, &path) in paths
            .iter()
            .flat_map(|p| std::iter::repeat_n(p, CLIENTS_PER_PATH))
            .enumerate()
        {
            let (stop, samples) = (stop.clone(), samples.clone());
            tasks.push(rt.spawn(async move {
                let mut client = Client::new();
                let req = Outgoing {
                    source: None,
                    port,
                    tls: None,
                    protocol: Protocol::Http1,
                    method: "GET".into(),
                    path: path.into(),
                    authority: "swap.example.com".into(),
                    headers: Vec::new(),
                    body: Vec::new(),
                    connection: i,
                };
                while !stop.load(Ordering::Relaxed) {
                    let got = client.send(&req).await;
                    let sample = match got {
                        Ok(r) => Sample {
                            client: i,
                            path,
                            at: Instant::now(),
                            status: Some(r.status),
                            cluster: r
                                .headers
                                .iter()
                                .find(|(n, _)| n == "x-echo-cluster")
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default(),
                            // A local reply's body says why (Envoy's, or the filter's).
                            error: String::from_utf8_lossy(&r.body[..r.body.len().min(80)])
                                .into_owned(),
                        },
                        Err(e) => Sample {
                            client: i,
                            path,
                            at: Instant::now(),
                            status: None,
                            cluster: String::new(),
                            error: e,
                        },
                    };
                    samples.lock().unwrap().push(sample);
                }
            }));
        }
        Load {
            stop,
            samples,
            tasks,
        }
    }

    /// The first answer to `path` from `cluster` after `since`.
    fn first(&self, path: &str, cluster: &str, since: Instant) -> Option<Instant> {
        let samples = self.samples.lock().unwrap();
        samples
            .iter()
            .find(|s| s.path == path && s.cluster == cluster && s.at >= since)
            .map(|s| s.at)
    }

    fn finish(self, rt: &tokio::runtime::Runtime) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = rt.block_on(task);
        }
        std::mem::take(&mut *self.samples.lock().unwrap())
    }
}

/// A deployment whose files the test switches while Envoy runs.
struct Pod {
    dir: PathBuf,
    envoy: Envoy,
    upstream: EchoUpstream,
    admin_port: u16,
    client: Client,
    rt: tokio::runtime::Runtime,
}

impl Pod {
    fn deployment<'a>(&'a self, endpoint: &'a dyn Fn(&str) -> Option<u16>) -> Deployment<'a> {
        Deployment {
            root: &self.dir,
            wasm: Path::new(""),
            admin_port: self.admin_port,
            endpoint,
            rate_limit: "127.0.0.1:9",
            listen_ports: &[],
            attached: false,
        }
    }

    fn counter(&mut self, name: &str) -> u64 {
        self.envoy
            .counter(&self.rt, &mut self.client, name)
            .unwrap()
    }

    fn refusals_logged(&self) -> usize {
        self.envoy
            .failures()
            .iter()
            .filter(|l| l.contains("refusing configuration"))
            .count()
    }

    /// Switches the routes volume to `c`'s files, with the ECDS file's blob replaced by
    /// `blob` when given (a damaged one): one switch either way, so Envoy sees one update.
    fn switch(&self, c: &Compiled, blob: Option<&[u8]>) {
        let endpoint = |cluster: &str| self.upstream.port(cluster);
        let d = self.deployment(&endpoint);
        let mut files = routes_files(c, &d).unwrap();
        if let Some(blob) = blob {
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            for (key, bytes) in &mut files {
                if key == layout::ECDS_KEY {
                    let text = String::from_utf8(std::mem::take(bytes)).unwrap();
                    let bad = text.replace(&b64(&c.blob), &b64(blob));
                    assert_ne!(text, bad, "the ECDS file carries the blob");
                    *bytes = bad.into_bytes();
                }
            }
        }
        kubelet::update(&self.dir.join("routes"), &files).unwrap();
    }
}

#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn hot_swaps_under_load_lose_no_request() {
    let binary = PathBuf::from(std::env::var("GATEWASM_ENVOY").expect("GATEWASM_ENVOY"));
    let wasm = root().join("target/wasm32-wasip1/release/gatewasm_filter.wasm");
    let dir = std::env::temp_dir().join(format!("gatewasm-hot-swap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let v1 = compiled(GATEWAY);
    let v2 = compiled(&format!("{GATEWAY}{ROUTE_B}"));
    let v3 = compiled(&format!("{GATEWAY}{ROUTE_B}{ROUTE_C}"));
    // Both Services are in every compile's input; routes name b from v2 on.
    assert!(v1.standby.iter().any(|b| b.cluster == "default/b:80"));
    let upstream = EchoUpstream::start(
        rt.handle(),
        &["default/a:80".to_owned(), "default/b:80".to_owned()],
    )
    .unwrap();
    let admin_port = free_port().unwrap();
    let endpoint = |cluster: &str| upstream.port(cluster);
    let bootstrap = lay_out(
        &v1,
        &Deployment {
            root: &dir,
            wasm: &wasm,
            admin_port,
            endpoint: &endpoint,
            rate_limit: "127.0.0.1:9",
            listen_ports: &[],
            attached: false,
        },
    )
    .unwrap();
    let bootstrap_path = dir.join("envoy.json");
    std::fs::write(&bootstrap_path, bootstrap.to_string()).unwrap();
    let mut client = Client::new();
    let envoy = Envoy::start(
        &Launch {
            binary: &binary,
            bootstrap: &bootstrap_path,
            workdir: &dir,
            admin_port,
            workers: 2,
            cpus: None,
        },
        &rt,
        &mut client,
    )
    .unwrap();
    let port = envoy.port(80).unwrap();
    let mut pod = Pod {
        dir: dir.clone(),
        envoy,
        upstream,
        admin_port,
        client,
        rt,
    };
    let started = Instant::now();
    let load = Load::start(&pod.rt, port, &["/a", "/b", "/c"]);
    std::thread::sleep(Duration::from_millis(300));

    // 1. A new route to a new backend.
    let switched = Instant::now();
    pod.switch(&v2, None);
    let deadline = switched + Duration::from_secs(10);
    while load.first("/b", "default/b:80", switched).is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let new_backend = load
        .first("/b", "default/b:80", switched)
        .map(|t| t - switched);
    std::thread::sleep(Duration::from_millis(300));

    // 2. Blobs the filter must refuse; v2 keeps serving.
    let mut newer = v2.blob.clone();
    newer[4..6].copy_from_slice(&(gatewasm_filter::blob::FORMAT_VERSION + 1).to_le_bytes());
    let mut corrupt = v2.blob.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x55;
    let truncated = v2.blob[..v2.blob.len() / 2].to_vec();
    let mut refusals = Vec::new();
    for (what, blob) in [
        ("corrupt", corrupt),
        ("truncated", truncated),
        ("newer format", newer),
    ] {
        let fails = pod.counter("extension_config_discovery.http_filter.gatewasm.config_fail");
        let logged = pod.refusals_logged();
        pod.switch(&v2, Some(&blob));
        let deadline = Instant::now() + Duration::from_secs(10);
        while pod.counter("extension_config_discovery.http_filter.gatewasm.config_fail") == fails
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(300));
        let counted =
            pod.counter("extension_config_discovery.http_filter.gatewasm.config_fail") - fails;
        refusals.push((what, counted, pod.refusals_logged() - logged));
    }

    // 3. A valid blob again: the new route /c.
    let switched_c = Instant::now();
    pod.switch(&v3, None);
    let deadline = switched_c + Duration::from_secs(10);
    while load.first("/c", "default/b:80", switched_c).is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let valid_again = load
        .first("/c", "default/b:80", switched_c)
        .map(|t| t - switched_c);
    std::thread::sleep(Duration::from_millis(300));

    // 4. A new .wasm: the module ConfigMap first, then a routes update builds the filter
    // anew from it. A custom section changes the bytes and nothing else.
    let vms = pod.counter("wasm.envoy.wasm.runtime.v8.created");
    let mut module = std::fs::read(&wasm).unwrap();
    module.extend_from_slice(&[0, 8, 7, b'r', b'o', b'l', b'l', b'o', b'u', b't']);
    swap_wasm(&dir, module).unwrap();
    let switched_wasm = Instant::now();
    pod.switch(&v2, None);
    let deadline = switched_wasm + Duration::from_secs(10);
    while pod.counter("wasm.envoy.wasm.runtime.v8.created") == vms && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let new_vms = pod.counter("wasm.envoy.wasm.runtime.v8.created") - vms;
    std::thread::sleep(Duration::from_millis(500));
    let samples = load.finish(&pod.rt);

    // What a client saw: every request answered, by the backend its route names, or 404
    // where no route exists (/b until v2 serves it, /c outside v3). Each worker takes the
    // update on its own, a little apart, and a client's connection stays on one worker: so
    // a 404 for /b is right only before that client's own first answer from b.
    let mut first_b: std::collections::BTreeMap<usize, Instant> = Default::default();
    for s in samples
        .iter()
        .filter(|s| s.path == "/b" && s.cluster == "default/b:80")
    {
        first_b
            .entry(s.client)
            .and_modify(|t| *t = (*t).min(s.at))
            .or_insert(s.at);
    }
    let mut failed = Vec::new();
    for s in &samples {
        let ok = match (s.path, s.status, s.cluster.as_str()) {
            ("/a", Some(200), "default/a:80") => true,
            ("/b", Some(200), "default/b:80") => true,
            ("/b", Some(404), _) => first_b.get(&s.client).is_some_and(|&first| s.at < first),
            ("/c", Some(200), "default/b:80") => s.at >= switched_c,
            ("/c", Some(404), _) => true,
            _ => false,
        };
        if !ok {
            failed.push(format!(
                "{} {:?} {:?} {:?} at +{:?}",
                s.path,
                s.status,
                s.cluster,
                s.error,
                s.at.saturating_duration_since(started)
            ));
        }
    }
    // The new module serves the last table, v2, whichever VMs Envoy made for it: each
    // client's last /c is v2's 404, not a route an earlier table still held.
    let mut last_c: std::collections::BTreeMap<usize, &Sample> = Default::default();
    for s in samples.iter().filter(|s| s.path == "/c") {
        last_c.insert(s.client, s);
    }
    for (client, s) in &last_c {
        if s.status != Some(404) {
            failed.push(format!(
                "client {client}'s last /c after the new .wasm and v2: {:?} {:?}",
                s.status, s.cluster
            ));
        }
    }
    let answered = |p: &str| samples.iter().filter(|s| s.path == p).count();
    println!(
        "hot swap under load: {} requests (/a {}, /b {}, /c {}), {} failed",
        samples.len(),
        answered("/a"),
        answered("/b"),
        answered("/c"),
        failed.len()
    );
    println!(
        "  switches at +{:?} (new backend), +{:?} (valid again), +{:?} (new .wasm)",
        switched - started,
        switched_c - started,
        switched_wasm - started
    );
    println!(
        "  route to a backend no rule named before (its cluster already warm): served after {new_backend:?}"
    );
    for (what, counted, logged) in &refusals {
        println!("  {what} blob: config_fail +{counted}, refusal log lines +{logged}");
    }
    println!("  valid blob again: new route served after {valid_again:?}");
    println!("  new .wasm then routes: {new_vms} VMs created from the new module");
    drop(pod);
    let _ = std::fs::remove_dir_all(&dir);

    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(20)]
    );
    assert!(
        new_backend.is_some_and(|t| t < TAKES_EFFECT),
        "{new_backend:?}"
    );
    assert!(
        valid_again.is_some_and(|t| t < TAKES_EFFECT),
        "{valid_again:?}"
    );
    for (what, counted, logged) in refusals {
        assert_eq!(counted, 1, "{what}: Envoy counts one refused update");
        assert!(logged >= 1, "{what}: the refusal is logged");
    }
    assert!(new_vms >= 1, "Envoy built the filter from the new module");
}
