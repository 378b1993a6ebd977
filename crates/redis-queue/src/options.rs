//! Queue options: the eight options of the Go queue plus this crate's additions, with defaults and
//! validation (`queue.md` §3).

use std::time::Duration;

use sm_core::QueueError;

/// How the queue's Redis keys are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyLayout {
    /// The Go layout (`queue.md` §5): `<prefix>:<name>:stream:<channel>` and friends, no hash tags.
    /// Go producers and consumers can share the queue. Not usable on Redis Cluster.
    #[default]
    Go,
    /// Cluster-safe layout: channels are spread over `shards` hash tags,
    /// `<prefix>:{<name>:<shard>}:stream:<channel>`, so every script touches keys of one hash slot.
    Cluster {
        /// Number of shards (hash tags) the channels are spread over (1..=1024).
        shards: u16,
    },
}

/// Options of [`RedisFifoQueueProducer`](crate::RedisFifoQueueProducer) and
/// [`RedisFifoQueue`](crate::RedisFifoQueue). Setters never validate; the constructors do.
#[derive(Debug, Clone)]
pub struct RedisFifoQueueOptions {
    pub(crate) key_prefix: String,
    pub(crate) consumer_group: String,
    pub(crate) poll_interval: Duration,
    pub(crate) max_stream_length: u64,
    pub(crate) stream_refresh_interval: Duration,
    pub(crate) claim_min_idle_time: Duration,
    pub(crate) lock_ttl: Duration,
    pub(crate) stream_inactivity_timeout: Duration,
    pub(crate) max_deliveries: u32,
    pub(crate) dedup_window: Duration,
    pub(crate) redelivery_delay: Duration,
    pub(crate) lease_ttl: Option<Duration>,
    pub(crate) consumer_idle_timeout: Duration,
    pub(crate) layout: KeyLayout,
    pub(crate) use_channel_locker: bool,
}

impl Default for RedisFifoQueueOptions {
    fn default() -> Self {
        RedisFifoQueueOptions {
            key_prefix: "slack-manager:queue".to_owned(),
            consumer_group: "slack-manager".to_owned(),
            poll_interval: Duration::from_secs(2),
            max_stream_length: 10_000,
            stream_refresh_interval: Duration::from_secs(30),
            claim_min_idle_time: Duration::from_secs(120),
            lock_ttl: Duration::from_secs(140),
            stream_inactivity_timeout: Duration::from_secs(48 * 3600),
            max_deliveries: 5,
            dedup_window: Duration::from_secs(300),
            redelivery_delay: Duration::ZERO,
            lease_ttl: None,
            consumer_idle_timeout: Duration::from_secs(3600),
            layout: KeyLayout::Go,
            use_channel_locker: false,
        }
    }
}

impl RedisFifoQueueOptions {
    /// First part of every Redis key (default `"slack-manager:queue"`; must not be empty).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Redis consumer group shared by all instances (default `"slack-manager"`; must not be empty).
    pub fn with_consumer_group(mut self, group: impl Into<String>) -> Self {
        self.consumer_group = group.into();
        self
    }

    /// Longest idle wait between two checks for work when no notification arrives
    /// (default 2 s; 1 s ..= 1 min). Notifications normally wake a waiting consumer at once.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Maximum backlog per channel (default 10 000; at least 100). A send to a channel whose
    /// backlog (unacknowledged entries) has reached it fails with [`QueueError::Full`]; nothing is
    /// ever trimmed unacknowledged.
    pub fn with_max_stream_length(mut self, len: u64) -> Self {
        self.max_stream_length = len;
        self
    }

    /// Period of the slow fallback scan of the stream index (discovery of streams written by a Go
    /// producer, stale-stream cleanup, idle-consumer removal) (default 30 s; 5 s ..= 5 min).
    pub fn with_stream_refresh_interval(mut self, interval: Duration) -> Self {
        self.stream_refresh_interval = interval;
        self
    }

    /// Go option kept for compatibility and validation (default 120 s; 10 s ..= 10 min, and less
    /// than the lock TTL). Redelivery here is driven by lease expiry, not by idle time.
    pub fn with_claim_min_idle_time(mut self, time: Duration) -> Self {
        self.claim_min_idle_time = time;
        self
    }

    /// TTL of a channel's in-flight ownership (and of the locker's lock, when used)
    /// (default 140 s; 30 s ..= 30 min). The ownership is extended while the message is in flight.
    pub fn with_lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// Streams without a send for this long, and without unread or pending entries, are deleted
    /// (default 48 h; `0` disables; else at least 1 h).
    pub fn with_stream_inactivity_timeout(mut self, timeout: Duration) -> Self {
        self.stream_inactivity_timeout = timeout;
        self
    }

    /// Failed deliveries (nack, drop, lost lease) after which a message moves to the dead-letter
    /// stream (default 5; 1 ..= 1000).
    pub fn with_max_deliveries(mut self, max: u32) -> Self {
        self.max_deliveries = max;
        self
    }

    /// How long a non-empty dedup ID is remembered per channel (default 5 min; 1 s ..= 24 h).
    pub fn with_dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = window;
        self
    }

    /// Delay before a nacked message is delivered again (default 0; at most 1 h). The channel's
    /// later messages wait behind it.
    pub fn with_redelivery_delay(mut self, delay: Duration) -> Self {
        self.redelivery_delay = delay;
        self
    }

    /// Lease of an in-flight message without a heartbeat, i.e. how soon a crashed consumer's
    /// message is redelivered (default: the lock TTL; 1 s ..= 30 min). The lease is renewed every
    /// third of it while the message is in flight.
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = Some(ttl);
        self
    }

    /// Consumers of a stream's group idle longer than this, without pending entries, are
    /// removed by the fallback scan (default 1 h; at least 1 s).
    pub fn with_consumer_idle_timeout(mut self, timeout: Duration) -> Self {
        self.consumer_idle_timeout = timeout;
        self
    }

    /// The key layout (default [`KeyLayout::Go`]).
    pub fn with_key_layout(mut self, layout: KeyLayout) -> Self {
        self.layout = layout;
        self
    }

    /// Also hold the `ChannelLocker` lock `<prefix>:<name>:lock:<channel>` while a message is in
    /// flight, as the Go consumer does (default `false`), so Go consumers sharing the queue never
    /// process a channel at the same moment. Costs two more Redis commands per message with a
    /// Redis locker, and disables ack chaining.
    pub fn with_channel_locker(mut self, enabled: bool) -> Self {
        self.use_channel_locker = enabled;
        self
    }

    pub(crate) fn lease(&self) -> Duration {
        self.lease_ttl.unwrap_or(self.lock_ttl)
    }

    /// Validates in the Go order; the first failure is returned.
    pub(crate) fn validate(&self) -> Result<(), QueueError> {
        let fail = |m: &str| Err(QueueError::InvalidOption(m.to_owned()));
        let secs = Duration::from_secs;
        if self.key_prefix.is_empty() {
            return fail("key prefix cannot be empty");
        }
        if self.consumer_group.is_empty() {
            return fail("consumer group cannot be empty");
        }
        if self.poll_interval < secs(1) || self.poll_interval > secs(60) {
            return fail("poll interval must be between 1 second and 1 minute");
        }
        if self.max_stream_length < 100 {
            return fail("max stream length must be at least 100");
        }
        if self.stream_refresh_interval < secs(5) || self.stream_refresh_interval > secs(300) {
            return fail("stream refresh interval must be between 5 seconds and 5 minutes");
        }
        if self.claim_min_idle_time < secs(10) || self.claim_min_idle_time > secs(600) {
            return fail("claim min idle time must be between 10 seconds and 10 minutes");
        }
        if self.lock_ttl < secs(30) || self.lock_ttl > secs(1800) {
            return fail("lock TTL must be between 30 seconds and 30 minutes");
        }
        if self.claim_min_idle_time >= self.lock_ttl {
            return fail(
                "claim min idle time must be less than lock TTL to ensure strict ordering",
            );
        }
        if !self.stream_inactivity_timeout.is_zero() && self.stream_inactivity_timeout < secs(3600)
        {
            return fail("stream inactivity timeout must be at least 1 hour (or 0 to disable)");
        }
        if self.max_deliveries == 0 || self.max_deliveries > 1000 {
            return fail("max deliveries must be between 1 and 1000");
        }
        if self.dedup_window < secs(1) || self.dedup_window > secs(86_400) {
            return fail("dedup window must be between 1 second and 24 hours");
        }
        if self.redelivery_delay > secs(3600) {
            return fail("redelivery delay must be at most 1 hour");
        }
        if let Some(lease) = self.lease_ttl {
            if lease < secs(1) || lease > secs(1800) {
                return fail("lease TTL must be between 1 second and 30 minutes");
            }
        }
        if self.consumer_idle_timeout < secs(1) {
            return fail("consumer idle timeout must be at least 1 second");
        }
        match self.layout {
            KeyLayout::Go => {}
            KeyLayout::Cluster { shards } => {
                if shards == 0 || shards > 1024 {
                    return fail("cluster layout shards must be between 1 and 1024");
                }
                if self.key_prefix.contains(['{', '}']) {
                    return fail("key prefix cannot contain braces with the cluster layout");
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(o: RedisFifoQueueOptions) -> String {
        match o.validate() {
            Err(QueueError::InvalidOption(m)) => m,
            other => panic!("expected an invalid option, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid_and_match_go() {
        let o = RedisFifoQueueOptions::default();
        o.validate().unwrap();
        assert_eq!(o.key_prefix, "slack-manager:queue");
        assert_eq!(o.consumer_group, "slack-manager");
        assert_eq!(o.poll_interval, Duration::from_secs(2));
        assert_eq!(o.max_stream_length, 10_000);
        assert_eq!(o.stream_refresh_interval, Duration::from_secs(30));
        assert_eq!(o.claim_min_idle_time, Duration::from_secs(120));
        assert_eq!(o.lock_ttl, Duration::from_secs(140));
        assert_eq!(o.stream_inactivity_timeout, Duration::from_secs(172_800));
        assert_eq!(o.max_deliveries, 5);
        assert_eq!(o.dedup_window, Duration::from_secs(300));
        assert_eq!(o.lease(), Duration::from_secs(140));
    }

    #[test]
    fn validation_messages_and_bounds() {
        let d = RedisFifoQueueOptions::default;
        let s = Duration::from_secs;
        assert_eq!(err(d().with_key_prefix("")), "key prefix cannot be empty");
        assert_eq!(
            err(d().with_consumer_group("")),
            "consumer group cannot be empty"
        );
        assert!(
            err(d().with_poll_interval(Duration::from_millis(999))).starts_with("poll interval")
        );
        d().with_poll_interval(s(1)).validate().unwrap();
        d().with_poll_interval(s(60)).validate().unwrap();
        assert!(err(d().with_poll_interval(s(61))).starts_with("poll interval"));
        assert!(err(d().with_max_stream_length(99)).starts_with("max stream length"));
        d().with_max_stream_length(100).validate().unwrap();
        assert!(err(d().with_stream_refresh_interval(s(4))).starts_with("stream refresh"));
        assert!(err(d().with_stream_refresh_interval(s(301))).starts_with("stream refresh"));
        assert!(
            err(d().with_claim_min_idle_time(s(9)))
                .starts_with("claim min idle time must be between")
        );
        assert!(err(d().with_lock_ttl(s(29))).starts_with("lock TTL"));
        assert!(err(d().with_lock_ttl(s(1801))).starts_with("lock TTL"));
        assert_eq!(
            err(d().with_claim_min_idle_time(s(140))),
            "claim min idle time must be less than lock TTL to ensure strict ordering"
        );
        d().with_stream_inactivity_timeout(Duration::ZERO)
            .validate()
            .unwrap();
        assert!(err(d().with_stream_inactivity_timeout(s(3599))).starts_with("stream inactivity"));
        assert!(err(d().with_max_deliveries(0)).starts_with("max deliveries"));
        assert!(err(d().with_dedup_window(Duration::ZERO)).starts_with("dedup window"));
        assert!(err(d().with_redelivery_delay(s(3601))).starts_with("redelivery delay"));
        assert!(err(d().with_lease_ttl(Duration::from_millis(10))).starts_with("lease TTL"));
        assert!(
            err(d().with_consumer_idle_timeout(Duration::from_millis(999)))
                .starts_with("consumer idle timeout")
        );
        assert!(
            err(d().with_key_layout(KeyLayout::Cluster { shards: 0 }))
                .starts_with("cluster layout")
        );
        assert!(
            err(d()
                .with_key_prefix("a{b}")
                .with_key_layout(KeyLayout::Cluster { shards: 4 }))
            .starts_with("key prefix cannot contain braces")
        );
        // The first failure wins.
        assert_eq!(
            err(d().with_key_prefix("").with_consumer_group("")),
            "key prefix cannot be empty"
        );
    }
}
