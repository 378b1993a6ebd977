//! Dead letters: entries that could not be delivered (no body, or too many failed deliveries).

use redis::Value;

use crate::reply::{as_array, as_string};

/// One entry of a queue's dead-letter stream (`<base>:dead-letter`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// ID of the dead-letter entry (use it to redrive).
    pub id: String,
    /// The original entry's channel.
    pub slack_channel_id: String,
    /// The original body (empty when the entry had none).
    pub body: String,
    /// Why the entry was dead-lettered.
    pub reason: String,
    /// The stream the entry came from.
    pub stream: String,
    /// The original entry ID in that stream.
    pub message_id: String,
}

impl DeadLetter {
    pub(crate) fn from_entry(v: &Value) -> Option<DeadLetter> {
        let a = as_array(v)?;
        let id = as_string(a.first()?)?;
        let fields = as_array(a.get(1)?)?;
        let mut d = DeadLetter {
            id,
            slack_channel_id: String::new(),
            body: String::new(),
            reason: String::new(),
            stream: String::new(),
            message_id: String::new(),
        };
        for pair in fields.chunks(2) {
            let (Some(k), Some(v)) = (
                pair.first().and_then(as_string),
                pair.get(1).and_then(as_string),
            ) else {
                continue;
            };
            match k.as_str() {
                "channel_id" => d.slack_channel_id = v,
                "body" => d.body = v,
                "reason" => d.reason = v,
                "stream" => d.stream = v,
                "message_id" => d.message_id = v,
                _ => {}
            }
        }
        Some(d)
    }
}
