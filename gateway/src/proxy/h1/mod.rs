//! The native HTTP/1.1 pass-through engine.
//!
//! hyper serves a request through its h1 codec, a header map per message,
//! hyper-util's pool checkout (a keyed map) and a dispatch channel to a
//! client connection task: most of the user-space CPU a proxied request
//! costs (see `bench/README.md`). This engine serves HTTP/1.1 pass-through
//! requests in the client connection's own task instead: the request head
//! parsed with `httparse` (the parser hyper itself uses), tenant and route
//! decided by the same code as hyper's path ([`super::forward::select`]),
//! the rewritten head written straight onto an upstream connection from a
//! per-worker idle list ([`pool`]), the response head parsed and rewritten
//! without a header map ([`response`]), and bodies streamed byte for byte
//! by their framing ([`relay`]; chunked payload passed through, its
//! framing re-written canonical, see [`chunked`]).
//!
//! # Framing from the parsed message
//! Both heads' framing is decided once, from the parsed head (as hyper's
//! `role.rs` does), and written from that decision: `Content-Length` and
//! `Transfer-Encoding` lines are never copied from one side to the other,
//! and a `Connection` header cannot remove them, `Host`, or the headers
//! the gateway relies on ([`crate::proxy::headers::PROTECTED`]). `Host`
//! follows RFC 9112 section 3.2 ([`crate::proxy::host`]) on both engines.
//! Timeouts, retries and their budget, health accounting, size limits,
//! error answers and the access log are those of hyper's path.
//!
//! # Fallback to hyper
//!
//! A request the engine does not serve is handed to hyper together with
//! the rest of its connection (the bytes already read are replayed first,
//! [`prefixed`]), so every request is always served:
//! - the h2c prior-knowledge preface, HTTP/1.0, `CONNECT` (hyper's path
//!   answers it 405, [`crate::proxy::method_rules`]), targets not in
//!   origin form (`*`, absolute-form), `Upgrade` / `Connection: upgrade`;
//! - unusual framing: `Content-Length` together with chunked, conflicting
//!   `Content-Length`s (a transfer coding other than one `chunked` is
//!   refused here, [`crate::proxy::transfer_coding`]);
//! - `Expect` other than `100-continue`;
//! - facade routes (openEHR backends) and TLS upstreams.
//!
//! TLS connections use the engine when ALPN did not choose h2. The switch
//! is `[server] http1_engine = "native" | "hyper"` (read per connection).
//!
//! # Layout
//! - [`conn`]: the connection loop, keep-alive, shutdown and fallback;
//! - [`exchange`]: one request: select, send with retries, relay back;
//! - [`request`] / [`response`]: heads; [`chunked`]: chunked framing;
//! - [`relay`]: body streaming; [`pool`]: idle upstream connections.

pub mod chunked;
pub(crate) mod conn;
pub(crate) mod exchange;
pub(crate) mod pool;
pub(crate) mod prefixed;
pub(crate) mod relay;
pub mod request;
pub(crate) mod response;

pub(crate) use conn::{serve, Fallback};
