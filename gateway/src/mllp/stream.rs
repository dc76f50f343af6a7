//! A connection to an MLLP destination, plain TCP or TLS (`mllps://`, or
//! an `mllp://` backend with a `tls` block), and the TLS client settings:
//! like the HTTP upstreams, only the CA certificates named in the block are
//! trusted (no system roots: destinations are ours), with an optional
//! client certificate for mutual TLS.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::model::BackendConfig;
use crate::config::LoadedConfig;
use crate::tls::{client_config, TlsError};

/// One open connection.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

/// How to start TLS to one destination.
#[derive(Clone)]
pub struct DestinationTls {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for DestinationTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationTls")
            .field("server_name", &self.server_name)
            .finish()
    }
}

// === impl DestinationTls ===

impl DestinationTls {
    /// The TLS settings of an MLLP backend; `None` for plain TCP.
    pub fn of(
        b: &BackendConfig,
        loaded: &LoadedConfig,
    ) -> Result<Option<DestinationTls>, TlsError> {
        let Some(t) = &b.tls else {
            return Ok(None);
        };
        let cert = t.cert.as_ref().map(|p| loaded.resolve(p));
        let key = t.key.as_ref().map(|p| loaded.resolve(p));
        let client = cert.as_deref().zip(key.as_deref());
        let config = client_config(&loaded.resolve(&t.ca), client)?;
        let url = b.url.get_ref();
        let host_port = url
            .strip_prefix("mllps://")
            .or_else(|| url.strip_prefix("mllp://"))
            .unwrap_or(url);
        let host = host_port
            .rsplit_once(':')
            .map_or(host_port, |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|_| TlsError::Material(format!("`{host}` is not a TLS server name")))?;
        Ok(Some(DestinationTls {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        }))
    }

    /// The handshake over a connected socket.
    pub async fn connect(&self, tcp: TcpStream) -> std::io::Result<Stream> {
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await?;
        Ok(Stream::Tls(Box::new(tls)))
    }
}

// === impl Stream ===

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
