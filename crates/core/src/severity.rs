//! Alert severities and their order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Severity of an alert.
///
/// On the wire a severity is a plain lower-case string. Unknown strings decode as
/// [`Severity::Unknown`] so that validation, not decoding, reports them.
///
/// ```
/// use sm_core::Severity;
/// assert!(Severity::Panic.priority() > Severity::Error.priority());
/// assert_eq!("warning".parse::<Severity>().unwrap(), Severity::Warning);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Highest priority.
    Panic,
    /// The severity `clean` gives alerts without one.
    Error,
    /// Lowest priority of the open states.
    Warning,
    /// Closes a follow-up issue.
    Resolved,
    /// Fire-and-forget information.
    Info,
    /// A string that is not a known severity (kept verbatim; invalid).
    Unknown(String),
}

impl Default for Severity {
    /// The zero value of the wire form: the empty string, invalid until [`Alert::clean`](crate::Alert::clean) makes it `error`.
    fn default() -> Self {
        Severity::Unknown(String::new())
    }
}

impl Severity {
    /// The valid severities in the Go order: panic, error, warning, resolved, info.
    pub const VALID: [Severity; 5] = [
        Severity::Panic,
        Severity::Error,
        Severity::Warning,
        Severity::Resolved,
        Severity::Info,
    ];

    /// The severities an escalation rule or a default severity may use.
    pub const ESCALATION: [Severity; 3] = [Severity::Panic, Severity::Error, Severity::Warning];

    /// The wire string of this severity.
    pub fn as_str(&self) -> &str {
        match self {
            Severity::Panic => "panic",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Resolved => "resolved",
            Severity::Info => "info",
            Severity::Unknown(s) => s,
        }
    }

    /// Sort priority: panic 3, error 2, warning 1, resolved and info 0, unknown −1.
    pub fn priority(&self) -> i32 {
        match self {
            Severity::Panic => 3,
            Severity::Error => 2,
            Severity::Warning => 1,
            Severity::Resolved | Severity::Info => 0,
            Severity::Unknown(_) => -1,
        }
    }

    /// Whether this is one of the five known severities.
    pub fn is_valid(&self) -> bool {
        !matches!(self, Severity::Unknown(_))
    }

    /// Whether this severity may be used by escalation rules and as a default (panic, error, warning).
    pub fn is_escalation_severity(&self) -> bool {
        matches!(self, Severity::Panic | Severity::Error | Severity::Warning)
    }

    /// Whether this is `info` or `resolved`.
    pub fn is_info_or_resolved(&self) -> bool {
        matches!(self, Severity::Info | Severity::Resolved)
    }

    /// Reads a wire string exactly (no trimming or case folding; that is [`Alert::clean`](crate::Alert::clean)'s job).
    pub fn from_wire(s: &str) -> Severity {
        match s {
            "panic" => Severity::Panic,
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "resolved" => Severity::Resolved,
            "info" => Severity::Info,
            other => Severity::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Error returned when parsing a string that is not a known severity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}, expected one of panic, error, warning, resolved, info")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Severity::from_wire(s) {
            Severity::Unknown(other) => Err(UnknownSeverity(other)),
            known => Ok(known),
        }
    }
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        Ok(Severity::from_wire(raw.as_deref().unwrap_or("")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_validity() {
        let p: Vec<i32> = Severity::VALID.iter().map(Severity::priority).collect();
        assert_eq!(p, [3, 2, 1, 0, 0]);
        assert_eq!(Severity::from_wire("critical").priority(), -1);
        assert!(!Severity::from_wire("").is_valid());
        assert!("PANIC".parse::<Severity>().is_err());
    }
}
