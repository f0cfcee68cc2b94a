//! The hyper and tower services (features `hyper`, `axum`), built on
//! [`MetricsHandler::serve`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;

use super::MetricsHandler;

/// The future of the hyper and tower services: the answer, never an error.
pub struct ResponseFuture(Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>);

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx).map(Ok)
    }
}

/// Serves every request it gets as a scrape; route `/metrics` to it (see
/// `examples/server.rs`).
#[cfg(feature = "hyper")]
impl<B> hyper::service::Service<Request<B>> for MetricsHandler {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<B>) -> Self::Future {
        ResponseFuture(Box::pin(self.serve(&request)))
    }
}

/// Serves every request it gets as a scrape: mount it with axum's
/// `Router::route_service("/metrics", handler)`.
#[cfg(feature = "axum")]
impl<B> tower_service::Service<Request<B>> for MetricsHandler {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ResponseFuture(Box::pin(self.serve(&request)))
    }
}
