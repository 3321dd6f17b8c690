//! A project is not trusted to stay inside itself or to hold only metadata: links out of it,
//! package directories outside it, FIFOs, huge files and names no org could hold are each
//! refused, naming the path, before anything behind them is read.

use std::{fs, os::unix::fs::symlink, path::Path, process::Command};

use super::super::{
    Problem, SourceError,
    read::MAX_FILE_BYTES,
    testing::{Project, text_field},
};

/// A valid field definition outside any project, for links to point at.
fn outside_field(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.field-meta.xml"));
    fs::write(
        &path,
        format!(
            "<CustomField><fullName>{name}</fullName>{}</CustomField>",
            text_field("Outside", "10")
        ),
    )
    .expect("written");
    path
}

#[test]
fn a_linked_field_file_is_refused_even_when_it_is_a_valid_definition() {
    let outside = tempfile::tempdir().expect("a directory");
    let target = outside_field(outside.path(), "Outside__c");
    let project = Project::new();
    project.field("Order", "Code__c", &text_field("Code", "5"));
    let link = project
        .objects()
        .join("Order/fields/Outside__c.field-meta.xml");
    symlink(&target, &link).expect("linked");
    let error = project.refused(&link, &["Order.Outside__c", "symbolic link"]);
    assert!(matches!(error.problem(), Some(Problem::Link)));
}

#[test]
fn a_linked_object_folder_or_fields_folder_is_refused() {
    let outside = tempfile::tempdir().expect("a directory");
    fs::create_dir_all(outside.path().join("fields")).expect("folders");
    outside_field(&outside.path().join("fields"), "Outside__c");

    let project = Project::new();
    let link = project.objects().join("Contract");
    symlink(outside.path(), &link).expect("linked");
    let error = project.refused(&link, &["symbolic link"]);
    assert!(matches!(error, SourceError::Entry { .. }), "{error}");

    let project = Project::new();
    fs::create_dir_all(project.objects().join("Contract")).expect("folder");
    let link = project.objects().join("Contract/fields");
    symlink(outside.path().join("fields"), &link).expect("linked");
    project.refused(&link, &["symbolic link"]);
}

#[test]
fn a_link_to_a_folder_on_the_search_is_refused_and_one_to_a_file_is_left_alone() {
    let project = Project::new();
    project.field("Order", "Code__c", &text_field("Code", "5"));
    // A loop back up the tree: followed, it would find objects/ again and again.
    let link = project.root().join("force-app/main/default/loop");
    symlink("..", &link).expect("linked");
    project.refused(&link, &["symbolic link"]);
    fs::remove_file(&link).expect("removed");

    let outside = tempfile::tempdir().expect("a directory");
    let secret = outside.path().join("secret.txt");
    fs::write(&secret, "not metadata").expect("written");
    fs::create_dir_all(
        project
            .root()
            .join("force-app/main/default/staticresources"),
    )
    .expect("folder");
    symlink(
        &secret,
        project
            .root()
            .join("force-app/main/default/staticresources/logo.png"),
    )
    .expect("linked");
    let source = project.load().expect("a link to a file is never opened");
    assert!(source.field("Order", "Code__c").is_some());
}

#[test]
fn a_package_directory_outside_the_project_is_refused() {
    let outside = tempfile::tempdir().expect("a directory");
    fs::create_dir_all(outside.path().join("objects/Order/fields")).expect("folders");
    outside_field(&outside.path().join("objects/Order/fields"), "Outside__c");
    let absolute = outside.path().display().to_string();

    for path in [
        "../elsewhere",
        "force-app/../../elsewhere",
        absolute.as_str(),
    ] {
        let project = Project::new();
        let file = project.write(
            "sfdx-project.json",
            &serde_json::json!({"packageDirectories": [{"path": path}]}).to_string(),
        );
        project.refused(&file, &["not a relative path inside the project"]);
    }

    let project = Project::new();
    project.write(
        "sfdx-project.json",
        r#"{"packageDirectories": [{"path": "linked/app"}]}"#,
    );
    let link = project.root().join("linked");
    symlink(outside.path(), &link).expect("linked");
    project.refused(&link, &["symbolic link"]);
}

#[test]
fn a_fifo_or_a_folder_where_a_file_belongs_is_refused_without_blocking() {
    let project = Project::new();
    let fifo = project
        .objects()
        .join("Order/fields/Pipe__c.field-meta.xml");
    fs::create_dir_all(fifo.parent().expect("a parent")).expect("folders");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    // Opening a FIFO for reading waits for a writer: the loader must not open it at all.
    let error = project.refused(&fifo, &["Order.Pipe__c", "not a regular file"]);
    assert!(matches!(error.problem(), Some(Problem::NotAFile)));

    let project = Project::new();
    let folder = project
        .objects()
        .join("Order/fields/Folder__c.field-meta.xml");
    fs::create_dir_all(&folder).expect("folder");
    project.refused(&folder, &["Order.Folder__c", "not a regular file"]);
}

#[test]
fn a_file_larger_than_any_metadata_file_is_refused_unread() {
    let project = Project::new();
    let padding = "x".repeat(usize::try_from(MAX_FILE_BYTES).expect("fits"));
    let file = project.field(
        "Order",
        "Code__c",
        &format!(
            "<description>{padding}</description>{}",
            text_field("Code", "5")
        ),
    );
    let error = project.refused(&file, &["Order.Code__c", "larger than"]);
    assert!(matches!(error.problem(), Some(Problem::TooLarge)));

    let project = Project::new();
    let file = project.write(
        "sfdx-project.json",
        &format!(r#"{{"packageDirectories": [{{"path": "force-app"}}], "x": "{padding}"}}"#),
    );
    project.refused(&file, &["larger than"]);
}

#[test]
fn names_no_org_could_hold_are_refused_naming_the_file() {
    for name in [
        "bad-name__c",
        "9Lives__c",
        "Sp ace__c",
        "Trailing___c",
        "Ünï__c",
    ] {
        let project = Project::new();
        let file = project.field("Order", name, &text_field("Code", "5"));
        let error = project.refused(&file, &["not a valid API name"]);
        assert!(matches!(error.problem(), Some(Problem::BadName)), "{name}");
    }

    let project = Project::new();
    let folder = project.objects().join("Con-tract");
    fs::create_dir_all(&folder).expect("folder");
    let error = project.refused(&folder, &["not a valid API name"]);
    assert!(matches!(error, SourceError::Entry { .. }), "{error}");
}

#[test]
fn a_file_name_that_is_not_utf8_is_refused_not_skipped() {
    use std::{ffi::OsStr, os::unix::ffi::OsStrExt};

    let project = Project::new();
    let fields = project.objects().join("Order/fields");
    fs::create_dir_all(&fields).expect("folders");
    let file = fields.join(OsStr::from_bytes(b"Code\xff__c.field-meta.xml"));
    fs::write(
        &file,
        format!("<CustomField>{}</CustomField>", text_field("Code", "5")),
    )
    .expect("written");
    project.refused(&file, &["not a valid API name"]);
}
