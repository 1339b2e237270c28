//! Runs requests through the engine natively, with a small stand-in for Envoy around it:
//! the same [`gatewasm_filter::stream::Stream`] the `.wasm` runs, a header map, the
//! `cluster_header` catch-all route and an echoing backend.

use std::collections::HashMap;
use std::time::Duration;

use gatewasm_filter::config::PluginConfig;
use gatewasm_filter::engine::{Dice, Reply};
use gatewasm_filter::stream::{Host, HostError, Side, Stream, Verdict};

use super::check::Observed;
use super::driver::{Driver, SentRequest};

/// The native driver: one loaded configuration and a seeded random source.
pub struct Native {
    config: PluginConfig,
    dice: Dice,
    backends: HashMap<String, String>,
}

impl Native {
    /// A driver over a decoded configuration.
    pub fn new(config: PluginConfig, seed: u64) -> Native {
        let backends = config
            .router
            .table()
            .backends
            .iter()
            .map(|b| (b.cluster.clone(), format!("{}/{}", b.namespace, b.name)))
            .collect();
        Native {
            config,
            dice: Dice::new(seed),
            backends,
        }
    }
}

#[derive(Default)]
struct MemoryHost {
    port: u16,
    sni: Option<String>,
    request: Vec<(String, Vec<u8>)>,
    response: Vec<(String, Vec<u8>)>,
    reply: Option<Reply>,
    mirrors: Vec<(String, String)>,
}

impl MemoryHost {
    fn map(&mut self, side: Side) -> &mut Vec<(String, Vec<u8>)> {
        match side {
            Side::Request => &mut self.request,
            Side::Response => &mut self.response,
        }
    }
}

impl Host for MemoryHost {
    fn request_header(&mut self, name: &str) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self
            .request
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone()))
    }

    fn request_headers(&mut self) -> Result<Vec<(String, Vec<u8>)>, HostError> {
        Ok(self.request.clone())
    }

    fn destination_port(&mut self) -> Result<Option<u16>, HostError> {
        Ok(Some(self.port))
    }

    fn sni(&mut self) -> Result<Option<String>, HostError> {
        Ok(self.sni.clone())
    }

    fn set_header(&mut self, side: Side, name: &str, value: &[u8]) -> Result<(), HostError> {
        let map = self.map(side);
        match map.iter().position(|(n, _)| n == name) {
            Some(first) => {
                map[first].1 = value.to_vec();
                let mut i = first + 1;
                while i < map.len() {
                    if map[i].0 == name {
                        map.remove(i);
                    } else {
                        i += 1;
                    }
                }
            }
            None => map.push((name.to_owned(), value.to_vec())),
        }
        Ok(())
    }

    fn add_header(&mut self, side: Side, name: &str, value: &[u8]) -> Result<(), HostError> {
        self.map(side).push((name.to_owned(), value.to_vec()));
        Ok(())
    }

    fn remove_header(&mut self, side: Side, name: &str) -> Result<(), HostError> {
        self.map(side).retain(|(n, _)| n != name);
        Ok(())
    }

    fn send_reply(&mut self, reply: &Reply) -> Result<(), HostError> {
        self.reply = Some(reply.clone());
        Ok(())
    }

    fn dispatch_mirror(
        &mut self,
        cluster: &str,
        headers: &[(&str, &[u8])],
        _timeout: Duration,
    ) -> Result<(), HostError> {
        let path = headers
            .iter()
            .find(|(n, _)| *n == ":path")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        self.mirrors.push((cluster.to_owned(), path));
        Ok(())
    }
}

fn text(pairs: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

impl Driver for Native {
    fn send(&mut self, req: &SentRequest) -> Result<Observed, String> {
        let mut host = MemoryHost {
            port: req.port,
            sni: req.sni.clone(),
            request: req
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
                .collect(),
            ..MemoryHost::default()
        };
        let mut stream = Stream::default();
        let verdict = stream.on_request_headers(&self.config, &mut self.dice, &mut host);
        let mut seen = Observed::default();
        let grpc = req.is_grpc();
        if let (Verdict::Stop, Some(reply)) = (verdict, host.reply.take()) {
            seen.local = true;
            // Envoy turns a local reply to a gRPC call into a trailers-only 200.
            match reply.grpc_status.filter(|_| grpc) {
                Some(code) => {
                    seen.status = 200;
                    seen.grpc_status = Some(code);
                }
                None => seen.status = reply.status,
            }
            host.response = reply
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
                .collect();
        } else {
            let cluster_header = &self.config.cluster_header;
            let cluster = host
                .request
                .iter()
                .find(|(n, _)| n == cluster_header)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
            host.request.retain(|(n, _)| n != cluster_header);
            match cluster.and_then(|c| self.backends.get(&c)) {
                Some(backend) => {
                    seen.status = 200;
                    seen.grpc_status = grpc.then_some(0);
                    seen.backend = Some(backend.clone());
                    let upstream = text(&host.request);
                    let pseudo = |name: &str| {
                        upstream
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, v)| v.clone())
                    };
                    seen.backend_path = pseudo(":path");
                    seen.backend_host = pseudo(":authority");
                    seen.request_headers = upstream;
                    host.response = req
                        .upstream_response_headers
                        .iter()
                        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
                        .collect();
                }
                // Envoy's cluster_header route answers 503 when the cluster is missing.
                None => seen.status = 503,
            }
        }
        stream.on_response_headers(&self.config, &mut host);
        seen.response_headers = text(&host.response);
        seen.mirrors = host
            .mirrors
            .iter()
            .map(|(cluster, path)| {
                let backend = self
                    .backends
                    .get(cluster)
                    .cloned()
                    .unwrap_or_else(|| cluster.clone());
                (backend, path.clone())
            })
            .collect();
        Ok(seen)
    }
}
