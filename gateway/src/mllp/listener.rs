//! MLLP listeners: bind, accept, optional TLS handshake, then hand each
//! connection to a worker thread (like the HTTP listeners), where it is
//! served in order by [`super::connection::serve`]. A connection that
//! fails in any way ends alone; the accept loop keeps serving others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::connection::serve;
use super::process::Feed;
use super::stats::FeedStats;
use crate::runtime::conn_limit::{AcceptBackoff, ConnLimit};
use crate::runtime::workers::Workers;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the accept loop of one bound listener. It ends when `stop`
/// (the gateway) or `unbind` (a reload that dropped or moved this
/// listener) turns; connections it accepted end only with the gateway.
/// Each connection takes the TLS acceptor in `acceptor` at accept time, so
/// a reload swaps certificates (or TLS on and off) without rebinding.
///
/// A connection over `limit` (the listener's, the source address's or the
/// process's file budget, see [`crate::runtime::conn_limit`]) is closed at
/// once: no ACK is possible before a message, and the sender's interface
/// engine retries its connect.
pub fn spawn(
    listener: TcpListener,
    acceptor: Arc<ArcSwapOption<TlsAcceptor>>,
    limit: Arc<ConnLimit>,
    feed: Arc<Feed>,
    workers: Arc<Workers>,
    stop: watch::Receiver<bool>,
    unbind: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(accept_loop(
        listener, acceptor, limit, feed, workers, stop, unbind,
    ))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Arc<ArcSwapOption<TlsAcceptor>>,
    limit: Arc<ConnLimit>,
    feed: Arc<Feed>,
    workers: Arc<Workers>,
    stop: watch::Receiver<bool>,
    mut unbind: watch::Receiver<bool>,
) {
    let mut stop_accept = stop.clone();
    let mut backoff = AcceptBackoff::new("mllp");
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            _ = stop_accept.changed() => return,
            _ = unbind.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    backoff.failed(&e).await;
                    continue;
                }
            },
        };
        backoff.reset();
        let Ok(permit) = limit.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        FeedStats::inc(&feed.stats.connections);
        tracing::debug!(target: "ehrgate::mllp", %peer, "feed connected");
        let _ = stream.set_nodelay(true);
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let feed = feed.clone();
        let acceptor = acceptor.load_full();
        let stop = stop.clone();
        workers.dispatch(Box::new(move || {
            Box::pin(async move {
                let _permit = permit;
                let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                    return;
                };
                match acceptor {
                    None => serve(stream, feed, stop).await,
                    Some(acceptor) => {
                        let Ok(Ok(tls)) =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        else {
                            tracing::debug!(target: "ehrgate::mllp", %peer, "TLS handshake failed");
                            return;
                        };
                        serve(tls, feed, stop).await;
                    }
                }
            })
        }));
    }
}
