//! Serving the router on a TCP listener, with the limits a public server needs.
//!
//! - **Header timeout**: a client has [`ServerLimits::header_timeout`] to send a request's
//!   headers, counted from when the connection is ready for them (so it also closes a
//!   keep-alive connection that sits idle that long).
//! - **Body timeout**: a request body must arrive within [`ServerLimits::body_timeout`]; a
//!   body that trickles or never ends is cut off (408).
//! - **Connections**: at most [`ServerLimits::max_connections`] at once; a connection beyond
//!   that is closed at once instead of queueing, so a flood of idle sockets cannot take every
//!   file descriptor.
//! - **Security headers** on every response: a Content-Security-Policy that allows only the
//!   server's own script and stylesheet and no framing, `X-Frame-Options: DENY`,
//!   `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`. The embeddable
//!   cards (`/embed/...`) are the one exception to the framing rule: a card response carries
//!   the [`Embeddable`] marker and its own policy ([`CARD_CONTENT_SECURITY_POLICY`] or
//!   [`SVG_CONTENT_SECURITY_POLICY`]), and gets no `X-Frame-Options`.
//!
//! Each request carries its peer address as `axum::extract::ConnectInfo<SocketAddr>` (the
//! ingest rate limit keys on it).

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Limits on what one client may hold open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest wait for a request's headers (and for the next request on an idle connection).
    pub header_timeout: Duration,
    /// Longest time a request body may take to arrive.
    pub body_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// The Content-Security-Policy of every response. Pages load only `/assets/` from this server;
/// charts are inline SVG and bar widths are `style` attributes, which `style-src-attr` allows
/// without allowing any inline `<style>` element or script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The Content-Security-Policy of an HTML card: the server's stylesheet and nothing else (no
/// script at all), and any site may frame it.
pub const CARD_CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors *";

/// The Content-Security-Policy of an SVG card: an image that loads nothing and runs nothing,
/// even when opened on its own or framed.
pub const SVG_CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors *";

/// A response extension that marks a response as meant to be framed by other sites (the
/// embeddable cards): [`harden`] then adds no `X-Frame-Options`, and the response brings its
/// own Content-Security-Policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embeddable;

/// `X-Frame-Options: DENY` on every response not marked [`Embeddable`].
async fn deny_framing(mut response: Response) -> Response {
    let embeddable = response.extensions().get::<Embeddable>().is_some();
    if !embeddable && !response.headers().contains_key(header::X_FRAME_OPTIONS) {
        response
            .headers_mut()
            .insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// The router with the security headers and the body timeout applied.
pub fn harden(router: Router, limits: &ServerLimits) -> Router {
    let headers: [(HeaderName, &'static str); 3] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let mut router = router
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_timeout,
        ))
        .layer(axum::middleware::map_response(deny_framing));
    for (name, value) in headers {
        router = router.layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                name,
                HeaderValue::from_static(value),
            ),
        );
    }
    router
}

/// Serve `router` (hardened with [`harden`]) on `listener` until `shutdown` resolves, then
/// finish the requests in flight and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = harden(router, &limits);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(%error, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection limit reached; closing");
            drop(stream);
            continue;
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let request = request.map(axum::body::Body::new);
                let router = router.clone();
                async move {
                    let response: Result<Response, std::convert::Infallible> =
                        router.oneshot(request).await;
                    response
                }
            });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    // Requests in flight finish; a client that holds its connection open longer than the
    // limits allow does not hold the shutdown with it.
    let patience = limits.header_timeout.max(limits.body_timeout);
    if tokio::time::timeout(patience, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("closing the connections still open after {patience:?}");
    }
    Ok(())
}

/// The peer address of a request served by [`serve`], if any.
pub fn peer_of<B>(request: &Request<B>) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
}
