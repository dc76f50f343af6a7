//! Failover to the healthy arm (issue 26, item 6): the one policy both
//! engines' attempt loops call, so each loop only asks "where does this
//! attempt go" and "after this failure, is there another attempt, and
//! where".
//!
//! The rules, per route (`failover = "other-arm"`, the default):
//!
//! - A request whose arm's backend is ejected (outlier) or unhealthy
//!   (active check) goes to the other arm before anything is sent: no byte
//!   left the gateway, so this holds for every method and costs no retry.
//! - A refused connection (connect failed): nothing was sent either, so any
//!   request, a POST with its body included, may go to the other arm; this
//!   is a retry and takes one from the retry budget.
//! - A reset or close before a response head, or a timeout: the request
//!   may have reached the backend and been acted on. Only *safe* requests
//!   without a body (GET, HEAD, OPTIONS, TRACE; RFC 9110 section 9.2.1) go
//!   to the other arm. PUT and DELETE are idempotent (section 9.2.2), but
//!   idempotence is a property of one origin server: during a migration the
//!   two arms are two stores, and repeating a DELETE on the other one adds
//!   an effect rather than repeating it. They keep the same-arm retry the
//!   gateway had before (bodyless only, `retry::retryable`).
//! - Writes (POST, PATCH, anything with a body) therefore fail over only
//!   when no byte was sent.
//! - One move per request: the arm left is not tried again (no ping-pong),
//!   and `max_attempts` and the retry budget bound the attempts.
//! - A pinned tenant never moves (see [`other_arm`]); nor do facade routes
//!   (openEHR backends: the facade keeps its own connections and a move
//!   would change the request's handler), nor a route with one arm.
//!   A request with nowhere to go is answered 503 as before.

use std::sync::Arc;

use http::header::HeaderName;
use http::Method;

use crate::config::model::FailoverPolicy;
use crate::routing::decision::{failover_label as label, other_arm, Arm, Decision};
use crate::routing::route_match::CompiledRoute;
use crate::runtime::state::Snapshot;
use crate::upstream::pool::Upstream;
use crate::upstream::retry::{retryable, RetryBudget};

/// The response header saying a request was moved (`canary->stable`),
/// added with the decision headers.
pub const FAILOVER_HEADER: HeaderName = HeaderName::from_static("x-ehrgate-failover");

/// How an attempt failed, as far as failover is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection could not be made: no byte of the request was sent.
    Refused,
    /// The connection closed or reset before any response byte, after the
    /// request (or part of it) was written.
    NoResponse,
    /// No response head within the backend's request timeout.
    Timeout,
}

/// Where the next attempt goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The same backend again.
    SameArm,
    /// The other arm's backend ([`Arms::backend`] now names it).
    OtherArm,
    /// No further attempt: answer with the failure.
    No,
}

/// The arm serving a request and the one it may still move to.
#[derive(Debug, Clone)]
pub struct Arms {
    /// The arm serving now.
    pub arm: Arm,
    /// Its backend's index in the snapshot.
    pub backend: usize,
    /// Where a move may go (cleared once a move was made).
    alternate: Option<(Arm, usize)>,
    /// `from->to` once the request moved.
    pub moved: Option<&'static str>,
}

// === impl Arms ===

impl Arms {
    /// The arms of a decision under its route's policy.
    pub fn new(snap: &Snapshot, route: &CompiledRoute, decision: &Decision) -> Arms {
        let backend = usize::from(decision.backend);
        let alternate = match route.failover {
            FailoverPolicy::None => None,
            FailoverPolicy::OtherArm => other_arm(route, decision)
                .map(|(arm, idx)| (arm, usize::from(idx)))
                .filter(|(_, idx)| pass_through(snap, *idx) && pass_through(snap, backend)),
        };
        Arms {
            arm: decision.arm,
            backend,
            alternate,
            moved: None,
        }
    }

    /// Whether a move is still possible.
    pub fn has_alternate(&self) -> bool {
        self.alternate.is_some()
    }

    /// Drops an alternate the caller cannot reach (the native engine: one
    /// behind TLS).
    pub fn keep_alternate_if(
        &mut self,
        reachable: impl FnOnce(&Upstream) -> bool,
        snap: &Snapshot,
    ) {
        if let Some((_, idx)) = self.alternate {
            if !snap.upstream(idx).is_some_and(|u| reachable(u)) {
                self.alternate = None;
            }
        }
    }

    /// The backend serving now.
    pub fn upstream<'s>(&self, snap: &'s Snapshot) -> Option<&'s Arc<Upstream>> {
        snap.upstream(self.backend)
    }

    /// Before an attempt: when the current backend is ejected or unhealthy
    /// and the alternate is not, moves there (free: nothing was sent).
    /// Whether the backend serving now is available.
    pub fn avoid_unavailable(&mut self, snap: &Snapshot) -> bool {
        if available(snap, self.backend) {
            return true;
        }
        match self.alternate {
            Some((_, idx)) if available(snap, idx) => {
                self.switch();
                true
            }
            _ => false,
        }
    }

    /// After a failed attempt (`attempt` of at most `max_attempts`): whether
    /// to try again and where. `body_sent`: some of the request (head or
    /// body) was written; `has_body`: the request has a body, which cannot
    /// be sent twice. A retry takes one unit of `budget`.
    pub fn after_failure(&mut self, failure: Failure, at: Attempt<'_>) -> Retry {
        if at.attempt >= at.max_attempts {
            return Retry::No;
        }
        let alternate_up = self
            .alternate
            .is_some_and(|(_, idx)| available(at.snap, idx));
        let to_other = alternate_up
            && match failure {
                Failure::Refused => !at.body_sent,
                Failure::NoResponse | Failure::Timeout => is_safe(at.method) && !at.has_body,
            };
        if to_other {
            if !at.budget.withdraw() {
                return Retry::No;
            }
            self.switch();
            return Retry::OtherArm;
        }
        // The retry the gateway always had: the same backend, idempotent
        // bodyless requests, when no response came (not after a timeout:
        // the backend is slow, and asking it again only adds load).
        let same = failure != Failure::Timeout && retryable(at.method, at.has_body);
        if same && at.budget.withdraw() {
            Retry::SameArm
        } else {
            Retry::No
        }
    }

    fn switch(&mut self) {
        if let Some((arm, idx)) = self.alternate.take() {
            self.moved = Some(label(self.arm, arm));
            self.arm = arm;
            self.backend = idx;
        }
    }
}

/// What [`Arms::after_failure`] needs to know about the attempt.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The snapshot (health of the alternate).
    pub snap: &'a Snapshot,
    /// The request method.
    pub method: &'a Method,
    /// Attempts made so far, this one included.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Some of the request was written upstream.
    pub body_sent: bool,
    /// The request has a body.
    pub has_body: bool,
    /// The retry budget.
    pub budget: &'a RetryBudget,
}

/// Safe methods (RFC 9110 section 9.2.1): no effect on the origin server
/// the client asked for, so sending them to another store is harmless.
pub fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn available(snap: &Snapshot, idx: usize) -> bool {
    snap.upstream(idx).is_some_and(|u| u.health.available())
}

/// Whether every request of backend `idx` passes through: one with a
/// handler (the facade) serves some itself, and a move would change the
/// request's handler.
fn pass_through(snap: &Snapshot, idx: usize) -> bool {
    snap.backend(idx).is_some_and(|b| b.handler.is_none())
}

/// The target on `to` for a target built for `from`: the base paths of the
/// two backends differ, the forwarded path and query do not.
pub fn rebase(path_and_query: &str, from: &Upstream, to: &Upstream) -> String {
    let rest = path_and_query
        .strip_prefix(from.base_path.as_str())
        .unwrap_or(path_and_query);
    let mut pq = String::with_capacity(to.base_path.len() + rest.len());
    pq.push_str(&to.base_path);
    pq.push_str(rest);
    pq
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::decision::failover_arms as arms_of;

    #[test]
    fn safe_methods_are_the_rfc_9110_ones() {
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(is_safe(&m), "{m}");
        }
        for m in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            assert!(!is_safe(&m), "{m}");
        }
    }

    #[test]
    fn labels_round_trip() {
        for (a, b) in [(Arm::Canary, Arm::Stable), (Arm::Stable, Arm::Canary)] {
            assert_eq!(arms_of(label(a, b)), (a.as_str(), b.as_str()));
        }
    }
}
