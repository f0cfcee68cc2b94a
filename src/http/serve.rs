//! The async entry point (feature `tokio`) and the hyper and tower
//! services built on it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;

use super::{plain, request, MetricsHandler, Scrape};

impl MetricsHandler {
    /// Answers a scrape without blocking the async runtime: the request is
    /// read here, then gathering, encoding and compression run on tokio's
    /// blocking pool (`spawn_blocking`), under the
    /// [timeout](super::MetricsHandlerBuilder::timeout) if one is set
    /// (503 when it passes, with promhttp's message).
    ///
    /// Answers as [`handle`](Self::handle) does. The future does not
    /// borrow the request; it must run inside a tokio runtime, with the
    /// time driver enabled when a timeout is set (`#[tokio::main]` enables
    /// it). Outside a runtime the work runs on the polling thread.
    ///
    /// # Examples
    ///
    /// An axum route (feature `tokio`; with feature `axum`,
    /// `Router::route_service("/metrics", handler)` does the same):
    ///
    /// ```
    /// use promclient::http::MetricsHandler;
    /// use promclient::Registry;
    ///
    /// let handler = MetricsHandler::new(Registry::new());
    /// let app: axum::Router = axum::Router::new().route(
    ///     "/metrics",
    ///     axum::routing::get(move |req: axum::extract::Request| handler.serve(&req)),
    /// );
    /// # let _ = app;
    /// ```
    pub fn serve<B>(
        &self,
        request: &Request<B>,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send + 'static {
        let scrape = self.read(request);
        let this = self.clone();
        async move { this.serve_scrape(scrape).await.map(Full::new) }
    }

    async fn serve_scrape(self, scrape: Scrape) -> Response<Bytes> {
        let flight = self.flight();
        let permit = match self.admit(&scrape) {
            Ok(permit) => permit,
            Err(refusal) => return self.finish(&scrape, refusal.answer()),
        };
        let answer = match tokio::runtime::Handle::try_current() {
            Err(_) => {
                let answer = self.answer(&scrape);
                drop(permit);
                answer
            }
            Ok(runtime) => {
                let this = self.clone();
                let s = scrape.clone();
                // The permit goes with the work: a scrape that timed out
                // keeps its slot until its gather and encode are done.
                let work = runtime.spawn_blocking(move || {
                    let answer = this.answer(&s);
                    drop(permit);
                    answer
                });
                let joined = match self.shared.opts.timeout {
                    Some(limit) => match tokio::time::timeout(limit, work).await {
                        Ok(joined) => joined,
                        Err(_) => {
                            return self.finish(
                                &scrape,
                                plain(
                                    StatusCode::SERVICE_UNAVAILABLE,
                                    format!(
                                        "Exceeded configured timeout of {}.\n",
                                        request::go_duration(limit)
                                    ),
                                ),
                            );
                        }
                    },
                    None => work.await,
                };
                match joined {
                    Ok(answer) => answer,
                    Err(e) => plain(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("An error has occurred while serving metrics:\n\n{e}\n"),
                    ),
                }
            }
        };
        let answer = self.finish(&scrape, answer);
        drop(flight);
        answer
    }
}

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
