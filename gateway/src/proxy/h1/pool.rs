//! Idle upstream connections of the native engine, per worker thread.
//!
//! Every connection is made and used by the worker that serves the client
//! (see [`crate::runtime::workers`]), so the idle list is a thread-local
//! `Vec` per upstream: checkout and return are a pop and a push, with no
//! lock, hash or channel. A connection is checked for a close by the
//! upstream (a readable socket while idle means EOF or stray bytes) before
//! it is handed out, and dropped after [`IDLE_TIMEOUT`].

use std::cell::RefCell;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::upstream::pool::Upstream;

/// How long an idle upstream connection is kept (hyper-util's pool uses
/// the same 60 s in [`Upstream::new`]).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Most idle connections kept per upstream and worker.
const MAX_IDLE: usize = 1024;

/// One upstream's idle connections on this worker, most recent last.
#[derive(Debug)]
struct IdleList {
    upstream: u64,
    conns: Vec<(TcpStream, Instant)>,
}

thread_local! {
    static IDLE: RefCell<Vec<IdleList>> = const { RefCell::new(Vec::new()) };
}

/// An idle connection to `up` that still looks open, if there is one.
pub fn checkout(up: &Upstream) -> Option<TcpStream> {
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        let list = idle.iter_mut().find(|l| l.upstream == up.id)?;
        while let Some((conn, since)) = list.conns.pop() {
            if since.elapsed() < IDLE_TIMEOUT && looks_open(&conn) {
                return Some(conn);
            }
        }
        None
    })
}

/// Returns a connection that finished an exchange cleanly.
pub fn checkin(up: &Upstream, conn: TcpStream) {
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        let now = Instant::now();
        // Upstreams replaced by a reload leave their lists behind; drop
        // connections that timed out while we are here anyway.
        for list in idle.iter_mut() {
            if list
                .conns
                .first()
                .is_some_and(|(_, since)| now.duration_since(*since) >= IDLE_TIMEOUT)
            {
                list.conns
                    .retain(|(_, since)| now.duration_since(*since) < IDLE_TIMEOUT);
            }
        }
        idle.retain(|l| !l.conns.is_empty() || l.upstream == up.id);
        match idle.iter_mut().find(|l| l.upstream == up.id) {
            Some(list) if list.conns.len() >= MAX_IDLE => {}
            Some(list) => list.conns.push((conn, now)),
            None => idle.push(IdleList {
                upstream: up.id,
                conns: vec![(conn, now)],
            }),
        }
    });
}

/// Connects to `up` (with its connect timeout), `TCP_NODELAY` on.
pub async fn connect(up: &Upstream) -> std::io::Result<TcpStream> {
    let conn = tokio::time::timeout(up.connect_timeout, TcpStream::connect(&up.connect_addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    conn.set_nodelay(true)?;
    Ok(conn)
}

/// An idle HTTP/1.1 connection has nothing to read: a readable one was
/// closed by the upstream (EOF) or holds bytes nobody asked for.
fn looks_open(conn: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(conn.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}
