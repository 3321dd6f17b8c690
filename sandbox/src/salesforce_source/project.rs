//! Finding the `objects/` folders of a DX project: `sfdx-project.json` lists the package
//! directories, and each holds its metadata under some path (`main/default/objects/` by
//! convention, but any depth is allowed), so each package directory is searched for folders
//! named `objects`. Hidden folders and `node_modules` are skipped: they hold tooling, never
//! metadata.
//!
//! Nothing outside the project is read: a package directory must be a relative path inside
//! it, and no symbolic link is followed. A link where the loader would go (a folder of the
//! search, anything inside `objects/`) is refused, naming it; a link to a file elsewhere
//! (a component's asset, say) is never opened and so left alone.

use std::{
    fs,
    path::{Component, Path, PathBuf},
};

use serde_json::Value;

use super::{
    error::{Problem, SourceError},
    read::{self, Kind},
};

/// The project file at a DX project's root.
pub(super) const PROJECT_FILE: &str = "sfdx-project.json";

/// How deep below a package directory an `objects/` folder may sit.
const MAX_DEPTH: usize = 8;

/// Every `objects/` folder of the project at `root`, in a stable order.
pub(super) fn object_folders(root: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let project_file = root.join(PROJECT_FILE);
    if read::kind_of(&project_file).ok().flatten().is_none() {
        return Err(SourceError::NoProject {
            dir: root.to_owned(),
        });
    }
    let bad = |reason: String| SourceError::Project {
        path: project_file.clone(),
        reason,
    };
    let text = read::text(&project_file).map_err(|problem| bad(problem.to_string()))?;
    let project: Value =
        serde_json::from_str(&text).map_err(|err| bad(format!("not valid JSON: {err}")))?;
    let packages = project
        .get("packageDirectories")
        .and_then(Value::as_array)
        .filter(|packages| !packages.is_empty())
        .ok_or_else(|| bad("no packageDirectories".to_owned()))?;

    let mut folders = Vec::new();
    // Each package directory as its plain components, to find two that overlap.
    let mut seen: Vec<(&str, PathBuf)> = Vec::new();
    for package in packages {
        let path = package
            .get("path")
            .and_then(Value::as_str)
            .filter(|path| !path.is_empty())
            .ok_or_else(|| bad("a package directory without a path".to_owned()))?;
        let inside = Path::new(path)
            .components()
            .all(|part| matches!(part, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(bad(format!(
                "the package directory {path:?} is not a relative path inside the project"
            )));
        }
        let plain: PathBuf = Path::new(path)
            .components()
            .filter(|part| matches!(part, Component::Normal(_)))
            .collect();
        if let Some((other, _)) = seen
            .iter()
            .find(|(_, known)| known.starts_with(&plain) || plain.starts_with(known))
        {
            // The same folder read twice would report each of its fields as defined twice.
            return Err(bad(format!(
                "the package directories {other:?} and {path:?} overlap"
            )));
        }
        seen.push((path, plain));
        let dir = root.join(path);
        check_no_link_below(root, Path::new(path))?;
        if read::kind_of(&dir).ok().flatten() != Some(Kind::Dir) {
            return Err(bad(format!(
                "the package directory {path:?} is not a directory"
            )));
        }
        find_objects(&dir, MAX_DEPTH, &mut folders)?;
    }
    Ok(folders)
}

/// Refuses a symbolic link on the way from `root` down `relative` (a package directory):
/// it could lead out of the project.
fn check_no_link_below(root: &Path, relative: &Path) -> Result<(), SourceError> {
    let mut path = root.to_owned();
    for part in relative.components() {
        path.push(part);
        if read::kind_of(&path).ok().flatten() == Some(Kind::Link) {
            return Err(link(&path));
        }
    }
    Ok(())
}

/// Adds every folder named `objects` at or below `dir` to `found`.
fn find_objects(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    for (sub, kind) in entries(dir)? {
        let name = sub
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        match kind {
            // Only a link to a folder would be searched; one to a file is never opened.
            Kind::Link if sub.is_dir() => return Err(link(&sub)),
            Kind::Dir if name == "objects" => found.push(sub),
            Kind::Dir if depth > 0 => find_objects(&sub, depth - 1, found)?,
            Kind::Link | Kind::Dir | Kind::File | Kind::Other => {}
        }
    }
    Ok(())
}

/// The folders directly inside `dir`, sorted by name; a link among them is refused, and files
/// are left out.
pub(super) fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let mut found = Vec::new();
    for (path, kind) in entries(dir)? {
        match kind {
            Kind::Dir => found.push(path),
            Kind::Link => return Err(link(&path)),
            Kind::File | Kind::Other => {}
        }
    }
    Ok(found)
}

/// Everything directly inside `dir` with what it is (links not followed), sorted by name.
pub(super) fn entries(dir: &Path) -> Result<Vec<(PathBuf, Kind)>, SourceError> {
    let unreadable = |source| SourceError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let kind = read::kind_from(entry.file_type().map_err(unreadable)?);
        found.push((entry.path(), kind));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The error for a symbolic link where the loader would go.
pub(super) fn link(path: &Path) -> SourceError {
    SourceError::Entry {
        path: path.to_owned(),
        problem: Box::new(Problem::Link),
    }
}
