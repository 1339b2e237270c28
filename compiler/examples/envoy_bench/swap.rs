//! How long a new table takes to apply in a running Envoy: the new routes are written the
//! way the kubelet updates a ConfigMap volume (gatewasm's ECDS file, or Envoy's RDS file),
//! and a request for a host only the new table routes is sent until it is answered 200.

use std::time::Instant;

use gatewasm::compile::Compiled;
use gatewasm::routetest::envoy::client::Client;
use gatewasm::routetest::envoy::kubelet;
use gatewasm::routetest::envoy::process::Envoy;

use crate::configs::{table_files, Context, Deployed};
use crate::measure::{outgoing, poll, Bench};
use crate::tables::Probe;

/// The host the new table adds.
const NEW_HOST: &str = "swap.bench.example";

/// The route the new table adds to the generated manifests.
pub fn new_route() -> String {
    format!(
        "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: swapped, namespace: bench}}\n\
         spec:\n  parentRefs: [{{name: bench}}]\n  hostnames: [{NEW_HOST}]\n  rules:\n\
         \x20 - backendRefs: [{{name: svc-0, port: 8080}}]\n"
    )
}

/// Milliseconds from the swap to `new` to the first request the new table answers; `None`
/// for a configuration that routes no table. The old table's files are put back after.
///
/// # Errors
/// Envoy answered the new host before the swap, or never after it.
pub fn time(
    b: &Bench<'_>,
    cx: &Context<'_>,
    envoy: &mut Envoy,
    d: &Deployed,
    tables: (&Compiled, &Compiled),
) -> Result<Option<f64>, String> {
    let (old, new) = tables;
    let (Some(files), Some(back)) = (table_files(d, new, cx)?, table_files(d, old, cx)?) else {
        return Ok(None);
    };
    let probe = Probe {
        method: "GET".to_owned(),
        path: "/".to_owned(),
        headers: Vec::new(),
    };
    let req = outgoing(d.port, &probe, NEW_HOST);
    let mut client = Client::new();
    let before = b.rt.block_on(client.send(&req))?;
    if before.status != 404 {
        return Err(format!(
            "{NEW_HOST} was answered {} before the swap",
            before.status
        ));
    }
    let started = Instant::now();
    kubelet::update(&d.routes_dir(), &files)?;
    poll(b, envoy, &mut client, &req, 200)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    kubelet::update(&d.routes_dir(), &back)?;
    poll(b, envoy, &mut client, &req, 404)?;
    Ok(Some(ms))
}
