//! The streaming, parallel part of loading.
//!
//! One thread reads the file in blocks and cuts each block at the last
//! whole record; workers (one per core) parse the pieces; the calling
//! thread puts the results back in file order and hands them on. Memory
//! stays bounded: only a few blocks are in flight at any time.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::input::Input;
use super::parsed::Parsed;

/// How much is read at a time: big enough that handing blocks between
/// threads costs nothing, small enough that the blocks in flight stay a
/// small part of the memory budget.
pub const BLOCK: usize = 2 << 20;

/// Shared by the loader and whoever watches it.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read so far, over all files.
    pub bytes_read: AtomicU64,
    /// Set to stop loading as soon as possible.
    pub cancel: AtomicBool,
}

impl Progress {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Does `step` on `input`, counting how far it moved through the file
    /// (back, too: reading a file again from an earlier place).
    pub(super) fn track<T>(&self, input: &mut Input, step: impl FnOnce(&mut Input) -> T) -> T {
        let before = input.consumed();
        let out = step(input);
        let after = input.consumed();
        if after >= before {
            self.bytes_read.fetch_add(after - before, Ordering::Relaxed);
        } else {
            self.bytes_read.fetch_sub(before - after, Ordering::Relaxed);
        }
        out
    }
}

/// Where the text read so far is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// A piece ends here (after the last whole record); what follows
    /// waits for more text.
    At(usize),
    /// No whole record yet: read on.
    Need,
    /// The last piece ends here: streaming stops, and the caller reads on
    /// from there in its own way.
    Stop(usize),
}

/// Where to cut what has been read (see [`Cut::split`]).
pub type SplitAt = fn(&[u8], usize, &mut Vec<(usize, usize)>) -> Split;

/// How the stream is cut into pieces.
#[derive(Clone, Copy)]
pub struct Cut {
    /// Where to cut what has been read (it starts where the last piece
    /// ended), given the size of piece wanted (a cut that scans forward
    /// may stop once it has that much). A cut that finds the records on
    /// its way puts their spans in the vector (it comes empty), for the
    /// piece to carry: parsing need not find them again.
    pub split: SplitAt,
    /// Bytes read at a time.
    pub block: usize,
    /// At the end of the input, what no cut took is a last piece (a last
    /// line without its newline) or, when false, left to the caller.
    pub tail_is_a_piece: bool,
}

/// How streaming ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Everything was read and parsed.
    Eof,
    /// The cut stopped it, or it ended where no cut took the text: the
    /// caller goes on from this offset (of the source text) and line.
    Stopped { offset: u64, line: u64 },
    /// The sink asked to stop; nothing after that piece was handed to it.
    BySink,
}

pub struct Piece {
    pub seq: u64,
    /// Offset of `bytes[0]` in the source text.
    pub offset: u64,
    /// Line number of `bytes[0]`.
    pub line: u64,
    pub bytes: Vec<u8>,
    /// The records' spans in `bytes`, when the cut found them.
    pub spans: Vec<(usize, usize)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cancelled")]
    Cancelled,
}

/// Streams `input` (whose first bytes, `carry`, were already read and
/// sit at `offset`/`line`), cutting pieces with `cut` and parsing them
/// with `parse`; `sink` receives the results in file order, and may ask
/// to stop.
#[allow(clippy::too_many_arguments)]
pub fn run(
    input: &mut Input,
    carry: Vec<u8>,
    offset: u64,
    line: u64,
    cut: Cut,
    parse: &(dyn Fn(&Piece, &mut Parsed) + Sync),
    threads: usize,
    progress: &Progress,
    sink: &mut dyn FnMut(Parsed) -> ControlFlow<()>,
) -> Result<Ended, PipelineError> {
    let threads = threads.max(1);
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Piece>(threads);
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<(u64, Parsed)>();
    // Parsed blocks go back to the reader: reusing them spares the kernel
    // from handing out (and zeroing) fresh pages for every block.
    let (free_tx, free_rx) = crossbeam_channel::bounded::<Vec<u8>>(threads * 2 + 2);
    // Set when the sink has had enough: the reader stops at its next block.
    let halt = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            let free_tx = free_tx.clone();
            let worker = move || {
                for piece in work_rx {
                    // Audit rows run 1 to 2 KB; a little spare room is cheaper
                    // than growing the vector while parsing.
                    let mut out = Parsed::with_capacity(piece.bytes.len() / 1024 + 16);
                    out.bytes = piece.bytes.len();
                    parse(&piece, &mut out);
                    let _ = free_tx.try_send(piece.bytes);
                    if done_tx.send((piece.seq, out)).is_err() {
                        break;
                    }
                }
            };
            super::json_depth::parser_thread()
                .spawn_scoped(s, worker)
                .expect("a thread starts");
        }
        drop(done_tx);
        drop(work_rx);
        drop(free_tx);
        let halt = &halt;
        let reader = s.spawn(move || {
            let from = Reader {
                offset,
                line,
                halt,
                progress,
            };
            from.read_pieces(input, carry, cut, work_tx, free_rx)
        });
        let mut next = 0u64;
        let mut waiting = BTreeMap::new();
        for (seq, parsed) in done_rx {
            waiting.insert(seq, parsed);
            while let Some(p) = waiting.remove(&next) {
                if !progress.cancelled() && !halt.load(Ordering::Relaxed) && sink(p).is_break() {
                    halt.store(true, Ordering::Relaxed);
                }
                next += 1;
            }
        }
        let ended = reader.join().expect("the reader thread does not panic");
        if progress.cancelled() {
            return Err(PipelineError::Cancelled);
        }
        if halt.load(Ordering::Relaxed) {
            return Ok(Ended::BySink);
        }
        ended
    })
}

/// The reading end of the pipeline: where the text not yet cut begins.
struct Reader<'a> {
    offset: u64,
    line: u64,
    halt: &'a AtomicBool,
    progress: &'a Progress,
}

impl Reader<'_> {
    fn read(&self, input: &mut Input, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
        let n = self.progress.track(input, |i| i.read_into(buf, want))?;
        Ok(n == 0)
    }

    fn read_pieces(
        mut self,
        input: &mut Input,
        mut buf: Vec<u8>,
        Cut {
            split,
            block,
            tail_is_a_piece,
        }: Cut,
        tx: crossbeam_channel::Sender<Piece>,
        free: crossbeam_channel::Receiver<Vec<u8>>,
    ) -> Result<Ended, PipelineError> {
        let mut seq = 0;
        let mut eof = false;
        let mut spans = Vec::new();
        loop {
            if self.progress.cancelled() {
                return Err(PipelineError::Cancelled);
            }
            if self.halt.load(Ordering::Relaxed) {
                return Ok(Ended::BySink);
            }
            if !eof && buf.len() < block {
                eof = self.read(input, &mut buf, block)?;
            }
            if buf.is_empty() && eof {
                return Ok(if tail_is_a_piece {
                    Ended::Eof
                } else {
                    Ended::Stopped {
                        offset: self.offset,
                        line: self.line,
                    }
                });
            }
            spans.clear();
            let split = if eof && tail_is_a_piece {
                Split::At(buf.len())
            } else {
                split(&buf, block, &mut spans)
            };
            let (cut, last) = match split {
                Split::At(n) if n > 0 => (n, false),
                Split::Stop(n) => (n, true),
                Split::At(_) | Split::Need if eof => (0, true),
                Split::At(_) | Split::Need => {
                    // One record longer than what is read: read on, as much
                    // again as is held, so that a huge record is cut at in
                    // linear time, not once per block.
                    let more = buf.len().max(block);
                    eof = self.read(input, &mut buf, more)?;
                    continue;
                }
            };
            let mut next = free
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(2 * block));
            next.clear();
            next.extend_from_slice(&buf[cut..]);
            buf.truncate(cut);
            let piece = std::mem::replace(&mut buf, next);
            let lines = bytecount::count(&piece, b'\n') as u64;
            let len = piece.len() as u64;
            spans.retain(|&(_, end)| end <= cut);
            let piece = Piece {
                seq,
                offset: self.offset,
                line: self.line,
                bytes: piece,
                spans: std::mem::take(&mut spans),
            };
            if len > 0 && tx.send(piece).is_err() {
                return Ok(Ended::Eof);
            }
            seq += u64::from(len > 0);
            self.offset += len;
            self.line += lines;
            if last {
                return Ok(Ended::Stopped {
                    offset: self.offset,
                    line: self.line,
                });
            }
        }
    }
}
