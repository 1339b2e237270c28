//! The Envoy driver must fail when what Envoy runs is wrong: a driver that passes on its own
//! would prove nothing. Each test breaks one part of the deployment on purpose and checks
//! that the example shop's route tests notice.
//!
//! They need a real Envoy and the release filter: `scripts/test-envoy` runs them with
//! `GATEWASM_ENVOY` set (`cargo test --test envoy_driver -- --ignored`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gatewasm::routetest::envoy::{factory, Patch, Setting};
use gatewasm::routetest::run::{run_file, FileReport, RunOptions};
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn envoy() -> PathBuf {
    PathBuf::from(std::env::var("GATEWASM_ENVOY").expect("GATEWASM_ENVOY names the envoy binary"))
}

fn release_wasm() -> PathBuf {
    root().join("target/wasm32-wasip1/release/gatewasm_filter.wasm")
}

fn run(wasm: &Path, patch: Option<Patch>) -> FileReport {
    run_with(
        wasm,
        Setting {
            patch,
            ..Setting::default()
        },
    )
}

fn run_with(wasm: &Path, setting: Setting) -> FileReport {
    run_file_with(
        wasm,
        &root().join("manifests/tests/example-shop.yaml"),
        setting,
    )
}

fn run_file_with(wasm: &Path, file: &Path, setting: Setting) -> FileReport {
    let factory = factory(&envoy(), wasm, setting).expect("factory");
    run_file(file, &RunOptions::default(), &factory)
}

/// The routes of every HTTP connection manager in the bootstrap.
fn routes(bootstrap: &mut Value) -> Vec<&mut Value> {
    inline_routes(bootstrap);
    let mut out = Vec::new();
    for listener in bootstrap["static_resources"]["listeners"]
        .as_array_mut()
        .expect("listeners")
    {
        for chain in listener["filter_chains"].as_array_mut().expect("chains") {
            for filter in chain["filters"].as_array_mut().expect("filters") {
                let config = &mut filter["typed_config"];
                if let Some(hosts) = config["route_config"]["virtual_hosts"].as_array_mut() {
                    for host in hosts {
                        out.extend(host["routes"].as_array_mut().expect("routes").iter_mut());
                    }
                }
            }
        }
    }
    out
}

/// Puts the forwarding routes the bootstrap reads by RDS into it, from the laid-out routes
/// file, so a test can change them where the connection managers hold them.
fn inline_routes(bootstrap: &mut Value) {
    for listener in bootstrap["static_resources"]["listeners"]
        .as_array_mut()
        .expect("listeners")
    {
        for chain in listener["filter_chains"].as_array_mut().expect("chains") {
            for filter in chain["filters"].as_array_mut().expect("filters") {
                let config = filter["typed_config"].as_object_mut().expect("config");
                let Some(rds) = config.remove("rds") else {
                    continue;
                };
                let path = rds["config_source"]["path_config_source"]["path"]
                    .as_str()
                    .expect("the RDS file");
                let file: Value =
                    serde_json::from_slice(&std::fs::read(path).expect("read RDS")).expect("JSON");
                let mut table = file["resources"][0].clone();
                table.as_object_mut().expect("table").remove("@type");
                config.insert("route_config".into(), table);
            }
        }
    }
}

#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn the_deployment_as_emitted_passes() {
    let report = run(&release_wasm(), None);
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.cases_passed(), 16);
}

/// Listeners gatewasm did not write (an existing Envoy, Envoy Gateway's): no gatewasm
/// metadata, other port numbers than the Gateway's. `listenPorts` alone tells the filter
/// which Gateway listener serves a connection.
#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn an_attached_filter_maps_other_ports_to_the_gateway_s() {
    let report = run_with(
        &release_wasm(),
        Setting {
            attached: true,
            ..Setting::default()
        },
    );
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.cases_passed(), 16);
}

/// The same listeners without the map: the filter sees only the bound port, which no
/// Gateway listener has, so requests the routes would serve are answered 404.
#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn untagged_listeners_without_a_port_map_fail() {
    let patch: Patch = Arc::new(|bootstrap: &mut Value| {
        for listener in bootstrap["static_resources"]["listeners"]
            .as_array_mut()
            .expect("listeners")
        {
            if listener["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("gateway-"))
            {
                listener.as_object_mut().expect("object").remove("metadata");
            }
        }
    });
    let report = run(&release_wasm(), Some(patch));
    assert!(!report.ok());
    assert!(
        report
            .details(false)
            .contains("status: expected 200, got 404"),
        "{}",
        report.details(false)
    );
}

/// What `--emit envoy-gateway` and `--emit istio` patch into a controller's route tables:
/// the forwarding route first, the controller's own routes after it. Standing in for those,
/// a route that answers 599: no case may reach it, since the filter chooses a cluster (or
/// answers itself) for every request.
#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn the_route_patched_into_controllers_forwards_the_filter_s_choice() {
    let loaded = gatewasm::load::load_paths(&[root().join("manifests/examples")]).expect("loads");
    let compiled = gatewasm::compile::compile(loaded, &gatewasm::resolve::Options::default())
        .expect("compiles");
    let emitted = gatewasm::emit::emit(
        gatewasm::emit::EmitKind::Istio,
        &compiled,
        &gatewasm::emit::EmitOptions::default(),
    )
    .expect("emits");
    let text = String::from_utf8(emitted).expect("UTF-8");
    let filter: Value = text
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str::<Value>(d).expect("YAML"))
        .find(|d| d["kind"] == "EnvoyFilter")
        .expect("an EnvoyFilter");
    let first = filter["spec"]["configPatches"][0]["patch"]["value"].clone();
    let patch: Patch = Arc::new(move |bootstrap: &mut Value| {
        for route in routes(bootstrap) {
            if route["route"].get("cluster_header").is_some() {
                *route = json!({
                    "match": {"prefix": "/"},
                    "direct_response": {"status": 599},
                });
            }
        }
        for listener in bootstrap["static_resources"]["listeners"]
            .as_array_mut()
            .expect("listeners")
        {
            for chain in listener["filter_chains"].as_array_mut().expect("chains") {
                let config = &mut chain["filters"][0]["typed_config"];
                if let Some(hosts) = config["route_config"]["virtual_hosts"].as_array_mut() {
                    for host in hosts {
                        let routes = host["routes"].as_array_mut().expect("routes");
                        if routes.iter().any(|r| r["direct_response"]["status"] == 599) {
                            routes.insert(0, first.clone());
                        }
                    }
                }
            }
        }
    });
    let report = run(&release_wasm(), Some(patch));
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.cases_passed(), 16);
}

#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn without_the_cluster_header_route_cases_fail() {
    let patch: Patch = Arc::new(|bootstrap: &mut Value| {
        for route in routes(bootstrap) {
            if route["route"].get("cluster_header").is_some() {
                *route = json!({"match": {"prefix": "/"}, "direct_response": {"status": 200}});
            }
        }
    });
    let report = run(&release_wasm(), Some(patch));
    assert!(!report.ok());
    // Only the filter's own answers (redirect, 404s, gRPC UNIMPLEMENTED) still pass.
    assert!(report.cases_failed() >= 8, "{report:?}");
}

#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn clusters_pointing_at_the_wrong_backend_fail() {
    // The backend clusters come by CDS: the patch points Envoy at a copy of the laid-out
    // clusters file with two clusters' endpoints exchanged.
    let patch: Patch = Arc::new(|bootstrap: &mut Value| {
        let source = &mut bootstrap["dynamic_resources"]["cds_config"]["path_config_source"];
        let path = PathBuf::from(source["path"].as_str().expect("CDS file"));
        let mut cds: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read CDS")).expect("JSON");
        let clusters = cds["resources"].as_array_mut().expect("clusters");
        let at = |name: &str| clusters.iter().position(|c| c["name"] == name).expect(name);
        let (a, b) = (at("shop/api-v1:8080"), at("shop/web:80"));
        let endpoints = clusters[a]["load_assignment"]["endpoints"].clone();
        clusters[a]["load_assignment"]["endpoints"] =
            clusters[b]["load_assignment"]["endpoints"].clone();
        clusters[b]["load_assignment"]["endpoints"] = endpoints;
        // Outside the routes volume, whose updates would remove it.
        let swapped = path
            .parent()
            .and_then(Path::parent)
            .expect("the deployment root")
            .join("swapped-clusters.json");
        std::fs::write(&swapped, cds.to_string()).expect("write");
        source["path"] = json!(swapped.to_str().expect("UTF-8"));
        source
            .as_object_mut()
            .expect("object")
            .remove("watched_directory");
    });
    let report = run(&release_wasm(), Some(patch));
    assert!(!report.ok());
    assert!(
        report
            .details(false)
            .contains("backend: expected shop/api-v1"),
        "{}",
        report.details(false)
    );
}

#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn a_module_envoy_cannot_load_fails_the_file() {
    let dir = std::env::temp_dir().join(format!("gatewasm-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let broken = dir.join("broken.wasm");
    let bytes = std::fs::read(release_wasm()).expect("release .wasm (scripts/build-wasm)");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).expect("write");
    let report = run(&broken, None);
    let _ = std::fs::remove_dir_all(&dir);
    let error = report.error.unwrap_or_default();
    assert!(error.contains("could not load the filter"), "{error}");
}

#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn global_rate_limits_run_through_envoy_without_a_service_of_their_own() {
    // No --ratelimit-service: Envoy calls the one inside gatewasm, which counts 100 a minute
    // per key exactly (a stub or a fail-open would admit all 120).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatewasm"))
        .arg("test")
        .arg(format!("--envoy={}", envoy().display()))
        .arg("--wasm")
        .arg(release_wasm())
        .arg("manifests/tests/ratelimit-global.yaml")
        .current_dir(root())
        .output()
        .expect("runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.ends_with("cases: 3 passed, 0 failed, 0 skipped\n"),
        "{stdout}"
    );
}

/// The route-test files whose routes Envoy's own router can express whole (not the rate
/// limits, nor the engine's regex budget): through the bootstrap with `--emit envoy-routes`
/// in place of the filter, every case must get what the engine decides for it.
const NATIVE_FILES: [&str; 5] = [
    "example-shop.yaml",
    "hot-swap.yaml",
    "mirror-body.yaml",
    "regex-nesting.yaml",
    "timeouts.yaml",
];

#[test]
#[ignore = "needs Envoy: scripts/test-envoy runs it"]
fn envoy_s_own_router_with_the_native_routes_agrees_with_the_engine() {
    for file in NATIVE_FILES {
        let path = root().join("manifests/tests").join(file);
        let setting = Setting {
            native_routes: true,
            ..Setting::default()
        };
        let report = run_file_with(&release_wasm(), &path, setting);
        assert!(report.ok(), "{file}: {}", report.details(false));
        assert!(report.cases_passed() > 0, "{file}: no case ran");
    }
}
