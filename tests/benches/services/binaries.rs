//! The release binaries under test: `ingest` and `fulfillment` in the target directory the
//! benchmark itself was built in (`cargo bench` builds with the release-derived bench profile
//! into `<target>/release`).
//!
//! `cargo bench -p bridge-tests` does not build other packages' binaries, and a nested cargo
//! build cannot run while cargo holds the target directory's lock, so the binaries are built
//! beforehand; a binary older than any source file it is built from is refused rather than
//! measured.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

/// The folders whose sources end up in each binary.
const SOURCES: &[(&str, &[&str])] = &[
    ("ingest", &["ingest/src", "runtime/src", "proto"]),
    ("fulfillment", &["fulfillment/src", "runtime/src", "proto"]),
];

/// Where the binaries are.
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    /// The `ingest` binary.
    pub(crate) ingest: PathBuf,
    /// The `fulfillment` binary.
    pub(crate) fulfillment: PathBuf,
}

impl Binaries {
    /// Finds both binaries; explains how to build them when one is missing or stale.
    pub(crate) fn locate() -> Result<Self, String> {
        let ingest = bridge_tests::workspace_binary("ingest");
        let fulfillment = bridge_tests::workspace_binary("fulfillment");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for ((_, folders), binary) in SOURCES.iter().zip([&ingest, &fulfillment]) {
            let newest_source = folders
                .iter()
                .filter_map(|folder| newest(&root.join(folder)))
                .max();
            let built = std::fs::metadata(binary)
                .and_then(|meta| meta.modified())
                .map_err(|_| instructions(binary, "is missing"))?;
            if newest_source.is_some_and(|source| source > built) {
                let problem = instructions(binary, "is older than its sources");
                if std::env::var_os("BENCH_ALLOW_STALE").is_none() {
                    return Err(format!("{problem}\n(or set BENCH_ALLOW_STALE=1)"));
                }
                eprintln!("warning: {problem}");
            }
        }
        Ok(Self {
            ingest,
            fulfillment,
        })
    }
}

fn instructions(binary: &Path, problem: &str) -> String {
    let target = binary
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.display().to_string())
        .unwrap_or_default();
    format!(
        "{} {problem}; build the release binaries into the same target directory first:\n  \
         CARGO_TARGET_DIR={target} cargo build --release -p ingest -p fulfillment",
        binary.display()
    )
}

/// The newest modification time of any file under `dir`.
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if let Ok(modified) = meta.modified() {
                newest = newest.max(Some(modified));
            }
        }
    }
    newest
}
