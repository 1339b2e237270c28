//! The proxy-wasm map wire format (§1.6) and an ordered, lowercase header map.
//!
//! Serialization: `u32 count`, `count × (u32 key_len, u32 value_len)`, then every key and value
//! each followed by a NUL. Parsing follows cpp-host `toPairs`: anything malformed, larger than
//! 1 MiB or with more than 1024 pairs yields an *empty* list (which, through
//! `proxy_set_header_map_pairs`, deletes every header — faithfully reproduced).

/// Largest serialized map cpp-host accepts from a guest.
const MAX_MAP_BYTES: usize = 1 << 20;
/// Most pairs cpp-host accepts from a guest.
const MAX_PAIRS: usize = 1024;

/// An ordered multimap of header entries; keys are stored lowercase as Envoy does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderMap {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl HeaderMap {
    /// An empty map.
    pub fn new() -> HeaderMap {
        HeaderMap::default()
    }

    /// Appends an entry (never replaces); the key is lowercased.
    pub fn add(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.entries
            .push((key.as_ref().to_ascii_lowercase(), value.as_ref().to_vec()));
    }

    /// Removes every entry for `key`, then appends one (current Envoy `setCopy`).
    pub fn replace(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.remove(key.as_ref());
        self.add(key, value);
    }

    /// Removes every entry for `key`; true if something was removed.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> bool {
        let key = key.as_ref().to_ascii_lowercase();
        let before = self.entries.len();
        self.entries.retain(|(k, _)| *k != key);
        before != self.entries.len()
    }

    /// The first value for `key`, as Envoy's `proxy_get_header_map_value` returns it.
    pub fn get_bytes(&self, key: impl AsRef<[u8]>) -> Option<&[u8]> {
        let key = key.as_ref().to_ascii_lowercase();
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The first value for `key` as text (lossy for non-UTF-8 bytes).
    pub fn get(&self, key: &str) -> Option<String> {
        self.get_bytes(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Every value for `key`, in order.
    pub fn get_all(&self, key: &str) -> Vec<String> {
        let key = key.to_ascii_lowercase();
        self.entries
            .iter()
            .filter(|(k, _)| k.as_slice() == key.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// True if at least one entry has this key.
    pub fn contains(&self, key: &str) -> bool {
        self.get_bytes(key).is_some()
    }

    /// Number of entries (the `num_headers` argument Envoy passes).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in map order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Entries as (key, value) strings, lossy; handy in assertions.
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    /// Envoy's `proxy_get_header_map_size`: sum of key and value lengths.
    pub fn byte_size(&self) -> usize {
        self.entries.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// Serializes in the proxy-wasm pair format; an empty map is zero bytes (Envoy's choice).
    pub fn serialize(&self) -> Vec<u8> {
        serialize_pairs(self.iter())
    }

    /// Replaces every entry with `pairs` (keys lowercased).
    pub fn set_all(&mut self, pairs: Vec<(Vec<u8>, Vec<u8>)>) {
        self.entries.clear();
        for (k, v) in pairs {
            self.add(k, v);
        }
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> FromIterator<(K, V)> for HeaderMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = HeaderMap::new();
        for (k, v) in iter {
            map.add(k, v);
        }
        map
    }
}

/// Serializes pairs; no pairs ⇒ zero bytes (returned to the guest as ptr 0 / len 0).
pub fn serialize_pairs<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Vec<u8> {
    let list: Vec<(&[u8], &[u8])> = pairs.collect();
    if list.is_empty() {
        return Vec::new();
    }
    let data: usize = list.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = Vec::with_capacity(4 + list.len() * 8 + data);
    out.extend_from_slice(&(list.len() as u32).to_le_bytes());
    for (k, v) in &list {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in &list {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

/// Parses guest-supplied pairs like cpp-host `toPairs`: malformed ⇒ empty list.
pub fn parse_pairs(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    parse_strict(data).unwrap_or_default()
}

/// The strict parse; `None` for anything cpp-host would reject.
pub fn parse_strict(data: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if data.is_empty() {
        return Some(Vec::new());
    }
    if data.len() > MAX_MAP_BYTES {
        return None;
    }
    let word = |at: usize| -> Option<usize> {
        let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(bytes) as usize)
    };
    let count = word(0)?;
    if count > MAX_PAIRS {
        return None;
    }
    let mut sizes = Vec::with_capacity(count);
    for i in 0..count {
        sizes.push((word(4 + i * 8)?, word(8 + i * 8)?));
    }
    let mut at = 4 + count * 8;
    let mut take = |len: usize| -> Option<Vec<u8>> {
        let bytes = data.get(at..at.checked_add(len)?)?.to_vec();
        if *data.get(at + len)? != 0 {
            return None;
        }
        at += len + 1;
        Some(bytes)
    };
    let mut pairs = Vec::with_capacity(count);
    for (kl, vl) in sizes {
        let k = take(kl)?;
        let v = take(vl)?;
        pairs.push((k, v));
    }
    if at != data.len() {
        return None;
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let map: HeaderMap = [(":path", "/a"), ("X-A", "b"), ("x-a", "")]
            .into_iter()
            .collect();
        let bytes = map.serialize();
        let parsed = parse_pairs(&bytes);
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1], (b"x-a".to_vec(), b"b".to_vec()));
        assert_eq!(parsed[2], (b"x-a".to_vec(), Vec::new()));
    }

    #[test]
    fn exact_layout() {
        let map: HeaderMap = [("a", "bc")].into_iter().collect();
        assert_eq!(
            map.serialize(),
            vec![1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0, b'b', b'c', 0]
        );
        assert!(HeaderMap::new().serialize().is_empty());
    }

    #[test]
    fn sdk_empty_map_is_four_zero_bytes() {
        assert_eq!(parse_strict(&[0, 0, 0, 0]), Some(Vec::new()));
    }

    #[test]
    fn malformed_inputs_become_empty() {
        let good: HeaderMap = [("a", "b")].into_iter().collect();
        let mut bytes = good.serialize();
        bytes.push(0); // trailing byte
        assert!(parse_strict(&bytes).is_none());
        let mut bytes = good.serialize();
        let last = bytes.len() - 1;
        bytes[last] = b'x'; // missing NUL
        assert!(parse_strict(&bytes).is_none());
        assert!(parse_strict(&[1, 0, 0]).is_none());
        let mut too_many = Vec::new();
        too_many.extend_from_slice(&1025u32.to_le_bytes());
        assert!(parse_strict(&too_many).is_none());
        assert!(parse_pairs(&too_many).is_empty());
    }

    #[test]
    fn replace_removes_all_then_adds() {
        let mut map: HeaderMap = [("x", "1"), ("y", "2"), ("X", "3")].into_iter().collect();
        map.replace("X", "4");
        assert_eq!(
            map.to_vec(),
            vec![("y".into(), "2".into()), ("x".into(), "4".into())]
        );
        assert_eq!(map.byte_size(), 4);
    }
}
