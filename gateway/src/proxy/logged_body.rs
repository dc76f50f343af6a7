//! The response body hyper's path serves: a [`ProxyBody`] with the
//! request's access-log line, written when the body is dropped (finished or
//! cut off), so the line carries the real byte count and the whole
//! duration.
//!
//! Why a wrapper and not a field of `ProxyBody`: the body type belongs to
//! the upstream layer (`crate::upstream`), which the facade, MLLP delivery
//! and health checks use too; the access log is the proxy's. The wrapper
//! keeps the lower layer free of imports from above, at the cost of one
//! more struct around the same enum (no allocation).

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::telemetry::access_log::AccessLog;
use crate::upstream::body::{BodyError, ProxyBody};

/// A response body and the access-log line it writes when dropped.
#[derive(Debug)]
pub struct LoggedBody {
    inner: ProxyBody,
    log: Option<AccessLog>,
}

// === impl LoggedBody ===

impl LoggedBody {
    /// `inner`, writing `log` when it is dropped.
    pub fn new(inner: ProxyBody, log: AccessLog) -> Self {
        LoggedBody {
            inner,
            log: Some(log),
        }
    }
}

impl Body for LoggedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Err(BodyError::TooLarge { .. })) = &frame {
            if let Some(log) = &mut this.log {
                log.truncated = true;
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(log) = self.log.take() {
            log.emit(self.inner.seen());
        }
    }
}
