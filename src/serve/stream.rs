//! An answer body written by a blocking task as it reads: a `Write` on one side, an HTTP body
//! on the other, joined by a small bounded channel, so a million leads go out in constant
//! memory and a slow client slows the reader instead of filling the server's memory.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::Frame;
use tokio::sync::mpsc;

/// Bytes buffered before a chunk is sent.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight.
const DEPTH: usize = 4;

/// The writing side.
pub struct ChunkWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<io::Result<Bytes>>,
}

/// The body side.
pub struct ChunkBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

/// A connected writer and body.
pub fn channel() -> (ChunkWriter, ChunkBody) {
    let (tx, rx) = mpsc::channel(DEPTH);
    (
        ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            tx,
        },
        ChunkBody { rx },
    )
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        // A closed channel is a client that went away: a broken pipe, like a closed stdout.
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }

    /// Ends the body with an error: the connection is cut, so the client cannot take a
    /// truncated answer for a whole one.
    pub fn fail(self, why: String) {
        let _ = self.tx.blocking_send(Err(io::Error::other(why)));
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl http_body::Body for ChunkBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|c| c.map(|b| b.map(Frame::data)))
    }
}
