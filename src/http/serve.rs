//! The async entry point (feature `tokio`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use parking_lot::Mutex;

use super::{plain, request, Flight, MetricsHandler, Scrape};

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
        let outcome = Arc::new(Outcome::new(self.flight()));
        let permit = match self.admit(&scrape) {
            Ok(permit) => permit,
            Err(refusal) => {
                let answer = self.finish(&scrape, refusal.answer());
                outcome.complete(&self, answer.status());
                return answer;
            }
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let answer = self.finish(&scrape, self.answer(&scrape));
            drop(permit);
            outcome.complete(&self, answer.status());
            return answer;
        };
        let (this, s, o) = (self.clone(), scrape.clone(), outcome.clone());
        // The permit goes with the work: a scrape that timed out keeps its
        // slot until its gather and encode are done. The work counts its
        // answer itself if this future is dropped (the client went away)
        // before it is done, as a Go handler that runs to its end would.
        let mut work = runtime.spawn_blocking(move || {
            let answer = this.finish(&s, this.answer(&s));
            drop(permit);
            o.complete(&this, answer.status());
            answer
        });
        let joined = match self.shared.opts.timeout {
            None => (&mut work).await,
            Some(limit) => match tokio::time::timeout(limit, &mut work).await {
                Ok(joined) => joined,
                Err(_) => {
                    let late = plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "Exceeded configured timeout of {}.\n",
                            request::go_duration(limit)
                        ),
                    );
                    let late = self.finish(&scrape, late);
                    if outcome.complete(&self, late.status()) {
                        return late;
                    }
                    // The work finished as the time ran out: serve it.
                    work.await
                }
            },
        };
        match joined {
            Ok(answer) => answer,
            Err(_) => {
                // The work panicked (a bug: gathers catch collector panics).
                let failed = plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An error has occurred while serving metrics:\n\nthe gather or encode panicked\n",
                );
                let failed = self.finish(&scrape, failed);
                outcome.complete(&self, failed.status());
                failed
            }
        }
    }
}

/// How a scrape ended, settled once by whichever side gets there first:
/// the answer is counted and the in-flight gauge let go.
struct Outcome {
    done: AtomicBool,
    flight: Mutex<Option<Flight>>,
}

impl Outcome {
    fn new(flight: Flight) -> Self {
        Self {
            done: AtomicBool::new(false),
            flight: Mutex::new(Some(flight)),
        }
    }

    /// Settles the scrape with `status`; false if it was settled already.
    fn complete(&self, handler: &MetricsHandler, status: StatusCode) -> bool {
        // AcqRel: one side wins; the flight guard is taken under the lock.
        if self.done.swap(true, Ordering::AcqRel) {
            return false;
        }
        handler.count(status);
        drop(self.flight.lock().take());
        true
    }
}
