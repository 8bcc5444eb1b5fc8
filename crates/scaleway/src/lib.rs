//! Typed async client of the Scaleway Instance API v1 and Block Storage
//! API v1.
//!
//! One method per endpoint of `fleet_core`'s catalog: all 76 Instance ones
//! (the `text/plain` user-data GET/PATCH included) and the 14 Block ones
//! (`block_get_volume`, `block_create_snapshot`, …, named after their
//! operations), with the zone as a parameter and `fleet_core` types in and
//! out (`fleet_core::block::…` for Block). Every call of either family
//! goes through one pipeline: per-zone rate limit → HTTP attempt (own
//! span, duration histogram) → classification → bounded retry. Lists page
//! the way their family does (see [`pagination`]); waiters exist for both
//! ([`Client::wait_block_volume`] waits for a volume's references too).
//!
//! # Use
//!
//! ```no_run
//! use std::time::Duration;
//! use fleet_core::{ListServersQuery, ServerAction, ServerState, Zone};
//! use fleet_scaleway::{Client, Config, WaitOptions, WaitTarget};
//! use futures::TryStreamExt;
//!
//! # async fn demo() -> Result<(), fleet_scaleway::Error> {
//! // SCW_SECRET_KEY, SCW_API_URL (default https://api.scaleway.com), …
//! let config = Config::from_env().map_err(|e| fleet_scaleway::Error::Config(e.to_string()))?;
//! let client = Client::builder(config)
//!     .on_throttle(|zone, retry_after| eprintln!("429 in {zone}, retry after {retry_after:?}"))
//!     .build()?;
//!
//! // Per-clone caller header, e.g. the worker id and its zone-lease epoch.
//! let worker = client.with_caller("worker-a/epoch-3");
//! let server = worker.get_server(Zone::FrPar1, "5a3c…").await?;
//!
//! // Every server of a zone, page after page (per_page = 100).
//! let all: Vec<_> = worker.list_servers_all(Zone::FrPar1, ListServersQuery::default()).try_collect().await?;
//!
//! // The same list over three zones at once.
//! let zones = [Zone::FrPar1, Zone::NlAms1, Zone::PlWaw1];
//! let per_zone = fleet_scaleway::collect_zones(&zones, |zone| {
//!     worker.list_servers_all(zone, ListServersQuery::default())
//! })
//! .await?;
//!
//! // A Block volume, waited for until its status and its references settle.
//! # let request = fleet_core::block::CreateVolumeRequest::empty("data", 20_000_000_000);
//! let volume = worker.idempotent().block_create_volume(Zone::FrPar1, &request).await?;
//! let ready = worker
//!     .wait_block_volume(Zone::FrPar1, &volume.id, WaitTarget::Terminal, &WaitOptions::default())
//!     .await?;
//!
//! // Power on and wait for `running` (fails early on another terminal state).
//! let (_task, waited) = worker
//!     .server_action_and_wait(Zone::FrPar1, &server.id, ServerAction::Poweron, &WaitOptions::default())
//!     .await?;
//!
//! // Spend rate budget before taking on work; observe 429s per zone.
//! worker.acquire(Zone::FrPar1).await?;
//! let throttled = worker.throttled(Zone::FrPar1);
//!
//! // A create the caller knows how to de-duplicate may be retried.
//! # let request = fleet_core::CreateIpRequest::default();
//! let ip = worker.idempotent().create_ip(Zone::FrPar1, &request).await?;
//! # let _ = (all, per_zone, waited, throttled, ip, ready, Duration::ZERO, ServerState::Running, WaitTarget::<ServerState>::Terminal);
//! # Ok(())
//! # }
//! ```
//!
//! # Retries
//!
//! Bounded by [`RetryPolicy::max_attempts`] (default 4 attempts in all),
//! spaced by exponential back-off with full jitter: before retry `n` the
//! client sleeps a uniform random time in
//! `[0, min(max_delay, base_delay · 2^(n-1))]` (defaults 200 ms and 10 s),
//! and never less than the response's `Retry-After` (delta-seconds or
//! HTTP-date). A `Retry-After` above [`RetryPolicy::max_retry_after`]
//! (60 s) is not waited for: the error goes back to the caller, who can
//! reschedule. Every attempt takes a rate-limit token; each attempt is its
//! own span with `http.request.resend_count` from the second on.
//!
//! What is re-sent depends on the failure and on whether re-sending is
//! safe:
//!
//! | failure | GET, PUT, DELETE, PATCH | POST | POST with [`Client::idempotent`] / [`RequestOptions::idempotent`] |
//! |---|---|---|---|
//! | 429 (any body) | retried | retried | retried |
//! | connect error (request never sent) | retried | retried | retried |
//! | 500, 502, 503, 504 (without a known error `type`) | retried | **not** retried | retried |
//! | timeout (connect or request), connection reset | retried | **not** retried | retried |
//! | any other status, typed error body, decode error | never | never | never |
//!
//! Why: 429 and connect errors mean the API did not act, so even a create
//! may go again. After a 5xx, a timeout or a reset the request may have been
//! applied; GET is safe, PUT replaces with the same content, DELETE ends
//! in the same state, and every PATCH of either family sets absolute values
//! (no increments, lists replaced wholesale; a Block resize names the new
//! size), so they are idempotent. A POST
//! creates or acts (create server, `poweron`, `backup`, snapshot export,
//! attach-volume…) and could be applied twice, so it is re-sent only when
//! the caller vouches for it (e.g. it tags what it creates and looks for the
//! tag first). A DELETE whose earlier attempt was ambiguous and whose retry
//! answers 404 is reported as success: the resource is gone, as asked.
//!
//! # Retryable classification ([`Error::retryable`])
//!
//! | [`Error`] variant | retryable |
//! |---|---|
//! | `Api` with a known `type` (`invalid_arguments`, `not_found`, `unknown_resource`, `invalid_request_error`, `permissions_denied`, `quotas_exceeded`, `denied_authentication`, `precondition_failed`, `resource_expired`, `conflict`, `transient_state`, `locked`, `out_of_stock`) | no: each needs other input, another state or another account; `transient_state` needs a waiter, not back-off |
//! | `Api` with another `type` (e.g. `too_many_requests`, `internal_error`) | by status: 429, 500, 502, 503, 504 yes; others no (500 because Scaleway's `internal_error` is transient in practice; go-retryablehttp, used by the Terraform provider, also retries it) |
//! | `Status` (no JSON body: bare 429, `text/plain` 404 of a missing user-data key) | 429, 500, 502, 503, 504 yes; others no |
//! | `Connect`, `Timeout`, `Reset` | yes |
//! | `Transport`, `Decode`, `Cancelled`, `InvalidRequest`, `Config` | no |
//! | `Wait` | only a deadline ([`WaitError::retryable`]) |
//!
//! # Rate limiting
//!
//! A token bucket per zone ([`RateLimitConfig`]: rate and burst, default
//! 20/s and 20, overridable per zone and at run time with
//! [`RateLimiter::set_rate`]), shared by every clone of a client and by
//! both API families: Instance and Block calls of a zone spend the same
//! tokens, since they share Scaleway's per-zone limits. Waiting is
//! cancellable (drop the future, or set a `CancellationToken` with
//! [`Client::with_cancel`]). [`Client::acquire`] spends budget ahead of
//! work; a 429 empties and pauses the zone's bucket, increments
//! [`Client::throttled`] and calls the [`ClientBuilder::on_throttle`]
//! listener.
//!
//! # Transport
//!
//! One `reqwest` connection pool per client (HTTP/1.1 keep-alive, HTTP/2
//! via ALPN on TLS), connect and per-attempt request timeouts from
//! [`Config`], no redirects. The secret key is sent only as the
//! `X-Auth-Token` header (marked sensitive) and is held in a
//! [`SecretKey`] whose `Debug`/`Display` print `[redacted]`; errors name
//! endpoints by their path template, spans carry `url.full` without its
//! query string.
//!
//! # Telemetry
//!
//! See [`telemetry`]: a `tracing` span per HTTP attempt with the stable
//! OpenTelemetry HTTP client attributes, and the
//! `http.client.request.duration` histogram on the global meter
//! `fleet-scaleway`; rate-limit metrics in [`ratelimit::metrics`]. Block
//! calls have the same span and metric names as Instance calls and are
//! told apart by the API family: `scaleway.api` on spans, `api` on
//! metrics (`instance` or `block`).

pub mod api;
pub mod client;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod invoke;
pub mod pagination;
pub mod ratelimit;
pub mod retry;
pub mod secret;
pub mod telemetry;
pub mod waiter;

pub use client::{CALLER_HEADER, Client, ClientBuilder, RequestOptions};
pub use config::{Config, ConfigError, DEFAULT_API_URL, Settings};
pub use endpoint::{Endpoint, Method, Operation};
pub use error::{Error, Result};
pub use invoke::{InvokeBody, InvokeResponse};
pub use pagination::{Page, PageAt, PageRequest, collect_zones, fan_out, paginate};
pub use ratelimit::{RateLimitConfig, RateLimiter, ThrottleListener, ZoneRate};
pub use retry::RetryPolicy;
pub use secret::SecretKey;
pub use waiter::{TaskOutcome, WaitError, WaitOptions, WaitTarget, Waited, action_target};
