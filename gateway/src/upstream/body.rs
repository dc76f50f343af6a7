//! The one body type that flows through the proxy, in both directions.
//!
//! Pass-through bodies stream frame by frame (never buffered) while a byte
//! counter enforces the configured size limit; bodies we produce ourselves
//! (OperationOutcomes, replays for retries) are a single frame. An enum
//! instead of a boxed trait object keeps the hot path free of a per-request
//! allocation. It knows nothing of the access log: the proxy wraps a
//! response body it serves (`proxy::logged_body`) to write the line when
//! the body ends, so this layer imports nothing above it.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use ehrgate_templates::fault::{Classified, Fault};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

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
    /// A request body taken back for another attempt was polled through
    /// the attempt it was taken from (a gateway defect, never expected).
    #[error("the body was handed to another attempt")]
    Superseded,
}

impl Classified for BodyError {
    fn fault(&self) -> Fault {
        match self {
            BodyError::TooLarge { .. } => Fault::Client,
            BodyError::Stream(_) => Fault::Upstream,
            BodyError::Superseded => Fault::Internal,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => "body.too-large",
            BodyError::Stream(_) => "body.stream",
            BodyError::Superseded => "body.superseded",
        }
    }
}

#[derive(Debug)]
enum Kind {
    Empty,
    Full(Option<Bytes>),
    Stream(Incoming),
    /// A client's request body that an attempt which never read it (the
    /// connection was refused) hands back for the next attempt, on the
    /// other arm (the proxy's failover). The `u32` is this handle's
    /// generation: only the newest may read.
    Shared(Arc<SharedBody>, u32),
}

/// The client's body behind a [`Reclaim`] handle.
#[derive(Debug)]
struct SharedBody {
    body: Mutex<Option<Incoming>>,
    /// Some frame was read (then it cannot be sent again).
    polled: AtomicBool,
    /// The generation allowed to read.
    current: AtomicU32,
}

/// Takes a request body back from an attempt that did not read any of it.
#[derive(Debug)]
pub struct Reclaim {
    shared: Arc<SharedBody>,
    limit: u64,
}

// === impl Reclaim ===

impl Reclaim {
    /// Whether the attempt read some of the body.
    pub fn touched(&self) -> bool {
        self.shared.polled.load(Ordering::Acquire)
    }

    /// The body again, for the next attempt, when no byte of it was read;
    /// earlier handles stop reading.
    pub fn again(&self) -> Option<ProxyBody> {
        if self.touched() {
            return None;
        }
        let generation = self.shared.current.fetch_add(1, Ordering::AcqRel) + 1;
        Some(ProxyBody::with(
            Kind::Shared(self.shared.clone(), generation),
            self.limit,
        ))
    }
}

/// A request or response body.
#[derive(Debug)]
pub struct ProxyBody {
    kind: Kind,
    limit: u64,
    seen: u64,
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

    /// A streamed body that can be taken back ([`Reclaim::again`]) while
    /// none of it was read.
    pub fn reclaimable(body: Incoming, limit: u64) -> (Self, Reclaim) {
        let shared = Arc::new(SharedBody {
            body: Mutex::new(Some(body)),
            polled: AtomicBool::new(false),
            current: AtomicU32::new(0),
        });
        let handle = Reclaim {
            shared: shared.clone(),
            limit,
        };
        (Self::with(Kind::Shared(shared, 0), limit), handle)
    }

    fn with(kind: Kind, limit: u64) -> Self {
        ProxyBody {
            kind,
            limit,
            seen: 0,
        }
    }

    /// Data bytes read so far, the frame that went over the limit included
    /// (what the access line reports).
    pub fn seen(&self) -> u64 {
        self.seen
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
            Kind::Shared(shared, generation) => {
                if shared.current.load(Ordering::Acquire) != *generation {
                    return Poll::Ready(Some(Err(BodyError::Superseded)));
                }
                shared.polled.store(true, Ordering::Release);
                let mut slot = shared
                    .body
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let Some(body) = slot.as_mut() else {
                    return Poll::Ready(None);
                };
                match ready!(Pin::new(body).poll_frame(cx)) {
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => return Poll::Ready(Some(Err(BodyError::Stream(e)))),
                    None => return Poll::Ready(None),
                }
            }
        };
        if let Some(data) = frame.data_ref() {
            this.seen += data.len() as u64;
            if this.seen > this.limit {
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
            Kind::Shared(shared, _) => shared
                .body
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .is_none_or(Incoming::is_end_stream),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(body) => body.size_hint(),
            Kind::Shared(shared, _) => shared
                .body
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .map_or(SizeHint::with_exact(0), Incoming::size_hint),
        }
    }
}
