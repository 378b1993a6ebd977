//! Per-channel rate limiting: one `governor` token bucket (GCRA) per resolved channel ID.
//!
//! Buckets are created on first use, start full, refill at `alertsPerSecond` up to `allowedBurst`
//! and are never evicted (as in Go; there is one per alert channel, a bounded set in practice). A
//! request with N alerts for a channel takes N tokens at once or none: a rejected request consumes
//! nothing.
//!
//! Header values: `remaining` is the whole number of tokens left after the request; `reset` is
//! `⌈(burst − remaining) / rate⌉` seconds. Because `governor` exposes only whole tokens, `reset` is
//! at most one refill interval later than the exact time the bucket is full again (never earlier).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::config::RateLimitConfig;

/// Longest `Retry-After` reported.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// The state of a channel's bucket after an accepted request, for the `Ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimitSnapshot {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset_seconds: u64,
}

/// The outcome of asking a channel's bucket for N tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateDecision {
    Accepted(RateLimitSnapshot),
    Rejected { limit: u32, retry_after: Duration },
}

pub(crate) struct ChannelRateLimits {
    config: RateLimitConfig,
    quota: Quota,
    clock: DefaultClock,
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
}

impl ChannelRateLimits {
    /// Buckets per `config`, which must be valid ([`ApiConfig::validate`](crate::ApiConfig::validate)).
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        let period = Duration::from_secs_f64(1.0 / config.alerts_per_second.max(0.001));
        let burst = NonZeroU32::new(config.allowed_burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        ChannelRateLimits {
            config,
            quota,
            clock: DefaultClock::default(),
            limiters: Mutex::new(HashMap::new()),
        }
    }

    fn limiter(&self, channel: &str) -> Arc<Limiter> {
        let mut map = self
            .limiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(channel.to_owned()).or_insert_with(|| {
            Arc::new(
                RateLimiter::direct_with_clock(self.quota, self.clock.clone())
                    .with_middleware::<StateInformationMiddleware>(),
            )
        }))
    }

    /// Takes `n` tokens from `channel`'s bucket, or none.
    pub(crate) fn check(&self, channel: &str, n: u32) -> RateDecision {
        let limit = self.config.allowed_burst;
        let Some(n) = NonZeroU32::new(n) else {
            return RateDecision::Accepted(self.snapshot_for(limit));
        };
        let limiter = self.limiter(channel);
        match limiter.check_n(n) {
            Err(_insufficient) => RateDecision::Rejected {
                limit,
                retry_after: MAX_RETRY_AFTER,
            },
            Ok(Err(not_until)) => RateDecision::Rejected {
                limit,
                retry_after: not_until
                    .wait_time_from(self.clock.now())
                    .min(MAX_RETRY_AFTER),
            },
            Ok(Ok(state)) => {
                RateDecision::Accepted(self.snapshot_for(state.remaining_burst_capacity()))
            }
        }
    }

    fn snapshot_for(&self, remaining: u32) -> RateLimitSnapshot {
        let limit = self.config.allowed_burst;
        let remaining = remaining.min(limit);
        let missing = f64::from(limit - remaining);
        RateLimitSnapshot {
            limit,
            remaining,
            reset_seconds: (missing / self.config.alerts_per_second).ceil() as u64,
        }
    }
}

/// Whole seconds, rounded up.
pub(crate) fn ceil_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: f64, burst: u32) -> ChannelRateLimits {
        ChannelRateLimits::new(RateLimitConfig {
            alerts_per_second: rate,
            allowed_burst: burst,
        })
    }

    #[test]
    fn takes_all_or_nothing() {
        let l = limits(0.001, 5);
        assert_eq!(
            l.check("C1", 3),
            RateDecision::Accepted(RateLimitSnapshot {
                limit: 5,
                remaining: 2,
                reset_seconds: 3000
            })
        );
        // Three more do not fit; nothing is consumed.
        let RateDecision::Rejected { limit, retry_after } = l.check("C1", 3) else {
            panic!("expected a rejection");
        };
        assert_eq!(limit, 5);
        // One token is missing at 0.001/s: about 1000 s.
        assert!(
            (990..=1000).contains(&ceil_seconds(retry_after)),
            "{retry_after:?}"
        );
        assert!(matches!(l.check("C1", 2), RateDecision::Accepted(s) if s.remaining == 0));
        // Another channel has its own bucket.
        assert!(matches!(l.check("C2", 5), RateDecision::Accepted(s) if s.remaining == 0));
        // More than the burst can never pass.
        assert_eq!(
            l.check("C3", 6),
            RateDecision::Rejected {
                limit: 5,
                retry_after: MAX_RETRY_AFTER
            }
        );
    }

    #[test]
    fn ceil_seconds_rounds_up() {
        assert_eq!(ceil_seconds(Duration::from_millis(1)), 1);
        assert_eq!(ceil_seconds(Duration::from_secs(2)), 2);
        assert_eq!(ceil_seconds(Duration::ZERO), 0);
    }
}
