//! A scratch file the keen_id index moves its sorted entries into once they outgrow memory:
//! read and written at offsets (no shared cursor), in regions that are only ever appended. The
//! kernel's page cache may keep it in RAM, but that memory is the kernel's to reclaim, not the
//! transform's: the transform's own memory stops growing with the number of attempts.
//!
//! The file is created in the system's temporary directory (`TMPDIR`) and removed when it is
//! dropped; on Unix it is unlinked at once, so not even a killed run leaves it behind.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
pub(crate) struct SpillFile {
    file: File,
    path: PathBuf,
    /// The end of the last region handed out: the next one starts here.
    end: u64,
}

/// A stretch of the file reserved for `capacity` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub at: u64,
    pub capacity: u64,
}

impl SpillFile {
    /// A new, empty scratch file.
    pub fn create() -> io::Result<SpillFile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "examlake-key-index-{}-{}.bin",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| named(&path, "creating", e))?;
        #[cfg(unix)]
        std::fs::remove_file(&path).map_err(|e| named(&path, "unlinking", e))?;
        Ok(SpillFile { file, path, end: 0 })
    }

    /// Where the file is (or was, on Unix, where it is unlinked at once), for messages.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Reserve a new region of `capacity` bytes at the end of the file.
    pub fn allocate(&mut self, capacity: u64) -> Region {
        let region = Region {
            at: self.end,
            capacity,
        };
        self.end += capacity;
        region
    }

    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        platform::read_exact_at(&self.file, buf, offset)
            .map_err(|e| named(&self.path, "reading", e))
    }

    pub fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        platform::write_all_at(&self.file, buf, offset).map_err(|e| named(&self.path, "writing", e))
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        #[cfg(not(unix))]
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The error with the scratch file's path and what was being done.
fn named(path: &std::path::Path, doing: &str, error: io::Error) -> io::Error {
    io::Error::new(
        error.kind(),
        format!(
            "{doing} the keen_id index's scratch file {}: {error}",
            path.display()
        ),
    )
}

#[cfg(unix)]
mod platform {
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;

    pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
        file.read_exact_at(buf, offset)
    }

    pub fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
        file.write_all_at(buf, offset)
    }
}

#[cfg(windows)]
mod platform {
    use std::fs::File;
    use std::io;
    use std::os::windows::fs::FileExt;

    pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match file.seek_read(buf, offset)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }

    pub fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match file.seek_write(buf, offset)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_follow_each_other_and_read_back_what_was_written() -> io::Result<()> {
        let mut spill = SpillFile::create()?;
        let first = spill.allocate(8);
        let second = spill.allocate(4);
        assert_eq!((first.at, second.at), (0, 8));
        spill.write_at(b"abcd", second.at)?;
        spill.write_at(b"12345678", first.at)?;
        let mut back = [0u8; 12];
        spill.read_at(&mut back, 0)?;
        assert_eq!(&back, b"12345678abcd");
        match spill.read_at(&mut [0u8; 4], 12) {
            Err(past_the_end) => assert!(
                past_the_end.to_string().contains("scratch file"),
                "{past_the_end}"
            ),
            Ok(()) => panic!("read past the end"),
        }
        #[cfg(unix)]
        assert!(!spill.path().exists(), "unlinked at once");
        Ok(())
    }
}
