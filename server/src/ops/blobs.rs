//! Copying a local blob folder (`ab/cd/<hash>`, see [`crate::blob::local`]) to another folder
//! with the same layout, hashing every blob as it is copied: a blob whose bytes do not hash to
//! its name is reported and left out, never copied. Uploads in progress (`partial/`) are not
//! evidence yet and are skipped; devices resume them.

use std::{
    fs::{self, File},
    io::{Read, Write},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use super::{OpsError, io_error};

const BUFFER: usize = 256 * 1024;

/// What a blob copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobCopy {
    pub blobs: u64,
    pub bytes: u64,
    /// Files whose bytes do not hash to their name (or whose name is not a hash), not copied.
    pub corrupt: Vec<PathBuf>,
}

fn is_shard(name: &str) -> bool {
    name.len() == 2
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, OpsError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    out.sort();
    Ok(out)
}

/// Every complete blob's path under `root`, with the path relative to `root`. A missing root
/// holds no blobs.
fn complete_blobs(root: &Path) -> Result<Vec<(PathBuf, PathBuf)>, OpsError> {
    if !root.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (first, first_path) in entries(root)?.into_iter().filter(|(n, _)| is_shard(n)) {
        for (second, second_path) in entries(&first_path)?
            .into_iter()
            .filter(|(n, _)| is_shard(n))
        {
            for (name, path) in entries(&second_path)? {
                let rel = Path::new(&first).join(&second).join(&name);
                out.push((path, rel));
            }
        }
    }
    Ok(out)
}

/// True when `rel` (`ab/cd/<hash>`) names a SHA-256 that starts with its two shard folders.
fn well_named(rel: &Path) -> Option<String> {
    let name = rel.file_name()?.to_str()?;
    let shards: String = rel.parent()?.iter().filter_map(|s| s.to_str()).collect();
    (bukti_core::record::is_sha256_hex(name) && name.starts_with(&shards)).then(|| name.to_owned())
}

/// Copies `src` to `dst` through SHA-256; keeps the copy (fsynced) only when the hash is `hash`.
fn copy_one(src: &Path, dst: &Path, hash: &str) -> Result<Option<u64>, OpsError> {
    let dir = dst.parent().unwrap_or(dst);
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tmp = dst.with_extension("copying");
    let mut input = File::open(src).map_err(io_error(src))?;
    let mut output = File::create(&tmp).map_err(io_error(&tmp))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; BUFFER];
    let mut len = 0;
    loop {
        let n = input.read(&mut buf).map_err(io_error(src))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(io_error(&tmp))?;
        len += n as u64;
    }
    if hex::encode(hasher.finalize()) != hash {
        drop(output);
        fs::remove_file(&tmp).map_err(io_error(&tmp))?;
        return Ok(None);
    }
    output.sync_all().map_err(io_error(&tmp))?;
    fs::rename(&tmp, dst).map_err(io_error(dst))?;
    Ok(Some(len))
}

/// Copies every complete blob from `from` to `to`, verifying each; fsyncs the folders written.
pub fn copy_verified(from: &Path, to: &Path) -> Result<BlobCopy, OpsError> {
    let mut report = BlobCopy::default();
    let mut dirs = std::collections::BTreeSet::new();
    for (src, rel) in complete_blobs(from)? {
        let copied = match well_named(&rel) {
            Some(hash) => copy_one(&src, &to.join(&rel), &hash)?,
            None => None,
        };
        match copied {
            Some(len) => {
                report.blobs += 1;
                report.bytes += len;
                dirs.insert(to.join(&rel).parent().map(Path::to_owned));
            }
            None => {
                tracing::error!(blob = %src.display(), "bytes do not match the blob's name; not copied");
                report.corrupt.push(src);
            }
        }
    }
    // The renames are durable only once their folders are synced.
    for dir in dirs.into_iter().flatten() {
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(&dir))?;
    }
    Ok(report)
}

/// Whether `dir` is missing or holds nothing.
pub fn is_empty_dir(dir: &Path) -> Result<bool, OpsError> {
    match fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io_error(dir)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sha256_names_under_their_own_shards_are_blobs() {
        let h = "ab".repeat(32);
        assert_eq!(well_named(&Path::new("ab/ab").join(&h)), Some(h.clone()));
        assert_eq!(well_named(&Path::new("ab/cd").join(&h)), None);
        assert_eq!(well_named(Path::new("ab/ab/notes.txt")), None);
    }

    #[test]
    fn a_blob_whose_bytes_do_not_match_its_name_is_not_copied() {
        let from = tempfile::tempdir().expect("tmp");
        let to = tempfile::tempdir().expect("tmp");
        let good = hex::encode(Sha256::digest(b"foto"));
        let bad = "0".repeat(64);
        for (name, bytes) in [(&good, &b"foto"[..]), (&bad, &b"rusak"[..])] {
            let dir = from.path().join(&name[0..2]).join(&name[2..4]);
            fs::create_dir_all(&dir).expect("mkdir");
            fs::write(dir.join(name), bytes).expect("write");
        }
        fs::create_dir_all(from.path().join("partial")).expect("mkdir");
        fs::write(from.path().join("partial").join(&good), b"fo").expect("write");
        let report = copy_verified(from.path(), to.path()).expect("copy");
        assert_eq!(
            (report.blobs, report.bytes, report.corrupt.len()),
            (1, 4, 1)
        );
        let copied = to.path().join(&good[0..2]).join(&good[2..4]).join(&good);
        assert_eq!(fs::read(copied).expect("copied"), b"foto");
        assert!(!to.path().join("00/00").join(&bad).exists());
        assert!(!to.path().join("partial").exists());
    }
}
