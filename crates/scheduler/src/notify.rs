//! LISTEN/NOTIFY wake-ups with a polling fallback.
//!
//! Two channels: [`ENQUEUED_CHANNEL`] (payload: zone; one notification per enqueue call and
//! zone, sent in the enqueuing transaction) and [`JOB_EVENTS_CHANNEL`] (payload: job ids,
//! comma-separated; sent by every fenced state/progress write and by cancel). The [`Listener`]
//! holds one dedicated connection (`application_name = fleet-scheduler-listener`), forwards
//! notifications on a broadcast channel, and reconnects with back-off when its connection dies,
//! announcing [`ListenerEvent::Reconnected`] so that subscribers re-check (notifications sent
//! while disconnected are lost). Subscribers coalesce bursts into one wake-up (debounce).

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Channel notified on enqueue; payload = zone.
pub const ENQUEUED_CHANNEL: &str = "fleet_jobs_enqueued";
/// Channel notified on job changes; payload = comma-separated job ids.
pub const JOB_EVENTS_CHANNEL: &str = "fleet_job_events";
/// `application_name` of the listener's connection.
pub const LISTENER_APPLICATION_NAME: &str = "fleet-scheduler-listener";

/// What the listener forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerEvent {
    /// Jobs were enqueued in this zone.
    Enqueued { zone: String },
    /// These jobs changed (state, progress, cancel request).
    JobsChanged { ids: Vec<i64> },
    /// The listener (re)connected: notifications may have been missed; re-check everything.
    Reconnected,
}

#[derive(Debug)]
struct Shared {
    events: broadcast::Sender<ListenerEvent>,
    backend_pid: AtomicI32,
    connects: AtomicU64,
}

/// A LISTEN connection shared by runners and watchers in one process.
#[derive(Debug, Clone)]
pub struct Listener {
    shared: Arc<Shared>,
    task: Arc<JoinHandle<()>>,
}

impl Listener {
    /// Starts listening with a dedicated connection built from `pool`'s connect options.
    /// Runs until `shutdown` is cancelled.
    pub fn start(pool: &PgPool, shutdown: CancellationToken) -> Listener {
        let (events, _) = broadcast::channel(4096);
        let shared = Arc::new(Shared {
            events,
            backend_pid: AtomicI32::new(0),
            connects: AtomicU64::new(0),
        });
        let options = pool
            .connect_options()
            .as_ref()
            .clone()
            .application_name(LISTENER_APPLICATION_NAME);
        let task = tokio::spawn(run(options, shared.clone(), shutdown));
        Listener {
            shared,
            task: Arc::new(task),
        }
    }

    /// Subscribes to events (each subscriber sees every event from now on).
    pub fn subscribe(&self) -> broadcast::Receiver<ListenerEvent> {
        self.shared.events.subscribe()
    }

    /// Backend pid of the current LISTEN connection (0 while disconnected).
    pub fn backend_pid(&self) -> i32 {
        self.shared.backend_pid.load(Ordering::SeqCst)
    }

    /// How many times the listener has connected.
    pub fn connects(&self) -> u64 {
        self.shared.connects.load(Ordering::SeqCst)
    }

    /// Whether the background task has ended (after shutdown).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

async fn run(
    options: sqlx::postgres::PgConnectOptions,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        match listen_once(&options, &shared, &shutdown).await {
            Ok(()) => return,
            Err(err) => {
                shared.backend_pid.store(0, Ordering::SeqCst);
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64,
                    "job listener connection lost, reconnecting");
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life: returns `Ok` on shutdown, `Err` when the connection failed.
async fn listen_once(
    options: &sqlx::postgres::PgConnectOptions,
    shared: &Shared,
    shutdown: &CancellationToken,
) -> Result<(), sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.clone())
        .await?;
    let result = async {
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.eager_reconnect(false);
        listener
            .listen_all([ENQUEUED_CHANNEL, JOB_EVENTS_CHANNEL])
            .await?;
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut listener)
            .await?;
        shared.backend_pid.store(pid, Ordering::SeqCst);
        shared.connects.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(pid, "job listener connected");
        let _ = shared.events.send(ListenerEvent::Reconnected);
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                next = listener.try_recv() => next?,
            };
            let Some(notification) = next else {
                return Err(sqlx::Error::Protocol("listen connection closed".into()));
            };
            let event = match notification.channel() {
                ENQUEUED_CHANNEL => ListenerEvent::Enqueued {
                    zone: notification.payload().to_owned(),
                },
                _ => ListenerEvent::JobsChanged {
                    ids: notification
                        .payload()
                        .split(',')
                        .filter_map(|id| id.trim().parse().ok())
                        .collect(),
                },
            };
            // No subscriber is not an error.
            let _ = shared.events.send(event);
        }
    }
    .await;
    pool.close().await;
    result
}
