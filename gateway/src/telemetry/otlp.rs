//! OTLP/HTTP (protobuf) export of the per-request tracing spans, switched on
//! by `[telemetry] otlp_endpoint`.
//!
//! The SDK's batch processor exports from its own thread, outside any tokio
//! runtime, so the exporter's HTTP client cannot simply be a hyper client
//! of the caller's runtime. [`ExportClient`] owns a one-thread runtime of
//! its own and hands each request to it; the SDK waits on the join handle,
//! which works from any executor. TLS to the collector is the gateway's
//! rustls (ring); no reqwest, no OpenSSL.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use ehrgate_templates::fault::{Classified, Fault};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why export could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("otlp export: {0}")]
pub struct OtlpError(String);

impl Classified for OtlpError {
    fn fault(&self) -> Fault {
        Fault::Internal
    }
    fn code(&self) -> &'static str {
        "telemetry.otlp"
    }
}

/// Keeps the exporter alive; flushes the remaining spans when dropped.
#[derive(Debug)]
pub struct OtlpGuard {
    provider: SdkTracerProvider,
    _runtime_stop: tokio::sync::oneshot::Sender<()>,
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(target: "ehrgate::telemetry", "otlp shutdown: {e}");
        }
    }
}

/// The exporter's HTTP client (see the module docs).
#[derive(Debug, Clone)]
struct ExportClient {
    handle: tokio::runtime::Handle,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

#[async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let (parts, body) = request.into_parts();
        let req = http::Request::from_parts(parts, Full::new(body));
        let task = self.handle.spawn(async move {
            let resp = tokio::time::timeout(EXPORT_TIMEOUT, client.request(req))
                .await
                .map_err(|_| HttpError::from("otlp export timed out"))?
                .map_err(|e| HttpError::from(e.to_string()))?;
            let (parts, body) = resp.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| HttpError::from(e.to_string()))?
                .to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, bytes))
        });
        task.await.map_err(|e| HttpError::from(e.to_string()))?
    }
}

/// The traces URL: the endpoint with `/v1/traces` unless it names a path.
pub fn traces_url(endpoint: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    if trimmed.ends_with("/v1/traces") {
        trimmed.to_string()
    } else {
        format!("{trimmed}/v1/traces")
    }
}

/// Builds the tracer provider exporting to `endpoint`; the caller adds
/// [`layer`] of its tracer to the subscriber.
pub fn start(
    endpoint: &str,
    ca: Option<&std::path::Path>,
    service_name: &str,
) -> Result<(OtlpGuard, opentelemetry_sdk::trace::Tracer), OtlpError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| OtlpError(format!("runtime: {e}")))?;
    let handle = runtime.handle().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("ehrgate-otlp".into())
        .spawn(move || {
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })
        .map_err(|e| OtlpError(format!("thread: {e}")))?;
    let tls = match ca {
        Some(ca) => crate::tls::client_config(ca, None),
        None => crate::tls::plain_client_config(),
    }
    .map_err(|e| OtlpError(e.to_string()))?;
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http_connector());
    let client = ExportClient {
        handle,
        client: Client::builder(TokioExecutor::new()).build(https),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(traces_url(endpoint))
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| OtlpError(e.to_string()))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build();
    let tracer = provider.tracer("ehrgate");
    Ok((
        OtlpGuard {
            provider,
            _runtime_stop: stop,
        },
        tracer,
    ))
}

/// A TCP connector that lets https:// through to the TLS layer.
fn http_connector() -> HttpConnector {
    let mut c = HttpConnector::new();
    c.enforce_http(false);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_path_is_added_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }
}
