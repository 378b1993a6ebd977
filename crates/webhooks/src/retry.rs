//! When and how long the HTTP handler waits before trying a delivery again.
//!
//! Go retries twice, 1 s apart. Here the delays grow exponentially with random jitter (computed by
//! `backon`), a `Retry-After` answer is honoured as a lower bound for the next delay, and the whole
//! delivery (attempts and waits) is bounded by a total deadline: when the next wait would end past
//! the deadline, the last error is returned instead of waiting.
//!
//! What is retried (decided by the handler): status 429 and 5xx, and connection errors. Not retried:
//! other statuses, DNS failures, policy refusals and — as in Go — an attempt that hit its timeout
//! (the receiver may still be working on it), unless [`RetryPolicy::with_retry_on_timeout`] says so.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Retry settings of the HTTP handler.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    max_retries: usize,
    min_delay: Duration,
    max_delay: Duration,
    jitter: bool,
    total_deadline: Duration,
    retry_on_timeout: bool,
}

impl Default for RetryPolicy {
    /// Two retries (three attempts, like Go), delays from 500 ms doubling up to 5 s with jitter, a
    /// 15 s total deadline, timed-out attempts not retried.
    fn default() -> Self {
        Self {
            max_retries: 2,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
            jitter: true,
            total_deadline: Duration::from_secs(15),
            retry_on_timeout: false,
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt only.
    pub fn none() -> Self {
        Self::default().with_max_retries(0)
    }

    /// The most retries after the first attempt.
    pub fn with_max_retries(mut self, max_retries: usize) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The first delay (later ones double, up to the maximum).
    pub fn with_min_delay(mut self, delay: Duration) -> Self {
        self.min_delay = delay;
        self
    }

    /// The longest computed delay (a `Retry-After` may ask for more, within the deadline).
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Whether to add random jitter to each delay (on by default; spreads retries of many deliveries).
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The bound on the whole delivery: attempts, waits for a concurrency slot and retry delays
    /// (default 15 s; zero is treated as the default).
    pub fn with_total_deadline(mut self, deadline: Duration) -> Self {
        if !deadline.is_zero() {
            self.total_deadline = deadline;
        }
        self
    }

    /// Whether an attempt that hit the request timeout is retried (off by default, as in Go).
    pub fn with_retry_on_timeout(mut self, retry: bool) -> Self {
        self.retry_on_timeout = retry;
        self
    }

    /// The total deadline.
    pub fn total_deadline(&self) -> Duration {
        self.total_deadline
    }

    /// Whether timed-out attempts are retried.
    pub fn retry_on_timeout(&self) -> bool {
        self.retry_on_timeout
    }

    /// The delays before each retry, in order; its length is the number of retries.
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        let mut builder = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay.max(self.min_delay))
            .with_factor(2.0)
            .with_max_times(self.max_retries);
        if self.jitter {
            builder = builder.with_jitter();
        }
        builder.build()
    }
}

/// The `Retry-After` of a response: delay-seconds or an HTTP date (relative to `now`).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(at.with_timezone(&chrono::Utc));
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn delays_grow_and_are_bounded() {
        let p = RetryPolicy::default()
            .with_max_retries(5)
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(350))
            .with_jitter(false);
        // backon multiplies in f32, so compare whole milliseconds.
        let d: Vec<u64> = p
            .delays()
            .map(|d| (d.as_secs_f64() * 1000.0).round() as u64)
            .collect();
        assert_eq!(d, [100, 200, 350, 350, 350]);
        assert_eq!(RetryPolicy::none().delays().count(), 0);
        let jittered: Vec<_> = RetryPolicy::default().delays().collect();
        assert_eq!(jittered.len(), 2);
        assert!(jittered[0] >= Duration::from_millis(500) && jittered[0] <= Duration::from_secs(1));
    }

    #[test]
    fn parses_retry_after() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Sun, 06 Nov 1994 08:49:47 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(10)));
        h.insert(
            RETRY_AFTER,
            "Sun, 06 Nov 1994 08:49:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }
}
