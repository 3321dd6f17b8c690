//! Reading a project's files without trusting them: only regular files are opened (a symbolic
//! link could lead out of the project, and a FIFO or a device would block or never end), and
//! none is read past [`MAX_FILE_BYTES`], so a stray huge file fails the load instead of
//! filling memory.

use std::{
    fs::{self, File},
    io::{self, Read},
    path::Path,
};

use super::error::Problem;

/// The largest metadata file read: real field and object definitions are a few kilobytes,
/// and even a picklist at the platform's limit of 1,000 values stays well below this.
pub(super) const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What a directory entry is, links not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link, whatever it points at.
    Link,
    /// A FIFO, socket or device.
    Other,
}

/// What `path` itself is (a link is a link), `None` when nothing is there.
pub(super) fn kind_of(path: &Path) -> io::Result<Option<Kind>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(kind_from(meta.file_type()))),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// The kind of a file type that was read without following links.
pub(super) fn kind_from(file_type: fs::FileType) -> Kind {
    if file_type.is_symlink() {
        Kind::Link
    } else if file_type.is_dir() {
        Kind::Dir
    } else if file_type.is_file() {
        Kind::File
    } else {
        Kind::Other
    }
}

/// The text of the regular file at `path`: refused when it is a link or anything but a regular
/// file, larger than [`MAX_FILE_BYTES`], or not UTF-8.
pub(super) fn text(path: &Path) -> Result<String, Problem> {
    match kind_of(path).map_err(Problem::Unreadable)? {
        Some(Kind::File) => {}
        Some(Kind::Link) => return Err(Problem::Link),
        None => {
            return Err(Problem::Unreadable(io::Error::from(
                io::ErrorKind::NotFound,
            )));
        }
        Some(Kind::Dir | Kind::Other) => return Err(Problem::NotAFile),
    }
    let file = File::open(path).map_err(Problem::Unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Problem::Unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Problem::TooLarge);
    }
    String::from_utf8(bytes).map_err(|err| {
        Problem::Unreadable(io::Error::new(io::ErrorKind::InvalidData, err.utf8_error()))
    })
}
