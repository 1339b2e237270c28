//! `--exclude GLOB`: the files left out while walking the folders given as inputs (manifest
//! folders for `compile`, `status` and `explain`; test folders for `test`).

use globset::{Glob, GlobSet, GlobSetBuilder};

/// Globs matched against a file's path below the folder given (`tests/*`) and against its
/// name (`*.schema.yaml`). `*` also matches `/`, so `tests/*` leaves out the whole folder.
#[derive(Clone, Debug, Default)]
pub struct Exclude {
    globs: GlobSet,
}

impl Exclude {
    /// The globs of every `--exclude`.
    ///
    /// # Errors
    /// A glob that does not parse, named with the reason.
    pub fn new(globs: &[String]) -> Result<Exclude, String> {
        let mut set = GlobSetBuilder::new();
        for glob in globs {
            set.add(Glob::new(glob).map_err(|e| format!("--exclude {glob:?}: {}", e.kind()))?);
        }
        let globs = set.build().map_err(|e| format!("--exclude: {e}"))?;
        Ok(Exclude { globs })
    }

    /// True when the file at `below` (`/`-separated, relative to the folder walked) is left
    /// out.
    pub fn matches(&self, below: &str) -> bool {
        let name = below.rsplit('/').next().unwrap_or(below);
        self.globs.is_match(below) || self.globs.is_match(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_path_below_the_folder_or_the_file_name() {
        let exclude = Exclude::new(&["tests/*".to_owned(), "*.schema.yaml".to_owned()]).unwrap();
        assert!(exclude.matches("tests/shop.yaml"));
        assert!(exclude.matches("tests/deep/shop.yaml"));
        assert!(exclude.matches("crds/route.schema.yaml"));
        assert!(!exclude.matches("routes/tests.yaml"));
        assert!(!exclude.matches("routes.yaml"));
        assert!(!Exclude::default().matches("a.yaml"));
        let bad = Exclude::new(&["a[".to_owned()]).unwrap_err();
        assert!(bad.starts_with("--exclude \"a[\": "), "{bad}");
    }
}
