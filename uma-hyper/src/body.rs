//! Request bodies: what the adapter sends, and how the application's body is attached to each resource
//! request (replayed from memory, re-created by a factory, or streamed once).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Body, Buf, Bytes, Frame, SizeHint};

use crate::error::{BoxError, Error};

/// The body of every request the adapter sends: bytes (authorization-server requests, replayed bodies)
/// or the application's own body, streamed as it comes.
///
/// ```
/// use uma_hyper::RequestBody;
///
/// let bytes = RequestBody::from("a small JSON document");
/// let streamed = RequestBody::wrap(http_body_util::Full::new(hyper::body::Bytes::from("…")));
/// # let _ = (bytes, streamed);
/// ```
pub struct RequestBody(Inner);

enum Inner {
    Bytes(Option<Bytes>),
    /// What was read while deciding whether to buffer, then the rest of the stream.
    Prefixed {
        prefix: VecDeque<Bytes>,
        rest: UnsyncBoxBody<Bytes, BoxError>,
    },
}

impl RequestBody {
    /// An empty body.
    pub fn empty() -> Self {
        RequestBody(Inner::Bytes(None))
    }

    /// Streams `body` as it comes.
    pub fn wrap<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self::prefixed(VecDeque::new(), body.map_err(Into::into).boxed_unsync())
    }

    /// Whether the body streams (rather than being bytes in memory).
    pub(crate) fn is_stream(&self) -> bool {
        matches!(self.0, Inner::Prefixed { .. })
    }

    fn prefixed(prefix: VecDeque<Bytes>, rest: UnsyncBoxBody<Bytes, BoxError>) -> Self {
        RequestBody(Inner::Prefixed { prefix, rest })
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::Bytes(b) => write!(
                f,
                "RequestBody(<{} bytes>)",
                b.as_ref().map_or(0, Bytes::len)
            ),
            Inner::Prefixed { .. } => f.write_str("RequestBody(<stream>)"),
        }
    }
}

impl Default for RequestBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for RequestBody {
    fn from(bytes: Bytes) -> Self {
        RequestBody(Inner::Bytes((!bytes.is_empty()).then_some(bytes)))
    }
}

impl From<Vec<u8>> for RequestBody {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::from(bytes).into()
    }
}

impl From<String> for RequestBody {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl From<&'static str> for RequestBody {
    fn from(text: &'static str) -> Self {
        Bytes::from_static(text.as_bytes()).into()
    }
}

impl From<&'static [u8]> for RequestBody {
    fn from(bytes: &'static [u8]) -> Self {
        Bytes::from_static(bytes).into()
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Inner::Bytes(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Prefixed { prefix, rest } => match prefix.pop_front() {
                Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                None => Pin::new(rest).poll_frame(cx),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Bytes(bytes) => bytes.is_none(),
            Inner::Prefixed { prefix, rest } => prefix.is_empty() && rest.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Bytes(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Prefixed { prefix, rest } => {
                let read: u64 = prefix.iter().map(|b| b.len() as u64).sum();
                let hint = rest.size_hint();
                let mut total = SizeHint::new();
                total.set_lower(hint.lower().saturating_add(read));
                if let Some(upper) = hint.upper() {
                    total.set_upper(upper.saturating_add(read));
                }
                total
            }
        }
    }
}

/// What the drive loop attaches to each resource request: the application's body and extensions.
pub(crate) struct Application {
    pub body: AppBody,
    pub extensions: http::Extensions,
}

impl Application {
    /// For machines that never send the application's request.
    pub fn none() -> Self {
        Application {
            body: AppBody::none(),
            extensions: http::Extensions::new(),
        }
    }
}

/// The application's request body, as the drive loop attaches it to each resource request.
pub(crate) enum AppBody {
    /// Held in memory, replayed byte for byte.
    Replay(Bytes),
    /// Re-created for every send.
    Factory(Box<dyn FnMut() -> RequestBody + Send>),
    /// Streamed once; `None` once sent.
    Once(Option<RequestBody>),
}

impl AppBody {
    /// No body: what machines that never send the application's request carry.
    pub fn none() -> Self {
        AppBody::Replay(Bytes::new())
    }

    /// The body for the next send, or `None` when it was sent already and cannot be again.
    pub fn next(&mut self) -> Option<RequestBody> {
        match self {
            AppBody::Replay(bytes) => Some(RequestBody::from(bytes.clone())),
            AppBody::Factory(make) => Some(make()),
            AppBody::Once(body) => body.take(),
        }
    }

    /// Whether the body was sent and cannot be sent again.
    pub fn spent(&self) -> bool {
        matches!(self, AppBody::Once(None))
    }

    /// Reads `body` until it ends or `limit` bytes are held: a body that ends by then (whatever its size:
    /// an in-memory body comes in one frame) is replayed; a longer one is streamed once, what was read
    /// first included.
    pub async fn read<B>(body: B, limit: usize) -> Result<Self, Error>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        if body.is_end_stream() {
            // No body (a `GET`), or an empty one: nothing to read or pin.
            return Ok(AppBody::Replay(Bytes::new()));
        }
        let mut body = Box::pin(body.map_err(Into::into));
        let mut chunks: VecDeque<Bytes> = VecDeque::new();
        let mut held = 0usize;
        let mut ended = false;
        while held <= limit && !ended {
            if body.is_end_stream() {
                ended = true;
                break;
            }
            match body.frame().await {
                None => ended = true,
                // Trailers are dropped, as by every replaying client.
                Some(frame) => {
                    if let Ok(mut data) = frame.map_err(Error::RequestBody)?.into_data() {
                        let chunk = data.copy_to_bytes(data.remaining());
                        held += chunk.len();
                        chunks.push_back(chunk);
                    }
                }
            }
        }
        if ended || body.is_end_stream() {
            return Ok(AppBody::Replay(join(chunks, held)));
        }
        let rest = body
            .map_frame(|frame| frame.map_data(|mut d| d.copy_to_bytes(d.remaining())))
            .boxed_unsync();
        Ok(AppBody::Once(Some(RequestBody::prefixed(chunks, rest))))
    }
}

/// One buffer from `chunks` (no copy for a single chunk, the in-memory case).
fn join(mut chunks: VecDeque<Bytes>, len: usize) -> Bytes {
    if chunks.len() <= 1 {
        return chunks.pop_front().unwrap_or_default();
    }
    let mut joined = Vec::with_capacity(len);
    for chunk in chunks {
        joined.extend_from_slice(&chunk);
    }
    Bytes::from(joined)
}
