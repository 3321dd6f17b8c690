//! Test support: a private copy of the repository's DX project that a test may change (drop a
//! field, retype one) to show the emulators follow the project, and small projects written
//! file by file.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use super::{SalesforceSource, SourceError};

/// A temporary copy of the repository's project: `sfdx-project.json` and the package
/// directories, without hidden folders or `node_modules`.
pub(crate) fn copy_of_repository() -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a temporary directory");
    copy_dir(&SalesforceSource::repository_dir(), copy.path()).expect("the project copies");
    copy
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let skipped = name.to_string_lossy().starts_with('.') || name == "node_modules";
        if skipped {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to.join(&name))?;
        } else {
            fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

/// The metadata namespace every file declares.
const NAMESPACE: &str = "http://soap.sforce.com/2006/04/metadata";

/// A DX project in a temporary directory with one package directory, `force-app`.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// An empty project: `sfdx-project.json` and an empty `objects/` folder.
    pub(crate) fn new() -> Self {
        let project = Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        project.write(
            "sfdx-project.json",
            r#"{"packageDirectories": [{"path": "force-app", "default": true}]}"#,
        );
        fs::create_dir_all(project.objects()).expect("objects/");
        project
    }

    /// The project's directory.
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Its `objects/` folder.
    pub(crate) fn objects(&self) -> PathBuf {
        self.root().join("force-app/main/default/objects")
    }

    /// Writes `text` to `relative` (folders made as needed); returns the full path.
    pub(crate) fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.root().join(relative);
        fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
        fs::write(&path, text).expect("written");
        path
    }

    /// Writes `fields/<field>.field-meta.xml` of `object` with `body` inside `<CustomField>`.
    pub(crate) fn field(&self, object: &str, field: &str, body: &str) -> PathBuf {
        self.write(
            &format!("force-app/main/default/objects/{object}/fields/{field}.field-meta.xml"),
            &format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <CustomField xmlns=\"{NAMESPACE}\">\n{body}\n</CustomField>\n"
            ),
        )
    }

    /// Writes `<object>.object-meta.xml` with `body` inside `<CustomObject>`.
    pub(crate) fn object(&self, object: &str, body: &str) -> PathBuf {
        self.write(
            &format!("force-app/main/default/objects/{object}/{object}.object-meta.xml"),
            &format!("<CustomObject xmlns=\"{NAMESPACE}\">{body}</CustomObject>"),
        )
    }
}

impl Project {
    /// Loads the project.
    pub(crate) fn load(&self) -> Result<SalesforceSource, SourceError> {
        SalesforceSource::load(self.root())
    }

    /// Loading fails; the error names `file` and, in its message, `names`.
    pub(crate) fn refused(&self, file: &Path, names: &[&str]) -> SourceError {
        let error = self.load().expect_err("the project is refused");
        let message = error.to_string();
        assert!(
            message.contains(&file.display().to_string()),
            "{message} names {}",
            file.display()
        );
        for name in names {
            assert!(message.contains(name), "{message} names {name}");
        }
        error
    }
}

/// The body of a Text field of `length` (as written, so it may be malformed).
pub(crate) fn text_field(label: &str, length: &str) -> String {
    format!("<label>{label}</label><length>{length}</length><type>Text</type>")
}
