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
    /// The SHA-256 of an export read whole from a stream (standard input,
    /// a pipe), which cannot be read again to hash it later.
    pub sha256: Option<String>,
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
    /// Opens an export: `-` is standard input; a pipe, FIFO or anything
    /// else that cannot seek is read whole into memory (its records' raw
    /// text is read again from there).
    pub fn open(path: &Path) -> Result<Input, InputError> {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            io::stdin().lock().read_to_end(&mut bytes)?;
            return Input::from_bytes(bytes);
        }
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            return Input::from_bytes(bytes);
        }
        let file_len = meta.len();
        let mut head = [0u8; 4096];
        let n = read_up_to(&mut file, &mut head)?;
        let head = &head[..n];
        check_compressed(head)?;
        if let Some(enc) = utf16(head) {
            return Ok(Input::decoded(head, &mut file, enc, file_len)?);
        }
        let bom = utf8_boms(head);
        use std::io::Seek;
        let start = 3 * bom as u64;
        file.seek(io::SeekFrom::Start(start))?;
        Ok(Input {
            encoding: if bom > 0 {
                Encoding::Utf8Bom
            } else {
                Encoding::Utf8
            },
            file_len,
            held: None,
            start,
            sha256: None,
            file: Some(file),
            held_pos: 0,
        })
    }

    /// An export read whole (standard input, a pipe).
    fn from_bytes(bytes: Vec<u8>) -> Result<Input, InputError> {
        use sha2::Digest;
        check_compressed(&bytes)?;
        let len = bytes.len() as u64;
        let sha256 = Some(
            sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        );
        if let Some(enc) = utf16(&bytes) {
            return Ok(Input {
                sha256,
                ..Input::decoded(&bytes, &mut io::empty(), enc, len)?
            });
        }
        let bom = utf8_boms(&bytes);
        let held: Arc<[u8]> = Arc::from(&bytes[3 * bom..]);
        Ok(Input {
            encoding: if bom > 0 {
                Encoding::Utf8Bom
            } else {
                Encoding::Utf8
            },
            file_len: len,
            held: Some(held),
            start: 0,
            sha256,
            file: None,
            held_pos: 0,
        })
    }

    /// UTF-16 text (`first`, then the rest of `rest`) decoded to UTF-8
    /// and held; byte-order marks (one, two, or none) are dropped. It is
    /// decoded a block at a time, so that the UTF-16 bytes are never held
    /// whole beside their text.
    fn decoded(
        first: &[u8],
        rest: &mut dyn Read,
        (encoding, enc): (Encoding, &'static encoding_rs::Encoding),
        file_len: u64,
    ) -> io::Result<Input> {
        let mut decoder = enc.new_decoder_without_bom_handling();
        // Audit exports are nearly all ASCII: two bytes become one.
        let mut text = String::with_capacity(usize::try_from(file_len / 2 + 64).unwrap_or(0));
        let mut decode = |src: &[u8], last: bool, text: &mut String| {
            let most = decoder
                .max_utf8_buffer_length(src.len())
                .expect("a block's worth of text fits in memory");
            text.reserve(most);
            let (_, read, _) = decoder.decode_to_string(src, text, last);
            debug_assert_eq!(read, src.len(), "room for the block was reserved");
        };
        decode(first, false, &mut text);
        let mut block = vec![0u8; 1 << 20];
        loop {
            let n = read_up_to(rest, &mut block)?;
            decode(&block[..n], n == 0, &mut text);
            if n == 0 {
                break;
            }
        }
        drop(block);
        let boms = text.len() - text.trim_start_matches('\u{feff}').len();
        let held: Arc<[u8]> = Arc::from(&text.as_bytes()[boms..]);
        Ok(Input {
            encoding,
            file_len,
            held: Some(held),
            start: 0,
            sha256: None,
            file: None,
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

    /// Goes back to `offset` of the text (read again from there): after a
    /// streamed part, the rest of a file is read another way.
    pub fn rewind(&mut self, offset: u64) -> io::Result<()> {
        if let Some(held) = &self.held {
            self.held_pos = usize::try_from(offset).map_or(held.len(), |o| o.min(held.len()));
            return Ok(());
        }
        use std::io::Seek;
        let file = self.file.as_mut().expect("a file input has a file");
        file.seek(io::SeekFrom::Start(offset)).map(drop)
    }

    /// Reads everything that is left.
    pub fn read_rest(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        // Room for the whole file at once: growing by doubling would copy
        // a large export several times and hold two copies at the end.
        let left = match &self.held {
            Some(h) => h.len() - self.held_pos,
            None => usize::try_from(self.file_len.saturating_sub(self.start))
                .unwrap_or(0)
                .saturating_sub(buf.len()),
        };
        buf.reserve_exact(left);
        while self.read_into(buf, 8 << 20)? > 0 {}
        Ok(())
    }
}

fn check_compressed(head: &[u8]) -> Result<(), InputError> {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Err(InputError::Compressed("gzip file"));
    }
    if head.starts_with(b"PK\x03\x04") {
        return Err(InputError::Compressed("zip archive"));
    }
    Ok(())
}

/// How many UTF-8 byte-order marks the text starts with (a file saved
/// twice by a BOM-adding editor has two).
fn utf8_boms(head: &[u8]) -> usize {
    head.chunks(3)
        .take_while(|c| *c == [0xef, 0xbb, 0xbf])
        .count()
}

/// UTF-16, from its byte-order mark or, without one, from where the NUL
/// bytes of ASCII text fall: every other byte, odd ones for little-endian.
fn utf16(head: &[u8]) -> Option<(Encoding, &'static encoding_rs::Encoding)> {
    if head.starts_with(&[0xff, 0xfe]) {
        return Some((Encoding::Utf16Le, encoding_rs::UTF_16LE));
    }
    if head.starts_with(&[0xfe, 0xff]) {
        return Some((Encoding::Utf16Be, encoding_rs::UTF_16BE));
    }
    let sample = &head[..head.len().min(4096) & !1];
    if sample.len() < 4 {
        return None;
    }
    let pairs = sample.len() / 2;
    let even = sample.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|b| **b == 0)
        .count();
    // Audit exports are mostly ASCII: in UTF-16 nearly every pair has a
    // NUL on one side and none on the other.
    if odd * 10 >= pairs * 7 && even * 10 <= pairs {
        Some((Encoding::Utf16Le, encoding_rs::UTF_16LE))
    } else if even * 10 >= pairs * 7 && odd * 10 <= pairs {
        Some((Encoding::Utf16Be, encoding_rs::UTF_16BE))
    } else {
        None
    }
}

fn read_up_to(file: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
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
