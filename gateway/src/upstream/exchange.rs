//! The one call policy every exchange with an HTTP upstream goes through:
//! the backend must be available (not ejected, not marked down), the
//! exchange must finish within the backend's request timeout, and its
//! outcome is recorded in the backend's health (outlier ejection).
//!
//! Why one function: the proxy's two engines, the facade's openEHR client
//! and MLLP delivery to FHIR servers each wrote this policy themselves, and
//! a change to it (what counts as a failure, when a timeout starts) had to
//! be made four times. The callers keep what differs: how the request is
//! written and read (hyper's client or the native engine's raw
//! connection), and what their outcome says about the backend's health
//! ([`Health`]), which [`exchange`] asks them for.

use std::future::Future;

use super::pool::Upstream;

/// What an exchange's outcome says about the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The backend answered well: clears its failure count and ejection.
    Good,
    /// A connect error, a reset, a 5xx: counts towards ejection.
    Bad,
    /// Says nothing about the backend (the client's body failed, a 4xx the
    /// caller does not count): health is left as it was.
    Neutral,
}

/// Why an exchange gave no outcome of the caller's own.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused<E> {
    /// The backend is ejected or marked down: nothing was sent.
    Unavailable,
    /// No outcome within the backend's request timeout (recorded as a
    /// failure).
    Timeout,
    /// The caller's attempt failed with its own error (recorded as its
    /// [`Health`] says).
    Failed(E),
}

/// Runs `attempt` against `up` under the call policy: refused at once when
/// the backend is unavailable, cut off after its request timeout (a
/// failure), otherwise recorded as `judge` says of the outcome.
pub async fn exchange<T, E, F>(
    up: &Upstream,
    attempt: F,
    judge: impl FnOnce(&Result<T, E>) -> Health,
) -> Result<T, Refused<E>>
where
    F: Future<Output = Result<T, E>>,
{
    if !up.health.available() {
        return Err(Refused::Unavailable);
    }
    match tokio::time::timeout(up.request_timeout, attempt).await {
        Err(_) => {
            up.health.failure();
            Err(Refused::Timeout)
        }
        Ok(outcome) => {
            match judge(&outcome) {
                Health::Good => up.health.success(),
                Health::Bad => up.health.failure(),
                Health::Neutral => {}
            }
            outcome.map_err(Refused::Failed)
        }
    }
}

/// The usual judgement of an HTTP status: a 5xx is the backend's failure,
/// anything else a good answer.
pub fn by_status(status: http::StatusCode) -> Health {
    if status.is_server_error() {
        Health::Bad
    } else {
        Health::Good
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An upstream ejected after two failures, with a 50 ms timeout.
    fn upstream() -> Upstream {
        let toml = r#"
            [[listener]]
            bind = "127.0.0.1:0"
            [[backend]]
            name = "b"
            kind = "http"
            url = "http://127.0.0.1:21001"
            request_timeout_ms = 50
            [backend.outlier]
            consecutive_failures = 2
            eject_ms = 60000
            [[tenant]]
            id = "t"
            [[route]]
            id = "r"
            path_prefix = "/"
            stable = "b"
        "#;
        let loaded = crate::config::load_str(toml, std::path::Path::new("t.toml"))
            .unwrap_or_else(|e| panic!("config: {e}"));
        let b = &loaded.config.backends[0];
        Upstream::new(b, |p| p.to_path_buf()).unwrap_or_else(|e| panic!("upstream: {e}"))
    }

    #[tokio::test]
    async fn timeouts_and_bad_outcomes_eject_good_ones_clear_neutral_ones_do_not_count() {
        let up = upstream();
        let slow = exchange(
            &up,
            async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok::<_, ()>(())
            },
            |_| Health::Good,
        );
        assert_eq!(slow.await, Err(Refused::Timeout));
        // One failure so far; a neutral outcome neither clears nor adds.
        let neutral = exchange(&up, async { Err::<(), _>("client") }, |_| Health::Neutral);
        assert_eq!(neutral.await, Err(Refused::Failed("client")));
        assert!(up.health.available());
        let bad = exchange(&up, async { Ok::<_, ()>(503) }, |_| Health::Bad);
        assert_eq!(bad.await, Ok(503));
        assert!(!up.health.available(), "two failures eject");
        let refused = exchange(&up, async { Ok::<_, ()>(200) }, |_| Health::Good);
        assert_eq!(refused.await, Err(Refused::Unavailable));
    }

    #[tokio::test]
    async fn a_good_outcome_clears_the_failure_count() {
        let up = upstream();
        let bad = || exchange(&up, async { Err::<(), _>(()) }, |_| Health::Bad);
        assert_eq!(bad().await, Err(Refused::Failed(())));
        let good = exchange(&up, async { Ok::<_, ()>(()) }, |_| Health::Good);
        assert_eq!(good.await, Ok(()));
        assert_eq!(bad().await, Err(Refused::Failed(())));
        assert!(
            up.health.available(),
            "the count restarted after the good one"
        );
    }

    #[test]
    fn only_server_errors_are_bad() {
        assert_eq!(by_status(http::StatusCode::OK), Health::Good);
        assert_eq!(by_status(http::StatusCode::NOT_FOUND), Health::Good);
        assert_eq!(by_status(http::StatusCode::BAD_GATEWAY), Health::Bad);
    }
}
