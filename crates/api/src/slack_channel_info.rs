//! [`SlackChannelInfo`]: the [`ChannelInfoProvider`] backed by the Slack Web API (the Go
//! "channel info syncer", `spec/restapi.md` §6).
//!
//! How it stays fresh: channel information is fetched on first request and then kept in process;
//! it never expires by itself. A background task started with
//! [`SlackChannelInfo::spawn_refresh`] re-fetches every channel requested within the last 12 h
//! every 30 s (three at a time), forgets channels not requested for longer, and rebuilds the list
//! of the bot's channels (and the name index) every 5 min. Without the task, information is
//! fetched once per channel and the bot's channel list once (on first use); the host is expected
//! to start the task. Lookups go through [`SlackApi`], whose own caches (`spec/slack.md` §2.2)
//! sit below this one, so a refresh sees a change once that cache's entry has expired too.
//!
//! Differences from Go, on purpose: "last seen" is recorded directly in the shared map (Go passes it
//! through a bounded queue that blocks requests when full); channels are forgotten at each channel
//! refresh rather than every 30 min, and a forgotten channel's information is dropped with it, so a
//! channel requested again after 12 h is fetched fresh instead of being served information up to
//! 12 h old.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::{TryStreamExt, stream};
use sm_core::BoxError;
use sm_slack::{SlackApi, SlackError};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::channel_info::{ChannelInfo, ChannelInfoProvider, ManagedChannel};

/// How often the refresh task re-fetches the channels requested recently.
pub const CHANNEL_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// How often the refresh task rebuilds the list of the bot's channels and the name index.
pub const MANAGED_CHANNELS_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Channels not requested for longer than this are no longer refreshed and are forgotten.
pub const CHANNEL_SEEN_WINDOW: Duration = Duration::from_secs(12 * 60 * 60);

/// How many channels a refresh fetches at the same time.
pub const CHANNEL_REFRESH_CONCURRENCY: usize = 3;

/// Channel information from Slack, cached in process and refreshed in the background.
///
/// - [`channel_info`](ChannelInfoProvider::channel_info): `conversations.info` (`channel_not_found`
///   gives `exists: false`), then for an existing channel `conversations.members` (the count
///   includes bots) and the bot's membership. A lookup error is returned and nothing is cached.
/// - [`map_channel_name_to_id`](ChannelInfoProvider::map_channel_name_to_id): case-insensitive
///   exact name among the bot's non-archived channels (`users.conversations`); unknown input, or
///   a failed listing, gives the input unchanged.
/// - [`managed_channels`](ChannelInfoProvider::managed_channels): those channels, sorted by name.
///
/// Cloning is cheap and clones share the cache. The client does not need to be connected first:
/// the provider calls [`SlackApi::connect`] itself when it needs the bot's user ID.
///
/// ```no_run
/// # async fn dox() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use sm_api::{ApiConfig, ApiServer, ApiSettings, SlackChannelInfo};
/// use sm_slack::{SlackApi, SlackClientConfig};
/// use tokio_util::sync::CancellationToken;
///
/// let cancel = CancellationToken::new();
/// let slack = Arc::new(SlackApi::new(SlackClientConfig::new("xoxb-…"))?);
/// let channels = SlackChannelInfo::new(slack);
/// let refresh = channels.spawn_refresh(cancel.clone());
/// let queue = Arc::new(sm_core::InMemoryFifoQueue::new("alerts"));
/// let server = ApiServer::new(queue, ApiConfig::default(), ApiSettings::default())?
///     .with_channel_info(Arc::new(channels));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// server.serve(listener, cancel.clone()).await?;
/// refresh.await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SlackChannelInfo {
    api: Arc<SlackApi>,
    channel_refresh_interval: Duration,
    managed_refresh_interval: Duration,
    seen_window: Duration,
    state: Arc<State>,
}

/// What clones share.
#[derive(Default)]
struct State {
    /// Channels requested so far (and not forgotten), by ID as requested.
    channels: Mutex<HashMap<String, Tracked>>,
    /// The bot's channels; `None` until first built.
    managed: Mutex<Option<Arc<ManagedIndex>>>,
}

/// One channel that was requested.
struct Tracked {
    last_seen: Instant,
    /// `None` until the first fetch succeeded.
    info: Option<ChannelInfo>,
}

/// The bot's channels, sorted by name, and their IDs by lower-cased name.
struct ManagedIndex {
    list: Vec<ManagedChannel>,
    by_name: HashMap<String, String>,
}

impl SlackChannelInfo {
    /// A provider over `api` with the Go timing ([`CHANNEL_REFRESH_INTERVAL`],
    /// [`MANAGED_CHANNELS_REFRESH_INTERVAL`], [`CHANNEL_SEEN_WINDOW`]). Does no I/O.
    pub fn new(api: Arc<SlackApi>) -> Self {
        SlackChannelInfo {
            api,
            channel_refresh_interval: CHANNEL_REFRESH_INTERVAL,
            managed_refresh_interval: MANAGED_CHANNELS_REFRESH_INTERVAL,
            seen_window: CHANNEL_SEEN_WINDOW,
            state: Arc::default(),
        }
    }

    /// Uses other refresh intervals for the task of [`spawn_refresh`](Self::spawn_refresh): `channels`
    /// for re-fetching requested channels, `managed` for rebuilding the bot's channel list. A zero
    /// interval means the default.
    pub fn with_refresh_intervals(mut self, channels: Duration, managed: Duration) -> Self {
        self.channel_refresh_interval = non_zero_or(channels, CHANNEL_REFRESH_INTERVAL);
        self.managed_refresh_interval = non_zero_or(managed, MANAGED_CHANNELS_REFRESH_INTERVAL);
        self
    }

    /// Forgets channels not requested for longer than `window` instead of [`CHANNEL_SEEN_WINDOW`].
    /// Zero means the default.
    pub fn with_seen_window(mut self, window: Duration) -> Self {
        self.seen_window = non_zero_or(window, CHANNEL_SEEN_WINDOW);
        self
    }

    /// Starts the refresh task: it builds the bot's channel list at once and then on every managed
    /// interval, and runs [`refresh_channels`](Self::refresh_channels) on every channel interval
    /// (first after one interval). Failures are logged and retried at the next tick. The task
    /// ends when `cancel` is cancelled. Needs a Tokio runtime.
    pub fn spawn_refresh(&self, cancel: CancellationToken) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.run_refresh(cancel).await })
    }

    async fn run_refresh(&self, cancel: CancellationToken) {
        let every = self.channel_refresh_interval;
        let mut channels = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        channels.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut managed = tokio::time::interval(self.managed_refresh_interval);
        managed.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let work = async {
                tokio::select! {
                    _ = managed.tick() => {
                        if let Err(e) = self.refresh_managed_channels().await {
                            tracing::warn!(error = %e, "failed to refresh the bot's channel list");
                        }
                    }
                    _ = channels.tick() => {
                        if let Err(e) = self.refresh_channels().await {
                            tracing::warn!(error = %e, "failed to refresh channel info");
                        }
                    }
                }
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = work => {}
            }
        }
        tracing::debug!("channel info refresh stopped");
    }

    /// Forgets the channels not requested within the seen window, then re-fetches the others,
    /// [`CHANNEL_REFRESH_CONCURRENCY`] at a time. The first error ends the batch and is returned
    /// (channels fetched before it keep their new information). Returns how many channels were
    /// refreshed.
    pub async fn refresh_channels(&self) -> Result<usize, SlackError> {
        let now = Instant::now();
        let ids: Vec<String> = {
            let mut channels = lock(&self.state.channels);
            let before = channels.len();
            channels.retain(|_, t| now.duration_since(t.last_seen) <= self.seen_window);
            let forgotten = before - channels.len();
            if forgotten > 0 {
                tracing::debug!(forgotten, "forgot channels not seen recently");
            }
            channels.keys().cloned().collect()
        };
        let count = ids.len();
        stream::iter(ids.into_iter().map(Ok::<_, SlackError>))
            .try_for_each_concurrent(CHANNEL_REFRESH_CONCURRENCY, |id| async move {
                let info = self.fetch(&id).await?;
                if let Some(t) = lock(&self.state.channels).get_mut(&id) {
                    t.info = Some(info);
                }
                Ok(())
            })
            .await?;
        tracing::debug!(channels = count, "refreshed channel info");
        Ok(count)
    }

    /// Rebuilds the list of the bot's channels and the name index (`users.conversations`, cached
    /// 1 min by the client). Returns how many channels the bot is in.
    pub async fn refresh_managed_channels(&self) -> Result<usize, SlackError> {
        Ok(self.rebuild_managed().await?.list.len())
    }

    /// How many channels are currently remembered (requested within the seen window).
    pub fn tracked_channels(&self) -> usize {
        lock(&self.state.channels).len()
    }

    async fn rebuild_managed(&self) -> Result<Arc<ManagedIndex>, SlackError> {
        let summaries = self.api.list_bot_channels().await?;
        let list: Vec<ManagedChannel> = summaries
            .iter()
            .map(|c| ManagedChannel {
                id: c.id.clone(),
                name: c.name.clone(),
            })
            .collect();
        let mut by_name = HashMap::with_capacity(list.len());
        for c in &list {
            by_name
                .entry(c.name.to_lowercase())
                .or_insert_with(|| c.id.clone());
        }
        let index = Arc::new(ManagedIndex { list, by_name });
        *lock(&self.state.managed) = Some(index.clone());
        tracing::debug!(
            channels = index.list.len(),
            "rebuilt the bot's channel list"
        );
        Ok(index)
    }

    async fn managed_index(&self) -> Result<Arc<ManagedIndex>, SlackError> {
        let current = lock(&self.state.managed).clone();
        match current {
            Some(index) => Ok(index),
            None => self.rebuild_managed().await,
        }
    }

    /// `conversations.info`, then members and bot membership for an existing channel.
    async fn fetch(&self, channel: &str) -> Result<ChannelInfo, SlackError> {
        let api = &self.api;
        let archived = match api.get_channel_info(channel).await {
            Ok(c) => c.is_archived,
            Err(e) if e.code() == Some("channel_not_found") => return Ok(ChannelInfo::default()),
            Err(e) => return Err(e),
        };
        let members = api.get_user_ids_in_channel(channel).await?;
        if api.bot_user_id().is_none() {
            api.connect().await?;
        }
        let bot_is_member = api.bot_is_in_channel(channel).await?;
        Ok(ChannelInfo {
            exists: true,
            archived,
            bot_is_member,
            user_count: u32::try_from(members.len()).unwrap_or(u32::MAX),
        })
    }
}

#[async_trait]
impl ChannelInfoProvider for SlackChannelInfo {
    async fn channel_info(&self, channel_id: &str) -> Result<ChannelInfo, BoxError> {
        let cached = {
            let mut channels = lock(&self.state.channels);
            let tracked = channels
                .entry(channel_id.to_owned())
                .or_insert_with(|| Tracked {
                    last_seen: Instant::now(),
                    info: None,
                });
            tracked.last_seen = Instant::now();
            tracked.info
        };
        if let Some(info) = cached {
            return Ok(info);
        }
        let info = self.fetch(channel_id).await?;
        lock(&self.state.channels)
            .entry(channel_id.to_owned())
            .or_insert_with(|| Tracked {
                last_seen: Instant::now(),
                info: None,
            })
            .info = Some(info);
        Ok(info)
    }

    async fn map_channel_name_to_id(&self, name_or_id: &str) -> String {
        if name_or_id.is_empty() {
            return String::new();
        }
        match self.managed_index().await {
            Ok(index) => index
                .by_name
                .get(&name_or_id.to_lowercase())
                .cloned()
                .unwrap_or_else(|| name_or_id.to_owned()),
            Err(e) => {
                tracing::warn!(error = %e, channel = name_or_id,
                    "failed to list the bot's channels; taking the channel as an ID");
                name_or_id.to_owned()
            }
        }
    }

    async fn managed_channels(&self) -> Result<Vec<ManagedChannel>, BoxError> {
        Ok(self.managed_index().await?.list.clone())
    }
}

impl fmt::Debug for SlackChannelInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let managed = lock(&self.state.managed).as_ref().map(|m| m.list.len());
        f.debug_struct("SlackChannelInfo")
            .field("tracked_channels", &self.tracked_channels())
            .field("managed_channels", &managed)
            .field("channel_refresh_interval", &self.channel_refresh_interval)
            .field("managed_refresh_interval", &self.managed_refresh_interval)
            .field("seen_window", &self.seen_window)
            .finish()
    }
}

fn non_zero_or(d: Duration, default: Duration) -> Duration {
    if d.is_zero() { default } else { d }
}

/// Locks a mutex; a poisoned one is still usable (its maps are consistent after every statement).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
