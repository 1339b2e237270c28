//! The upstream every cluster of every table points at: a second Envoy that answers 200
//! itself (a direct response), pinned to the load generator's core. It is cheap per request
//! and counts what it served, so a hit is known to have been forwarded, not just answered.

use std::path::Path;

use gatewasm::routetest::envoy::client::Client;
use gatewasm::routetest::envoy::process::{free_port, Envoy, Launch};
use serde_json::json;

/// The listener's HTTP connection manager stat prefix, which names its counters.
const STAT_PREFIX: &str = "upstream";

/// The running upstream.
pub struct Upstream {
    envoy: Envoy,
    pub port: u16,
}

impl Upstream {
    /// Starts it with its files under `dir`.
    ///
    /// # Errors
    /// A file cannot be written or Envoy does not start.
    pub fn start(
        binary: &Path,
        dir: &Path,
        rt: &tokio::runtime::Runtime,
    ) -> Result<Upstream, String> {
        let port = free_port()?;
        let admin_port = free_port()?;
        let bootstrap = dir.join("upstream.json");
        std::fs::write(&bootstrap, config(port, admin_port).to_string())
            .map_err(|e| format!("cannot write {}: {e}", bootstrap.display()))?;
        let envoy = Envoy::start_live(
            &Launch {
                binary,
                bootstrap: &bootstrap,
                workdir: dir,
                admin_port,
                workers: 1,
                cpus: Some("1"),
            },
            rt,
            &mut Client::new(),
        )?;
        Ok(Upstream { envoy, port })
    }

    /// Requests answered so far.
    ///
    /// # Errors
    /// The admin interface did not answer.
    pub fn served(&self, rt: &tokio::runtime::Runtime) -> Result<u64, String> {
        let name = format!("http.{STAT_PREFIX}.downstream_rq_completed");
        self.envoy.counter(rt, &mut Client::new(), &name)
    }
}

/// A listener answering 200 with a two-byte body to anything, HTTP/1.1 or h2c.
fn config(port: u16, admin_port: u16) -> serde_json::Value {
    let socket =
        |port: u16| json!({"socket_address": {"address": "127.0.0.1", "port_value": port}});
    json!({
        "admin": {"address": socket(admin_port)},
        "static_resources": {"listeners": [{
            "name": "upstream",
            "address": socket(port),
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": STAT_PREFIX,
                    "codec_type": "AUTO",
                    "route_config": {"virtual_hosts": [{
                        "name": "all",
                        "domains": ["*"],
                        "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}],
                    }]},
                    "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                    }}],
                },
            }]}],
        }]},
    })
}
