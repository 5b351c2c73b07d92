//! Opening an export: encoding detection and reading in blocks.
//!
//! UTF-8 files (with or without BOM) are streamed from disk, and their
//! byte offsets are the file's own, so a record's raw text can be read
//! again later with a seek. UTF-16 files (PowerShell's `Out-File`
//! default) are decoded to UTF-8 in memory once, and that text is held
//! for later reads; such exports are small in practice.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
        }
    }
}

/// An opened export, positioned after its byte-order mark.
pub struct Input {
    pub encoding: Encoding,
    /// Size on disk.
    pub file_len: u64,
    /// The decoded text of a UTF-16 file, else `None`.
    pub held: Option<Arc<[u8]>>,
    /// Offset (in the text that offsets refer to) where content starts.
    pub start: u64,
    file: Option<File>,
    held_pos: usize,
}

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("this is a {0}; extract it first")]
    Compressed(&'static str),
}

impl Input {
    pub fn open(path: &Path) -> Result<Input, InputError> {
        let mut file = File::open(path)?;
        let file_len = file.metadata()?.len();
        let mut head = [0u8; 4];
        let n = read_up_to(&mut file, &mut head)?;
        let head = &head[..n];
        if head.starts_with(&[0x1f, 0x8b]) {
            return Err(InputError::Compressed("gzip file"));
        }
        if head.starts_with(b"PK\x03\x04") {
            return Err(InputError::Compressed("zip archive"));
        }
        let utf16 = if head.starts_with(&[0xff, 0xfe]) {
            Some((Encoding::Utf16Le, encoding_rs::UTF_16LE))
        } else if head.starts_with(&[0xfe, 0xff]) {
            Some((Encoding::Utf16Be, encoding_rs::UTF_16BE))
        } else {
            None
        };
        if let Some((encoding, enc)) = utf16 {
            let mut bytes = head.to_vec();
            file.read_to_end(&mut bytes)?;
            let (text, _) = enc.decode_without_bom_handling(&bytes[2..]);
            let held: Arc<[u8]> = Arc::from(text.into_owned().into_bytes().into_boxed_slice());
            return Ok(Input {
                encoding,
                file_len,
                held: Some(held),
                start: 0,
                file: None,
                held_pos: 0,
            });
        }
        let bom = head.starts_with(&[0xef, 0xbb, 0xbf]);
        use std::io::Seek;
        let start = if bom { 3 } else { 0 };
        file.seek(io::SeekFrom::Start(start))?;
        Ok(Input {
            encoding: if bom {
                Encoding::Utf8Bom
            } else {
                Encoding::Utf8
            },
            file_len,
            held: None,
            start,
            file: Some(file),
            held_pos: 0,
        })
    }

    /// Appends up to `want` bytes to `buf`; 0 at the end.
    pub fn read_into(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        if let Some(held) = &self.held {
            let end = (self.held_pos + want).min(held.len());
            buf.extend_from_slice(&held[self.held_pos..end]);
            let n = end - self.held_pos;
            self.held_pos = end;
            return Ok(n);
        }
        let file = self.file.as_mut().expect("a file input has a file");
        // `take` + `read_to_end` reads into spare capacity without zeroing it.
        buf.reserve(want);
        file.take(want as u64).read_to_end(buf)
    }

    /// Reads everything that is left.
    pub fn read_rest(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        while self.read_into(buf, 8 << 20)? > 0 {}
        Ok(())
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Reads `len` bytes at `offset` of a source, for showing a record's raw
/// text after loading.
pub fn read_span(path: &Path, held: Option<&[u8]>, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    if let Some(h) = held {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput)?;
        return h
            .get(start..start + len)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "span outside the text"));
    }
    use std::io::Seek;
    let mut f = File::open(path)?;
    f.seek(io::SeekFrom::Start(offset))?;
    let mut buf = vec![0; len];
    f.read_exact(&mut buf)?;
    Ok(buf)
}
