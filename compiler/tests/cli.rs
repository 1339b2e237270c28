//! The `gatewasm` binary as a user runs it: exit codes, messages, `--strict`, `status`,
//! `explain`, and warnings for routes that compile but surprise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gatewasm(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatewasm"));
    cmd.args(args).current_dir(repo());
    if let Some(text) = stdin {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("writes");
        return child.wait_with_output().expect("finishes");
    }
    cmd.output().expect("runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const GATEWAY: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: c
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: '*.example.com'}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec: {ports: [{port: 80}]}
";

#[test]
fn compiles_the_examples_to_a_file() {
    let out = std::env::temp_dir().join(format!("gatewasm-cli-{}.blob", std::process::id()));
    let o = gatewasm(
        &[
            "compile",
            "manifests/examples",
            "-o",
            out.to_str().expect("utf-8"),
            "--strict",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let blob = std::fs::read(&out).expect("written");
    assert_eq!(&blob[..4], b"GWSM");
    assert!(
        text(&o.stderr).contains("compiled Gateway edge/edge: 2 listeners, 4 routes"),
        "{}",
        text(&o.stderr)
    );
    let _ = std::fs::remove_file(out);
}

/// A fresh folder under the system temp dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatewasm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creates");
    dir
}

#[test]
fn compiling_the_whole_manifests_folder_skips_what_is_not_an_object() {
    let args = [
        "compile",
        "manifests/",
        "--gateway",
        "edge/edge",
        "-o",
        "/dev/null",
    ];
    let o = gatewasm(&args, None);
    let err = text(&o.stderr);
    // The Envoy bootstrap and the route tests (their inline resources too) are skipped
    // with a note; the schema file (`kind` without `apiVersion`) is not, and its error
    // says how to leave it out.
    for note in [
        "note: manifests/envoy/envoy.yaml:10: skipped: not a Kubernetes object",
        "note: manifests/tests/hot-swap.yaml:5: skipped: a route-test file",
    ] {
        assert!(err.contains(note), "{note}\n{err}");
    }
    assert!(
        err.contains("help: if this file holds no Kubernetes objects, leave it out: --exclude 'schemas/kubernetes-v1/configmap.yaml'"),
        "{err}"
    );
    assert_eq!(o.status.code(), Some(2), "{err}");
    // `seed/` is a second copy of the examples' objects, each "defined more than once".
    let excluded = [
        &args[..],
        &["--exclude", "schemas/*", "--exclude", "seed/*"],
    ]
    .concat();
    let o = gatewasm(&excluded, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("compiled Gateway edge/edge: 2 listeners"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn exclude_leaves_matching_files_out_of_folders() {
    let dir = scratch("exclude");
    std::fs::create_dir_all(dir.join("drafts")).expect("creates");
    std::fs::write(dir.join("gateway.yaml"), GATEWAY).expect("writes");
    std::fs::write(dir.join("drafts/broken.yaml"), "kind: HTTPRoute\n").expect("writes");
    std::fs::write(dir.join("old.schema.yaml"), "kind: Schema\n").expect("writes");
    let folder = dir.to_str().expect("utf-8");
    let o = gatewasm(&["status", folder], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let o = gatewasm(
        &[
            "status",
            folder,
            "--exclude",
            "drafts/*",
            "--exclude",
            "*.schema.yaml",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = gatewasm(&["status", folder, "--exclude", "a["], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with("error: --exclude \"a[\": "),
        "{}",
        text(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);

    // `test` leaves out the route-test files of a folder the same way.
    let dir = scratch("exclude-tests");
    let passing = std::fs::read_to_string(pass_and_fail(&dir)).expect("reads");
    let passing = &passing[..passing.find("- {id: 2").expect("case 2")];
    std::fs::write(dir.join("shop.yaml"), passing).expect("writes");
    let broken = "name: Broken\nmanifests: [missing.yaml]\ncases: []\n";
    std::fs::write(dir.join("broken.yaml"), broken).expect("writes");
    let folder = dir.to_str().expect("utf-8");
    let o = gatewasm(&["test", folder], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let o = gatewasm(&["test", folder, "--exclude", "broken.yaml"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("cases: 1 passed, 0 failed"),
        "{}",
        text(&o.stdout)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn version_names_the_commit_and_the_blob_format() {
    let o = gatewasm(&["--version"], None);
    assert_eq!(o.status.code(), Some(0));
    let version = text(&o.stdout);
    let format = gatewasm_filter::blob::FORMAT_VERSION;
    let (head, commit) = version
        .trim_end()
        .strip_suffix(&format!(", blob format {format})"))
        .and_then(|v| v.split_once(" (commit "))
        .unwrap_or_else(|| panic!("{version}"));
    assert_eq!(head, format!("gatewasm {}", env!("CARGO_PKG_VERSION")));
    let hash = commit.strip_suffix("-dirty").unwrap_or(commit);
    assert!(
        hash == "unknown" || (hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())),
        "{version}"
    );
    assert_eq!(text(&gatewasm(&["-V"], None).stdout), version);
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definition() {
    let o = gatewasm(&["completions", "bash"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let script = text(&o.stdout);
    for word in [
        "compile",
        "status",
        "test",
        "explain",
        "--exclude",
        "--junit",
    ] {
        assert!(script.contains(word), "{word} missing from\n{script}");
    }
    let o = gatewasm(&["man"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let page = text(&o.stdout);
    let first_macro = page.lines().find(|l| l.starts_with(".TH"));
    assert!(
        first_macro.is_some_and(|l| l.starts_with(".TH gatewasm 1")),
        "{page}"
    );
    assert!(page.contains("compile"), "{page}");
}

#[test]
fn compile_json_has_the_summary_and_every_diagnostic() {
    let o = gatewasm(
        &[
            "compile",
            "manifests/examples",
            "-o",
            "/dev/null",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["exitCode"], 0);
    let compiled = &doc["compiled"];
    assert_eq!(compiled["gateway"], "edge/edge");
    assert_eq!(compiled["listeners"], 2);
    assert_eq!(compiled["outputs"], serde_json::json!(["/dev/null"]));
    assert_eq!(compiled["blobSha256"].as_str().map(str::len), Some(64));
    let notes = doc["diagnostics"].as_array().expect("a list");
    assert!(notes.iter().any(|d| d["severity"] == "note"), "{doc}");

    let bad = GATEWAY.replace("port: 80, protocol", "port: 0, protocol");
    let o = gatewasm(
        &["compile", "-", "-o", "/dev/null", "--format", "json"],
        Some(&bad),
    );
    assert_eq!(o.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["exitCode"], 2);
    assert!(doc["compiled"].is_null());
    let first = &doc["diagnostics"][0];
    assert_eq!(first["severity"], "error", "{doc}");
    assert_eq!(first["file"], "<stdin>");
    assert_eq!(first["line"], 7);
    assert_eq!(first["object"], "Gateway ns/gw");
    assert_eq!(first["field"], "spec.listeners[0].port");

    let o = gatewasm(
        &[
            "compile",
            "manifests/examples",
            "-o",
            "-",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--format json writes to standard output, and so does `-o -`"),
        "{}",
        text(&o.stderr)
    );
}

/// A route-test file over the examples with a case that passes and one that fails.
fn pass_and_fail(dir: &Path) -> PathBuf {
    let file = dir.join("shop.yaml");
    let examples = repo().join("manifests/examples");
    let request = "{gateway: edge/edge, port: 443, scheme: https, sni: app.example.com, host: app.example.com, path: /healthz}";
    std::fs::write(
        &file,
        format!(
            "name: Shop\nmanifests: [{}]\ncases:\n\
             - {{id: 1, name: <health & \"ok\">, request: {request}, expect: {{status: 200, backend: shop/health}}}}\n\
             - {{id: 2, request: {request}, expect: {{status: 404}}}}\n\
             expectStatus:\n\
             - {{kind: HTTPRoute, route: shop/app, parent: edge/edge, type: Accepted, status: \"True\", reason: Accepted}}\n",
            examples.display()
        ),
    )
    .expect("writes");
    file
}

#[test]
fn test_writes_junit_xml_that_ci_systems_read() {
    let dir = scratch("junit");
    let file = pass_and_fail(&dir);
    let xml_path = dir.join("report.xml");
    let o = gatewasm(
        &[
            "test",
            file.to_str().expect("utf-8"),
            "--junit",
            xml_path.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let xml = std::fs::read_to_string(&xml_path).expect("written");
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    for (attribute, want) in [
        ("tests", "3"),
        ("failures", "1"),
        ("errors", "0"),
        ("skipped", "0"),
    ] {
        assert_eq!(
            suites.attribute(attribute),
            Some(want),
            "{attribute}\n{xml}"
        );
    }
    // In the order they ran: the status expectation, then the cases.
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        cases[0].attribute("name"),
        Some("status HTTPRoute shop/app Accepted=True")
    );
    assert!(
        cases[1]
            .attribute("name")
            .is_some_and(|n| n.ends_with("(<health & \"ok\">)")),
        "{xml}"
    );
    assert!(cases[1].children().all(|c| !c.is_element()), "{xml}");
    let failure = cases[2].first_element_child().expect("a failure");
    assert_eq!(failure.tag_name().name(), "failure");
    assert_eq!(
        failure.attribute("message"),
        Some("status: expected 404, got 200"),
        "{xml}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn test_json_has_every_file_case_and_the_totals() {
    let dir = scratch("test-json");
    let file = pass_and_fail(&dir);
    let o = gatewasm(&["test", file.to_str().expect("utf-8"), "-o", "json"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["exitCode"], 1);
    assert_eq!(doc["driver"], "native engine");
    assert_eq!(doc["totals"]["casesPassed"], 1);
    assert_eq!(doc["totals"]["casesFailed"], 1);
    assert_eq!(doc["totals"]["statusPassed"], 1);
    let results = &doc["files"][0]["results"];
    assert_eq!(results[0]["type"], "status");
    assert_eq!(results[1]["outcome"], "passed");
    assert_eq!(results[2]["outcome"], "failed");
    assert_eq!(results[2]["failures"][0], "status: expected 404, got 200");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn errors_name_file_line_object_and_field_and_exit_2() {
    let bad = format!(
        "{GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: ns}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches:
    - path: {{type: PathPrefix, value: api}}
    backendRefs: [{{name: web, port: 80}}]
"
    );
    let o = gatewasm(&["compile", "-", "-o", "-"], Some(&bad));
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("<stdin>:21:")
            && err.contains("HTTPRoute ns/app: spec.rules[0].matches[0].path.value"),
        "{err}"
    );
    assert!(o.stdout.is_empty(), "nothing is written on error");
}

#[test]
fn compile_and_emit_refuse_the_same_backend_tls_policy() {
    let input = format!(
        "{GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: ns}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - backendRefs: [{{name: web, port: 80}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {{name: web-tls, namespace: ns}}
spec:
  targetRefs: [{{group: '', kind: Service, name: web}}]
  validation: {{wellKnownCACertificates: System}}
"
    );
    let blob = gatewasm(&["compile", "-", "-o", "-"], Some(&input));
    let envoy = gatewasm(&["compile", "-", "--emit", "envoy"], Some(&input));
    let err = text(&blob.stderr);
    assert_eq!(blob.status.code(), Some(2), "{err}");
    assert!(
        err.contains("<stdin>:25: BackendTLSPolicy ns/web-tls: spec: missing field `hostname`"),
        "{err}"
    );
    assert_eq!(envoy.status.code(), Some(2));
    assert_eq!(text(&envoy.stderr), err);
    assert!(blob.stdout.is_empty() && envoy.stdout.is_empty());
}

#[test]
fn several_gateways_need_a_choice() {
    let second = GATEWAY
        .split("---")
        .next()
        .expect("the Gateway")
        .replace("name: gw,", "name: gw2,");
    let two = format!("{GATEWAY}---\n{second}");
    let o = gatewasm(&["compile", "-", "-o", "-"], Some(&two));
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("choose one with --gateway NAMESPACE/NAME"),
        "{err}"
    );
    assert!(
        err.contains("\nnote: <stdin>:1: Gateway ns/gw\n")
            && err.contains("\nnote: <stdin>:14: Gateway ns/gw2\n"),
        "{err}"
    );
    let o = gatewasm(
        &["compile", "-", "-o", "-", "--gateway", "ns/gw2"],
        Some(&two),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

const SURPRISES: &str = "---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  hostnames: [app.example.com, app.other.org]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: ns, creationTimestamp: '2026-02-01T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  hostnames: [app.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api/}}]
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-canary, value: 'yes'}]}]
    backendRefs: [{name: missing, port: 80}]
";

#[test]
fn warns_about_shadowed_rules_and_unserved_hostnames() {
    let input = format!("{GATEWAY}{SURPRISES}");
    let o = gatewasm(&["compile", "-", "-o", "-"], Some(&input));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("warning[GW0015 UnreachableRule]: <stdin>:31: HTTPRoute ns/b: spec.rules[0]: can never match: HTTPRoute ns/a spec.rules[0] matches the same requests first"),
        "{err}"
    );
    assert!(
        err.contains("\nnote: <stdin>:21: HTTPRoute ns/a spec.rules[0]\n"),
        "the shadowing rule is a related location: {err}"
    );
    assert!(
        !err.contains("spec.rules[1]: can never match"),
        "a header makes rule 1 reachable: {err}"
    );
    assert!(
        err.contains("hostname app.other.org intersects no listener of ns/gw"),
        "{err}"
    );
}

#[test]
fn strict_refuses_routes_that_are_not_fully_accepted() {
    let input = format!("{GATEWAY}{SURPRISES}");
    let o = gatewasm(
        &["compile", "-", "-o", "-", "--strict=accepted"],
        Some(&input),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("--strict: 1 routes are not fully accepted: HTTPRoute ns/b"),
        "{}",
        text(&o.stderr)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn status_prints_controller_conditions() {
    let input = format!("{GATEWAY}{SURPRISES}");
    let o = gatewasm(&["status", "-", "-o", "json"], Some(&input));
    assert_eq!(o.status.code(), Some(0));
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let b = &status["routes"][1];
    assert_eq!(b["name"], "b");
    let refs = &b["parents"][0]["conditions"][1];
    assert_eq!(
        (
            refs["type"].as_str(),
            refs["status"].as_str(),
            refs["reason"].as_str()
        ),
        (Some("ResolvedRefs"), Some("False"), Some("BackendNotFound"))
    );
    assert_eq!(status["gateways"][0]["listeners"][0]["attachedRoutes"], 2);
    let o = gatewasm(&["status", "-"], Some(&input));
    assert!(
        text(&o.stdout).contains("reason: BackendNotFound"),
        "YAML by default"
    );
}

#[test]
fn explain_says_whether_a_client_address_passes_the_authorization() {
    let run = |source: &str| {
        let o = gatewasm(
            &[
                "explain",
                "--source",
                source,
                "GET",
                "http://api.example.com/admin/users",
                "manifests/ingress-nginx",
            ],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    let policy = "access:   SecurityPolicy store/api-admin-source-range at ingress.yaml:";
    let office = run("10.20.3.4");
    assert!(office.contains(policy), "{office}");
    assert!(
        office.contains("Allow 10.20.0.0/16, else Deny (403); the client passes"),
        "{office}"
    );
    let other = run("192.0.2.1");
    assert!(other.contains("; the client is refused: 403"), "{other}");
    let o = gatewasm(
        &[
            "explain",
            "--source",
            "office",
            "GET",
            "http://api.example.com/",
            "manifests/ingress-nginx",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--source \"office\" is not an IP address"),
        "{}",
        text(&o.stderr)
    );
}

/// `gatewasm explain GET url file`, which must succeed: its standard output.
fn explain_ok(file: &str, url: &str) -> String {
    let o = gatewasm(&["explain", "GET", url, file], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn explain_names_the_idle_timeout_and_the_route_that_carries_it() {
    let explain = |url: &str| explain_ok("manifests/tests/timeouts.yaml", url);
    let slow = explain("http://api.example.com/slow");
    assert!(
        slow.contains(
            "timeout:  stream idle 1000 ms, BackendTrafficPolicy app/api-idle at timeouts.yaml:"
        ),
        "{slow}"
    );
    assert!(
        slow.contains("chosen by router header x-gatewasm-cluster-idle-timeout: 1000"),
        "{slow}"
    );
    // The policy sets no rate limits, so none is named.
    assert!(
        slow.contains("limits:   no BackendTrafficPolicy rate limit applies"),
        "{slow}"
    );
    let reports = explain("http://api.example.com/reports/daily");
    assert!(
        reports.contains("stream idle 60000 ms, BackendTrafficPolicy app/reports-idle"),
        "{reports}"
    );
    assert!(!explain("http://www.example.com/").contains("timeout:"));
}

#[test]
fn explain_names_the_access_log_fields_of_the_decision() {
    let explain = |url: &str| explain_ok("manifests/tests/access-log.yaml", url);
    let checkout = explain("http://shop.example.com/checkout");
    assert!(
        checkout.contains(
            "log:      gatewasm listener=\"web\" route=\"shop/store\" rule=\"1\" rule_name=\"checkout\""
        ),
        "{checkout}"
    );
    let missing = explain("http://shop.example.com/nowhere");
    assert!(
        missing.contains("log:      gatewasm listener=\"web\"\n"),
        "{missing}"
    );
    let o = gatewasm(
        &[
            "explain",
            "--format",
            "json",
            "GET",
            "http://shop.example.com/cart",
            "manifests/tests/access-log.yaml",
        ],
        None,
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(
        doc["log"],
        serde_json::json!({"listener": "web", "route": "shop/store", "rule": "0"})
    );
}

#[test]
fn explain_names_the_winner_and_the_losers() {
    let o = gatewasm(
        &[
            "explain",
            "GET",
            "https://admin.example.com/users",
            "manifests/examples",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("listener: https (port 443, HTTPS, hostname *.example.com)"),
        "{out}"
    );
    assert!(
        out.contains("HTTPRoute shop/admin rule 0 at manifests/examples/routes.yaml:"),
        "{out}"
    );
    assert!(
        out.contains("header x-internal is missing or does not match"),
        "{out}"
    );
    assert!(out.contains("action:   answer 404"), "{out}");
    let o = gatewasm(
        &[
            "explain",
            "GET",
            "https://app.example.com/api/v1/orders",
            "manifests/examples",
        ],
        None,
    );
    let out = text(&o.stdout);
    assert!(
        out.contains(
            "winner:   HTTPRoute shop/app rule 2 (api-v1) at manifests/examples/routes.yaml:"
        ),
        "{out}"
    );
    assert!(out.contains("forward to cluster shop/api-v1:8080"), "{out}");
    assert!(
        out.contains("request header set x-api-version: v1"),
        "{out}"
    );
}

const TIMEOUTS_AND_RETRY: &str = "---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /slow}}]
    filters:
    - type: URLRewrite
      urlRewrite: {hostname: slow.internal, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-slow, value: 'yes'}], remove: [x-debug]}
    timeouts: {request: 10s, backendRequest: 2s}
    retry: {codes: [502, 503], attempts: 3}
    backendRefs: [{name: web, port: 80}]
";

/// explain lists the request's edits as the filter makes them (`Forward::request_edits`):
/// modifiers, then the rewritten `:path` and `:authority`, then the router headers.
#[test]
fn explain_json_gives_the_decision_and_the_candidates_as_data() {
    let explain = |url: &str| {
        let o = gatewasm(
            &["explain", "GET", url, "manifests/examples", "-o", "json"],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("JSON")
    };
    let doc = explain("https://admin.example.com/users");
    assert_eq!(doc["listener"]["name"], "https");
    assert_eq!(doc["listener"]["port"], 443);
    let lost = &doc["candidates"][0];
    assert_eq!(lost["rule"]["route"], "shop/admin", "{doc}");
    assert_eq!(
        lost["lost"],
        "header x-internal is missing or does not match"
    );
    assert_eq!(doc["decision"]["action"], "reply");
    assert_eq!(doc["decision"]["status"], 404);
    let doc = explain("https://app.example.com/api/v1/orders");
    let decision = &doc["decision"];
    assert_eq!(decision["action"], "forward", "{doc}");
    assert_eq!(decision["rule"]["route"], "shop/app");
    assert_eq!(decision["rule"]["name"], "api-v1");
    assert_eq!(decision["cluster"], "shop/api-v1:8080");
    assert!(
        decision["requestHeaders"]
            .as_array()
            .expect("a list")
            .contains(&serde_json::json!({"set": "x-api-version", "value": "v1"})),
        "{doc}"
    );
    // What the story adds is data too: the split, and why a backendRef is invalid.
    let doc = explain("https://app.example.com/api/v2/orders");
    let split: Vec<(String, f64)> = doc["split"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            (
                s["backend"].as_str().unwrap_or("").to_owned(),
                s["percent"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    assert_eq!(
        split,
        [
            ("api-v2:8080".to_owned(), 90.0),
            ("api-v2-canary:8080".to_owned(), 10.0)
        ],
        "{doc}"
    );
    let input = format!("{GATEWAY}{INVALID_BACKENDS}");
    let o = gatewasm(
        &[
            "explain",
            "GET",
            "http://app.example.com/gone",
            "-",
            "-o",
            "json",
        ],
        Some(&input),
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["invalid"]["why"]["code"], "GW0001", "{doc}");
    assert_eq!(
        doc["invalid"]["why"]["ref"],
        "HTTPRoute ns/r spec.rules[0].backendRefs[0]"
    );
}

#[test]
fn explain_shows_the_request_edits_in_the_order_the_filter_makes_them() {
    let input = format!("{GATEWAY}{TIMEOUTS_AND_RETRY}");
    let o = gatewasm(
        &["explain", "GET", "http://app.example.com/slow/x", "-"],
        Some(&input),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let want = "
          request header set x-slow: yes
          request header remove x-debug
          :path becomes /v2/x
          :authority becomes slow.internal
          router header x-envoy-upstream-rq-timeout-ms: 10000
          router header x-envoy-upstream-rq-per-try-timeout-ms: 2000
          router header x-envoy-retry-on: connect-failure,refused-stream,reset,retriable-status-codes
          router header x-envoy-retriable-status-codes: 502,503
          router header x-envoy-max-retries: 3
";
    assert!(out.contains(want), "{out}");
}

/// Routes beside GATEWAY's: one serves /api; one in another namespace is refused by the
/// listener (`from: Same`); one would be refused too but names a host nobody asks for.
const REFUSED_ROUTES: &str = "---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /api}}]
    backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: other}
spec:
  parentRefs: [{name: gw, namespace: ns}]
  hostnames: [shop.example.com]
  rules:
  - backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: blog, namespace: other}
spec:
  parentRefs: [{name: gw, namespace: ns}]
  hostnames: [blog.example.com]
  rules:
  - backendRefs: [{name: web, port: 80}]
";

#[test]
fn explain_names_the_route_that_would_serve_the_host_but_is_not_attached() {
    let input = format!("{GATEWAY}{REFUSED_ROUTES}");
    let o = gatewasm(
        &["explain", "GET", "http://shop.example.com/x", "-"],
        Some(&input),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let want = "action:   answer 404: gatewasm_no_route
not attached here, though their hostnames take shop.example.com:
  - HTTPRoute other/shop at <stdin>:23
      parentRef Gateway ns/gw: Accepted False, reason NotAllowedByListeners (GW0005): no listener of Gateway ns/gw allows HTTPRoute from namespace other";
    assert!(out.contains(want), "{out}");
    assert!(!out.contains("other/blog"), "another host's route: {out}");
    assert!(
        !out.contains("- HTTPRoute ns/api at"),
        "attached here: {out}"
    );
}

const INVALID_BACKENDS: &str = "---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /gone}}]
    backendRefs: [{name: gone, port: 80}]
  - matches: [{path: {value: /cross}}]
    backendRefs: [{name: web, namespace: other, port: 80}]
";

#[test]
fn explain_says_which_backend_ref_is_invalid_why_and_the_fix() {
    let input = format!("{GATEWAY}{INVALID_BACKENDS}");
    let cases = [
        (
            "/gone",
            "invalid:  HTTPRoute ns/r spec.rules[0].backendRefs[0] at <stdin>:21 [GW0001 BackendNotFound]
          Service ns/gone is not in the input
fix:      add the Service ns/gone manifest to the input",
        ),
        (
            "/cross",
            "invalid:  HTTPRoute ns/r spec.rules[1].backendRefs[0] at <stdin>:23 [GW0002 RefNotPermitted]
          backendRef other/web crosses namespaces and no ReferenceGrant in other allows HTTPRoute from ns
fix:      add a ReferenceGrant in namespace other:",
        ),
    ];
    for (path, want) in cases {
        let url = format!("http://app.example.com{path}");
        let o = gatewasm(&["explain", "GET", &url, "-"], Some(&input));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(
            out.contains("action:   answer 500: gatewasm_invalid_backend"),
            "{out}"
        );
        assert!(out.contains(want), "{path}: {out}");
    }
}

#[test]
fn explain_shows_every_backend_of_a_split_with_its_share() {
    let o = gatewasm(
        &[
            "explain",
            "GET",
            "https://app.example.com/api/v2/orders",
            "manifests/examples",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let want =
        "split:    api-v2:8080 90% (weight 90) <- this request, api-v2-canary:8080 10% (weight 10)
          each request draws its backend by weight: another request may go to another one";
    assert!(out.contains(want), "{out}");
}

/// Two routes with the same match, `b` the older; a third takes one host only.
const TIED_ROUTES: &str = "---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: ns, creationTimestamp: '2024-05-01T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /api}}]
    backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: ns, creationTimestamp: '2023-01-01T00:00:00Z'}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /api}}]
    backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: c, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [app.example.com]
  rules:
  - matches: [{path: {value: /}}]
    backendRefs: [{name: web, port: 80}]
";

#[test]
fn explain_names_the_tie_break_that_picked_the_winner() {
    let o = gatewasm(
        &[
            "explain",
            "GET",
            "https://app.example.com/api/v2/orders",
            "manifests/examples",
        ],
        None,
    );
    let out = text(&o.stdout);
    assert!(
        out.contains("also held, ranked lower (never tried):\n  - HTTPRoute shop/app rule 4 (web) at manifests/examples/routes.yaml:"),
        "{out}"
    );
    assert!(
        out.contains("both match; rule 1 wins: its PathPrefix /api/v2 is longer than /"),
        "{out}"
    );
    let tied = format!("{GATEWAY}{TIED_ROUTES}");
    let same_age = tied.replace("2023-01-01", "2024-05-01");
    let cases = [
        ("x", &tied, "both match; HTTPRoute ns/b wins: it is older (creationTimestamp 2023-01-01T00:00:00Z against 2024-05-01T00:00:00Z)"),
        ("x", &same_age, "both match; HTTPRoute ns/a wins: same age, ns/a sorts before ns/b"),
        ("app", &tied, "both match; HTTPRoute ns/c wins: its hostname app.example.com is more specific than *.example.com"),
    ];
    for (host, input, want) in cases {
        let url = format!("http://{host}.example.com/api/1");
        let o = gatewasm(&["explain", "GET", &url, "-"], Some(input));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.contains(want), "{host}: {out}");
    }
}

#[test]
fn explain_from_a_blob_says_when_it_cannot_tell_the_tie_break() {
    let manifests = scratch_file("tied.yaml");
    std::fs::write(&manifests, format!("{GATEWAY}{TIED_ROUTES}")).expect("writes");
    let (blob, _) = compile_deployed(&[manifests.to_str().expect("utf-8")], "tied");
    let args = ["explain", "GET", "http://x.example.com/api/1", "--blob"];
    let o = gatewasm(
        &[&args[..], &[blob.to_str().expect("utf-8")]].concat(),
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("both match; HTTPRoute ns/b wins: same match criteria: the compiler's order decided (the older route, then namespace/name), which the blob does not record"),
        "{out}"
    );
}

/// Envoy turns the filter's local reply to a gRPC call into a trailers-only response.
#[test]
fn explain_prints_the_200_and_grpc_status_a_grpc_client_gets() {
    let grpc = format!(
        "{GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {{name: cart, namespace: ns}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches: [{{method: {{service: shop.Cart}}}}]
    backendRefs: [{{name: web, port: 80}}]
"
    );
    let args = [
        "explain",
        "POST",
        "http://app.example.com/shop.Other/Do",
        "-",
    ];
    let o = gatewasm(
        &[&args[..], &["-H", "content-type: application/grpc"]].concat(),
        Some(&grpc),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("action:   answer 200, grpc-status: 12 (UNIMPLEMENTED): gatewasm_no_route"),
        "{out}"
    );
    assert!(!out.contains("answer 404"), "{out}");
}

/// Each HTTPS listener is a filter chain matched on its hostname: no chain, no handshake.
#[test]
fn explain_says_an_sni_no_listener_serves_is_a_refused_handshake() {
    let o = gatewasm(
        &[
            "explain",
            "GET",
            "https://shop.other.org/",
            "manifests/examples",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("action:   none: no HTTPS listener on port 443 serves SNI shop.other.org, so Envoy refuses the TLS handshake (the client sees a TLS error, no HTTP response)"),
        "{out}"
    );
    assert!(!out.contains("answer 404"), "{out}");
    let o = gatewasm(
        &[
            "explain",
            "GET",
            "http://app.example.com:8080/",
            "manifests/examples",
        ],
        None,
    );
    let out = text(&o.stdout);
    assert!(
        out.contains("action:   none: no listener of the Gateway binds port 8080, so Envoy refuses the connection"),
        "{out}"
    );
}

/// Expressions that made one request cost seconds of a worker's CPU in Envoy.
const STALLING_REGEXES: [&str; 4] = [
    "/api/v1/(.*){1,1000}",
    "/api/v1/(.*){1,4000}",
    "/api/v1/(a{1,1000}){1,10}b",
    ".*(.*){1,1000}",
];

fn regex_route(pattern: &str) -> String {
    format!(
        "{GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r, namespace: ns}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - matches: [{{path: {{type: RegularExpression, value: '{pattern}'}}}}]
    backendRefs: [{{name: web, port: 80}}]
"
    )
}

#[test]
fn stalling_regexes_are_refused_with_their_size() {
    for pattern in STALLING_REGEXES {
        let o = gatewasm(
            &["compile", "-", "-o", "/dev/null"],
            Some(&regex_route(pattern)),
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{pattern}: {err}");
        assert!(
            err.contains("error: <stdin>:20: HTTPRoute ns/r: spec.rules[0].matches[0].path.value: regular expression program size"),
            "{pattern}: {err}"
        );
        assert!(err.contains("exceeds the limit 100"), "{pattern}: {err}");
        assert!(err.contains("--regex-max-size"), "{pattern}: {err}");
    }
}

#[test]
fn a_raised_limit_still_answers_a_long_path_without_running_the_expression() {
    // Accepted only with a raised limit, these programs are larger than a request's whole
    // budget: they never run, and every request they could match is answered 414 at once.
    for pattern in STALLING_REGEXES {
        let manifests = regex_route(pattern);
        for path in [
            format!("/api/v1/{}", "a".repeat(59 * 1024)),
            "/api/v1/ab".to_owned(),
        ] {
            let url = format!("http://app.example.com{path}");
            let args = ["explain", "GET", &url, "-", "--regex-max-size", "100000"];
            let o = gatewasm(&args, Some(&manifests));
            let out = text(&o.stdout);
            assert_eq!(o.status.code(), Some(0), "{pattern}: {}", text(&o.stderr));
            assert!(out.contains("action:   answer 414"), "{pattern}: {out}");
        }
    }
}

#[test]
fn a_large_accepted_regex_is_warned_about() {
    let o = gatewasm(
        &["compile", "-", "-o", "/dev/null"],
        Some(&regex_route("/f/(.*){1,19}")),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("warning[GW0017 RegexCost]: <stdin>:20: HTTPRoute ns/r: spec.rules[0].matches[0].path.value: regular expression program size 97 is above 50: the filter runs it only on values up to 336 bytes"),
        "{}",
        text(&o.stderr)
    );
}

/// Whether `c` would reach a terminal or CI log raw and change what it shows: control
/// characters (other than the line breaks between diagnostics) and bidi controls.
fn raw_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Hostile values reach the user escaped, cut and with the right words: for each manifest,
/// the exit code, a bound on stderr, no raw control or bidi character, the location (file,
/// line, object, field) and what must and must not be said.
#[test]
fn hostile_values_are_reported_short_escaped_and_in_words() {
    let class = |name: &str, controller: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: {name}\nspec:\n  controllerName: {controller}\n"
        )
    };
    let huge = "x".repeat(1 << 20);
    let mut many_labels =
        String::from("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels:\n");
    for i in 0..130_000 {
        many_labels.push_str(&format!("    k{i}: v\n"));
    }
    // (what, manifest, stderr bound in bytes, must contain, must not contain)
    type Case<'a> = (&'a str, String, usize, Vec<&'a str>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "1 MB value",
            class("gc", &huge),
            4096,
            vec![
                "<stdin>:6: GatewayClass gc: spec.controllerName: invalid controllerName `xxxx",
                "`… (1048576 bytes): expected `example.com/path`",
            ],
            vec!["for Gateway", "Gateway gc"],
        ),
        (
            "U+202E in a name",
            class("\"ab\u{202e}cd\"", "example.com/x"),
            1024,
            vec![
                "<stdin>:4: GatewayClass ab\\u{202e}cd: metadata.name: invalid name `ab\\u{202e}cd`",
                "name: \"ab\\u{202e}cd\"",
            ],
            vec![],
        ),
        (
            "ESC, NUL and a newline in a value",
            class("gc", "\"a\\e[31mRED\\0\\nerror: forged\""),
            1024,
            vec!["spec.controllerName: invalid controllerName `a\\u{1b}[31mRED\\u{0}\\nerror: forged`"],
            vec!["\nerror: forged"],
        ),
        (
            "a duplicate key",
            class("gc", "example.com/x").replace("  name: gc\n", "  name: gc\n  name: gc2\n"),
            1024,
            vec![
                "<stdin>:5: GatewayClass gc: metadata.name: duplicate key `name`: set on line 4 and again on line 5",
                "help: a key may appear once per mapping: remove one of them, or rename it",
            ],
            vec!["DuplicateKeyPolicy", "Options"],
        ),
        (
            "a document over the node budget",
            many_labels,
            2048,
            vec![
                "Service default/s: metadata.labels.",
                "the document has more than 250000 nodes",
                "help: split the file into smaller documents",
            ],
            vec!["Nodes {", "budget breached", "nodes:"],
        ),
        (
            "a GatewayClass with an unknown field holding a bidi override",
            class("gc", "example.com/x") + "  \u{2067}x: 1\n",
            1024,
            vec!["<stdin>:7: GatewayClass gc: spec[\"\\u{2067}x\"]: unknown field `\\u{2067}x`"],
            vec!["for Gateway", "Gateway gc"],
        ),
    ];
    for (what, manifest, bound, want, unwanted) in cases {
        let o = gatewasm(&["compile", "-", "-o", "-"], Some(&manifest));
        let err = text(&o.stderr);
        let head: String = err.chars().take(2000).collect();
        assert_eq!(o.status.code(), Some(2), "{what}: {head}");
        assert!(o.stdout.is_empty(), "{what}: nothing is written on error");
        assert!(
            err.len() < bound,
            "{what}: {} bytes of stderr: {head}",
            err.len()
        );
        assert!(!err.chars().any(raw_control), "{what}: {err:?}");
        for w in want {
            assert!(err.contains(w), "{what}: missing {w:?} in\n{err}");
        }
        for u in unwanted {
            assert!(!err.contains(u), "{what}: {u:?} in\n{err}");
        }
    }
}

#[test]
fn global_limits_are_wired_to_a_service_or_knowingly_off() {
    let manifests = std::fs::read_to_string(repo().join("manifests/seed/40-ratelimits.yaml"))
        .expect("seed policies");
    let seed = "manifests/seed";
    let o = gatewasm(&["compile", seed, "--emit", "envoy"], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("error: --emit envoy: the Gateway has Global rate limits but no rate limit service: pass --ratelimit-service HOST:PORT"),
        "{}",
        text(&o.stderr)
    );
    let o = gatewasm(
        &[
            "compile",
            seed,
            "--emit",
            "envoy",
            "--ratelimit-service",
            "rls.infra:8081",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("address: rls.infra"),
        "{}",
        text(&o.stdout)
    );
    let o = gatewasm(
        &["compile", seed, "--emit", "envoy", "--ratelimit-fail-open"],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(
            "warning[GW0020 RateLimitsNotEnforced]: --ratelimit-fail-open: the Gateway's Global rate limits are not enforced"
        ),
        "{}",
        text(&o.stderr)
    );
    assert!(
        manifests.contains("type: Global"),
        "the seed has Global limits"
    );
}

#[test]
fn global_rate_limit_cases_run_without_a_service() {
    // They call the in-process service: 100 a minute per key, 1000 per route.
    let out = gatewasm(&["test", "manifests/tests/ratelimit-global.yaml"], None);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.ends_with("cases: 3 passed, 0 failed, 0 skipped\n"),
        "{stdout}"
    );
}

#[test]
fn the_same_objects_give_the_same_blob_however_the_input_is_named() {
    let out = std::env::temp_dir().join(format!("gatewasm-repro-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let absolute = repo().join("manifests").canonicalize().unwrap();
    let absolute = |dir: &str| absolute.join(dir).display().to_string();
    // (working directory, inputs): relative, absolute, spelt with ./ and a trailing /, and
    // from another directory.
    let ways: [(PathBuf, Vec<String>); 4] = [
        (
            repo(),
            vec!["manifests/examples".into(), "manifests/ratelimit".into()],
        ),
        (repo(), vec![absolute("examples"), absolute("ratelimit")]),
        (
            repo(),
            vec![
                "./manifests/examples/".into(),
                "./manifests//ratelimit".into(),
            ],
        ),
        (
            repo().join("manifests"),
            vec!["examples".into(), "ratelimit".into()],
        ),
    ];
    let blobs: Vec<Vec<u8>> = ways
        .iter()
        .enumerate()
        .map(|(i, (cwd, inputs))| {
            let blob = out.join(format!("{i}.blob"));
            let run = Command::new(env!("CARGO_BIN_EXE_gatewasm"))
                .arg("compile")
                .args(inputs)
                .arg("-o")
                .arg(&blob)
                .current_dir(cwd)
                .output()
                .expect("runs");
            assert!(run.status.success(), "{inputs:?}: {}", text(&run.stderr));
            std::fs::read(&blob).unwrap()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&out);
    for (way, blob) in ways.iter().zip(&blobs).skip(1) {
        assert!(
            blob == &blobs[0],
            "{:?} gave other bytes than {:?}",
            way.1,
            ways[0].1
        );
    }
}

/// The mistakes of a production migration guide, each caught by `compile` with its code, the
/// line it is written on, and the fix.
#[test]
fn guide_mistakes_are_each_warned_with_a_code_line_and_fix() {
    let file = "compiler/tests/data/guide-mistakes.yaml";
    let o = gatewasm(&["compile", file, "-o", "-"], None);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let expect = [
        (
            "warning[GW0001 BackendNotFound]: compiler/tests/data/guide-mistakes.yaml:77: HTTPRoute shop/app: spec.rules[1].backendRefs[0]: Service shop/api-v2 is not in the input",
            "help: add the Service shop/api-v2 manifest to the input",
        ),
        (
            "warning[GW0002 RefNotPermitted]: compiler/tests/data/guide-mistakes.yaml:83: HTTPRoute shop/app: spec.rules[2].backendRefs[0]",
            "help: add a ReferenceGrant in namespace billing: spec: {from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop}], to: [{group: \"\", kind: Service, name: payments}]}",
        ),
        (
            "warning[GW0005 NotAllowedByListeners]: compiler/tests/data/guide-mistakes.yaml:95: HTTPRoute partners/partners: spec.parentRefs[0]: not accepted by edge/edge: no listener of Gateway edge/edge allows HTTPRoute from namespace partners: listener partners selects namespaces by {gateway-access=partners}, and the Namespace partners is not in the input",
            "help: add the Namespace partners manifest with its labels to the input",
        ),
        (
            "warning[GW0007 UnattachedListener]: compiler/tests/data/guide-mistakes.yaml:32: Gateway edge/edge: spec.listeners[2]: listener partners has no attached route: it answers every request 404",
            "help: attach a route to it",
        ),
        (
            "warning[GW0011 PolicyTargetNotFound]: compiler/tests/data/guide-mistakes.yaml:164: BackendTrafficPolicy shop/old-route-limits: spec.targetRefs[0]: target HTTPRoute shop/checkout is not in the input",
            "help: a policy targets objects of its own namespace (shop)",
        ),
        (
            "warning[GW0012 PolicyOverridden]: compiler/tests/data/guide-mistakes.yaml:147: BackendTrafficPolicy shop/app-limits: spec.targetRefs: replaces BackendTrafficPolicy edge/gateway-limits on HTTPRoute shop/app: those requests lose its limits spec.rateLimit.local.rules[0] (100 per Minute by header x-api-key)",
            "help: Envoy Gateway applies only the most specific policy to a request",
        ),
        (
            "warning[GW0014 RedirectLoop]: compiler/tests/data/guide-mistakes.yaml:116: HTTPRoute edge/to-https: spec.rules[0]: redirect loop on listener http: GET http://www.example.com/ (port 80) answers 301 https://www.example.com/, then GET https://www.example.com/ (port 443) answers 301 https://www.example.com/",
            "help: attach the redirect only to the listener it leaves",
        ),
    ];
    for (warning, help) in expect {
        let at = err
            .find(warning)
            .unwrap_or_else(|| panic!("no {warning}\n{err}"));
        let next = err[at..]
            .find("\nhelp: ")
            .map(|i| at + i + 1)
            .expect("help");
        assert!(err[next..].starts_with(help), "{warning}: {}", &err[next..]);
    }
    assert_eq!(err.matches("warning[").count(), 8, "{err}");

    // --strict fails on them and writes nothing; --allow accepts the kinds named.
    let out = std::env::temp_dir().join(format!("gatewasm-strict-{}.blob", std::process::id()));
    let out = out.to_str().expect("utf-8");
    let o = gatewasm(&["compile", file, "-o", out, "--strict"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error: --strict: 8 warnings (GW0001 BackendNotFound ×1, GW0002 RefNotPermitted ×2, GW0005 NotAllowedByListeners ×1, GW0007 UnattachedListener ×1, GW0011 PolicyTargetNotFound ×1, GW0012 PolicyOverridden ×1, GW0014 RedirectLoop ×1); nothing was written"), "{}", text(&o.stderr));
    assert!(!Path::new(out).exists());
    let allowed = [
        "GW0001",
        "RefNotPermitted",
        "gw0005",
        "UnattachedListener",
        "GW0011",
        "GW0012",
        "RedirectLoop",
    ]
    .map(|w| format!("--allow={w}"));
    let mut args = vec!["compile", file, "-o", out, "--strict"];
    args.extend(allowed.iter().map(String::as_str));
    let o = gatewasm(&args, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("warning["), "{}", text(&o.stderr));
    let _ = std::fs::remove_file(out);
    let o = gatewasm(&["compile", file, "-o", "-", "--allow", "GW0999"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no warning GW0999: give a code such as GW0001"));
}

#[test]
fn the_gateway_class_is_checked_against_the_input_and_the_flags() {
    let classes = "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: c}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
";
    let input = format!("{classes}{GATEWAY}");
    let warned = |args: &[&str]| {
        let mut all = vec!["compile", "-", "-o", "-"];
        all.extend(args);
        let o = gatewasm(&all, Some(&input));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        text(&o.stderr)
            .lines()
            .filter(|l| l.starts_with("warning[GW0010"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(warned(&[]), Vec::<String>::new());
    assert_eq!(
        warned(&["--controller-name", "gatewasm.dev/compiler"]),
        ["warning[GW0010 UnknownGatewayClass]: <stdin>:17: Gateway ns/gw: spec.gatewayClassName: GatewayClass c belongs to controller example.com/other, not gatewasm.dev/compiler"]
    );
    assert_eq!(
        warned(&["--gateway-class", "gatewasm"]),
        ["warning[GW0010 UnknownGatewayClass]: <stdin>:17: Gateway ns/gw: spec.gatewayClassName: gatewayClassName c is not a class this pipeline compiles (--gateway-class gatewasm)"]
    );
    let o = gatewasm(&["compile", "-", "-o", "-"], Some(GATEWAY));
    assert!(
        !text(&o.stderr).contains("GW0010"),
        "no class in the input, no flag: nothing to check"
    );
    let o = gatewasm(
        &["compile", "-", "-o", "-"],
        Some(&input.replace("name: c}", "name: d}")),
    );
    assert!(text(&o.stderr).contains("warning[GW0010 UnknownGatewayClass]: <stdin>:17: Gateway ns/gw: spec.gatewayClassName: GatewayClass c is not in the input\n"), "{}", text(&o.stderr));
}

#[test]
fn a_malformed_source_date_epoch_is_refused() {
    let o = Command::new(env!("CARGO_BIN_EXE_gatewasm"))
        .current_dir(repo())
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .args(["compile", "manifests/examples", "--emit", "configmap"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("SOURCE_DATE_EPOCH=\"yesterday\" is not a number of seconds"),
        "{}",
        text(&o.stderr)
    );
}

/// A scratch file path for this test process.
fn scratch_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gatewasm-cli-{}-{name}", std::process::id()))
}

/// Compiles `inputs` to a blob and a routes ConfigMap, recording a fixed compile time.
fn compile_deployed(inputs: &[&str], name: &str) -> (PathBuf, PathBuf) {
    let (blob, cm) = (
        scratch_file(&format!("{name}.blob")),
        scratch_file(&format!("{name}.yaml")),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_gatewasm"))
        .current_dir(repo())
        .env("SOURCE_DATE_EPOCH", "1798761600")
        .arg("compile")
        .args(inputs)
        .arg("-o")
        .arg(&blob)
        .arg(format!("--emit=configmap={}", cm.display()))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    (blob, cm)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn inspect_shows_what_a_blob_and_its_configmap_hold() {
    let (blob, cm) = compile_deployed(&["manifests/examples"], "inspect");
    let bytes = std::fs::read(&blob).expect("written");
    let sha = sha256_hex(&bytes);
    // The header's CRC-32 of the payload, which the filter's gauge reports.
    let crc = u32::from_le_bytes(bytes[12..16].try_into().expect("a header"));
    let o = gatewasm(&["inspect", blob.to_str().expect("utf-8")], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for line in [
        "carrier:   blob\n",
        "format:    blob version 2\n",
        "gateway:   edge/edge\n",
        "listeners: http (port 80, HTTP, hostname (any host))\n",
        "           https (port 443, HTTPS, hostname *.example.com)\n",
        "counts:    4 routes, 8 rules, 8 matches, 8 backends, 0 rate limit policies (0 rules), 0 authorization policies\n",
        &format!("sha256 {sha}, table crc {crc} (gatewasm_config_table_crc)\n"),
        "source:    not recorded in a bare blob",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    let o = gatewasm(&["inspect", cm.to_str().expect("utf-8")], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for line in [
        "carrier:   ConfigMap gatewasm-routes\n",
        "gateway:   edge/edge\n",
        &format!("sha256 {sha}, table crc {crc}"),
        "source:    sha256 ",
        "compiled:  2027-01-01T00:00:00Z\n",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    let o = gatewasm(
        &["inspect", "-o", "json", cm.to_str().expect("utf-8")],
        None,
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(json["gateway"], "edge/edge");
    assert_eq!(json["blobSha256"], sha.as_str());
    assert_eq!(json["listeners"][1]["port"], 443);
    assert_eq!(json["counts"]["routes"], 4);
    assert_eq!(json["compiledAt"], "2027-01-01T00:00:00Z");
    let _ = (std::fs::remove_file(blob), std::fs::remove_file(cm));
}

#[test]
fn inspect_refuses_what_is_not_a_deployed_blob() {
    let o = gatewasm(&["inspect", "manifests/examples/gateway.yaml"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(
            "manifests/examples/gateway.yaml is neither a gatewasm blob nor a routes ConfigMap"
        ),
        "{}",
        text(&o.stderr)
    );
    let (blob, cm) = compile_deployed(&["manifests/examples"], "newer");
    let mut bytes = std::fs::read(&blob).expect("written");
    let newer = gatewasm_filter::blob::FORMAT_VERSION + 1;
    bytes[4..6].copy_from_slice(&newer.to_le_bytes());
    std::fs::write(&blob, bytes).expect("writes");
    let o = gatewasm(&["inspect", blob.to_str().expect("utf-8")], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(&format!(
            "blob format version {newer} is newer than this gatewasm reads"
        )),
        "{}",
        text(&o.stderr)
    );
    let _ = (std::fs::remove_file(blob), std::fs::remove_file(cm));
}

#[test]
fn explain_blob_tells_the_same_story_as_the_manifests() {
    let (blob, cm) = compile_deployed(&["manifests/examples"], "explain");
    let url = "https://app.example.com/api/v1/orders";
    let from_manifests =
        text(&gatewasm(&["explain", "GET", url, "manifests/examples"], None).stdout);
    for deployed in [&blob, &cm] {
        let args = [
            "explain",
            "GET",
            url,
            "--blob",
            deployed.to_str().expect("utf-8"),
        ];
        let o = gatewasm(&args, None);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        // The rule is located by its route's line: the blob does not record rule lines.
        assert!(
            out.contains("winner:   HTTPRoute shop/app rule 2 (api-v1) at routes.yaml:"),
            "{out}"
        );
        let action = |s: &str| {
            s.lines()
                .skip_while(|l| !l.starts_with("action:"))
                .take(3)
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(action(&out), action(&from_manifests));
        assert!(
            out.contains("note:     explained from the blob alone"),
            "{out}"
        );
        // -o json from the blob gives the same decision as from the manifests.
        let json = |extra: &[&str]| {
            let o = gatewasm(
                &[&["explain", "GET", url, "-o", "json"], extra].concat(),
                None,
            );
            assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
            serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("JSON")["decision"]
                .clone()
        };
        let decision = json(&["--blob", deployed.to_str().expect("utf-8")]);
        assert_eq!(decision["cluster"], "shop/api-v1:8080", "{decision}");
        assert_eq!(
            decision["cluster"],
            json(&["manifests/examples"])["cluster"]
        );
    }
    let both = ["explain", "GET", url, "manifests/examples", "--blob"];
    let o = gatewasm(
        &[&both[..], &[blob.to_str().expect("utf-8")]].concat(),
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("cannot be used with"),
        "{}",
        text(&o.stderr)
    );
    let _ = (std::fs::remove_file(blob), std::fs::remove_file(cm));
}

#[test]
fn test_blob_runs_the_cases_against_a_deployed_blob() {
    let (blob, cm) = compile_deployed(&["manifests/examples"], "test");
    let o = gatewasm(
        &[
            "test",
            "--blob",
            blob.to_str().expect("utf-8"),
            "manifests/tests/example-shop.yaml",
        ],
        None,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("0 failed, 0 skipped"),
        "{}",
        text(&o.stdout)
    );
    // The same Gateway without its routes: the cases fail.
    let without_routes = [
        "manifests/examples/gateway.yaml",
        "manifests/examples/backends.yaml",
    ];
    let (other, other_cm) = compile_deployed(&without_routes, "test-other");
    let o = gatewasm(
        &[
            "test",
            "--blob",
            other.to_str().expect("utf-8"),
            "manifests/tests/example-shop.yaml",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("FAIL"), "{}", text(&o.stdout));
    for f in [blob, cm, other, other_cm] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn test_blob_counts_status_expectations_as_not_run() {
    let (blob, cm) = compile_deployed(&["manifests/examples"], "status");
    let file = scratch_file("status-test.yaml");
    let examples = repo().join("manifests/examples");
    std::fs::write(
        &file,
        format!(
            "name: StatusAndCase
manifests: [{}]
cases:
- id: 1
  request: {{gateway: edge/edge, port: 443, scheme: https, sni: app.example.com, host: app.example.com, path: /healthz}}
  expect: {{status: 200, backend: shop/health}}
expectStatus:
- {{kind: HTTPRoute, route: shop/app, parent: edge/edge, type: Accepted, status: \"True\", reason: Accepted}}
",
            examples.display()
        ),
    )
    .expect("writes");
    let args = [
        "test",
        "--blob",
        blob.to_str().expect("utf-8"),
        file.to_str().expect("utf-8"),
    ];
    let o = gatewasm(&args, None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    assert!(
        out.contains("status expectations: 0 passed, 0 failed, 1 not run"),
        "{out}"
    );
    assert!(
        out.contains("cases: 1 passed, 0 failed, 0 skipped"),
        "{out}"
    );
    assert!(
        text(&o.stderr).contains("0 cases and 1 status expectations did not run"),
        "{}",
        text(&o.stderr)
    );
    let o = gatewasm(&[&args[..], &["--allow-skip"]].concat(), None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // On its own manifests the same file checks the status too.
    let o = gatewasm(&["test", file.to_str().expect("utf-8")], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("status expectations: 1 passed, 0 failed\n"),
        "{}",
        text(&o.stdout)
    );
    for f in [blob, cm, file] {
        let _ = std::fs::remove_file(f);
    }
}

/// `compile --format json` carries each warning's code and name beside its severity.
#[test]
fn json_diagnostics_carry_the_warning_code() {
    let o = gatewasm(
        &[
            "compile",
            "compiler/tests/data/guide-mistakes.yaml",
            "-o",
            "/dev/null",
            "--format",
            "json",
        ],
        None,
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let codes: Vec<(String, String)> = doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "warning")
        .map(|d| (d["code"].to_string(), d["name"].to_string()))
        .collect();
    assert!(
        codes.contains(&("\"GW0002\"".into(), "\"RefNotPermitted\"".into())),
        "{codes:?}"
    );
    assert_eq!(codes.len(), 8, "{doc}");
}

#[test]
fn convert_writes_gateway_api_that_compiles_strictly_to_the_same_routes() {
    let dir = scratch("convert");
    let converted = dir.join("gateway-api.yaml");
    let converted_arg = converted.to_str().expect("UTF-8");
    let o = gatewasm(
        &["convert", "manifests/ingress-nginx", "-o", converted_arg],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("converted 4 Ingresses into 10 objects"),
        "{}",
        text(&o.stderr)
    );
    let yaml = std::fs::read_to_string(&converted).expect("written");
    assert!(yaml.starts_with("# Gateway API objects converted from ingress-nginx"));
    // The converted objects with the Services compile under --strict, and route as the
    // Ingresses compiled directly do.
    let explain = |url: &str, inputs: &[&str]| {
        let args = [&["explain", "GET", url][..], inputs].concat();
        let o = gatewasm(&args, None);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    let o = gatewasm(
        &[
            "compile",
            "--strict",
            converted_arg,
            "manifests/ingress-nginx/services.yaml",
            "-o",
            "/dev/null",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // From `action:` up to the limits: the answer, the rewritten path, the authorization.
    let decided = |out: &str| -> Vec<String> {
        out.lines()
            .skip_while(|l| !l.starts_with("action:"))
            .take_while(|l| !l.starts_with("limits:"))
            .map(str::to_owned)
            .collect()
    };
    for (url, expected) in [
        ("http://shop.example.com/api/orders", "answer 308"),
        (
            "http://api.example.com/v1/orders/7",
            ":path becomes /orders/7",
        ),
        (
            "http://api.example.com/admin/users",
            "Allow 10.20.0.0/16, else Deny (403)",
        ),
    ] {
        let direct = explain(url, &["manifests/ingress-nginx"]);
        let via = explain(
            url,
            &[converted_arg, "manifests/ingress-nginx/services.yaml"],
        );
        assert!(decided(&direct).join("\n").contains(expected), "{direct}");
        // The converted objects' sources are in another file; what is decided is the same.
        let strip = |lines: Vec<String>| -> Vec<String> {
            lines
                .into_iter()
                .map(|l| l.split(" at ").next().unwrap_or_default().to_owned())
                .collect()
        };
        assert_eq!(strip(decided(&direct)), strip(decided(&via)), "{url}");
    }
}

#[test]
fn convert_writes_nothing_when_an_ingress_cannot_be_converted() {
    let dir = scratch("convert-bad");
    let out = dir.join("out.yaml");
    let o = gatewasm(
        &[
            "convert",
            "manifests/ingress-nginx/ingress.yaml",
            "-o",
            out.to_str().expect("UTF-8"),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("spec.rules[0].http.paths[1].backend.service.port.name: port http of Service store/web is not in the input"),
        "{err}"
    );
    assert!(err.contains("nothing was converted"), "{err}");
    assert!(!out.exists());
}
