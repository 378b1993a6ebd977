//! Bounds of the alert history.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Default number of alerts kept per issue.
pub const DEFAULT_MAX_ALERTS_PER_ISSUE: usize = 1000;

/// Default age after which stored alerts are dropped (30 days).
pub const DEFAULT_MAX_ALERT_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// How much alert history a store keeps.
///
/// Both bounds apply: an issue keeps at most [`max_per_issue`](Self::max_per_issue) alerts (the
/// newest), and alerts older than [`max_age`](Self::max_age) are neither returned nor kept (they are
/// deleted on the next [`save_alert`](sm_core::Store::save_alert) of any issue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertRetention {
    /// Newest alerts kept per issue; 0 keeps none (history off).
    pub max_per_issue: usize,
    /// Age bound; `None` keeps alerts regardless of age.
    pub max_age: Option<Duration>,
}

impl Default for AlertRetention {
    fn default() -> Self {
        AlertRetention {
            max_per_issue: DEFAULT_MAX_ALERTS_PER_ISSUE,
            max_age: Some(DEFAULT_MAX_ALERT_AGE),
        }
    }
}

impl AlertRetention {
    /// Keeps the newest `max_per_issue` alerts per issue, with the default age bound.
    pub fn per_issue(max_per_issue: usize) -> Self {
        AlertRetention {
            max_per_issue,
            ..AlertRetention::default()
        }
    }

    /// The same bounds with another age bound (`None`: no age bound).
    pub fn with_max_age(self, max_age: Option<Duration>) -> Self {
        AlertRetention { max_age, ..self }
    }

    /// The oldest storage time still kept at `now`, if there is an age bound.
    pub(crate) fn cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let age = chrono::Duration::from_std(self.max_age?).ok()?;
        now.checked_sub_signed(age)
    }
}
