//! What the page shows after a compilation, as one JSON document: the diagnostics (with the
//! line the editor highlights), a summary of the table, and the status a controller would
//! write. JSON keeps the JS side a plain `JSON.parse`, without a serde-to-JsValue layer.

use gatewasm::compile::Compiled;
use gatewasm::diag::{Diagnostic, Diagnostics, Severity};
use gatewasm_filter::blob::HEADER_LEN;
use serde_json::{json, Value};

/// `{ok, diagnostics: [...], summary: {...} | null, status: StatusReport | null}`.
pub fn render(result: &Result<Compiled, Diagnostics>) -> String {
    let doc = match result {
        Ok(c) => json!({
            "ok": true,
            "diagnostics": diagnostics(&c.diagnostics),
            "summary": summary(c),
            "status": c.status,
        }),
        Err(d) => json!({
            "ok": false,
            "diagnostics": diagnostics(d),
            "summary": Value::Null,
            "status": Value::Null,
        }),
    };
    doc.to_string()
}

fn diagnostics(d: &Diagnostics) -> Vec<Value> {
    d.iter().map(diagnostic).collect()
}

fn diagnostic(d: &Diagnostic) -> Value {
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning(_) => "warning",
        Severity::Note => "note",
    };
    json!({
        "severity": severity,
        "file": d.file,
        "line": d.line,
        "column": d.column,
        // The CLI's rendering (location, object, field, snippet with caret, help), so the page
        // and the terminal say the same thing.
        "text": d.to_string(),
    })
}

fn summary(c: &Compiled) -> Value {
    let t = &c.table;
    json!({
        "gateway": t.gateway,
        "formatVersion": t.format_version(),
        "blobBytes": c.blob.len(),
        "checksum": checksum(&c.blob),
        "listeners": t.listeners.len(),
        "routes": t.routes.len(),
        "rules": t.rules.len(),
        "matches": t.matches.len(),
        "backends": t.backends.len(),
    })
}

/// The CRC-32 of the payload that the blob's header carries, in hex: a quick way to compare
/// with a blob built elsewhere.
fn checksum(blob: &[u8]) -> Option<String> {
    let bytes: [u8; 4] = blob.get(HEADER_LEN - 4..HEADER_LEN)?.try_into().ok()?;
    Some(format!("{:08x}", u32::from_le_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatewasm::compile::compile;
    use gatewasm::load::load_str;
    use gatewasm::resolve::Options;

    fn report(text: &str) -> Value {
        let result = load_str("manifests.yaml", text).and_then(|l| compile(l, &Options::default()));
        serde_json::from_str(&render(&result)).unwrap()
    }

    #[test]
    fn a_load_error_is_reported_with_its_line() {
        let r = report("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: [\n");
        assert_eq!(r["ok"], false);
        let d = &r["diagnostics"][0];
        assert_eq!(d["severity"], "error");
        assert_eq!(d["file"], "manifests.yaml");
        assert!(d["line"].as_u64().unwrap() > 0, "{d}");
        assert!(d["text"]
            .as_str()
            .unwrap()
            .starts_with("error: manifests.yaml:"));
    }

    #[test]
    fn a_compiled_gateway_reports_summary_and_status() {
        let text = [
            "apiVersion: gateway.networking.k8s.io/v1",
            "kind: Gateway",
            "metadata: {name: gw, namespace: default}",
            "spec:",
            "  gatewayClassName: x",
            "  listeners: [{name: http, port: 80, protocol: HTTP}]",
            "---",
            "apiVersion: gateway.networking.k8s.io/v1",
            "kind: HTTPRoute",
            "metadata: {name: r, namespace: default}",
            "spec:",
            "  parentRefs: [{name: gw}]",
            "  rules: [{backendRefs: [{name: svc, port: 80}]}]",
        ]
        .join("\n");
        let r = report(&text);
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["summary"]["gateway"], "default/gw");
        assert_eq!(r["summary"]["rules"], 1);
        assert_eq!(r["status"]["routes"][0]["name"], "r");
        // The Service is missing: ResolvedRefs is False and says why.
        let conditions = &r["status"]["routes"][0]["parents"][0]["conditions"];
        assert!(
            conditions.to_string().contains("BackendNotFound"),
            "{conditions}"
        );
    }
}
