//! Serving `/metrics`, as client_golang's `promhttp` does (feature `http`;
//! `tokio`, `hyper` and `axum` add the async entry points).
//!
//! A [`MetricsHandler`] answers a scrape on plain [`http`] types: it
//! negotiates the format from `Accept` ([`negotiate`]), gathers (one gather
//! for all scrapes that arrive while one runs), encodes, and gzips the
//! answer when `Accept-Encoding` allows it. Its options are promhttp's
//! `HandlerOpts`: error handling, a limit on scrapes in flight, a timeout,
//! and self-instrumentation; `?name[]=...` filters families by name.
//!
//! - [`MetricsHandler::handle`]: synchronous, for any server; gathers and
//!   encodes on the calling thread.
//! - [`MetricsHandler::serve`] (feature `tokio`): the same in a tokio
//!   blocking thread, so a gather never stalls the runtime's workers;
//!   applies the timeout.
//! - feature `hyper`: the handler is a `hyper::service::Service`.
//! - feature `axum`: the handler is a `tower_service::Service`, so
//!   `Router::route_service("/metrics", handler)` mounts it.
//!
//! # Examples
//!
//! ```
//! use promclient::http::MetricsHandler;
//! use promclient::{Counter, Registry};
//!
//! let registry = Registry::new();
//! let c = Counter::new("jobs_total", "Jobs done.")?;
//! registry.register(c.clone())?;
//! c.inc();
//!
//! let handler = MetricsHandler::new(registry);
//! let request = http::Request::get("/metrics")
//!     .header("accept", "application/openmetrics-text;version=1.0.0")
//!     .body(())?;
//! let response = handler.handle(&request);
//! assert_eq!(response.status(), 200);
//! assert_eq!(
//!     response.headers()["content-type"],
//!     "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
//! );
//! assert_eq!(
//!     std::str::from_utf8(response.body())?,
//!     "# HELP jobs Jobs done.\n# TYPE jobs counter\njobs_total 1.0\n# EOF\n"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`negotiate`]: crate::encoding::negotiate::negotiate

use std::collections::HashSet;
use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use crate::encoding::negotiate::{negotiate_among, Format, Negotiated};
use crate::encoding::{openmetrics, protobuf, text, Families};
use crate::error::{EncodeError, RegisterError};
use crate::family::CounterVec;
use crate::gauge::Gauge;
use crate::registry::{Gatherer, Registry};
use crate::snapshot::MetricFamily;

mod coalesce;
mod request;

use coalesce::{Coalescer, Gathered};

/// What the handler does when gathering or encoding fails (promhttp's
/// `ErrorHandling`, without its panic mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ErrorHandling {
    /// Answer HTTP 500 with the error text (the default, as promhttp's
    /// `HTTPErrorOnError`). Encoding errors too: the handler encodes
    /// before it sends, so it never sends a truncated 200.
    #[default]
    HttpError,
    /// Serve what could be gathered and encoded: families that fail to
    /// encode are left out (promhttp's `ContinueOnError`). A gather that
    /// failed with nothing gathered is still a 500. Errors are counted in
    /// `promhttp_metric_handler_errors_total` if instrumented.
    Continue,
}

/// Serves `/metrics` from a [`Gatherer`] (usually a [`Registry`]):
/// client_golang's `promhttp.HandlerFor`. Cheap to clone; clones share
/// the options, the in-flight count and the gathers.
///
/// See the [module docs](self) for the entry points.
#[derive(Clone)]
pub struct MetricsHandler {
    shared: Arc<Shared>,
}

struct Shared {
    gatherer: Box<dyn Gatherer>,
    opts: Options,
    coalescer: Coalescer,
    in_flight: AtomicUsize,
    metrics: Option<HandlerMetrics>,
    /// The last answer's size per format, to size the next buffer.
    size_hint: [AtomicUsize; Format::ALL.len()],
}

#[derive(Debug, Clone)]
struct Options {
    error_handling: ErrorHandling,
    max_in_flight: usize,
    timeout: Option<Duration>,
    compression: bool,
    gzip_level: u32,
    formats: Vec<Format>,
    created: bool,
    start_time: Option<HeaderValue>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            error_handling: ErrorHandling::default(),
            max_in_flight: 0,
            timeout: None,
            compression: true,
            gzip_level: 1,
            formats: Format::ALL.to_vec(),
            created: false,
            start_time: None,
        }
    }
}

/// promhttp's metrics about the handler itself.
#[derive(Clone)]
struct HandlerMetrics {
    requests: CounterVec<1>,
    in_flight: Gauge,
    errors: CounterVec<1>,
}

impl fmt::Debug for MetricsHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsHandler")
            .field("options", &self.shared.opts)
            .field("in_flight", &self.shared.in_flight.load(Ordering::Relaxed))
            .field("instrumented", &self.shared.metrics.is_some())
            .finish_non_exhaustive()
    }
}

/// Options of a [`MetricsHandler`], from [`MetricsHandler::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `build`"]
pub struct MetricsHandlerBuilder {
    gatherer: Box<dyn Gatherer>,
    opts: Options,
    instrument: Option<Registry>,
}

impl MetricsHandlerBuilder {
    /// What to do when gathering or encoding fails; default
    /// [`ErrorHandling::HttpError`].
    pub fn error_handling(mut self, mode: ErrorHandling) -> Self {
        self.opts.error_handling = mode;
        self
    }

    /// At most `n` scrapes served at once; more get HTTP 503 right away
    /// (promhttp's `MaxRequestsInFlight`). 0, the default, is no limit.
    pub fn max_requests_in_flight(mut self, n: usize) -> Self {
        self.opts.max_in_flight = n;
        self
    }

    /// Answer HTTP 503 when a scrape takes longer than `timeout`
    /// (promhttp's `Timeout`); its gather still runs to the end and its
    /// result serves the scrapes waiting for it. Applies to
    /// [`MetricsHandler::serve`] (and the hyper and tower services), not to
    /// the synchronous [`MetricsHandler::handle`], nor to `serve` polled
    /// outside a tokio runtime. `Duration::ZERO`, the default, is no
    /// timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// Whether to gzip answers for scrapers that accept it; default on
    /// (promhttp's `DisableCompression`, inverted).
    pub fn compression(mut self, on: bool) -> Self {
        self.opts.compression = on;
        self
    }

    /// The gzip level, 0 (stored) to 9 (smallest), clamped; default 1.
    /// Level 1 compresses a scrape of 11,000 series to 9% of its size in
    /// about 2 ms; Go's default, 6, gains another 2% for ten times the
    /// time.
    pub fn gzip_level(mut self, level: u32) -> Self {
        self.opts.gzip_level = level.min(9);
        self
    }

    /// The formats offered to negotiation, in the order to prefer when one
    /// `Accept` clause names several; default [`Format::ALL`]. Offer
    /// `[Format::Protobuf, Format::Text]` for promhttp's default without
    /// OpenMetrics. An empty list offers text 0.0.4 only.
    pub fn formats(mut self, formats: &[Format]) -> Self {
        self.opts.formats = if formats.is_empty() {
            vec![Format::Text]
        } else {
            formats.to_vec()
        };
        self
    }

    /// Whether OpenMetrics answers carry `_created` lines (promhttp's
    /// `EnableOpenMetricsTextCreatedSamples`); default off.
    pub fn openmetrics_created(mut self, on: bool) -> Self {
        self.opts.created = on;
        self
    }

    /// Send a `Process-Start-Time-Unix` header with `start` in Unix
    /// seconds (promhttp's `ProcessStartTime`).
    pub fn process_start_time(mut self, start: SystemTime) -> Self {
        // Whole seconds, rounded down as Go's `Time.Unix` does.
        let secs = match start.duration_since(UNIX_EPOCH) {
            Ok(d) => i128::from(d.as_secs()),
            Err(e) => {
                let d = e.duration();
                -i128::from(d.as_secs()) - i128::from(d.subsec_nanos() > 0)
            }
        };
        self.opts.start_time = Some(HeaderValue::from(i64::try_from(secs).unwrap_or(0)));
        self
    }

    /// Report the handler's own metrics in `registry`, as promhttp's
    /// `InstrumentMetricHandler` and `HandlerOpts.Registry` do:
    /// `promhttp_metric_handler_requests_total{code}` (counted when a
    /// scrape is answered; 200, 500 and 503 start at 0),
    /// `promhttp_metric_handler_requests_in_flight`, and
    /// `promhttp_metric_handler_errors_total{cause}` (`gathering`,
    /// `encoding`). Handlers instrumented in the same registry share them.
    pub fn instrument(mut self, registry: &Registry) -> Self {
        self.instrument = Some(registry.clone());
        self
    }

    /// The handler.
    ///
    /// # Errors
    ///
    /// With [`instrument`](Self::instrument), a [`RegisterError`] if the
    /// registry holds something else under the handler's metric names.
    pub fn build(self) -> Result<MetricsHandler, RegisterError> {
        let metrics = match &self.instrument {
            Some(registry) => Some(HandlerMetrics::register(registry)?),
            None => None,
        };
        Ok(MetricsHandler {
            shared: Arc::new(Shared {
                gatherer: self.gatherer,
                opts: self.opts,
                coalescer: Coalescer::default(),
                in_flight: AtomicUsize::new(0),
                metrics,
                size_hint: Default::default(),
            }),
        })
    }
}

impl HandlerMetrics {
    fn register(registry: &Registry) -> Result<Self, RegisterError> {
        let requests = CounterVec::new(
            "promhttp_metric_handler_requests_total",
            "Total number of scrapes by HTTP status code.",
            ["code"],
        )
        .map_err(RegisterError::from)?;
        for code in ["200", "500", "503"] {
            requests.with_label_values([code]);
        }
        let in_flight = Gauge::new(
            "promhttp_metric_handler_requests_in_flight",
            "Current number of scrapes being served.",
        )
        .map_err(RegisterError::from)?;
        let errors = CounterVec::new(
            "promhttp_metric_handler_errors_total",
            "Total number of internal errors encountered by the promhttp metric handler.",
            ["cause"],
        )
        .map_err(RegisterError::from)?;
        for cause in ["gathering", "encoding"] {
            errors.with_label_values([cause]);
        }
        // All three or none: a refusal takes back what this call added.
        let (requests, new_requests) = register_or_reuse(registry, requests)?;
        let undo_requests = || {
            if new_requests {
                registry.unregister(&requests);
            }
        };
        let (in_flight, new_in_flight) =
            register_or_reuse(registry, in_flight).inspect_err(|_| undo_requests())?;
        let (errors, _) = register_or_reuse(registry, errors).inspect_err(|_| {
            undo_requests();
            if new_in_flight {
                registry.unregister(&in_flight);
            }
        })?;
        Ok(Self {
            requests,
            in_flight,
            errors,
        })
    }
}

/// Registers `c`, or returns the equal collector registered before; and
/// whether `c` was registered.
fn register_or_reuse<C: crate::Collector + Clone>(
    registry: &Registry,
    c: C,
) -> Result<(C, bool), RegisterError> {
    match registry.register(c.clone()) {
        Ok(()) => Ok((c, true)),
        Err(RegisterError::AlreadyRegistered(e)) => match e.existing_as::<C>() {
            Some(existing) => Ok((existing, false)),
            None => Err(RegisterError::AlreadyRegistered(e)),
        },
        Err(e) => Err(e),
    }
}

/// What a request asks for, read before any work is done.
#[derive(Debug, Clone)]
struct Scrape {
    method: Method,
    negotiated: Negotiated,
    gzip: bool,
    names: Option<Vec<String>>,
}

/// A response before it is sent: status, headers, body.
type Answer = Response<Bytes>;

impl MetricsHandler {
    /// A handler with promhttp's defaults and every format offered: errors
    /// are HTTP 500, no limits, gzip when accepted, no instrumentation.
    pub fn new(gatherer: impl Gatherer) -> Self {
        // Without instrumentation nothing can fail.
        match Self::builder(gatherer).build() {
            Ok(h) => h,
            Err(_) => unreachable!("an uninstrumented handler registers nothing"),
        }
    }

    /// A builder for the options.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use promclient::http::{ErrorHandling, MetricsHandler};
    /// use promclient::Registry;
    ///
    /// let registry = Registry::new();
    /// let handler = MetricsHandler::builder(registry.clone())
    ///     .error_handling(ErrorHandling::Continue)
    ///     .max_requests_in_flight(4)
    ///     .timeout(Duration::from_secs(10))
    ///     .instrument(&registry)
    ///     .build()?;
    /// # let _ = handler;
    /// # Ok::<(), promclient::RegisterError>(())
    /// ```
    pub fn builder(gatherer: impl Gatherer) -> MetricsHandlerBuilder {
        MetricsHandlerBuilder {
            gatherer: Box::new(gatherer),
            opts: Options::default(),
            instrument: None,
        }
    }

    /// Answers a scrape on the calling thread: gathers, encodes and
    /// compresses before it returns. The request's body is not read.
    ///
    /// Answers: 200 with the metrics; 405 for methods other than GET and
    /// HEAD; 503 beyond the in-flight limit; 500 for a failed gather (see
    /// [`ErrorHandling`]). A HEAD request gets the headers a GET would,
    /// plus a `Content-Length` giving the size of the body it leaves out.
    ///
    /// No timeout applies here; use [`serve`](Self::serve) for that.
    pub fn handle<B>(&self, request: &Request<B>) -> Response<Bytes> {
        let scrape = self.read(request);
        let flight = self.flight();
        let answer = match self.admit(&scrape) {
            Ok(permit) => {
                let answer = self.answer(&scrape);
                drop(permit);
                answer
            }
            Err(refusal) => refusal.answer(),
        };
        let answer = self.finish(&scrape, answer);
        self.count(answer.status());
        drop(flight);
        answer
    }

    fn read<B>(&self, request: &Request<B>) -> Scrape {
        let headers = request.headers();
        let accept = joined(headers, &header::ACCEPT);
        let negotiated = negotiate_among(&accept, &self.shared.opts.formats);
        let gzip = self.shared.opts.compression
            && request::wants_gzip(&joined(headers, &header::ACCEPT_ENCODING));
        Scrape {
            method: request.method().clone(),
            negotiated,
            gzip,
            names: request::name_filter(request.uri().query()),
        }
    }

    /// Counts the scrape in the in-flight gauge until dropped.
    fn flight(&self) -> Flight {
        let gauge = self.shared.metrics.as_ref().map(|m| m.in_flight.clone());
        if let Some(g) = &gauge {
            g.inc();
        }
        Flight(gauge)
    }

    /// Checks the method and takes an in-flight slot.
    fn admit(&self, scrape: &Scrape) -> Result<Permit, Refusal> {
        if scrape.method != Method::GET && scrape.method != Method::HEAD {
            return Err(Refusal::Method);
        }
        let max = self.shared.opts.max_in_flight;
        let taken = self.shared.in_flight.fetch_add(1, Ordering::Relaxed);
        let permit = Permit(self.shared.clone());
        if max > 0 && taken >= max {
            return Err(Refusal::Busy(max));
        }
        Ok(permit)
    }

    /// Gathers, encodes, compresses: the 200 (or the error answer).
    fn answer(&self, scrape: &Scrape) -> Answer {
        let gathered = self.shared.coalescer.gather(&*self.shared.gatherer);
        let opts = &self.shared.opts;
        if let Some(e) = &gathered.error {
            self.count_error("gathering", 1);
            if opts.error_handling == ErrorHandling::HttpError
                || gathered.snapshot.families().is_empty()
            {
                return server_error(e);
            }
        }
        let format = scrape.negotiated.format;
        let slot = format_index(format);
        let mut body = Vec::with_capacity(self.shared.size_hint[slot].load(Ordering::Relaxed));
        let errors = self.encode(&gathered, scrape, &mut body);
        if let Some(first) = errors.first() {
            self.count_error("encoding", errors.len() as u64);
            // Serving what could be encoded needs something encoded.
            if opts.error_handling == ErrorHandling::HttpError || body.is_empty() {
                return server_error(first);
            }
        }
        // A filtered answer says nothing about the next full one.
        if scrape.names.is_none() {
            self.shared.size_hint[slot].store(body.len(), Ordering::Relaxed);
        }
        let mut gzipped = false;
        if scrape.gzip {
            if let Some(z) = gzip(&body, opts.gzip_level) {
                body = z;
                gzipped = true;
            }
        }
        let mut r = Response::new(Bytes::from(body));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(scrape.negotiated.content_type()),
        );
        if gzipped {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    }

    /// Encodes what was gathered (filtered by `name[]`); returns the
    /// encoding errors. With [`ErrorHandling::Continue`], families that
    /// fail are left out of `out`.
    fn encode(&self, gathered: &Gathered, scrape: &Scrape, out: &mut Vec<u8>) -> Vec<EncodeError> {
        let created = self.shared.opts.created;
        let result = match &scrape.names {
            None => encode_as(scrape.negotiated, created, &gathered.snapshot, out),
            Some(names) => {
                let names: HashSet<&str> = names.iter().map(String::as_str).collect();
                let picked: Vec<MetricFamily> = gathered
                    .snapshot
                    .families()
                    .iter()
                    .filter(|f| names.contains(&*f.name))
                    .cloned()
                    .collect();
                encode_as(scrape.negotiated, created, &picked, out)
            }
        };
        let Err(first) = result else {
            return Vec::new();
        };
        if self.shared.opts.error_handling == ErrorHandling::HttpError {
            return vec![first];
        }
        self.encode_leaving_out_failures(gathered, scrape, out, first)
    }

    /// The slow path of [`ErrorHandling::Continue`]: finds the families
    /// that fail on their own, then drops the later family of each name
    /// clash, and encodes the rest.
    #[cold]
    fn encode_leaving_out_failures(
        &self,
        gathered: &Gathered,
        scrape: &Scrape,
        out: &mut Vec<u8>,
        first: EncodeError,
    ) -> Vec<EncodeError> {
        let created = self.shared.opts.created;
        let mut errors = Vec::new();
        let mut scratch = Vec::new();
        let mut kept: Vec<MetricFamily> = Vec::new();
        let names: Option<HashSet<&str>> = scrape
            .names
            .as_ref()
            .map(|n| n.iter().map(String::as_str).collect());
        for f in gathered.snapshot.families() {
            if names.as_ref().is_some_and(|n| !n.contains(&*f.name)) {
                continue;
            }
            scratch.clear();
            match encode_as(
                scrape.negotiated,
                created,
                std::slice::from_ref(f),
                &mut scratch,
            ) {
                Ok(()) => kept.push(f.clone()),
                Err(e) => errors.push(e),
            }
        }
        loop {
            out.clear();
            match encode_as(scrape.negotiated, created, &kept, out) {
                Ok(()) => break,
                Err(EncodeError::NameClash { first, second }) => {
                    kept.retain(|f| *f.name != *second);
                    errors.push(EncodeError::NameClash { first, second });
                }
                Err(e) => {
                    // Every family encoded alone; give up on the rest
                    // rather than loop.
                    out.clear();
                    errors.push(e);
                    break;
                }
            }
        }
        if errors.is_empty() {
            errors.push(first);
        }
        errors
    }

    fn count_error(&self, cause: &str, n: u64) {
        if let Some(m) = &self.shared.metrics {
            m.errors.with_label_values([cause]).inc_by(n);
        }
    }

    /// Adds the headers every answer gets and empties a HEAD answer.
    fn finish(&self, scrape: &Scrape, mut r: Answer) -> Answer {
        if let Some(t) = &self.shared.opts.start_time {
            r.headers_mut().insert("process-start-time-unix", t.clone());
        }
        if scrape.method == Method::HEAD {
            let len = r.body().len();
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            *r.body_mut() = Bytes::new();
        }
        r
    }

    /// Counts an answer in `promhttp_metric_handler_requests_total`.
    fn count(&self, status: StatusCode) {
        if let Some(m) = &self.shared.metrics {
            m.requests.with_label_values([status.as_str()]).inc();
        }
    }
}

/// Why a scrape is answered without gathering.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// Not GET or HEAD.
    Method,
    /// The in-flight limit (the number) is reached.
    Busy(usize),
}

impl Refusal {
    fn answer(self) -> Answer {
        match self {
            Self::Method => {
                let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                r
            }
            Self::Busy(max) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Limit of concurrent requests reached ({max}), try again later.\n"),
            ),
        }
    }
}

/// Holds an in-flight slot until dropped.
struct Permit(Arc<Shared>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Holds the in-flight gauge up by one until dropped.
struct Flight(Option<Gauge>);

impl Drop for Flight {
    fn drop(&mut self) {
        if let Some(g) = &self.0 {
            g.dec();
        }
    }
}

fn format_index(format: Format) -> usize {
    Format::ALL
        .iter()
        .position(|&f| f == format)
        .unwrap_or(Format::ALL.len() - 1)
}

fn encode_as<F: Families + ?Sized>(
    negotiated: Negotiated,
    created: bool,
    families: &F,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let escaping = negotiated.escaping;
    match negotiated.format {
        Format::OpenMetrics | Format::OpenMetricsV0_0_1 => {
            let options = openmetrics::Options::new()
                .created(created)
                .escaping(escaping);
            openmetrics::encode_with(families, out, options)
        }
        Format::Protobuf => protobuf::encode_escaped(families, out, escaping),
        Format::Text | Format::TextV1 => text::encode_escaped(families, out, escaping),
    }
}

fn gzip(data: &[u8], level: u32) -> Option<Vec<u8>> {
    let mut z = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 8 + 64),
        flate2::Compression::new(level),
    );
    // Writes into a `Vec` cannot fail; if they did, the answer goes out
    // uncompressed.
    z.write_all(data).ok()?;
    z.finish().ok()
}

/// Every value of header `name`, joined with `,` (lossy: values that are
/// not visible ASCII count as empty).
fn joined(headers: &HeaderMap, name: &header::HeaderName) -> String {
    let mut all = headers.get_all(name).iter();
    let Some(first) = all.next() else {
        return String::new();
    };
    let mut s = first.to_str().unwrap_or("").to_owned();
    for v in all {
        s.push(',');
        s.push_str(v.to_str().unwrap_or(""));
    }
    s
}

/// A plain-text answer, as Go's `http.Error` writes it.
fn plain(status: StatusCode, text: impl Into<String>) -> Answer {
    let mut r = Response::new(Bytes::from(text.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// promhttp's 500: `An error has occurred while serving metrics:` and the
/// error.
fn server_error(e: &dyn std::error::Error) -> Answer {
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("An error has occurred while serving metrics:\n\n{e}\n"),
    )
}

#[cfg(feature = "tokio")]
mod serve;

#[cfg(any(feature = "hyper", feature = "axum"))]
mod service;

#[cfg(any(feature = "hyper", feature = "axum"))]
pub use service::ResponseFuture;
