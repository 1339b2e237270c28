//! A pod is Ready only while its filter holds a route table. Needs Envoy and the release
//! filter: `scripts/test-envoy` runs it (`cargo test -p gatewasm --lib readiness -- --ignored`
//! with `GATEWASM_ENVOY` set).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::client::Client;
use super::deploy::{lay_out, Deployment};
use super::process::{free_port, Envoy, Launch};
use crate::compile::{compile, Compiled};
use crate::emit::layout;
use crate::load::load_paths;
use crate::resolve::Options;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example() -> Compiled {
    let loaded = load_paths(&[root().join("manifests/examples")]).unwrap();
    compile(loaded, &Options::default()).unwrap()
}

/// Replaces a file as the kubelet updates a ConfigMap volume: write beside, move over.
fn replace(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn a_pod_started_with_a_refused_route_table_is_live_but_not_ready() {
    let binary = PathBuf::from(std::env::var("GATEWASM_ENVOY").expect("GATEWASM_ENVOY"));
    let wasm = root().join("target/wasm32-wasip1/release/gatewasm_filter.wasm");
    let dir = std::env::temp_dir().join(format!("gatewasm-readiness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let admin_port = free_port().unwrap();
    // Nothing is routed here, so every cluster may point at a closed port.
    let closed = |_: &str| Some(9);
    let bootstrap = lay_out(
        &example(),
        &Deployment {
            root: &dir,
            wasm: &wasm,
            admin_port,
            endpoint: &closed,
            rate_limit: "127.0.0.1:9",
            listen_ports: &[],
            attached: false,
        },
    )
    .unwrap();
    let ecds = dir
        .join(layout::ROUTES_DIR.trim_start_matches("/etc/gatewasm/"))
        .join(layout::ECDS_KEY);
    let good = std::fs::read_to_string(&ecds).unwrap();
    // "R1dTTQ" is the base64 of the blob's magic: one changed letter and the filter refuses it.
    let bad = good.replacen("R1dTTQ", "R1dTTA", 1);
    assert_ne!(good, bad, "the routes file carries the blob");
    replace(&ecds, &bad);
    let bootstrap_path = dir.join("envoy.json");
    std::fs::write(&bootstrap_path, bootstrap.to_string()).unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = Client::new();
    let launch = Launch {
        binary: &binary,
        bootstrap: &bootstrap_path,
        workdir: &dir,
        admin_port,
        workers: 1,
        cpus: None,
    };
    let envoy = Envoy::start_live(&launch, &rt, &mut client).unwrap();
    let live = envoy.admin(&rt, &mut client, "/ready").unwrap();
    assert_eq!(live, (200, "LIVE\n".to_owned()), "admin says Envoy is live");
    let (status, body) = envoy.readiness(&rt, &mut client).unwrap();
    assert_ne!(
        status, 200,
        "a refused route table must not be Ready: {body}"
    );
    assert!(
        envoy
            .failures()
            .iter()
            .any(|l| l.contains("refusing configuration")),
        "{:?}",
        envoy.failures()
    );

    // A good ConfigMap arrives: the same pod becomes Ready without a restart.
    replace(&ecds, &good);
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        let now = envoy.readiness(&rt, &mut client).unwrap();
        if now.0 == 200 || Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        ready.0, 200,
        "a good route table makes the pod Ready: {}",
        ready.1
    );
    drop(envoy);
    let _ = std::fs::remove_dir_all(&dir);
}
