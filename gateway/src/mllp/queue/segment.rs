//! Segment files: `NNNNNNNNNNNNNNNN.seg` (a 16-digit number, increasing) in
//! the queue directory, each an append-only run of [`Record`]s. Reading one
//! at start stops at the first record that is cut or does not check out
//! (a crash during a write, a torn sector): the file is truncated there,
//! with a log line naming the file and offset, so later appends are never
//! hidden behind garbage. Files are created owner-only (0600 in a 0700
//! directory): they hold patient data.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::QueueError;
use super::record::{Bad, Record};

/// The records of one segment and its length after any truncation.
#[derive(Debug)]
pub struct Scanned {
    /// Segment number.
    pub number: u64,
    /// Path.
    pub path: PathBuf,
    /// Records in file order.
    pub records: Vec<Record>,
    /// Bytes kept.
    pub len: u64,
    /// Where a bad tail was cut off, if one was.
    pub truncated_at: Option<u64>,
}

/// The file name of segment `number`.
pub fn file_name(number: u64) -> String {
    format!("{number:016}.seg")
}

/// Creates the directory (owner-only) if needed.
pub fn create_dir(dir: &Path) -> Result<(), QueueError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(QueueError::io(dir))
}

/// Segment numbers and paths in the directory, oldest first.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, QueueError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(QueueError::io(dir))? {
        let entry = entry.map_err(QueueError::io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".seg") else {
            continue;
        };
        if stem.len() == 16 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = stem.parse() {
                out.push((n, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a segment, truncating a bad tail.
pub fn scan(number: u64, path: &Path) -> Result<Scanned, QueueError> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(QueueError::io(path))?;
    let mut records = Vec::new();
    let mut at = 0usize;
    let mut bad = None;
    while at < buf.len() {
        match Record::decode(&buf[at..]) {
            Ok((r, n)) => {
                records.push(r);
                at += n;
            }
            Err(b) => {
                bad = Some(b);
                break;
            }
        }
    }
    let truncated_at = match bad {
        None => None,
        Some(kind) => {
            tracing::warn!(
                target: "ehrgate::mllp::queue",
                file = %path.display(),
                offset = at,
                dropped_bytes = buf.len() - at,
                reason = match kind { Bad::Short => "cut record", Bad::Corrupt => "checksum or layout mismatch" },
                "queue segment has a bad tail; truncated (records after it are lost)"
            );
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(QueueError::io(path))?;
            f.set_len(at as u64).map_err(QueueError::io(path))?;
            f.sync_all().map_err(QueueError::io(path))?;
            Some(at as u64)
        }
    };
    Ok(Scanned {
        number,
        path: path.to_path_buf(),
        records,
        len: at as u64,
        truncated_at,
    })
}

/// Creates a new, empty segment for appending.
pub fn create(dir: &Path, number: u64) -> Result<(PathBuf, File), QueueError> {
    let path = dir.join(file_name(number));
    let mut o = OpenOptions::new();
    o.create_new(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(&path).map_err(QueueError::io(&path))?;
    sync_dir(dir)?;
    Ok((path, f))
}

/// Makes a file's creation or removal durable.
pub fn sync_dir(dir: &Path) -> Result<(), QueueError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(QueueError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_tail_is_cut_and_the_good_records_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(1));
        let mut buf = Vec::new();
        Record::Delivered { seq: 1, outcome: 0 }.encode(&mut buf);
        Record::Delivered { seq: 2, outcome: 0 }.encode(&mut buf);
        let good = buf.len() as u64;
        Record::Delivered { seq: 3, outcome: 0 }.encode(&mut buf);
        buf.truncate(buf.len() - 3);
        fs::write(&path, &buf).unwrap();
        let s = scan(1, &path).unwrap();
        assert_eq!(s.records.len(), 2);
        assert_eq!((s.len, s.truncated_at), (good, Some(good)));
        assert_eq!(fs::metadata(&path).unwrap().len(), good);
        assert_eq!(list(dir.path()).unwrap(), [(1, path)]);
    }
}
