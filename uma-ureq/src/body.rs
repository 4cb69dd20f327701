//! The application's request body, as the run loop attaches it to each resource request: bytes
//! (replayed), a source opened again for every send, or a reader that can be read once.

use std::io::{self, Read};

/// Opens the body afresh for each send (a file, a generator).
pub(crate) type Opener = Box<dyn FnMut() -> io::Result<Box<dyn Read + Send>> + Send>;

/// Where the application's request body comes from.
pub(crate) enum AppBody {
    /// Held in memory, replayed byte for byte.
    Replay(Vec<u8>),
    /// Opened again for every send.
    Reopen(Opener),
    /// Read once. Sent with `Expect: 100-continue`, so a server that answers a challenge before the body
    /// leaves it unread for the retry; `None` once read.
    Once(Option<Box<dyn Read + Send>>),
}

impl AppBody {
    /// Reads `reader` until it ends or `limit` bytes are held: a body that ends by then is replayed; a
    /// longer one is read once, what was read first included.
    pub fn read(mut reader: Box<dyn Read + Send>, limit: usize) -> io::Result<Self> {
        let mut held = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        (&mut reader).take(cap).read_to_end(&mut held)?;
        if held.len() <= limit {
            return Ok(AppBody::Replay(held));
        }
        Ok(AppBody::Once(Some(Box::new(
            io::Cursor::new(held).chain(reader),
        ))))
    }

    /// Whether the body was read and cannot be sent again.
    pub fn spent(&self) -> bool {
        matches!(self, AppBody::Once(None))
    }
}

/// A reader that counts what it gave: whether ureq sent any of a one-shot body.
pub(crate) struct Counted<'a> {
    pub inner: &'a mut (dyn Read + Send),
    pub read: u64,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}
