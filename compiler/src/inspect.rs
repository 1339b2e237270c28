//! `gatewasm inspect`: what a deployed route table holds, read from the blob itself or from
//! the routes ConfigMap that carries it (`--emit configmap`), without the manifests it was
//! compiled from. [`read`] is also how `explain --blob` and `test --blob` load their table.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::emit::layout;
use crate::provenance;
use gatewasm_filter::blob::{self, HostPattern, RouteTable, FORMAT_VERSION, MAGIC};

/// A route table as deployed, with what its carrier records about the compile.
#[derive(Debug)]
pub struct Deployed {
    /// The blob's bytes.
    pub blob: Vec<u8>,
    /// The decoded (and validated) table.
    pub table: RouteTable,
    /// The file that held it.
    pub carrier: Carrier,
}

/// What held a blob, and what it records about the compile.
#[derive(Debug)]
pub struct Carrier {
    /// `blob`, or the ConfigMap or ECDS file that carried it.
    pub name: String,
    /// The digest of the compiled objects, when the carrier records it.
    pub source_sha256: Option<String>,
    /// The compile time, when the carrier records it.
    pub compiled_at: Option<String>,
}

/// Reads a deployed table from `path`: a blob (`compile -o`), a routes ConfigMap
/// (`--emit configmap`) or the ECDS file inside one (`gatewasm.yaml`, as mounted in Envoy).
///
/// # Errors
/// An unreadable file, one that is none of these, or a blob the filter would refuse.
pub fn read(path: &Path) -> Result<Deployed, String> {
    let name = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let (blob, carrier) = if bytes.starts_with(&MAGIC) {
        let carrier = Carrier {
            name: "blob".to_owned(),
            source_sha256: None,
            compiled_at: None,
        };
        (bytes, carrier)
    } else {
        let text = std::str::from_utf8(&bytes).map_err(|_| not_deployed(path, "binary data"))?;
        carried(text).map_err(|why| not_deployed(path, &why))?
    };
    newer_format(&blob).map_err(|e| format!("{name}: {e}"))?;
    let table = blob::decode(&blob).map_err(|e| match carrier.name.as_str() {
        "blob" => format!("{name}: invalid blob: {e}"),
        carrier => format!("{name}: the blob in the {carrier} is invalid: {e}"),
    })?;
    Ok(Deployed {
        blob,
        table,
        carrier,
    })
}

fn not_deployed(path: &Path, why: &str) -> String {
    format!(
        "{} is neither a gatewasm blob nor a routes ConfigMap ({why}); give the file of \
         `gatewasm compile -o FILE` or `--emit configmap=FILE`, or the ConfigMap's \
         {} as mounted in Envoy",
        path.display(),
        layout::ECDS_KEY
    )
}

/// A blob written by a newer gatewasm gets its own message: the file is fine, this binary is
/// old.
fn newer_format(blob: &[u8]) -> Result<(), String> {
    let Some(version) = format_version(blob) else {
        return Ok(());
    };
    if version > FORMAT_VERSION {
        return Err(format!(
            "blob format version {version} is newer than this gatewasm reads (version \
             {FORMAT_VERSION}); upgrade gatewasm"
        ));
    }
    Ok(())
}

/// The format version in a blob's header (see `gatewasm_filter::blob`).
fn format_version(blob: &[u8]) -> Option<u16> {
    match blob.get(4..6) {
        Some(&[lo, hi]) => Some(u16::from_le_bytes([lo, hi])),
        _ => None,
    }
}

/// The blob in a YAML stream, and what carried it: the first routes ConfigMap, or an ECDS
/// file.
fn carried(text: &str) -> Result<(Vec<u8>, Carrier), String> {
    for fragment in crate::yaml::split_documents(text) {
        let Ok(doc) = serde_saphyr::from_str::<Value>(&fragment.text) else {
            return Err("not YAML".to_owned());
        };
        if doc["kind"] == "ConfigMap" {
            let Some(ecds) = doc["data"][layout::ECDS_KEY].as_str() else {
                continue;
            };
            let ecds: Value = serde_saphyr::from_str(ecds)
                .map_err(|_| format!("its {} is not YAML", layout::ECDS_KEY))?;
            let annotation = |key: &str| {
                doc["metadata"]["annotations"][key]
                    .as_str()
                    .map(str::to_owned)
            };
            let carrier = Carrier {
                name: format!(
                    "ConfigMap {}",
                    doc["metadata"]["name"].as_str().unwrap_or("")
                ),
                source_sha256: annotation(layout::SOURCE_ANNOTATION),
                compiled_at: annotation(layout::COMPILED_AT_ANNOTATION),
            };
            return Ok((ecds_blob(&ecds)?, carrier));
        }
        if doc["resources"].is_array() {
            let carrier = Carrier {
                name: "ECDS file".to_owned(),
                source_sha256: None,
                compiled_at: None,
            };
            return Ok((ecds_blob(&doc)?, carrier));
        }
    }
    Err(format!("no ConfigMap with a {} key", layout::ECDS_KEY))
}

/// The blob in the gatewasm filter's configuration of an ECDS `DiscoveryResponse`.
fn ecds_blob(ecds: &Value) -> Result<Vec<u8>, String> {
    let resources = ecds["resources"].as_array().map_or(&[][..], Vec::as_slice);
    let config = resources
        .iter()
        .find(|r| r["name"] == layout::FILTER_NAME)
        .and_then(|r| r["typed_config"]["config"]["configuration"]["value"].as_str())
        .ok_or_else(|| {
            format!(
                "no {} filter configuration in its ECDS",
                layout::FILTER_NAME
            )
        })?;
    let config: Value = serde_json::from_str(config)
        .map_err(|e| format!("the filter configuration is not JSON: {e}"))?;
    let b64 = config["blob"]
        .as_str()
        .ok_or("the filter configuration has no `blob`")?;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("the filter configuration's blob is not base64: {e}"))
}

/// What `inspect` prints, in the shape `-o json` and `-o yaml` write.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// `blob`, or the ConfigMap or ECDS file that carried it.
    carrier: String,
    format_version: u16,
    gateway: String,
    listeners: Vec<ListenerSummary>,
    counts: Counts,
    blob_bytes: usize,
    blob_sha256: String,
    /// The payload's CRC-32 from the blob's header: the value of the filter's gauge
    /// `gatewasm_config_table_crc` on a pod that loaded this blob.
    table_crc: u32,
    source_sha256: Option<String>,
    compiled_at: Option<String>,
}

#[derive(Serialize)]
struct ListenerSummary {
    name: String,
    port: u16,
    protocol: &'static str,
    hostname: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Counts {
    routes: usize,
    rules: usize,
    matches: usize,
    backends: usize,
    rate_limit_policies: usize,
    rate_limit_rules: usize,
    authorization_policies: usize,
}

impl Summary {
    /// The summary of `d`.
    pub fn of(d: &Deployed) -> Summary {
        let t = &d.table;
        let policies = &t.rate_limits.policies;
        Summary {
            carrier: d.carrier.name.clone(),
            format_version: format_version(&d.blob).unwrap_or(FORMAT_VERSION),
            gateway: t.gateway.clone(),
            listeners: t
                .listeners
                .iter()
                .map(|l| ListenerSummary {
                    name: l.name.clone(),
                    port: l.port,
                    protocol: if l.tls { "HTTPS" } else { "HTTP" },
                    hostname: l.hostname.as_ref().map(|h| match h {
                        HostPattern::Exact(h) => h.clone(),
                        HostPattern::Wildcard(suffix) => format!("*{suffix}"),
                    }),
                })
                .collect(),
            counts: Counts {
                routes: t.routes.len(),
                rules: t.rules.len(),
                matches: t.matches.len(),
                backends: t.backends.len(),
                rate_limit_policies: policies.len(),
                rate_limit_rules: policies
                    .iter()
                    .map(|p| p.local.len() + p.global.len())
                    .sum(),
                authorization_policies: t.access.policies.len(),
            },
            blob_bytes: d.blob.len(),
            blob_sha256: provenance::sha256_hex(&d.blob),
            table_crc: d
                .blob
                .get(12..16)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_le_bytes),
            source_sha256: d.carrier.source_sha256.clone(),
            compiled_at: d.carrier.compiled_at.clone(),
        }
    }

    /// The summary as `inspect` prints it without `-o`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "carrier:   {}", self.carrier);
        let _ = writeln!(out, "format:    blob version {}", self.format_version);
        let _ = writeln!(out, "gateway:   {}", self.gateway);
        for (i, l) in self.listeners.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}{} (port {}, {}, hostname {})",
                if i == 0 { "listeners: " } else { "           " },
                l.name,
                l.port,
                l.protocol,
                l.hostname.as_deref().unwrap_or("(any host)")
            );
        }
        let c = &self.counts;
        let _ = writeln!(
            out,
            "counts:    {} routes, {} rules, {} matches, {} backends, {} rate limit policies ({} rules), {} authorization policies",
            c.routes, c.rules, c.matches, c.backends, c.rate_limit_policies, c.rate_limit_rules, c.authorization_policies
        );
        let _ = writeln!(
            out,
            "blob:      {} bytes, sha256 {}, table crc {} (gatewasm_config_table_crc)",
            self.blob_bytes, self.blob_sha256, self.table_crc
        );
        // A bare blob records neither: it stays the same bytes for the same objects.
        let missing = "not recorded in a bare blob (the routes ConfigMap records it)";
        let _ = writeln!(
            out,
            "source:    {}",
            self.source_sha256
                .as_deref()
                .map_or(missing.to_owned(), |s| format!("sha256 {s}"))
        );
        let _ = writeln!(
            out,
            "compiled:  {}",
            self.compiled_at.as_deref().unwrap_or(missing)
        );
        out
    }
}
