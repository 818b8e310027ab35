//! Which registry a run uses, and replacing it: `--registry FILE` for one run, else a CSV imported
//! into the user's data directory, else the embedded copy. An import is validated in full before
//! anything is written, and written atomically (temp file + rename), so a bad file changes nothing.
//!
//! A low layer: it has its own error type ([`StoreError`]) and knows nothing of commands, exit
//! codes or terminals. Errors hold raw text (paths, CSV fields); whoever prints them escapes them.
//! Files go through `crate::files`: reads are capped, and the data directory is walked without
//! following another user's links (root running with a user's `$HOME`).

use std::path::{Path, PathBuf};

use super::{Registry, Source};
use crate::files::{self, Place, REGISTRY_LIMIT};

/// Fewer rows than this is not IANA's registry (which has over 13,000) but a truncated download.
pub const MIN_IMPORT_ROWS: usize = 5_000;

const FILE_NAME: &str = "service-names-port-numbers.csv";
const WHAT: &str = "a registry";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `--registry FILE` names something unusable: the user can fix the command line.
    #[error("--registry {}: {problem}", .file.display())]
    BadFile { file: PathBuf, problem: String },
    /// The file is not a registry worth importing.
    #[error("{}: {problem}; nothing was imported", .file.display())]
    NotImported { file: PathBuf, problem: String },
    #[error("the imported registry is unusable: {0}; run `portscope registry import FILE` again, or `portscope registry reset`")]
    ImportedUnusable(String),
    #[error("no data directory is known for this user: set PORTSCOPE_DATA_DIR")]
    NoDataDir,
    #[error("cannot store the registry: {0}")]
    Store(files::WriteError),
    #[error("cannot remove the imported registry: {0}")]
    Remove(files::WriteError),
}

impl StoreError {
    /// Whether the user can fix it on the command line (a usage error) rather than the machine.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            StoreError::BadFile { .. } | StoreError::NotImported { .. }
        )
    }
}

/// Where an imported registry lives: `$PORTSCOPE_DATA_DIR`, else the platform's data directory
/// (`~/.local/share/portscope` on Linux).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PORTSCOPE_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::data_dir().map(|d| d.join("portscope"))
}

pub fn imported_path() -> Option<PathBuf> {
    data_dir().map(|d| d.join(FILE_NAME))
}

/// The directory that must exist before the data directory may be created below it: the parent
/// of `$PORTSCOPE_DATA_DIR` (a typo there is an error, not a new tree), else the home directory
/// (XDG: `~/.local/share` is created when missing).
fn creation_base(data_dir: &Path) -> Option<PathBuf> {
    if std::env::var_os("PORTSCOPE_DATA_DIR").is_some_and(|d| !d.is_empty()) {
        return data_dir.parent().map(Path::to_path_buf);
    }
    dirs::home_dir()
        .filter(|home| data_dir.starts_with(home))
        .or_else(|| data_dir.parent().map(Path::to_path_buf))
}

/// The registry for this run.
pub fn load(file: Option<&Path>) -> Result<Registry, StoreError> {
    if let Some(file) = file {
        let bad = |problem: String| StoreError::BadFile {
            file: file.to_path_buf(),
            problem,
        };
        let bytes =
            files::read_capped(file, REGISTRY_LIMIT, WHAT).map_err(|e| bad(e.to_string()))?;
        let source = Source::File {
            path: file.display().to_string(),
        };
        return Registry::from_csv(&bytes, source).map_err(|e| bad(e.to_string()));
    }
    let Some(path) = imported_path() else {
        return Ok(Registry::embedded());
    };
    let bytes = match files::read_data_file(&path, REGISTRY_LIMIT, WHAT) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(Registry::embedded()),
        Err(e) => return Err(StoreError::ImportedUnusable(e.to_string())),
    };
    let source = Source::Imported {
        path: path.display().to_string(),
    };
    Registry::from_csv(&bytes, source)
        .map_err(|e| StoreError::ImportedUnusable(format!("{}: {e}", path.display())))
}

/// Validate `file` and store it as the registry to use from now on. Returns the parsed registry
/// and where it was stored.
pub fn import(file: &Path) -> Result<(Registry, PathBuf), StoreError> {
    let dest = imported_path().ok_or(StoreError::NoDataDir)?;
    let not_imported = |problem: String| StoreError::NotImported {
        file: file.to_path_buf(),
        problem,
    };
    let bytes =
        files::read_capped(file, REGISTRY_LIMIT, WHAT).map_err(|e| not_imported(e.to_string()))?;
    let source = Source::Imported {
        path: dest.display().to_string(),
    };
    let registry = Registry::from_csv(&bytes, source).map_err(|e| not_imported(e.to_string()))?;
    if registry.len() < MIN_IMPORT_ROWS {
        return Err(not_imported(format!(
            "only {} rows, IANA's registry has over 13,000: is the download truncated?",
            registry.len()
        )));
    }
    let data_dir = dest.parent().unwrap_or(Path::new("."));
    if let Some(base) = creation_base(data_dir).filter(|b| !b.is_dir()) {
        return Err(StoreError::Store(files::WriteError::NoDirectory(base)));
    }
    files::write(&dest, &bytes, Place::DataDir).map_err(StoreError::Store)?;
    Ok((registry, dest))
}

/// Remove an imported registry (and temp files an interrupted import left); returns the path
/// removed, if there was one.
pub fn reset() -> Result<Option<PathBuf>, StoreError> {
    let Some(path) = imported_path() else {
        return Ok(None);
    };
    match files::remove_data_file(&path) {
        Ok(true) => Ok(Some(path)),
        Ok(false) => Ok(None),
        Err(e) => Err(StoreError::Remove(e)),
    }
}
