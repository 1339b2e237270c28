//! Stamps the binary with the commit it was built from, for `gatewasm --version`:
//! `GATEWASM_COMMIT` is the short hash, `-dirty` when tracked files differ from it, or
//! `unknown` outside a git checkout (a crates.io install, a source tarball).

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|changes| !changes.is_empty());
    let stamp = match commit {
        Some(hash) if dirty => format!("{hash}-dirty"),
        Some(hash) => hash,
        None => "unknown".to_owned(),
    };
    println!("cargo:rustc-env=GATEWASM_COMMIT={stamp}");
    // A new commit moves HEAD or the branch it names; staging or committing rewrites the
    // index. Edits that are not staged do not rerun this script, so `-dirty` can lag
    // behind them until the next `git add` or commit.
    println!("cargo:rerun-if-changed=build.rs");
    for file in ["HEAD", "index", "packed-refs"] {
        watch(git(&["rev-parse", "--git-path", file]));
    }
    watch(
        git(&["rev-parse", "--symbolic-full-name", "HEAD"])
            .and_then(|branch| git(&["rev-parse", "--git-path", &branch])),
    );
}

/// Reruns the build script when `path` (relative to this crate) changes.
fn watch(path: Option<String>) {
    if let Some(path) = path.filter(|p| Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
}

/// The trimmed output of a successful `git` command, run in this crate's folder.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.trim().to_owned())
}
