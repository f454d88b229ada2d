//! A guest's stdout and stderr, kept: the last [`KEEP`] bytes of what it
//! wrote, never an error to the guest however much it writes (a Rust
//! guest's `println!` panics on a failed write). The host logs what a call
//! wrote, tagged with the plugin's name, and puts its tail into the error
//! the admin sees when the guest crashes (a panic's message is there).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// How much of a guest's output is kept.
pub const KEEP: usize = 64 * 1024;
/// How much of it goes into an error message.
const TAIL: usize = 1024;

/// One plugin instance's output, shared by its stdout and stderr.
#[derive(Clone, Default)]
pub struct GuestOutput(Arc<Mutex<Kept>>);

#[derive(Default)]
struct Kept {
    bytes: VecDeque<u8>,
    /// Bytes written and dropped since the last `take` (over [`KEEP`]).
    dropped: u64,
}

impl GuestOutput {
    /// What was written since the last call, and how much of it was
    /// dropped; empties it.
    pub fn take(&self) -> (String, u64) {
        let mut k = self.0.lock().unwrap();
        let bytes: Vec<u8> = k.bytes.drain(..).collect();
        let dropped = std::mem::take(&mut k.dropped);
        (String::from_utf8_lossy(&bytes).into_owned(), dropped)
    }

    fn push(&self, buf: &[u8]) {
        let mut k = self.0.lock().unwrap();
        let start = buf.len().saturating_sub(KEEP);
        k.dropped += start as u64;
        k.bytes.extend(&buf[start..]);
        let over = k.bytes.len().saturating_sub(KEEP);
        k.bytes.drain(..over);
        k.dropped += over as u64;
    }
}

/// The last lines of `text`, at most [`TAIL`] bytes, on one line each
/// joined with ` | `.
pub fn tail(text: &str) -> String {
    let text = text.trim_end();
    let start = text.ceil_char_boundary(text.len().saturating_sub(TAIL));
    text[start..]
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(super::manifest::escaped)
        .collect::<Vec<_>>()
        .join(" | ")
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_bytes_are_kept_and_nothing_fails() {
        let out = GuestOutput::default();
        out.push(b"first\n");
        out.push(&vec![b'x'; KEEP]);
        out.push(b"\nthread 'main' panicked at src/lib.rs:3:5:\nboom\n");
        let (text, dropped) = out.take();
        assert_eq!(text.len(), KEEP);
        assert_eq!(dropped, 6 + 48);
        assert!(tail(&text).ends_with("thread 'main' panicked at src/lib.rs:3:5: | boom"), "{}", tail(&text));
        assert!(tail(&text).len() <= TAIL + 8);
        assert_eq!(out.take(), (String::new(), 0), "taken");
    }
}
