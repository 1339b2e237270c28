//! The `gatewasm` command line. Exit codes: 0 success, 1 the check failed (a route test, a
//! `--strict` compile with routes not fully accepted), 2 the input or the invocation is wrong.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::LazyLock;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use gatewasm::cli;
use gatewasm::emit::{EmitTarget, ListenPort, RateLimitService, RateLimitSetting};
use gatewasm::explain::ExplainRequest;
use gatewasm::resolve::{ClusterTemplate, Options};
use gatewasm::validate::RegexLimits;
use gatewasm::warning::Warning;
use gatewasm_filter::blob::FORMAT_VERSION;

/// `--version`: what a bug report needs, the release, the commit (from `build.rs`) and the
/// blob format this compiler writes (the filter refuses other formats).
static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (commit {}, blob format {FORMAT_VERSION})",
        env!("CARGO_PKG_VERSION"),
        env!("GATEWASM_COMMIT")
    )
});

#[derive(Parser)]
#[command(
    name = "gatewasm",
    version = VERSION.as_str(),
    about = "Compile Kubernetes Gateway API routes into a blob for the gatewasm proxy-wasm filter"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile manifests into a route blob.
    Compile {
        #[command(flatten)]
        input: Input,
        /// Where to write the blob (`-` for standard output).
        #[arg(short, long, value_name = "FILE", required_unless_present = "emit")]
        output: Option<PathBuf>,
        /// Also write a deployment document (repeatable): blob, envoy (bootstrap), configmap
        /// (ECDS), envoy-gateway (EnvoyExtensionPolicy), istio (WasmPlugin) or
        /// ratelimit-config; to PATH, or standard output without `=PATH`.
        #[arg(long, value_name = "KIND[=PATH]")]
        emit: Vec<EmitTarget>,
        /// The filter .wasm: shipped by `--emit configmap`, pinned by sha256 in the policies.
        #[arg(long, value_name = "PATH")]
        wasm: Option<PathBuf>,
        /// Envoy's rate limit service (gRPC), which Global rate limits call: a cluster in
        /// `--emit envoy` and its name in the plugin configuration.
        #[arg(long, value_name = "HOST:PORT")]
        ratelimit_service: Option<String>,
        /// How long one call to the rate limit service may take, in milliseconds (default 100).
        #[arg(long, value_name = "MS", requires = "ratelimit_service")]
        ratelimit_timeout: Option<u64>,
        /// Answer 500 when the rate limit service fails or times out, instead of admitting
        /// the request (Envoy Gateway's default is to admit).
        #[arg(long, requires = "ratelimit_service")]
        ratelimit_fail_closed: bool,
        /// Emit without a rate limit service although the Gateway has Global limits: the
        /// filter then admits every request they would count.
        #[arg(long, conflicts_with = "ratelimit_service")]
        ratelimit_fail_open: bool,
        /// Envoy listens on ENVOY_PORT for the Gateway's GATEWAY_PORT listeners (repeatable),
        /// e.g. `443=8443`: the bootstrap binds it, and the plugin configuration maps it back
        /// for Envoys whose listeners gatewasm did not write. `--emit envoy-gateway` assumes
        /// Envoy Gateway's own mapping (ports under 1024 plus 10000) unless given.
        #[arg(long, value_name = "GATEWAY_PORT=ENVOY_PORT")]
        listen_port: Vec<ListenPort>,
        /// Fail (exit 1), writing nothing, on any warning (`--strict`, the same as
        /// `--strict=warnings`), or only when a route is not fully accepted
        /// (`--strict=accepted`).
        #[arg(long, value_enum, value_name = "WHAT", num_args = 0..=1, require_equals = true, default_missing_value = "warnings")]
        strict: Option<cli::Strict>,
        /// Silence a warning, by code or name (repeatable): `--allow GW0007`,
        /// `--allow UnattachedListener`. Allowed warnings are not printed and do not fail
        /// `--strict`. docs/warnings.md lists them.
        #[arg(long, value_name = "CODE", value_parser = parse_warning)]
        allow: Vec<Warning>,
        /// `json`: the summary and every diagnostic as one JSON document on standard output
        /// (so not with `-o -`).
        #[arg(long, value_enum, default_value_t = Shown::Text)]
        format: Shown,
    },
    /// Print the status a Gateway API controller would write.
    Status {
        #[command(flatten)]
        input: Input,
        /// Output format.
        #[arg(short = 'o', long, visible_alias = "format", value_enum, default_value_t = Format::Yaml)]
        output: Format,
    },
    /// Run route-test files (the conformance corpus format).
    Test(TestArgs),
    /// Explain what happens to one request: listener, winning rule, losing candidates.
    Explain {
        #[command(flatten)]
        request: ExplainRequest,
        #[command(flatten)]
        input: InputOrBlob,
        /// `json`: the listener, the candidates that lost, the decision and the rate limits
        /// as one JSON document.
        #[arg(short = 'o', long, visible_alias = "format", value_enum, default_value_t = Shown::Text)]
        output: Shown,
    },
    /// Convert ingress-nginx Ingresses into the Gateway API objects that route the same way
    /// (what `compile` does with them), as YAML.
    Convert {
        /// Manifest files, folders (searched for *.yaml, *.yml) or `-` for standard input.
        #[arg(required = true, value_name = "FILE|DIR|-")]
        paths: Vec<PathBuf>,
        /// Where to write the YAML (default: standard output).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Leave out files of the folders given whose path below the folder, or whose name,
        /// matches GLOB (repeatable).
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
    },
    /// Show what a deployed blob holds: format version, Gateway, listeners, counts, hashes and
    /// compile time.
    Inspect {
        /// A blob (`compile -o`), a routes ConfigMap (`--emit configmap`) or the ECDS file
        /// inside it.
        #[arg(value_name = "BLOB|CONFIGMAP")]
        file: PathBuf,
        /// Output format (default: text for reading).
        #[arg(short = 'o', long, value_enum)]
        output: Option<Format>,
    },
    /// Print a shell completion script, e.g. `gatewasm completions bash`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `gatewasm man > gatewasm.1`.
    Man,
}

/// `gatewasm test`.
#[derive(Args)]
struct TestArgs {
    /// Route-test files or folders of them.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Run the cases through this filter `.wasm` in the wasmtime host instead of the
    /// native engine (with `--envoy`: the module Envoy loads).
    #[arg(long, value_name = "PATH")]
    wasm: Option<PathBuf>,
    /// Send every case as real traffic through Envoy running the emitted bootstrap and
    /// ConfigMap files: the `envoy` on PATH, or `--envoy=PATH`. Needs `--wasm`.
    #[arg(long, value_name = "PATH", num_args = 0..=1, require_equals = true, default_missing_value = "envoy")]
    envoy: Option<PathBuf>,
    /// With `--envoy`: run the filter as one attached to an Envoy gatewasm did not
    /// configure: listeners without gatewasm's metadata, bound to other ports than the
    /// Gateway's, which the plugin configuration's `listenPorts` maps back.
    #[arg(long, requires = "envoy")]
    attached: bool,
    /// With `--envoy`: route with Envoy's own router on the `--emit envoy-routes` tables
    /// instead of the filter, to see where Envoy's router and the engine disagree.
    #[arg(long, requires = "envoy", conflicts_with = "attached")]
    native_routes: bool,
    /// Replace each file's Ingresses by the Gateway API objects `gatewasm convert` prints
    /// for them, read back from that text, so the cases check the conversion a user would
    /// apply (a file without Ingresses of an ingress-nginx class fails).
    #[arg(long, conflicts_with = "blob")]
    converted: bool,
    /// Print every case and what happened to it.
    #[arg(short, long)]
    verbose: bool,
    /// Files run at once (default: one per CPU; one with --ratelimit-service, whose
    /// counters the files share).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// The rate limit service (envoy.service.ratelimit.v3, plain-text gRPC) that cases
    /// with Global rate limits call (with `--envoy`, Envoy's rate limit cluster points
    /// at it). Without it they call one in this process that counts the same way
    /// (through Envoy, over gRPC on a loopback port).
    #[arg(long, value_name = "HOST:PORT")]
    ratelimit_service: Option<String>,
    /// Succeed even when some cases did not run (without it, a skipped case fails the
    /// run: a test that tested nothing must not pass).
    #[arg(long)]
    allow_skip: bool,
    /// Run the cases against this deployed blob, routes ConfigMap or ECDS file instead of
    /// compiling the files' objects; status expectations and phases are not run.
    #[arg(long, value_name = "BLOB|CONFIGMAP")]
    blob: Option<PathBuf>,
    /// Also write the results as JUnit XML to FILE, for CI systems to show.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// `json`: every file's and case's outcome and the totals as one JSON document.
    #[arg(short = 'o', long, visible_alias = "format", value_enum, default_value_t = Shown::Text)]
    output: Shown,
    /// Leave out files of the folders given that match GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    #[command(flatten)]
    refs: Refs,
}

impl TestArgs {
    fn run(self) -> cli::Report {
        let TestArgs {
            paths,
            wasm,
            envoy,
            verbose,
            jobs,
            ratelimit_service,
            attached,
            native_routes,
            converted,
            allow_skip,
            blob,
            junit,
            output,
            exclude,
            refs,
        } = self;
        cli::test(
            &cli::Inputs { paths, exclude },
            cli::TestRun {
                wasm,
                envoy,
                verbose,
                ratelimit_service,
                jobs,
                attached,
                native_routes,
                converted,
                allow_skip,
                blob,
                junit,
                json: matches!(output, Shown::Json),
            },
            refs.options(None),
        )
    }
}

/// The manifests, or instead a deployed blob (`--blob`).
#[derive(Args)]
struct InputOrBlob {
    /// Manifest files, folders (searched for *.yaml, *.yml) or `-` for standard input.
    #[arg(required_unless_present = "blob", value_name = "FILE|DIR|-")]
    paths: Vec<PathBuf>,
    /// Use this deployed blob, routes ConfigMap or ECDS file instead of manifests.
    #[arg(long, value_name = "BLOB|CONFIGMAP", conflicts_with = "paths")]
    blob: Option<PathBuf>,
    /// The Gateway to compile, `NAMESPACE/NAME`; needed when the input has several.
    #[arg(long, value_name = "NAMESPACE/NAME", conflicts_with = "blob")]
    gateway: Option<String>,
    /// Leave out files of the folders given whose path below the folder, or whose name,
    /// matches GLOB (repeatable).
    #[arg(long, value_name = "GLOB", conflicts_with = "blob")]
    exclude: Vec<String>,
    #[command(flatten)]
    refs: Refs,
}

#[derive(Args)]
struct Input {
    /// Manifest files, folders (searched for *.yaml, *.yml) or `-` for standard input.
    #[arg(required = true, value_name = "FILE|DIR|-")]
    paths: Vec<PathBuf>,
    /// The Gateway to compile, `NAMESPACE/NAME`; needed when the input has several.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    gateway: Option<String>,
    /// Leave out files of the folders given whose path below the folder, or whose name,
    /// matches GLOB (repeatable), e.g. `--exclude 'tests/*' --exclude '*.schema.yaml'`.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    #[command(flatten)]
    refs: Refs,
}

#[derive(Args, Clone)]
struct Refs {
    /// Treat backend Services as existing although the input holds none.
    #[arg(long)]
    assume_backends: bool,
    /// A TLS Secret that exists although it is not in the input (repeatable). Once any is
    /// named, listener certificates are checked against this list.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    assume_secret: Vec<String>,
    /// Envoy cluster names: a template over {namespace}, {name}, {port}, or `istio`.
    #[arg(long, value_name = "TEMPLATE", default_value = ClusterTemplate::DEFAULT)]
    cluster_name: String,
    /// Refuse regular expressions whose program is larger than this (instructions, as
    /// RE2 counts them; Envoy's default limit is 100).
    #[arg(long, value_name = "SIZE", default_value_t = RegexLimits::default().max_size)]
    regex_max_size: u32,
    /// Warn about regular expressions whose program is larger than this.
    #[arg(long, value_name = "SIZE", default_value_t = RegexLimits::default().warn_size)]
    regex_warn_size: u32,
    /// The GatewayClass this pipeline compiles (repeatable): a Gateway of another class
    /// gets warning GW0010 UnknownGatewayClass.
    #[arg(long, value_name = "NAME")]
    gateway_class: Vec<String>,
    /// The controller name the Gateway's GatewayClass must carry, when the input holds it.
    #[arg(long, value_name = "NAME")]
    controller_name: Option<String>,
}

impl Input {
    fn options(&self) -> Options {
        self.refs.options(self.gateway.clone())
    }

    fn inputs(&self) -> cli::Inputs {
        cli::Inputs {
            paths: self.paths.clone(),
            exclude: self.exclude.clone(),
        }
    }
}

impl Refs {
    fn options(&self, gateway: Option<String>) -> Options {
        let template = match self.cluster_name.as_str() {
            "istio" => ClusterTemplate::ISTIO.to_owned(),
            t => t.to_owned(),
        };
        Options {
            gateway,
            assume_backends: self.assume_backends,
            cluster_template: ClusterTemplate(template),
            assume_secrets: self.assume_secret.clone(),
            regex_limits: RegexLimits {
                max_size: self.regex_max_size,
                warn_size: self.regex_warn_size,
            },
            gateway_classes: self.gateway_class.clone(),
            controller_name: self.controller_name.clone(),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

impl Format {
    fn structured(self) -> cli::Structured {
        match self {
            Format::Yaml => cli::Structured::Yaml,
            Format::Json => cli::Structured::Json,
        }
    }
}

/// How `compile`, `test` and `explain` show their results.
#[derive(Clone, Copy, ValueEnum)]
enum Shown {
    /// For people: text on standard output, diagnostics on standard error.
    Text,
    /// For programs: one JSON document on standard output.
    Json,
}

fn main() -> ExitCode {
    let report = run(Cli::parse().command);
    let mut err = std::io::stderr().lock();
    cli::print(&report, &mut err);
    let _ = err.flush();
    ExitCode::from(report.code)
}

fn run(command: Command) -> cli::Report {
    match command {
        Command::Compile {
            input,
            output,
            emit,
            wasm,
            ratelimit_service,
            ratelimit_timeout,
            ratelimit_fail_closed,
            ratelimit_fail_open,
            listen_port,
            strict,
            allow,
            format,
        } => {
            let emit = cli::Emit {
                targets: emit,
                wasm,
                rate_limit: rate_limit_setting(
                    ratelimit_service,
                    ratelimit_timeout,
                    ratelimit_fail_closed,
                    ratelimit_fail_open,
                ),
                listen_ports: listen_port,
            };
            cli::compile(
                &input.inputs(),
                &input.options(),
                output.as_deref(),
                &emit,
                cli::Checks { strict, allow },
                matches!(format, Shown::Json),
            )
        }
        Command::Status { input, output } => cli::status(
            &input.inputs(),
            &input.options(),
            matches!(output, Format::Json),
        ),
        Command::Test(test) => test.run(),
        Command::Explain {
            request,
            input,
            output,
        } => explain(input, request, output),
        Command::Convert {
            paths,
            output,
            exclude,
        } => cli::convert(&cli::Inputs { paths, exclude }, output.as_deref()),
        Command::Inspect { file, output } => cli::inspect(&file, output.map(Format::structured)),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "gatewasm", &mut script);
            cli::generated(Ok(script))
        }
        Command::Man => {
            let mut page = Vec::new();
            let rendered = clap_mangen::Man::new(Cli::command()).render(&mut page);
            cli::generated(rendered.map(|()| page))
        }
    }
}

/// `explain` against the manifests, or against a deployed blob with `--blob`.
fn explain(input: InputOrBlob, request: ExplainRequest, output: Shown) -> cli::Report {
    let options = input.refs.options(input.gateway);
    let inputs = cli::Inputs {
        paths: input.paths,
        exclude: input.exclude,
    };
    let source = match &input.blob {
        Some(blob) => cli::ExplainSource::Blob(blob),
        None => cli::ExplainSource::Manifests(&inputs),
    };
    cli::explain(source, &options, &request, matches!(output, Shown::Json))
}

/// A warning code or name, for `--allow`.
fn parse_warning(text: &str) -> Result<Warning, String> {
    Warning::parse(text).ok_or_else(|| {
        format!("no warning {text}: give a code such as GW0001 or a name such as BackendNotFound (docs/warnings.md lists them)")
    })
}

/// What the `--ratelimit-*` flags of `compile` ask for.
fn rate_limit_setting(
    service: Option<String>,
    timeout_ms: Option<u64>,
    fail_closed: bool,
    fail_open: bool,
) -> RateLimitSetting {
    match (service, fail_open) {
        (Some(address), _) => RateLimitSetting::At(RateLimitService {
            address,
            timeout_ms,
            fail_closed,
        }),
        (None, true) => RateLimitSetting::FailOpen,
        (None, false) => RateLimitSetting::Missing,
    }
}
