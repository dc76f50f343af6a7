//! The one body type that flows through the proxy, in both directions.
//!
//! Pass-through bodies stream frame by frame (never buffered) while a byte
//! counter enforces the configured size limit; bodies we produce ourselves
//! (OperationOutcomes, replays for retries) are a single frame. An enum
//! instead of a boxed trait object keeps the hot path free of a per-request
//! allocation. When a response body is dropped (finished or cut off) it
//! writes the access-log line, so the line carries the real byte count and
//! the whole duration.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use ehrgate_templates::fault::{Classified, Fault};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::access_log::AccessLog;

/// Why a body stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More bytes than the configured limit.
    #[error("the body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The peer's stream failed.
    #[error("the body stream failed: {0}")]
    Stream(#[from] hyper::Error),
}

impl Classified for BodyError {
    fn fault(&self) -> Fault {
        match self {
            BodyError::TooLarge { .. } => Fault::Client,
            BodyError::Stream(_) => Fault::Upstream,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => "body.too-large",
            BodyError::Stream(_) => "body.stream",
        }
    }
}

#[derive(Debug)]
enum Kind {
    Empty,
    Full(Option<Bytes>),
    Stream(Incoming),
}

/// A request or response body.
#[derive(Debug)]
pub struct ProxyBody {
    kind: Kind,
    limit: u64,
    seen: u64,
    log: Option<AccessLog>,
}

// === impl ProxyBody ===

impl ProxyBody {
    /// No body.
    pub fn empty() -> Self {
        Self::with(Kind::Empty, u64::MAX)
    }

    /// A body we built.
    pub fn full(bytes: Bytes) -> Self {
        Self::with(Kind::Full(Some(bytes)), u64::MAX)
    }

    /// A streamed body, cut off with an error after `limit` bytes.
    pub fn stream(body: Incoming, limit: u64) -> Self {
        Self::with(Kind::Stream(body), limit)
    }

    fn with(kind: Kind, limit: u64) -> Self {
        ProxyBody {
            kind,
            limit,
            seen: 0,
            log: None,
        }
    }

    /// Attaches the access-log line written when this body is dropped.
    pub fn with_log(mut self, log: AccessLog) -> Self {
        self.log = Some(log);
        self
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let frame = match &mut this.kind {
            Kind::Empty => return Poll::Ready(None),
            Kind::Full(bytes) => match bytes.take() {
                Some(b) => Frame::data(b),
                None => return Poll::Ready(None),
            },
            Kind::Stream(body) => match ready!(Pin::new(body).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(e)) => return Poll::Ready(Some(Err(BodyError::Stream(e)))),
                None => return Poll::Ready(None),
            },
        };
        if let Some(data) = frame.data_ref() {
            this.seen += data.len() as u64;
            if this.seen > this.limit {
                if let Some(log) = &mut this.log {
                    log.truncated = true;
                }
                return Poll::Ready(Some(Err(BodyError::TooLarge { limit: this.limit })));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(b) => b.is_none(),
            Kind::Stream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(body) => body.size_hint(),
        }
    }
}

impl Drop for ProxyBody {
    fn drop(&mut self) {
        if let Some(log) = self.log.take() {
            log.emit(self.seen);
        }
    }
}
