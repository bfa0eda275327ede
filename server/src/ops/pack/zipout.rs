//! The pack's zip, written entry by entry straight to its file, each entry hashed and counted
//! as its bytes go out, for the manifest.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use bukti_core::evidence::pack::ManifestFile;
use sha2::{Digest, Sha256};
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use crate::ops::OpsError;

/// The zip being written.
pub(super) struct ZipOut {
    path: PathBuf,
    zip: ZipWriter<BufWriter<File>>,
    /// The entry being written: its path, hash so far and size.
    current: Option<(String, Sha256, u64)>,
    /// Every entry written, for the manifest (the manifest and its signature excepted).
    pub files: Vec<ManifestFile>,
    pub bytes: u64,
}

impl std::fmt::Debug for ZipOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipOut")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ZipOut {
    /// Creates `path`; an existing file is not overwritten.
    pub fn create(path: &Path) -> Result<Self, OpsError> {
        let file = File::create_new(path).map_err(|source| OpsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: path.to_owned(),
            zip: ZipWriter::new(BufWriter::with_capacity(1 << 20, file)),
            current: None,
            files: Vec::new(),
            bytes: 0,
        })
    }

    pub fn io(&self, source: std::io::Error) -> OpsError {
        OpsError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn zip_error(&self, e: zip::result::ZipError) -> OpsError {
        self.io(std::io::Error::other(e))
    }

    fn options(deflate: bool) -> SimpleFileOptions {
        SimpleFileOptions::default()
            .compression_method(if deflate {
                CompressionMethod::Deflated
            } else {
                // Photos and Automerge documents are compressed already.
                CompressionMethod::Stored
            })
            .large_file(false)
    }

    /// Starts entry `name`.
    pub fn start(&mut self, name: &str, deflate: bool) -> Result<(), OpsError> {
        self.zip
            .start_file(name, Self::options(deflate))
            .map_err(|e| self.zip_error(e))?;
        self.current = Some((name.to_owned(), Sha256::new(), 0));
        Ok(())
    }

    /// Appends to the entry started last.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), OpsError> {
        if let Some((_, hash, size)) = &mut self.current {
            hash.update(bytes);
            *size += bytes.len() as u64;
        }
        self.zip.write_all(bytes).map_err(|e| self.io(e))
    }

    /// Ends the entry started last and lists it in the manifest.
    pub fn end(&mut self) -> Result<(), OpsError> {
        if let Some((path, hash, size)) = self.current.take() {
            self.bytes += size;
            self.files.push(ManifestFile {
                path,
                sha256: hex::encode(hash.finalize()),
                size,
            });
        }
        Ok(())
    }

    /// A whole entry, listed in the manifest.
    pub fn put(&mut self, name: &str, bytes: &[u8], deflate: bool) -> Result<(), OpsError> {
        self.start(name, deflate)?;
        self.write(bytes)?;
        self.end()
    }

    /// A whole entry left out of the manifest (the manifest and its signature).
    pub fn raw(&mut self, name: &str, bytes: &[u8]) -> Result<(), OpsError> {
        self.zip
            .start_file(name, Self::options(true))
            .map_err(|e| self.zip_error(e))?;
        self.zip.write_all(bytes).map_err(|e| self.io(e))
    }

    /// Writes the central directory and flushes the file to disk.
    pub fn finish(self) -> Result<(), OpsError> {
        let path = self.path.clone();
        let io = |source| OpsError::Io {
            path: path.clone(),
            source,
        };
        let buffered = self
            .zip
            .finish()
            .map_err(|e| io(std::io::Error::other(e)))?;
        let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    }
}
