//! One Envoy process for a route-test state: started on the localized bootstrap, watched
//! for exits and wasm failures, asked through its admin interface which ports it bound and
//! whether traffic has settled, and killed when the driver is dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::{Client, Outgoing, Protocol};
use crate::emit::layout;

/// How long Envoy may take to compile the module and load the first configuration.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Log lines that mean the filter or its VM failed, whatever the request outcome.
const FAILURE_MARKS: [&str; 6] = [
    "Uncaught RuntimeError",
    "wasm trap",
    "Wasm VM failed",
    "Failed to load Wasm",
    "panicked at",
    "refusing configuration",
];

/// A running Envoy.
pub struct Envoy {
    child: Child,
    log: PathBuf,
    access: PathBuf,
    admin_port: u16,
    /// Envoy listener name (`gateway-<port>`) → the port it bound on loopback.
    ports: BTreeMap<String, u16>,
}

/// What to start.
pub struct Launch<'a> {
    pub binary: &'a Path,
    pub bootstrap: &'a Path,
    pub workdir: &'a Path,
    pub admin_port: u16,
    pub workers: usize,
    /// The CPUs Envoy may run on (`taskset -c`), so a benchmark keeps it off its load's.
    pub cpus: Option<&'a str>,
}

impl Envoy {
    /// Starts Envoy and waits until it is live and its listeners are bound.
    ///
    /// # Errors
    /// Envoy could not be started, exited, or did not become ready in time; the message
    /// carries the end of its log.
    pub fn start(
        launch: &Launch<'_>,
        rt: &tokio::runtime::Runtime,
        client: &mut Client,
    ) -> Result<Envoy, String> {
        let mut envoy = Envoy::start_live(launch, rt, client)?;
        // Live is not ready: the kubelet's probe asks the filter, and so does every test.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            envoy.check_alive()?;
            let failures = envoy.failures();
            if !failures.is_empty() {
                return Err(format!(
                    "Envoy could not load the filter:\n      {}",
                    failures.join("\n      ")
                ));
            }
            match envoy.readiness(rt, client) {
                Ok((200, _)) => return Ok(envoy),
                _ if Instant::now() > deadline => {
                    return Err(
                        envoy.failure("the readiness listener did not answer 200 within 60 s")
                    )
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Starts Envoy and waits only until admin says it is live and its listeners are bound,
    /// whatever became of the filter's configuration.
    ///
    /// # Errors
    /// Envoy could not be started, exited, or did not become live in time.
    pub fn start_live(
        launch: &Launch<'_>,
        rt: &tokio::runtime::Runtime,
        client: &mut Client,
    ) -> Result<Envoy, String> {
        let mut envoy = Envoy::spawn(launch)?;
        envoy.await_live(rt, client)?;
        Ok(envoy)
    }

    /// Starts Envoy without waiting for anything, for a caller that times its start-up by
    /// the traffic it answers; [`Envoy::await_live`] then learns the bound ports.
    ///
    /// # Errors
    /// Envoy could not be started.
    pub fn spawn(launch: &Launch<'_>) -> Result<Envoy, String> {
        let log = launch.workdir.join("envoy.log");
        let access = launch.workdir.join("access.log");
        let open = |p: &Path| {
            std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))
        };
        let mut command = match launch.cpus {
            // taskset execs Envoy, so the child's id stays Envoy's.
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(launch.binary);
                c
            }
            None => Command::new(launch.binary),
        };
        let child = command
            .arg("-c")
            .arg(launch.bootstrap)
            .args(["--disable-hot-restart", "--log-level", "info"])
            // The access log is checked when a file's cases are done.
            .args(["--file-flush-interval-msec", "50"])
            .args(["--concurrency", &launch.workers.max(1).to_string()])
            .stdin(Stdio::null())
            .stdout(open(&access)?)
            .stderr(open(&log)?)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", launch.binary.display()))?;
        Ok(Envoy {
            child,
            log,
            access,
            admin_port: launch.admin_port,
            ports: BTreeMap::new(),
        })
    }

    /// Waits until admin says Envoy is live, then reads which ports its listeners bound.
    ///
    /// # Errors
    /// Envoy exited, or did not become live in time.
    pub fn await_live(
        &mut self,
        rt: &tokio::runtime::Runtime,
        client: &mut Client,
    ) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.check_alive()?;
            if let Ok(r) = self.admin(rt, client, "/ready") {
                if r.0 == 200 {
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err(self.failure("Envoy did not become ready within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let (_, listeners) = self.admin(rt, client, "/listeners?format=json")?;
        self.ports = bound_ports(&listeners)
            .ok_or_else(|| self.failure("cannot read the bound ports from /listeners"))?;
        Ok(())
    }

    /// The loopback port Envoy bound for the Gateway port `port`.
    pub fn port(&self, port: u16) -> Option<u16> {
        self.ports.get(&format!("gateway-{port}")).copied()
    }

    /// Envoy's process id, for what `/proc` tells of it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Requests still on their way to or from a cluster (mirrors included).
    ///
    /// # Errors
    /// The admin interface did not answer.
    pub fn upstream_in_flight(
        &self,
        rt: &tokio::runtime::Runtime,
        client: &mut Client,
    ) -> Result<u64, String> {
        let (_, text) = self.admin(rt, client, "/stats?filter=upstream_rq_(pending_)?active$")?;
        Ok(text
            .lines()
            .filter_map(|l| l.rsplit_once(": ")?.1.trim().parse::<u64>().ok())
            .sum())
    }

    /// The value of one counter from `/stats`, 0 before Envoy defines it (`*` in `name`: the
    /// sum of those it matches).
    ///
    /// # Errors
    /// The admin interface did not answer.
    pub fn counter(
        &self,
        rt: &tokio::runtime::Runtime,
        client: &mut Client,
        name: &str,
    ) -> Result<u64, String> {
        let (_, text) = self.admin(rt, client, &format!("/stats?filter={name}"))?;
        // A `*` stands for one or more name parts (a connection manager's prefix in
        // `http.*.rds.gatewasm.update_success`); every counter it matches is summed.
        let matches = |n: &str| match name.split_once('*') {
            Some((head, tail)) => {
                n.len() > head.len() + tail.len() && n.starts_with(head) && n.ends_with(tail)
            }
            None => n == name,
        };
        Ok(text
            .lines()
            .filter_map(|l| l.split_once(": "))
            .filter(|(n, _)| matches(n))
            .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
            .sum())
    }

    /// Envoy's `/stats/prometheus`.
    ///
    /// # Errors
    /// The admin interface did not answer 200.
    pub fn prometheus(
        &self,
        rt: &tokio::runtime::Runtime,
        client: &mut Client,
    ) -> Result<String, String> {
        match self.admin(rt, client, "/stats/prometheus")? {
            (200, text) => Ok(text),
            (status, _) => Err(format!("/stats/prometheus answered {status}")),
        }
    }

    /// An admin GET: status and body.
    pub(super) fn admin(
        &self,
        rt: &tokio::runtime::Runtime,
        client: &mut Client,
        path: &str,
    ) -> Result<(u16, String), String> {
        get(rt, client, self.admin_port, path)
    }

    /// What the kubelet's readiness probe gets: status and body from the readiness listener.
    ///
    /// # Errors
    /// The listener is not bound or does not answer.
    pub fn readiness(
        &self,
        rt: &tokio::runtime::Runtime,
        client: &mut Client,
    ) -> Result<(u16, String), String> {
        let port = self
            .ports
            .get(layout::READY_LISTENER)
            .copied()
            .ok_or("Envoy has no readiness listener")?;
        get(rt, client, port, "/ready")
    }

    /// An error when Envoy has exited, with the end of its log.
    ///
    /// # Errors
    /// Envoy is no longer running.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(self.failure(&format!("Envoy exited ({status})"))),
            Err(e) => Err(self.failure(&format!("cannot watch Envoy: {e}"))),
        }
    }

    /// Lines of Envoy's log that say the filter failed (traps, refused configurations).
    pub fn failures(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| FAILURE_MARKS.iter().any(|m| l.contains(m)))
            .map(str::to_owned)
            .collect()
    }

    /// Access log lines that break what the bootstrap promises operators: every answer
    /// says why (`details`), and an answer of the filter's own is charged to no cluster.
    /// The access log line of the request with test id `id`, once Envoy has written it.
    pub fn access_entry(&self, id: &str) -> Option<serde_json::Value> {
        // Envoy writes the access log every 50 ms (--file-flush-interval-msec).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let text = std::fs::read_to_string(&self.access).unwrap_or_default();
            let found = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|e| e[super::deploy::TEST_ID_FIELD] == id);
            if found.is_some() || std::time::Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn access_log_problems(&self) -> Vec<String> {
        // Envoy writes the access log every 50 ms (--file-flush-interval-msec).
        std::thread::sleep(std::time::Duration::from_millis(150));
        let text = std::fs::read_to_string(&self.access).unwrap_or_default();
        let mut problems = Vec::new();
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
                problems.push(format!("not a JSON access log line: {line}"));
                continue;
            };
            let details = entry["details"].as_str().unwrap_or_default();
            if details.is_empty() {
                problems.push(format!("no response code details: {line}"));
            } else if details.starts_with("gatewasm_") && !entry["cluster"].is_null() {
                problems.push(format!("a filter answer charged to a cluster: {line}"));
            }
        }
        problems
    }

    /// `what`, followed by the last lines of Envoy's log.
    pub fn failure(&self, what: &str) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(20)..];
        format!(
            "{what}; the end of Envoy's log:\n      {}",
            tail.join("\n      ")
        )
    }
}

/// A plain HTTP/1.1 GET to a loopback port.
fn get(
    rt: &tokio::runtime::Runtime,
    client: &mut Client,
    port: u16,
    path: &str,
) -> Result<(u16, String), String> {
    let req = Outgoing {
        source: None,
        port,
        tls: None,
        protocol: Protocol::Http1,
        method: "GET".to_owned(),
        path: path.to_owned(),
        authority: "127.0.0.1".to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
        connection: usize::MAX,
    };
    let r = rt.block_on(client.send(&req))?;
    Ok((r.status, String::from_utf8_lossy(&r.body).into_owned()))
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gateway-<port>` → bound port, from `/listeners?format=json`.
fn bound_ports(json: &str) -> Option<BTreeMap<String, u16>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut out = BTreeMap::new();
    for l in v.get("listener_statuses")?.as_array()? {
        let name = l.get("name")?.as_str()?;
        let port = l
            .pointer("/local_address/socket_address/port_value")?
            .as_u64()?;
        out.insert(name.to_owned(), u16::try_from(port).ok()?);
    }
    Some(out)
}

/// A free loopback port, for the admin interface whose number the bootstrap must name
/// before Envoy starts (the stats listener forwards to it).
///
/// # Errors
/// No port could be bound.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bound_ports() {
        let json = r#"{"listener_statuses":[{"name":"gateway-80","local_address":{"socket_address":{"address":"127.0.0.1","port_value":40123}}},{"name":"stats","local_address":{"socket_address":{"address":"127.0.0.1","port_value":40124}}}]}"#;
        let ports = bound_ports(json).unwrap_or_default();
        assert_eq!(ports.get("gateway-80"), Some(&40123));
        assert_eq!(ports.len(), 2);
    }
}
