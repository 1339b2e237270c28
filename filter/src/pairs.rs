//! The proxy-wasm map encoding, both ways: the pair count, every key and value length (u32
//! LE), then each key and value followed by a NUL.
//!
//! The filter reads a request's whole header map with one host call and decodes it here,
//! rather than through the SDK, whose decoder panics on a name that is not UTF-8 or on a
//! buffer shorter than its lengths claim: input from a host must be refused, not trusted.

/// `pairs` in the proxy-wasm map encoding.
pub fn encode(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    let size: usize = pairs.iter().map(|(n, v)| 10 + n.len() + v.len()).sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&len(pairs.len()));
    for (name, value) in pairs {
        out.extend_from_slice(&len(name.len()));
        out.extend_from_slice(&len(value.len()));
    }
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

/// The pairs of an encoded map, in order (a [`crate::engine::HeaderList`]). A name that is not UTF-8 cannot equal any name a
/// rule looks at, so its pair is left out.
///
/// # Errors
/// The buffer does not hold what its counts and lengths say.
pub fn decode(bytes: &[u8]) -> Result<Vec<(&str, &[u8])>, String> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        usize::try_from(u32::from_le_bytes(b.try_into().ok()?)).ok()
    };
    let malformed = || format!("malformed header map ({} bytes)", bytes.len());
    let count = word(0).ok_or_else(malformed)?;
    let mut data = count
        .checked_mul(8)
        .and_then(|n| n.checked_add(4))
        .filter(|&n| n <= bytes.len())
        .ok_or_else(malformed)?;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (name_len, value_len) = (word(4 + i * 8), word(8 + i * 8));
        let (name, rest) = field(bytes, data, name_len).ok_or_else(malformed)?;
        let (value, next) = field(bytes, rest, value_len).ok_or_else(malformed)?;
        data = next;
        if let Ok(name) = std::str::from_utf8(name) {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// The `len` bytes at `at` and the offset after their NUL.
fn field(bytes: &[u8], at: usize, len: Option<usize>) -> Option<(&[u8], usize)> {
    let end = at.checked_add(len?)?;
    let value = bytes.get(at..end)?;
    (bytes.get(end) == Some(&0)).then_some((value, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_encoded_decodes_to_the_same_pairs() {
        let pairs: [(&str, &[u8]); 3] = [(":path", b"/a"), ("x", b""), ("x", b"\xff\x00z")];
        let bytes = encode(&pairs);
        assert_eq!(decode(&bytes), Ok(pairs.to_vec()));
        assert_eq!(decode(&[]), Ok(Vec::new()));
    }

    #[test]
    fn a_buffer_that_lies_about_its_lengths_is_refused() {
        let good = encode(&[("a", b"b")]);
        for cut in 1..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut no_nul = good.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'!';
        assert!(decode(&no_nul).is_err());
        let mut huge = good;
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }

    #[test]
    fn a_name_that_is_not_utf8_is_left_out() {
        let mut bytes = encode(&[("\u{e9}", b"1"), ("ok", b"2")]);
        // Turn the two-byte é into two bytes that are not UTF-8 together.
        let at = 4 + 16;
        bytes[at] = 0xff;
        assert_eq!(decode(&bytes), Ok(vec![("ok", &b"2"[..])]));
    }
}
