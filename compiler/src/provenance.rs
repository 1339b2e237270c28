//! Where a compile came from: a digest of its input objects and the time it was made. Both
//! travel in the routes ConfigMap's annotations, not in the blob: the blob stays the same
//! bytes for the same objects (so its sha256 can be checked by compiling again), and a new
//! field in it would need a new format version, which every deployed filter refuses until
//! its `.wasm` is upgraded.

use sha2::{Digest, Sha256};

use crate::load::Loaded;

/// The environment variable of the reproducible-builds convention: the time to record, in
/// seconds since the Unix epoch, instead of the current time.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// Lowercase hex SHA-256 of the loaded objects: each one's `apiVersion` and every field
/// (path, node kind, scalar value), in load order, which decides precedence ties. File names,
/// comments, formatting and the order of keys do not count.
pub fn source_sha256(loaded: &Loaded) -> String {
    let mut hasher = Sha256::new();
    // Every string goes in with its length first, so no two inputs run together alike.
    let mut put = |s: &str| {
        hasher.update((s.len() as u64).to_le_bytes());
        hasher.update(s.as_bytes());
    };
    for object in &loaded.objects {
        put(&object.api_version);
        let mut fields: Vec<_> = object.source.fields.entries.iter().collect();
        fields.sort_by(|a, b| a.path.cmp(&b.path));
        put(&fields.len().to_string());
        for f in fields {
            put(&f.path);
            put(&format!("{:?}", f.kind));
            put(f.scalar.as_deref().unwrap_or("\0"));
        }
    }
    hex(&hasher.finalize())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The compile time to record, RFC 3339 in UTC: `SOURCE_DATE_EPOCH` when it is set, else now.
///
/// # Errors
/// `SOURCE_DATE_EPOCH` set to something other than a number of seconds.
pub fn compile_time() -> Result<String, String> {
    let seconds = match std::env::var(SOURCE_DATE_EPOCH) {
        Ok(value) => value.trim().parse::<u64>().map_err(|_| {
            format!("{SOURCE_DATE_EPOCH}={value:?} is not a number of seconds since 1970-01-01 (unset it to record the current time)")
        })?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    Ok(rfc3339(seconds))
}

/// `seconds` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar), on eras of
    // 400 years starting on March 1st, year 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_709_251_199, "2024-02-29T23:59:59Z"),
            (1_798_761_600, "2027-01-01T00:00:00Z"),
        ] {
            assert_eq!(rfc3339(seconds), text);
        }
    }

    #[test]
    fn source_digest_ignores_file_names_comments_and_key_order() {
        let a = crate::load::load_str(
            "a.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ns}\nspec: {ports: [{port: 80}]}\n",
        )
        .expect("loads");
        let b = crate::load::load_str(
            "other/b.yaml",
            "# a comment\nkind: Service\napiVersion: v1\nmetadata:\n  namespace: ns\n  name: web\nspec:\n  ports:\n  - port: 80\n",
        )
        .expect("loads");
        let c = crate::load::load_str(
            "a.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ns}\nspec: {ports: [{port: 81}]}\n",
        )
        .expect("loads");
        assert_eq!(source_sha256(&a), source_sha256(&b));
        assert_ne!(source_sha256(&a), source_sha256(&c));
    }
}
