//! The streaming, parallel part of loading.
//!
//! One thread reads the file in blocks and cuts each block at the last
//! whole record; workers (one per core) parse the pieces; the calling
//! thread puts the results back in file order and hands them on. Memory
//! stays bounded: only a few blocks are in flight at any time.

use std::collections::BTreeMap;
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
}

/// How the stream is cut into pieces.
#[derive(Clone, Copy)]
pub struct Cut {
    /// The end of the last whole record in a block.
    pub split: fn(&[u8]) -> Option<usize>,
    /// Bytes read at a time.
    pub block: usize,
}

pub struct Piece {
    pub seq: u64,
    /// Offset of `bytes[0]` in the source text.
    pub offset: u64,
    /// Line number of `bytes[0]`.
    pub line: u64,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cancelled")]
    Cancelled,
}

/// Streams `input` (whose first bytes, `carry`, were already read and
/// sit at `offset`/`line`), cutting pieces with `split` and parsing them
/// with `parse`; `sink` receives the results in file order.
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
    sink: &mut dyn FnMut(Parsed),
) -> Result<(), PipelineError> {
    let threads = threads.max(1);
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Piece>(threads);
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<(u64, Parsed)>();
    // Parsed blocks go back to the reader: reusing them spares the kernel
    // from handing out (and zeroing) fresh pages for every block.
    let (free_tx, free_rx) = crossbeam_channel::bounded::<Vec<u8>>(threads * 2 + 2);
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
        let reader = s.spawn(move || {
            read_pieces(input, carry, offset, line, cut, progress, work_tx, free_rx)
        });
        let mut next = 0u64;
        let mut waiting = BTreeMap::new();
        for (seq, parsed) in done_rx {
            waiting.insert(seq, parsed);
            while let Some(p) = waiting.remove(&next) {
                if !progress.cancelled() {
                    sink(p);
                }
                next += 1;
            }
        }
        let read = reader.join().expect("the reader thread does not panic");
        read?;
        if progress.cancelled() {
            return Err(PipelineError::Cancelled);
        }
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
fn read_pieces(
    input: &mut Input,
    mut buf: Vec<u8>,
    mut offset: u64,
    mut line: u64,
    Cut { split, block }: Cut,
    progress: &Progress,
    tx: crossbeam_channel::Sender<Piece>,
    free: crossbeam_channel::Receiver<Vec<u8>>,
) -> Result<(), PipelineError> {
    let mut seq = 0;
    let mut eof = false;
    loop {
        if progress.cancelled() {
            return Err(PipelineError::Cancelled);
        }
        if !eof && buf.len() < block {
            let n = input.read_into(&mut buf, block)?;
            progress.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
            eof = n == 0;
        }
        if buf.is_empty() {
            return Ok(());
        }
        let cut = if eof { Some(buf.len()) } else { split(&buf) };
        let Some(cut) = cut else {
            // One record longer than a block: read on until it ends.
            let n = input.read_into(&mut buf, block)?;
            progress.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
            eof = n == 0;
            continue;
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
        if tx
            .send(Piece {
                seq,
                offset,
                line,
                bytes: piece,
            })
            .is_err()
        {
            return Ok(());
        }
        seq += 1;
        offset += len;
        line += lines;
    }
}
