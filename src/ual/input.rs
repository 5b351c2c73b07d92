//! Opening an export: encoding detection and reading in blocks.
//!
//! UTF-8 files (with or without BOM) are streamed from disk, and their
//! byte offsets are the file's own, so a record's raw text can be read
//! again later with a seek. UTF-16 files (PowerShell's `Out-File`
//! default) are decoded to UTF-8 as they are read, and the decoded text
//! is kept (offsets refer to it) for later reads; so is the text of a
//! stream (standard input, a pipe), which cannot be read again.

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

/// Text held in memory: read from a stream, or decoded from UTF-16.
pub type Held = Arc<Vec<u8>>;

/// An opened export, positioned after its byte-order mark.
pub struct Input {
    pub encoding: Encoding,
    /// Size on disk.
    pub file_len: u64,
    /// Offset (in the text that offsets refer to) where content starts.
    pub start: u64,
    /// The SHA-256 of an export read whole from a stream (standard input,
    /// a pipe), which cannot be read again to hash it later.
    pub sha256: Option<String>,
    text: Source,
}

/// Where the text comes from.
enum Source {
    /// UTF-8 on disk: offsets are the file's own; `pos` is where reading
    /// is.
    File { file: File, pos: u64 },
    /// All of it in memory, read from `pos`.
    Held { held: Held, pos: usize },
    /// UTF-16 on disk, decoded as it is read.
    Decoding(Box<Decoding>),
}

/// A UTF-16 file being decoded: the text decoded so far is kept (it is
/// what offsets refer to, and the records' raw text is read from it
/// later), and read from `pos`.
struct Decoding {
    file: File,
    decoder: encoding_rs::Decoder,
    text: String,
    pos: usize,
    raw: Vec<u8>,
    /// Bytes of the file decoded so far.
    decoded: u64,
    done: bool,
}

impl Decoding {
    /// Decodes one more block of the file.
    fn more(&mut self) -> io::Result<()> {
        self.raw.resize(1 << 20, 0);
        let n = read_up_to(&mut self.file, &mut self.raw)?;
        self.decoded += n as u64;
        self.done = n == 0;
        decode(&mut self.decoder, &self.raw[..n], self.done, &mut self.text);
        Ok(())
    }

    /// Decodes until `end` bytes of text are there, or the file ends.
    fn fill(&mut self, end: usize) -> io::Result<()> {
        while self.text.len() < end && !self.done {
            self.more()?;
        }
        Ok(())
    }
}

/// Decodes `src` onto the end of `text`.
fn decode(decoder: &mut encoding_rs::Decoder, src: &[u8], last: bool, text: &mut String) {
    let most = decoder
        .max_utf8_buffer_length(src.len())
        .expect("a block's worth of text fits in memory");
    text.reserve(most);
    let (_, read, _) = decoder.decode_to_string(src, text, last);
    debug_assert_eq!(read, src.len(), "room for the block was reserved");
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
        if let Some((encoding, enc)) = utf16(head) {
            // Decoded as it is read, so that decoding goes on beside the
            // parsing of what is decoded already.
            let mut d = Decoding {
                file,
                decoder: enc.new_decoder_without_bom_handling(),
                // Audit exports are nearly all ASCII: two bytes become one.
                text: String::with_capacity(usize::try_from(file_len / 2 + 64).unwrap_or(0)),
                pos: 0,
                raw: Vec::new(),
                decoded: head.len() as u64,
                done: false,
            };
            decode(&mut d.decoder, head, false, &mut d.text);
            d.fill(16)?;
            // Byte-order marks (one, two, or none) are dropped.
            let boms = d.text.len() - d.text.trim_start_matches('\u{feff}').len();
            d.text.drain(..boms);
            return Ok(Input {
                encoding,
                file_len,
                start: 0,
                sha256: None,
                text: Source::Decoding(Box::new(d)),
            });
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
            start,
            sha256: None,
            text: Source::File { file, pos: start },
        })
    }

    /// An export read whole (standard input, a pipe).
    fn from_bytes(mut bytes: Vec<u8>) -> Result<Input, InputError> {
        use sha2::Digest;
        check_compressed(&bytes)?;
        let len = bytes.len() as u64;
        let sha256 = Some(
            sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        );
        let encoding = if let Some((encoding, enc)) = utf16(&bytes) {
            let mut decoder = enc.new_decoder_without_bom_handling();
            let mut text = String::new();
            decode(&mut decoder, &bytes, true, &mut text);
            let boms = text.len() - text.trim_start_matches('\u{feff}').len();
            text.drain(..boms);
            bytes = text.into_bytes();
            encoding
        } else {
            let bom = utf8_boms(&bytes);
            bytes.drain(..3 * bom);
            if bom > 0 {
                Encoding::Utf8Bom
            } else {
                Encoding::Utf8
            }
        };
        Ok(Input {
            encoding,
            file_len: len,
            start: 0,
            sha256,
            text: Source::Held {
                held: Arc::new(bytes),
                pos: 0,
            },
        })
    }

    /// Appends up to `want` bytes to `buf`; 0 at the end.
    pub fn read_into(&mut self, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        let (text, pos): (&[u8], &mut usize) = match &mut self.text {
            Source::File { file, pos } => {
                // `take` + `read_to_end` reads into spare capacity without
                // zeroing it.
                buf.reserve(want);
                let n = file.take(want as u64).read_to_end(buf)?;
                *pos += n as u64;
                return Ok(n);
            }
            Source::Held { held, pos } => (held, pos),
            Source::Decoding(d) => {
                d.fill(d.pos.saturating_add(want))?;
                (d.text.as_bytes(), &mut d.pos)
            }
        };
        let end = pos.saturating_add(want).min(text.len());
        let from = (*pos).min(end);
        buf.extend_from_slice(&text[from..end]);
        *pos = end;
        Ok(end - from)
    }

    /// Goes back to `offset` of the text (read again from there): after a
    /// streamed part, the rest of a file is read another way.
    pub fn rewind(&mut self, offset: u64) -> io::Result<()> {
        let to = usize::try_from(offset).unwrap_or(usize::MAX);
        match &mut self.text {
            Source::File { file, pos } => {
                use std::io::Seek;
                file.seek(io::SeekFrom::Start(offset))?;
                *pos = offset;
            }
            Source::Held { pos, .. } => *pos = to,
            Source::Decoding(d) => d.pos = to,
        }
        Ok(())
    }

    /// All the text in memory (decoding what is left of a UTF-16 file),
    /// for the caller to read where it is: reading is then over. `None`
    /// for a file read from disk.
    pub fn hold(&mut self) -> io::Result<Option<Held>> {
        if let Source::Decoding(d) = &mut self.text {
            // A read error leaves what was decoded where it was.
            d.fill(usize::MAX)?;
            let (text, pos) = (std::mem::take(&mut d.text), d.pos);
            self.text = Source::Held {
                held: Arc::new(text.into_bytes()),
                pos,
            };
        }
        Ok(match &mut self.text {
            Source::Held { held, pos } => {
                *pos = held.len();
                Some(held.clone())
            }
            _ => None,
        })
    }

    /// How far through the source reading is, in its own bytes (a UTF-16
    /// file's, not its text's), for showing progress: it goes back when
    /// reading goes back over a file on disk.
    pub fn consumed(&self) -> u64 {
        match &self.text {
            Source::File { pos, .. } => *pos,
            Source::Held { held, pos } => {
                let part = *pos.min(&held.len()) as u128 * u128::from(self.file_len);
                u64::try_from(part / held.len().max(1) as u128).unwrap_or(self.file_len)
            }
            Source::Decoding(d) => d.decoded,
        }
    }

    /// The text held in memory once loading is over (what a stream or a
    /// UTF-16 file holds), for reading records again.
    pub fn into_held(self) -> Option<Held> {
        match self.text {
            Source::File { .. } => None,
            Source::Held { held, .. } => Some(held),
            Source::Decoding(d) => Some(Arc::new(d.text.into_bytes())),
        }
    }

    /// Reads everything that is left.
    pub fn read_rest(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        // Room for the whole file at once: growing by doubling would copy
        // a large export several times and hold two copies at the end.
        if let Source::File { .. } = self.text {
            let left = usize::try_from(self.file_len.saturating_sub(self.start))
                .unwrap_or(0)
                .saturating_sub(buf.len());
            buf.reserve_exact(left);
        }
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
