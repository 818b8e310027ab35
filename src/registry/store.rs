//! Which registry a run uses, and replacing it: `--registry FILE` for one run, else a CSV imported
//! into the user's data directory, else the embedded copy. An import is validated in full before
//! anything is written, and written atomically (temp file + rename), so a bad file changes nothing.

use std::path::{Path, PathBuf};

use super::{Registry, Source};
use crate::commands::Failure;
use crate::text::escape;

/// Fewer rows than this is not IANA's registry (which has over 13,000) but a truncated download.
pub const MIN_IMPORT_ROWS: usize = 5_000;

const FILE_NAME: &str = "service-names-port-numbers.csv";

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

fn shown(path: &Path) -> String {
    escape(&path.display().to_string()).into_owned()
}

/// The registry for this run.
pub fn load(file: Option<&Path>) -> Result<Registry, Failure> {
    if let Some(file) = file {
        let source = Source::File {
            path: file.display().to_string(),
        };
        return read_and_parse(file, source).map_err(|e| Failure::Usage(format!("--registry {e}")));
    }
    if let Some(path) = imported_path().filter(|p| p.exists()) {
        let source = Source::Imported {
            path: path.display().to_string(),
        };
        return read_and_parse(&path, source).map_err(|e| {
            Failure::Runtime(anyhow::anyhow!(
                "the imported registry is unusable: {e}; run `portscope registry import FILE` again, or `portscope registry reset`"
            ))
        });
    }
    Ok(Registry::embedded())
}

fn read_and_parse(path: &Path, source: Source) -> Result<Registry, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{}: cannot read: {}", shown(path), io_reason(&e)))?;
    Registry::from_csv(&bytes, source).map_err(|e| format!("{}: {e}", shown(path)))
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => err.to_string(),
    }
}

/// Validate `file` and store it as the registry to use from now on. Returns the parsed registry
/// and where it was stored.
pub fn import(file: &Path) -> Result<(Registry, PathBuf), Failure> {
    let dest = imported_path().ok_or_else(|| {
        Failure::Runtime(anyhow::anyhow!(
            "no data directory is known for this user: set PORTSCOPE_DATA_DIR"
        ))
    })?;
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::Usage(format!("{}: cannot read: {}", shown(file), io_reason(&e))))?;
    let source = Source::Imported {
        path: dest.display().to_string(),
    };
    let registry = Registry::from_csv(&bytes, source)
        .map_err(|e| Failure::Usage(format!("{}: {e}; nothing was imported", shown(file))))?;
    if registry.len() < MIN_IMPORT_ROWS {
        return Err(Failure::Usage(format!(
            "{}: only {} rows, IANA's registry has over 13,000: is the download truncated? nothing was imported",
            shown(file),
            registry.len()
        )));
    }
    crate::output::write_atomically(&dest, &bytes).map_err(|e| {
        Failure::Runtime(anyhow::anyhow!(
            "cannot store the registry in {}: {}",
            shown(&dest),
            io_reason(&e)
        ))
    })?;
    Ok((registry, dest))
}

/// Remove an imported registry; returns the path removed, if there was one.
pub fn reset() -> Result<Option<PathBuf>, Failure> {
    let Some(path) = imported_path().filter(|p| p.exists()) else {
        return Ok(None);
    };
    std::fs::remove_file(&path).map_err(|e| {
        Failure::Runtime(anyhow::anyhow!(
            "cannot remove {}: {}",
            shown(&path),
            io_reason(&e)
        ))
    })?;
    Ok(Some(path))
}
