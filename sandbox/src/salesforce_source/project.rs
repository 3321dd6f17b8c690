//! Finding the `objects/` folders of a DX project: `sfdx-project.json` lists the package
//! directories, and each holds its metadata under some path (`main/default/objects/` by
//! convention, but any depth is allowed), so each package directory is searched for folders
//! named `objects`. Hidden folders and `node_modules` are skipped: they hold tooling, never
//! metadata.

use std::{
    fs,
    path::{Path, PathBuf},
};

use serde_json::Value;

use super::error::SourceError;

/// The project file at a DX project's root.
pub(super) const PROJECT_FILE: &str = "sfdx-project.json";

/// How deep below a package directory an `objects/` folder may sit.
const MAX_DEPTH: usize = 8;

/// Every `objects/` folder of the project at `root`, in a stable order.
pub(super) fn object_folders(root: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let project_file = root.join(PROJECT_FILE);
    if !project_file.is_file() {
        return Err(SourceError::NoProject {
            dir: root.to_owned(),
        });
    }
    let text = fs::read_to_string(&project_file).map_err(|source| SourceError::Read {
        path: project_file.clone(),
        source,
    })?;
    let bad = |reason: String| SourceError::Project {
        path: project_file.clone(),
        reason,
    };
    let project: Value =
        serde_json::from_str(&text).map_err(|err| bad(format!("not valid JSON: {err}")))?;
    let packages = project
        .get("packageDirectories")
        .and_then(Value::as_array)
        .filter(|packages| !packages.is_empty())
        .ok_or_else(|| bad("no packageDirectories".to_owned()))?;

    let mut folders = Vec::new();
    for package in packages {
        let path = package
            .get("path")
            .and_then(Value::as_str)
            .filter(|path| !path.is_empty())
            .ok_or_else(|| bad("a package directory without a path".to_owned()))?;
        let dir = root.join(path);
        if !dir.is_dir() {
            return Err(bad(format!(
                "the package directory {path:?} is not a directory"
            )));
        }
        find_objects(&dir, MAX_DEPTH, &mut folders)?;
    }
    Ok(folders)
}

/// Adds every folder named `objects` at or below `dir` to `found`.
fn find_objects(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    for sub in subdirectories(dir)? {
        let name = sub
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "objects" {
            found.push(sub);
        } else if depth > 0 && !name.starts_with('.') && name != "node_modules" {
            find_objects(&sub, depth - 1, found)?;
        }
    }
    Ok(())
}

/// The folders directly inside `dir`, sorted by name.
pub(super) fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let mut found: Vec<PathBuf> = entries(dir)?
        .into_iter()
        .filter(|path| path.is_dir())
        .collect();
    found.sort();
    Ok(found)
}

/// Everything directly inside `dir`, sorted by name.
pub(super) fn entries(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let unreadable = |source| SourceError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(unreadable)? {
        found.push(entry.map_err(unreadable)?.path());
    }
    found.sort();
    Ok(found)
}
