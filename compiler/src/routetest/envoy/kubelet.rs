//! A ConfigMap volume updated the way the kubelet updates it, so Envoy sees in a test the
//! same file events it sees in a pod: every version of the files lives in its own hidden
//! directory, `..data` is a symlink to the current one, each key is a symlink through
//! `..data`, and an update switches `..data` with one rename. Envoy's `watched_directory`
//! reacts to that rename and rereads every file it watches there, all from the new version.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// Makes `files` (key → content) the volume's contents. Returns the keys whose content
/// changed, appeared or went away; with none, nothing is switched (nor by the kubelet).
///
/// # Errors
/// A file, directory or symlink that cannot be written.
pub fn update(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<String>, String> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        format!("cannot {what} {}: {e}", path.display())
    };
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    let current = std::fs::read_link(dir.join(DATA)).ok();
    let mut changed: Vec<String> = files
        .iter()
        .filter(|(key, bytes)| {
            current.as_ref().is_none_or(|c| {
                std::fs::read(dir.join(c).join(key)).map_or(true, |old| &old != bytes)
            })
        })
        .map(|(key, _)| key.clone())
        .collect();
    if let Some(c) = &current {
        let entries = std::fs::read_dir(dir.join(c)).map_err(|e| io("read", &dir.join(c), e))?;
        changed.extend(
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| !files.iter().any(|(key, _)| key == name)),
        );
    }
    if changed.is_empty() {
        return Ok(changed);
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let version = format!("..{stamp}");
    let version_dir = dir.join(&version);
    std::fs::create_dir(&version_dir).map_err(|e| io("create", &version_dir, e))?;
    for (key, bytes) in files {
        let path = version_dir.join(key);
        std::fs::write(&path, bytes).map_err(|e| io("write", &path, e))?;
    }
    let tmp = dir.join(DATA_TMP);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&version, &tmp).map_err(|e| io("link", &tmp, e))?;
    let data = dir.join(DATA);
    std::fs::rename(&tmp, &data).map_err(|e| io("switch", &data, e))?;
    // New keys appear as links through `..data`; keys the update dropped disappear.
    for (key, _) in files {
        let link = dir.join(key);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new(DATA).join(key), &link)
                .map_err(|e| io("link", &link, e))?;
        }
    }
    let entries = std::fs::read_dir(dir).map_err(|e| io("read", dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !files.iter().any(|(key, _)| *key == name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = current {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_every_key_at_once_and_drops_old_ones() {
        let dir = std::env::temp_dir().join(format!("gatewasm-kubelet-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let v1 = vec![
            ("a.yaml".to_owned(), b"a1".to_vec()),
            ("b.yaml".to_owned(), b"b1".to_vec()),
        ];
        assert_eq!(update(&dir, &v1).unwrap(), ["a.yaml", "b.yaml"]);
        assert!(
            update(&dir, &v1).unwrap().is_empty(),
            "the same contents are not switched"
        );
        let first = std::fs::read_link(dir.join(DATA)).unwrap();
        let v2 = vec![
            ("a.yaml".to_owned(), b"a2".to_vec()),
            ("c.yaml".to_owned(), b"c2".to_vec()),
        ];
        assert_eq!(update(&dir, &v2).unwrap(), ["a.yaml", "c.yaml", "b.yaml"]);
        assert_eq!(std::fs::read(dir.join("a.yaml")).unwrap(), b"a2");
        assert_eq!(std::fs::read(dir.join("c.yaml")).unwrap(), b"c2");
        assert!(std::fs::symlink_metadata(dir.join("b.yaml")).is_err());
        assert!(!dir.join(first).exists(), "the old version is removed");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
