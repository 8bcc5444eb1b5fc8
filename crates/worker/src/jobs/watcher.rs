//! The zone watcher: one observer of every resource the zone's jobs wait on.
//!
//! A handler that must wait registers `(resource, job id)` and snoozes. Each round the
//! watcher reads the resources that are due: servers with `GET servers?servers=id1,…`
//! (up to 100 per page), the other kinds with one GET each, or with full list pages when the
//! zone holds fewer pages than there are resources pending (Block volumes and snapshots
//! through the Block API, their totals read from the list body). It stores each observation with
//! its time and, when a resource's state changed, brings the waiting jobs' `run_at` forward
//! ([`fleet_scheduler::wake_jobs`]). The woken handler reads the stored observation instead
//! of calling the API. So a thousand servers booting cost ten list pages per round, not a
//! thousand GETs.
//!
//! The pace adapts: a round reads only resources whose earliest possible change is due; the
//! pause between rounds is the pages it needs divided by the watcher's share of the zone's
//! rate, shortened to the minimum while the zone's token bucket is idle (nobody else needs
//! the budget) and doubled after the zone saw 429s.
//!
//! Memory stays small with many resources pending: an observation whose state is the one its
//! jobs already know (the state they registered in or were last woken for) is kept as the
//! server's state alone, not the whole resource; only observations that wake jobs keep the
//! resource, for the woken handlers to finish with. A handler that reads a state-only
//! observation and would act on it (anything but "keep waiting") reads the resource first.
//!
//! Losing the watcher costs latency, not correctness: handlers also snooze for a bounded
//! fallback period and GET the resource themselves when no fresh observation exists.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fleet_core::block;
use fleet_core::{ListImagesQuery, ListServersQuery, ListSnapshotsQuery, ListVolumesQuery, Zone};
use fleet_jobs::ResourceKind;
use fleet_scaleway::Client;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::context::ZoneGuard;
use crate::jobs::observe::{Observed, WatchKey, fetch};

/// Most ids per `GET servers?servers=…` page (the API's page maximum).
const PAGE: usize = 100;

/// Watcher pacing.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// Shortest pause between rounds.
    pub min_round: Duration,
    /// Longest pause between rounds while something is pending.
    pub max_round: Duration,
    /// Share of the zone's request rate the watcher may use when the zone is busy.
    pub rate_share: f64,
    /// Observations older than this are dropped when nobody waits on them.
    pub keep: Duration,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self {
            min_round: Duration::from_millis(250),
            max_round: Duration::from_secs(5),
            rate_share: 0.15,
            keep: Duration::from_secs(120),
        }
    }
}

#[derive(Debug)]
struct Waiting {
    /// Waiting job → until when its registration holds (its snooze plus slack).
    jobs: HashMap<i64, OffsetDateTime>,
    /// Not read before this time (the earliest its state can have changed).
    due: OffsetDateTime,
    /// The state the jobs were last woken for (or registered in).
    woken_state: Option<String>,
}

/// An observation and when it was made.
#[derive(Debug, Clone)]
pub struct Sighting {
    pub observed: Observed,
    pub at: OffsetDateTime,
    /// `observed` holds only the resource's id and state (see [`Seen::State`]): read the
    /// resource before using anything else of it.
    pub state_only: bool,
}

/// What the watcher keeps of an observation.
#[derive(Debug, Clone)]
enum Seen {
    /// The whole resource (it woke its jobs, or is not a server).
    Full(Observed),
    /// A server's state only: its jobs already know this state.
    State {
        state: fleet_core::ServerState,
        detail: String,
    },
}

#[derive(Debug, Clone)]
struct Stored {
    seen: Seen,
    at: OffsetDateTime,
}

impl Stored {
    fn state_is(&self, state: &str) -> bool {
        match &self.seen {
            Seen::Full(observed) => observed.state().0 == state,
            Seen::State { state: s, .. } => s.as_str() == state,
        }
    }

    fn sighting(&self, key: &WatchKey) -> Sighting {
        match &self.seen {
            Seen::Full(observed) => Sighting {
                observed: observed.clone(),
                at: self.at,
                state_only: false,
            },
            Seen::State { state, detail } => Sighting {
                observed: Observed::Server(Box::new(fleet_core::Server {
                    id: key.id.clone(),
                    state: state.clone(),
                    state_detail: detail.clone(),
                    ..fleet_core::Server::default()
                })),
                at: self.at,
                state_only: true,
            },
        }
    }
}

/// What to keep of `observed` for a resource whose jobs know `known` (the state they
/// registered in or were last woken for), given what is kept now.
fn keep(
    observed: Observed,
    known: Option<&str>,
    previous: Option<&Stored>,
    at: OffsetDateTime,
) -> Stored {
    let seen = match observed {
        Observed::Server(server)
            if known == Some(server.state.as_str())
                // A resource kept whole for woken jobs stays whole while its state holds.
                && !previous.is_some_and(|p| {
                    matches!(p.seen, Seen::Full(_)) && p.state_is(server.state.as_str())
                }) =>
        {
            let server = *server;
            Seen::State {
                state: server.state,
                detail: server.state_detail,
            }
        }
        other => Seen::Full(other),
    };
    Stored { seen, at }
}

#[derive(Debug, Default)]
struct State {
    waits: BTreeMap<WatchKey, Waiting>,
    seen: HashMap<WatchKey, Stored>,
    /// Zone totals of the list endpoints (for choosing lists over GETs).
    totals: HashMap<ResourceKind, u64>,
}

/// Counters of a watcher.
#[derive(Debug, Default)]
pub struct WatchStats {
    pub rounds: AtomicU64,
    pub list_calls: AtomicU64,
    pub get_calls: AtomicU64,
    pub woken: AtomicU64,
}

/// Shared registry of one zone; cheap to clone.
#[derive(Debug, Clone)]
pub struct Watcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    registered: Notify,
    running: AtomicBool,
    stats: WatchStats,
    settings: WatchSettings,
}

impl Watcher {
    pub fn new(settings: WatchSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                registered: Notify::new(),
                running: AtomicBool::new(false),
                stats: WatchStats::default(),
                settings,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a watcher loop is running for this registry.
    pub fn is_running(&self) -> bool {
        self.inner.running.load(Ordering::SeqCst)
    }

    pub fn stats(&self) -> &WatchStats {
        &self.inner.stats
    }

    /// Resources currently waited on.
    pub fn pending(&self) -> usize {
        self.lock().waits.len()
    }

    /// `job` waits on `key` in `state` until `until` (its snooze); read it from `due` on.
    pub fn register(
        &self,
        key: WatchKey,
        job: i64,
        state: Option<String>,
        due: OffsetDateTime,
        until: OffsetDateTime,
    ) {
        let slack = time::Duration::seconds(30);
        {
            let mut st = self.lock();
            let waiting = st.waits.entry(key).or_insert_with(|| Waiting {
                jobs: HashMap::new(),
                due,
                woken_state: None,
            });
            waiting.jobs.insert(job, until + slack);
            waiting.due = waiting.due.min(due);
            if state.is_some() {
                waiting.woken_state = state;
            }
        }
        self.inner.registered.notify_one();
    }

    /// `job` no longer waits on `key`; the observation is dropped when nobody else waits.
    pub fn unregister(&self, key: &WatchKey, job: i64) {
        let mut st = self.lock();
        let empty = match st.waits.get_mut(key) {
            Some(waiting) => {
                waiting.jobs.remove(&job);
                waiting.jobs.is_empty()
            }
            None => true,
        };
        if empty {
            st.waits.remove(key);
            st.seen.remove(key);
        }
    }

    /// The last observation of `key`, if made at or after `since` and within `fresh`.
    pub fn sighting(
        &self,
        key: &WatchKey,
        since: OffsetDateTime,
        fresh: Duration,
    ) -> Option<Sighting> {
        let now = OffsetDateTime::now_utc();
        let st = self.lock();
        let seen = st.seen.get(key)?;
        (seen.at >= since && now - seen.at <= fresh).then(|| seen.sighting(key))
    }

    /// Stores an observation made by a handler (so other jobs on the resource share it).
    pub fn record(&self, key: &WatchKey, observed: &Observed) {
        let mut st = self.lock();
        let State { waits, seen, .. } = &mut *st;
        if let Some(waiting) = waits.get(key) {
            let stored = keep(
                observed.clone(),
                waiting.woken_state.as_deref(),
                seen.get(key),
                OffsetDateTime::now_utc(),
            );
            seen.insert(key.clone(), stored);
        }
    }

    /// Runs rounds until `shutdown` fires or the zone's lease is lost.
    pub async fn run(
        &self,
        client: &Client,
        zone: Zone,
        guard: &ZoneGuard,
        pool: &PgPool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        self.inner.running.store(true, Ordering::SeqCst);
        let _running = RunningFlag(&self.inner.running);
        let lost = guard.token();
        let mut throttled = client.throttled(zone);
        loop {
            if shutdown.is_cancelled() || guard.check().is_err() {
                return Ok(());
            }
            let pause = match self.round(client, zone, guard, pool).await {
                Ok(calls) => self.pause(client, zone, calls, &mut throttled),
                Err(err) => {
                    tracing::warn!(zone = %zone, operation = "watch", error = %err,
                        "watcher round failed");
                    self.inner.settings.max_round
                }
            };
            let next_due = self.next_due();
            let wait = match next_due {
                // Nothing pending: sleep until a registration.
                None => Duration::from_secs(3600),
                Some(due) => {
                    let until_due = due - OffsetDateTime::now_utc();
                    pause.max(until_due.try_into().unwrap_or(Duration::ZERO))
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = lost.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
                _ = self.inner.registered.notified(), if next_due.is_none() => {
                    // Let a burst of registrations gather before the first round.
                    tokio::time::sleep(self.inner.settings.min_round).await;
                }
            }
        }
    }

    fn next_due(&self) -> Option<OffsetDateTime> {
        self.lock().waits.values().map(|w| w.due).min()
    }

    /// Pause after a round that made `calls` calls.
    fn pause(&self, client: &Client, zone: Zone, calls: u64, throttled: &mut u64) -> Duration {
        let settings = &self.inner.settings;
        let limiter = client.rate_limiter();
        let rate = limiter.rate(zone);
        let now_throttled = client.throttled(zone);
        let was_throttled = now_throttled > *throttled;
        *throttled = now_throttled;
        let mut pause = if !rate.rate.is_finite() || rate.rate <= 0.0 {
            settings.min_round
        } else if limiter.available(zone) >= f64::from(rate.burst) / 2.0 {
            // The bucket is idle: nobody else needs the budget right now.
            settings.min_round
        } else {
            let per_second = (rate.rate * settings.rate_share).max(0.01);
            Duration::from_secs_f64(calls.max(1) as f64 / per_second)
        };
        if was_throttled {
            pause *= 2;
        }
        pause.clamp(settings.min_round, settings.max_round)
    }

    /// One round; returns the number of upstream calls made.
    async fn round(
        &self,
        client: &Client,
        zone: Zone,
        guard: &ZoneGuard,
        pool: &PgPool,
    ) -> Result<u64, RoundError> {
        self.inner.stats.rounds.fetch_add(1, Ordering::Relaxed);
        let now = OffsetDateTime::now_utc();
        let (due, totals) = {
            let mut st = self.lock();
            // Registrations of jobs that never came back (cancelled, finished elsewhere).
            st.waits.retain(|_, w| {
                w.jobs.retain(|_, until| *until > now);
                !w.jobs.is_empty()
            });
            let keep = self.inner.settings.keep;
            let State { waits, seen, .. } = &mut *st;
            seen.retain(|k, s| waits.contains_key(k) || now - s.at <= keep);
            let mut due: BTreeMap<ResourceKind, Vec<WatchKey>> = BTreeMap::new();
            for (key, w) in st.waits.iter() {
                if w.due <= now {
                    due.entry(key.kind).or_default().push(key.clone());
                }
            }
            (due, st.totals.clone())
        };
        let mut calls = 0u64;
        // Each observation is kept (or reduced to its state) as soon as it is read, so a
        // round never holds more than one page of whole resources.
        let mut wake: Vec<i64> = Vec::new();
        for (kind, keys) in due {
            calls += self
                .read_kind(client, zone, guard, kind, &keys, &totals, &mut wake)
                .await?;
        }
        if !wake.is_empty() {
            wake.sort_unstable();
            wake.dedup();
            match fleet_scheduler::wake_jobs(pool, &wake).await {
                Ok(n) => {
                    self.inner.stats.woken.fetch_add(n, Ordering::Relaxed);
                }
                Err(err) => {
                    // The jobs still run at their fallback poll.
                    tracing::warn!(zone = %zone, operation = "wake_jobs", jobs = wake.len(),
                        error = %err, "could not wake waiting jobs");
                }
            }
        }
        Ok(calls)
    }

    /// Keeps an observation of `key`; notes the jobs to wake when its state changed.
    fn absorb(&self, key: WatchKey, observed: Observed, wake: &mut Vec<i64>) {
        let at = OffsetDateTime::now_utc();
        let mut st = self.lock();
        let State { waits, seen, .. } = &mut *st;
        let (state, _) = observed.state();
        let known = match waits.get_mut(&key) {
            Some(w) if w.woken_state.as_deref() != Some(state.as_str()) => {
                w.woken_state = Some(state);
                wake.extend(w.jobs.keys().copied());
                None
            }
            Some(w) => w.woken_state.clone(),
            None => None,
        };
        let stored = keep(observed, known.as_deref(), seen.get(&key), at);
        seen.insert(key, stored);
    }

    /// Reads every key of one kind; returns the calls made.
    #[allow(clippy::too_many_arguments)]
    async fn read_kind(
        &self,
        client: &Client,
        zone: Zone,
        guard: &ZoneGuard,
        kind: ResourceKind,
        keys: &[WatchKey],
        totals: &HashMap<ResourceKind, u64>,
        wake: &mut Vec<i64>,
    ) -> Result<u64, RoundError> {
        let stats = &self.inner.stats;
        let mut calls = 0u64;
        match kind {
            ResourceKind::Server => {
                for chunk in keys.chunks(PAGE) {
                    guard.check()?;
                    let query = ListServersQuery {
                        servers: Some(chunk.iter().map(|k| k.id.clone()).collect()),
                        per_page: Some(PAGE as u32),
                        page: Some(1),
                        ..ListServersQuery::default()
                    };
                    let page = client.list_servers(zone, &query).await?;
                    calls += 1;
                    stats.list_calls.fetch_add(1, Ordering::Relaxed);
                    let mut by_id: HashMap<String, fleet_core::Server> =
                        page.items.into_iter().map(|s| (s.id.clone(), s)).collect();
                    for key in chunk {
                        let observed = match by_id.remove(&key.id) {
                            Some(server) => Observed::Server(Box::new(server)),
                            None => Observed::Gone,
                        };
                        self.absorb(key.clone(), observed, wake);
                    }
                }
            }
            ResourceKind::Snapshot
            | ResourceKind::Volume
            | ResourceKind::Image
            | ResourceKind::BlockVolume
            | ResourceKind::BlockSnapshot => {
                let pages = totals
                    .get(&kind)
                    .map(|t| t.div_ceil(PAGE as u64).max(1))
                    .unwrap_or(u64::MAX);
                if pages < keys.len() as u64 {
                    calls += self.list_all(client, zone, guard, kind, keys, wake).await?;
                } else {
                    for key in keys {
                        guard.check()?;
                        let observed = fetch(client, zone, key).await?;
                        calls += 1;
                        stats.get_calls.fetch_add(1, Ordering::Relaxed);
                        self.absorb(key.clone(), observed, wake);
                    }
                    if keys.len() > 1 && !totals.contains_key(&kind) {
                        // Learn the zone's size for the next rounds (one small page).
                        guard.check()?;
                        let total = self.total_of(client, zone, kind).await?;
                        calls += 1;
                        self.lock().totals.insert(kind, total);
                    }
                }
            }
            ResourceKind::PrivateNic => {
                for key in keys {
                    guard.check()?;
                    let observed = fetch(client, zone, key).await?;
                    calls += 1;
                    stats.get_calls.fetch_add(1, Ordering::Relaxed);
                    self.absorb(key.clone(), observed, wake);
                }
            }
        }
        Ok(calls)
    }

    async fn total_of(
        &self,
        client: &Client,
        zone: Zone,
        kind: ResourceKind,
    ) -> Result<u64, RoundError> {
        let total = list_page(client, zone, kind, 1, 1).await?.total;
        Ok(total.unwrap_or(u64::MAX / 2))
    }

    /// Reads every page of a kind's list and picks the waited-on resources from it.
    async fn list_all(
        &self,
        client: &Client,
        zone: Zone,
        guard: &ZoneGuard,
        kind: ResourceKind,
        keys: &[WatchKey],
        wake: &mut Vec<i64>,
    ) -> Result<u64, RoundError> {
        let wanted: std::collections::HashSet<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        let mut seen: HashMap<String, Observed> = HashMap::new();
        let mut calls = 0u64;
        let mut page = 1i32;
        let mut total;
        loop {
            guard.check()?;
            let listed = list_page(client, zone, kind, page, PAGE as u32).await?;
            let count = listed.items.len();
            total = listed.total.unwrap_or(0);
            calls += 1;
            self.inner.stats.list_calls.fetch_add(1, Ordering::Relaxed);
            // Only the waited-on resources are kept from each page.
            seen.extend(
                listed
                    .items
                    .into_iter()
                    .filter(|(id, _)| wanted.contains(id.as_str())),
            );
            let read = u64::try_from(page).unwrap_or(0) * PAGE as u64;
            if count < PAGE || read >= total {
                break;
            }
            page = page.saturating_add(1);
        }
        self.lock().totals.insert(kind, total);
        for key in keys {
            let observed = seen.remove(&key.id).unwrap_or(Observed::Gone);
            self.absorb(key.clone(), observed, wake);
        }
        Ok(calls)
    }
}

/// One page of a kind's zone-wide list.
struct Listed {
    items: Vec<(String, Observed)>,
    /// Items over all pages, when the API said.
    total: Option<u64>,
}

/// Page `page` (of `size` items) of the list of `kind`; Instance lists carry their total in a
/// header, Block lists in the body. Servers and private NICs are not listed this way.
async fn list_page(
    client: &Client,
    zone: Zone,
    kind: ResourceKind,
    page: i32,
    size: u32,
) -> Result<Listed, fleet_scaleway::Error> {
    fn entries<T>(
        items: Vec<T>,
        id: impl Fn(&T) -> String,
        wrap: impl Fn(T) -> Observed,
    ) -> Vec<(String, Observed)> {
        items.into_iter().map(|i| (id(&i), wrap(i))).collect()
    }
    Ok(match kind {
        ResourceKind::Snapshot => {
            let q = ListSnapshotsQuery {
                per_page: Some(size),
                page: Some(page),
                ..Default::default()
            };
            let p = client.list_snapshots(zone, &q).await?;
            let items = entries(
                p.items,
                |s| s.id.clone(),
                |s| Observed::Snapshot(Box::new(s)),
            );
            Listed {
                items,
                total: p.total_count,
            }
        }
        ResourceKind::Volume => {
            let q = ListVolumesQuery {
                per_page: Some(size),
                page: Some(page),
                ..Default::default()
            };
            let p = client.list_volumes(zone, &q).await?;
            let items = entries(p.items, |v| v.id.clone(), |v| Observed::Volume(Box::new(v)));
            Listed {
                items,
                total: p.total_count,
            }
        }
        ResourceKind::Image => {
            let q = ListImagesQuery {
                per_page: Some(size),
                page: Some(page),
                public: Some(false),
                ..Default::default()
            };
            let p = client.list_images(zone, &q).await?;
            let items = entries(p.items, |i| i.id.clone(), |i| Observed::Image(Box::new(i)));
            Listed {
                items,
                total: p.total_count,
            }
        }
        ResourceKind::BlockVolume => {
            let q = block::ListVolumesQuery {
                page_size: Some(size),
                page: Some(page),
                ..Default::default()
            };
            let p = client.block_list_volumes(zone, &q).await?;
            let total = p.total_count;
            let items = entries(
                p.items,
                |v| v.id.clone(),
                |v| Observed::BlockVolume(Box::new(v)),
            );
            Listed { items, total }
        }
        ResourceKind::BlockSnapshot => {
            let q = block::ListSnapshotsQuery {
                page_size: Some(size),
                page: Some(page),
                ..Default::default()
            };
            let p = client.block_list_snapshots(zone, &q).await?;
            let total = p.total_count;
            let items = entries(
                p.items,
                |s| s.id.clone(),
                |s| Observed::BlockSnapshot(Box::new(s)),
            );
            Listed { items, total }
        }
        ResourceKind::Server | ResourceKind::PrivateNic => Listed {
            items: Vec::new(),
            total: None,
        },
    })
}

struct RunningFlag<'a>(&'a AtomicBool);

impl Drop for RunningFlag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    LeaseLost(#[from] crate::context::LeaseLost),
    #[error(transparent)]
    Upstream(#[from] fleet_scaleway::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleet_core::{Server, ServerState};

    fn server(state: ServerState) -> Observed {
        Observed::Server(Box::new(Server {
            id: "s1".into(),
            name: "big".into(),
            state,
            ..Server::default()
        }))
    }

    #[test]
    fn a_known_server_state_is_kept_alone_and_a_new_one_whole() {
        let key = WatchKey::new(ResourceKind::Server, "s1");
        let at = OffsetDateTime::now_utc();
        // The state its jobs know: only the state is kept.
        let known = keep(server(ServerState::Starting), Some("starting"), None, at);
        assert!(matches!(known.seen, Seen::State { .. }));
        let sighting = known.sighting(&key);
        assert!(sighting.state_only);
        assert_eq!(sighting.observed.state().0, "starting");
        assert_eq!(sighting.observed.server().unwrap().id, "s1");
        assert_eq!(sighting.observed.server().unwrap().name, "");

        // A state that wakes its jobs: whole, and it stays whole while the state holds.
        let woke = keep(server(ServerState::Running), None, Some(&known), at);
        assert!(matches!(woke.seen, Seen::Full(_)));
        let again = keep(
            server(ServerState::Running),
            Some("running"),
            Some(&woke),
            at,
        );
        assert!(!again.sighting(&key).state_only);
        assert_eq!(again.sighting(&key).observed.server().unwrap().name, "big");

        // Other kinds, and a 404, are kept as they are.
        let gone = keep(Observed::Gone, Some("gone"), None, at);
        assert!(matches!(gone.seen, Seen::Full(Observed::Gone)));
    }
}
