//! Reading `translate` input: a file, every file of a directory, or stdin.

use std::io::Read;
use std::path::{Path, PathBuf};

/// One input source and its bytes.
#[derive(Debug)]
pub struct Source {
    /// `-` or the path.
    pub name: String,
    /// The content.
    pub bytes: Vec<u8>,
}

/// Why the input could not be read (a usage error: exit 2).
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct InputError {
    path: String,
    #[source]
    source: std::io::Error,
}

fn read_file(path: &Path) -> Result<Source, InputError> {
    std::fs::read(path)
        .map(|bytes| Source {
            name: path.display().to_string(),
            bytes,
        })
        .map_err(|source| InputError {
            path: path.display().to_string(),
            source,
        })
}

/// Reads `arg` (`-`, a file or a directory).
pub fn read(arg: &str) -> Result<Vec<Source>, InputError> {
    if arg == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|source| InputError {
                path: "-".into(),
                source,
            })?;
        return Ok(vec![Source {
            name: "-".into(),
            bytes,
        }]);
    }
    let path = Path::new(arg);
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|source| InputError {
            path: arg.into(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        return files.iter().map(|p| read_file(p)).collect();
    }
    Ok(vec![read_file(path)?])
}
