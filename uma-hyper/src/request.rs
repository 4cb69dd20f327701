//! [`RequestBuilder`]: a request put together method by method, as in `uma-ureq`, sent with
//! `.send().await`.

use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Method;
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper_util::client::legacy::connect::Connect;
use tokio::io::{AsyncRead, ReadBuf};
use uma_core::Party;

use crate::UmaClient;
use crate::error::{BoxError, Error};

/// A request being put together; [`RequestBuilder::send`] runs it through the UMA flow. Made by
/// [`UmaClient::get`], [`UmaClient::post`]… and [`UmaClient::request`].
///
/// ```no_run
/// # async fn demo(client: &uma_hyper::UmaClient<uma_hyper::HttpsClientConnector>) -> Result<(), uma_hyper::Error> {
/// let response = client
///     .post("https://api.example.org/photos", br#"{"title":"x"}"#.to_vec())
///     .header("content-type", "application/json")
///     .send()
///     .await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<'a, C> {
    client: &'a UmaClient<C>,
    builder: http::request::Builder,
    body: BuilderBody,
    party: Party,
}

/// A request body as the builder holds it.
enum BuilderBody {
    Bytes(Bytes),
    File(PathBuf),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

impl std::fmt::Debug for BuilderBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuilderBody::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            BuilderBody::File(_) => f.write_str("<file>"),
            BuilderBody::Reader(_) => f.write_str("<reader>"),
        }
    }
}

impl<C> std::fmt::Debug for RequestBuilder<'_, C> {
    // Method, URL without userinfo or query, header names and body length: never a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        uma_core::trace::debug_request_builder(f, &self.builder, &self.body, &self.party)
    }
}

impl<'a, C> RequestBuilder<'a, C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    pub(crate) fn new(client: &'a UmaClient<C>, method: Method, uri: &str) -> Self {
        Self {
            client,
            builder: http::Request::builder().method(method).uri(uri),
            body: BuilderBody::Bytes(Bytes::new()),
            party: Party::default(),
        }
    }

    /// Adds a header (appended; invalid names or values surface as [`Error::InvalidRequest`] on `send`).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        http::HeaderName: TryFrom<K>,
        <http::HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        http::HeaderValue: TryFrom<V>,
        <http::HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Sets the body (replaces any earlier one): bytes, replayed after a challenge without a copy.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = BuilderBody::Bytes(body.into());
        self
    }

    /// Streams the file at `path` as the body, opening it again for the retry after a challenge: a body
    /// of any size, never held in memory. Its length goes in `Content-Length` (unless set).
    pub fn body_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.body = BuilderBody::File(path.into());
        self
    }

    /// Reads the body from `reader`. A reader that ends within
    /// [`Options::max_replay_body`](crate::Options::max_replay_body) is replayed after a challenge; a
    /// longer one is sent once, and a challenge to it ends the call in [`Error::BodyNotReplayable`].
    pub fn body_reader(mut self, reader: impl AsyncRead + Send + Unpin + 'static) -> Self {
        self.body = BuilderBody::Reader(Box::new(reader));
        self
    }

    /// Sends on behalf of `party` (default: the default party).
    pub fn party(mut self, party: Party) -> Self {
        self.party = party;
        self
    }

    /// Runs the request (see [`UmaClient::send`]).
    pub async fn send(self) -> Result<http::Response<Incoming>, Error> {
        let Self {
            client,
            builder,
            body,
            party,
        } = self;
        match body {
            BuilderBody::Bytes(bytes) => {
                let request = builder.body(http_body_util::Full::new(bytes))?;
                client.send_for_party(party, request).await
            }
            BuilderBody::Reader(reader) => {
                let request = builder.body(ReaderBody::new(reader))?;
                client.send_for_party(party, request).await
            }
            BuilderBody::File(path) => {
                let length = std::fs::metadata(&path)
                    .map_err(|e| Error::RequestBody(Box::new(e)))?
                    .len();
                let mut request = builder.body(())?;
                request
                    .headers_mut()
                    .entry(http::header::CONTENT_LENGTH)
                    .or_insert(length.into());
                request.extensions_mut().insert(party);
                client
                    .send_with_body(request, move || FileBody::open(&path))
                    .await
            }
        }
    }
}

/// Bytes read per frame from a reader or a file.
const CHUNK: usize = 64 * 1024;

/// An [`AsyncRead`] as a request body, read a chunk per frame.
struct ReaderBody<R> {
    reader: Option<R>,
}

impl<R> ReaderBody<R> {
    fn new(reader: R) -> Self {
        Self {
            reader: Some(reader),
        }
    }
}

impl<R: AsyncRead + Unpin> Body for ReaderBody<R> {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(reader) = self.reader.as_mut() else {
            return Poll::Ready(None);
        };
        let mut chunk = vec![0; CHUNK];
        let mut buf = ReadBuf::new(&mut chunk);
        match Pin::new(reader).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                self.reader = None;
                Poll::Ready(Some(Err(Box::new(e))))
            }
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                self.reader = None;
                Poll::Ready(None)
            }
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len();
                chunk.truncate(read);
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.reader.is_none()
    }
}

/// A file opened for one send; a file that cannot be opened fails its first frame.
enum FileBody {
    Open(ReaderBody<tokio::fs::File>),
    Failed(Option<std::io::Error>),
}

impl FileBody {
    fn open(path: &std::path::Path) -> Self {
        match std::fs::File::open(path) {
            Ok(file) => FileBody::Open(ReaderBody::new(tokio::fs::File::from_std(file))),
            Err(e) => FileBody::Failed(Some(e)),
        }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            FileBody::Open(body) => Pin::new(body).poll_frame(cx),
            FileBody::Failed(error) => {
                Poll::Ready(error.take().map(|e| Err(Box::new(e) as BoxError)))
            }
        }
    }
}
