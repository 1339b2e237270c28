//! `proxy_get_property` attribute lookup and value encoding (§1.7, §5.4).
//!
//! Paths arrive as segments joined by NUL. Values use Envoy's `serializeValue` encoding:
//! strings raw, integers as 8 little-endian bytes, booleans as one byte, maps in the pair
//! format. Request attributes are derived from the *current* request headers, so a filter that
//! rewrote `:path` sees the rewritten value, as with Envoy's stream info.

use crate::abi::Status;
use crate::pairs::{serialize_pairs, HeaderMap};
use crate::state::HostState;

/// An attribute value before encoding.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(String),
    Bytes(Vec<u8>),
    Int(i64),
    Uint(u64),
    Bool(bool),
    Map(Vec<(Vec<u8>, Vec<u8>)>),
}

impl Value {
    /// Envoy's wire encoding of the value.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            Value::Int(i) => i.to_le_bytes().to_vec(),
            Value::Uint(u) => u.to_le_bytes().to_vec(),
            Value::Bool(b) => vec![u8::from(*b)],
            Value::Map(pairs) => {
                serialize_pairs(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
            }
        }
    }
}

/// Splits a property path into its segments.
pub fn split_path(path: &[u8]) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    path.split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Looks a property up for the active context, encoded.
pub(crate) fn get(state: &HostState, path: &[u8]) -> Result<Vec<u8>, Status> {
    let ctx = state.active_context();
    let stream = state.stream.as_ref().filter(|s| s.ctx == ctx);
    if let Some(s) = stream {
        if let Some(v) = s.properties.get(path) {
            return Ok(v.clone());
        }
    }
    if let Some(v) = state.plugin.properties.get(path) {
        return Ok(v.clone());
    }
    let segs = split_path(path);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let plugin = &state.plugin;
    let value = match segs.as_slice() {
        ["plugin_name"] => Some(Value::String(plugin.name.clone())),
        ["plugin_root_id"] => Some(Value::String(plugin.root_id.clone())),
        ["plugin_vm_id"] => Some(Value::String(plugin.vm_id.clone())),
        _ => None,
    };
    if let Some(v) = value {
        return Ok(v.encode());
    }
    // Everything below needs stream info, which root-context callbacks do not have.
    let Some(s) = stream else {
        return Err(Status::NotFound);
    };
    let headers = &s.maps[0];
    let header = |name: &str| headers.get(name).map(Value::String);
    let path_value = headers.get(":path").unwrap_or_default();
    let value = match segs.as_slice() {
        ["source", "address"] => Some(Value::String(s.conn.source.clone())),
        ["source", "port"] => port_of(&s.conn.source).map(Value::Int),
        ["destination", "address"] => Some(Value::String(s.conn.destination.clone())),
        ["destination", "port"] => port_of(&s.conn.destination).map(Value::Int),
        ["connection", "requested_server_name"] => s.conn.sni.clone().map(Value::String),
        ["connection", "mtls"] => Some(Value::Bool(false)),
        ["connection", "id"] | ["connection_id"] => Some(Value::Uint(u64::from(s.ctx))),
        ["request", "path"] => header(":path"),
        ["request", "url_path"] => Some(Value::String(
            path_value.split('?').next().unwrap_or_default().to_string(),
        )),
        ["request", "query"] => path_value
            .split_once('?')
            .map(|(_, q)| Value::String(q.to_string())),
        ["request", "host"] => header(":authority"),
        ["request", "method"] => header(":method"),
        ["request", "scheme"] => header(":scheme"),
        ["request", "protocol"] => Some(Value::String(s.conn.protocol.clone())),
        ["request", "id"] => header("x-request-id"),
        ["request", "useragent"] => header("user-agent"),
        ["request", "referer"] => header("referer"),
        ["request", "headers"] => Some(Value::Map(joined(headers))),
        ["request", "headers", name] => joined_value(headers, name).map(Value::String),
        ["response", "code"] => s.response_code.map(|c| Value::Int(i64::from(c))),
        ["response", "code_details"] => s.response_details.clone().map(Value::String),
        ["response", "headers"] if s.response_code.is_some() => {
            Some(Value::Map(joined(&s.maps[2])))
        }
        ["response", "headers", name] => joined_value(&s.maps[2], name).map(Value::String),
        [name] => s
            .filter_state
            .get(name.as_bytes())
            .cloned()
            .map(Value::Bytes),
        _ => None,
    };
    match value {
        Some(v) => Ok(v.encode()),
        None => s.filter_state.get(path).cloned().ok_or(Status::NotFound),
    }
}

fn port_of(address: &str) -> Option<i64> {
    address.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// Header map as Envoy's attribute map: duplicate values comma-joined.
fn joined(map: &HeaderMap) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (k, v) in map.iter() {
        match out.iter_mut().find(|(ok, _)| ok == k) {
            Some((_, ov)) => {
                ov.push(b',');
                ov.extend_from_slice(v);
            }
            None => out.push((k.to_vec(), v.to_vec())),
        }
    }
    out
}

fn joined_value(map: &HeaderMap, name: &str) -> Option<String> {
    let all = map.get_all(name);
    (!all.is_empty()).then(|| all.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(Value::Int(80).encode(), vec![80, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Value::Bool(true).encode(), vec![1]);
        assert_eq!(Value::String("ab".into()).encode(), b"ab".to_vec());
        let m = Value::Map(vec![(b"a".to_vec(), b"b".to_vec())]).encode();
        assert_eq!(
            m,
            vec![1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'a', 0, b'b', 0]
        );
    }

    #[test]
    fn paths() {
        assert_eq!(
            split_path(b"destination\0port"),
            vec!["destination", "port"]
        );
        assert!(split_path(b"").is_empty());
        assert_eq!(port_of("10.0.0.1:8080"), Some(8080));
        assert_eq!(port_of("[::1]:443"), Some(443));
    }

    #[test]
    fn joined_headers() {
        let map: HeaderMap = [("a", "1"), ("b", "2"), ("a", "3")].into_iter().collect();
        assert_eq!(joined_value(&map, "a").as_deref(), Some("1,3"));
        assert_eq!(joined(&map).len(), 2);
    }
}
