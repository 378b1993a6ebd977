//! `Alert::clean`: normalises an alert before validation (trim, case, truncation, defaults).
//!
//! The steps and their order follow the Go implementation. One deliberate difference: `:status:` is
//! removed from the fallback text until none remains (Go removes it in a single pass, which can leave a
//! new `:status:` behind and makes `clean` not idempotent).

use chrono::{Duration, Utc};

use super::Alert;
use super::limits::*;
use crate::severity::Severity;

/// If `s` has more than `max` characters: its first `max - 3` characters, trimmed, plus `...`.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max.saturating_sub(3)).collect();
    format!("{}...", head.trim())
}

/// The Go `shortenAlertTextIfNeeded`: keeps a closing code fence when the text ends with one.
pub(crate) fn truncate_text(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    if s.ends_with("```") {
        let head: String = s.chars().take(max.saturating_sub(6)).collect();
        return format!("{}...```", head.trim());
    }
    truncate_chars(s, max)
}

fn single_line(s: &str) -> String {
    s.trim().replace('\n', " ")
}

fn remove_status_keyword(s: &str) -> String {
    let mut out = s.to_owned();
    while out.contains(":status:") {
        out = out.replace(":status:", "");
    }
    out
}

impl Alert {
    /// Normalises the alert in place: trims and case-folds fields, truncates long texts, replaces a
    /// timestamp older than 7 days with now, defaults the severity to `error`, clamps negative delays
    /// and sorts the escalation ladder. Idempotent; never panics.
    pub fn clean(&mut self) {
        let now = Utc::now();
        if self.timestamp < now - Duration::days(MAX_TIMESTAMP_AGE_DAYS) {
            self.timestamp = now;
        }
        self.alert_type = self.alert_type.trim().to_lowercase();
        self.slack_channel_id = self.slack_channel_id.trim().to_uppercase();
        self.route_key = self.route_key.trim().to_lowercase();
        self.header = single_line(&self.header);
        self.header_when_resolved = single_line(&self.header_when_resolved);
        self.text = self.text.trim().to_owned();
        self.text_when_resolved = self.text_when_resolved.trim().to_owned();
        self.fallback_text = single_line(&remove_status_keyword(&self.fallback_text));
        self.correlation_id = self.correlation_id.trim().to_owned();
        self.username = self.username.trim().to_owned();
        self.author = self.author.trim().to_owned();
        self.host = self.host.trim().to_owned();
        self.link = self.link.trim().to_owned();
        self.footer = self.footer.trim().to_owned();
        self.icon_emoji = self.icon_emoji.trim().to_lowercase();
        self.severity = Severity::from_wire(&self.severity.as_str().trim().to_lowercase());

        if self.fallback_text.chars().count() > MAX_FALLBACK_TEXT_CHARS {
            let head: String = self
                .fallback_text
                .chars()
                .take(MAX_FALLBACK_TEXT_CHARS - 3)
                .collect();
            self.fallback_text = format!("{head}...");
        }
        if matches!(&self.severity, Severity::Unknown(s) if s.is_empty() || s == "critical") {
            self.severity = Severity::Error;
        }
        self.notification_delay_seconds = self.notification_delay_seconds.max(0);
        self.archiving_delay_seconds = self.archiving_delay_seconds.max(0);

        self.header = truncate_chars(&self.header, MAX_HEADER_CHARS);
        self.header_when_resolved = truncate_chars(&self.header_when_resolved, MAX_HEADER_CHARS);
        self.text = truncate_text(&self.text, MAX_TEXT_CHARS);
        self.text_when_resolved = truncate_text(&self.text_when_resolved, MAX_TEXT_CHARS);
        self.author = truncate_chars(&self.author, MAX_AUTHOR_CHARS);
        self.host = truncate_chars(&self.host, MAX_AUTHOR_CHARS);
        self.username = truncate_chars(&self.username, MAX_AUTHOR_CHARS);
        self.footer = truncate_chars(&self.footer, MAX_FOOTER_CHARS);

        for field in self.fields.iter_mut().flatten() {
            field.title = truncate_chars(field.title.trim(), MAX_FIELD_TITLE_CHARS);
            field.value = truncate_chars(field.value.trim(), MAX_FIELD_VALUE_CHARS);
        }

        for webhook in self.webhooks.iter_mut().flatten() {
            webhook.id = webhook.id.trim().to_owned();
            webhook.button_text = webhook.button_text.trim().to_owned();
            webhook.url = webhook.url.trim().to_owned();
            webhook.confirmation_text = webhook.confirmation_text.trim().to_owned();
            if webhook.button_style.as_str() == "default" {
                webhook.button_style = super::WebhookButtonStyle::Default;
            }
            for input in webhook.plain_text_input.iter_mut().flatten() {
                input.id = input.id.trim().to_owned();
                input.description = input.description.trim().to_owned();
                input.initial_value = input.initial_value.trim().to_owned();
            }
            for input in webhook.checkbox_input.iter_mut().flatten() {
                input.id = input.id.trim().to_owned();
                input.label = input.label.trim().to_owned();
            }
        }

        if let Some(ladder) = &mut self.escalation {
            ladder.sort_by_key(|e| e.delay_seconds);
            for rung in ladder.iter_mut() {
                rung.severity = Severity::from_wire(&rung.severity.as_str().trim().to_lowercase());
                rung.move_to_channel = rung.move_to_channel.trim().to_uppercase();
                for mention in rung.slack_mentions.iter_mut().flatten() {
                    *mention = mention.trim().to_owned();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Escalation, Field};
    use crate::gotime::zero_time;

    #[test]
    fn trims_and_case_folds() {
        let mut a = Alert {
            alert_type: " Disk ".into(),
            slack_channel_id: " c01ab ".into(),
            route_key: " Team-A ".into(),
            header: " line1\nline2 ".into(),
            icon_emoji: " :Fire: ".into(),
            severity: Severity::from_wire(" CRITICAL "),
            ..Alert::default()
        };
        a.clean();
        assert_eq!(a.alert_type, "disk");
        assert_eq!(a.slack_channel_id, "C01AB");
        assert_eq!(a.route_key, "team-a");
        assert_eq!(a.header, "line1 line2");
        assert_eq!(a.icon_emoji, ":fire:");
        assert_eq!(a.severity, Severity::Error);
    }

    #[test]
    fn stale_timestamp_becomes_now_and_recent_one_stays() {
        let mut a = Alert {
            timestamp: zero_time(),
            ..Alert::default()
        };
        a.clean();
        assert!(a.timestamp > Utc::now() - Duration::minutes(1));
        let recent = Utc::now() - Duration::days(6);
        let mut b = Alert {
            timestamp: recent,
            ..Alert::default()
        };
        b.clean();
        assert_eq!(b.timestamp, recent);
    }

    #[test]
    fn truncation_rules() {
        let mut a = Alert {
            header: "h".repeat(200),
            text: format!("{}```", "t".repeat(20_000)),
            text_when_resolved: "r ".repeat(6000),
            fallback_text: format!(":status: {}", "f".repeat(300)),
            footer: "x".repeat(301),
            fields: Some(vec![Field {
                title: "t".repeat(31),
                value: " v ".into(),
            }]),
            ..Alert::default()
        };
        a.clean();
        assert_eq!(a.header.chars().count(), 130);
        assert!(a.header.ends_with("..."));
        assert_eq!(a.text.chars().count(), 10_000);
        assert!(a.text.ends_with("...```"));
        assert!(a.text_when_resolved.ends_with("r..."));
        assert_eq!(a.fallback_text.chars().count(), 150);
        assert!(a.fallback_text.starts_with("fff"));
        assert_eq!(a.footer.chars().count(), 300);
        let f = &a.fields.as_ref().unwrap()[0];
        assert_eq!(f.title.chars().count(), 30);
        assert_eq!(f.value, "v");
    }

    #[test]
    fn delays_clamped_and_escalations_sorted() {
        let mut a = Alert {
            notification_delay_seconds: -5,
            archiving_delay_seconds: -1,
            escalation: Some(vec![
                Escalation {
                    delay_seconds: 120,
                    severity: Severity::from_wire(" PANIC "),
                    ..Default::default()
                },
                Escalation {
                    delay_seconds: 60,
                    move_to_channel: " c2 ".into(),
                    ..Default::default()
                },
            ]),
            ..Alert::default()
        };
        a.clean();
        assert_eq!(a.notification_delay_seconds, 0);
        assert_eq!(a.archiving_delay_seconds, 0);
        let e = a.escalation.unwrap();
        assert_eq!(e[0].delay_seconds, 60);
        assert_eq!(e[0].move_to_channel, "C2");
        assert_eq!(e[1].severity, Severity::Panic);
    }

    #[test]
    fn status_keyword_removed_until_gone() {
        let mut a = Alert {
            fallback_text: ":sta:status:tus: down".into(),
            ..Alert::default()
        };
        a.clean();
        assert_eq!(a.fallback_text, "down");
    }
}
