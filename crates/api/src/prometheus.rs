//! Prometheus Alertmanager webhooks: the payload model and its mapping to [`Alert`]s.
//!
//! Every alert field is looked up by a list of keys, first in the annotations, then in the labels,
//! key by key (an earlier key in the labels beats a later key in the annotations); lower-cased
//! copies of all keys are added first, so keys match case-insensitively. Defaults follow the Go
//! implementation (auto-resolve 3600 s, archiving delay 6 h, severity `error`, `:status:` header).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sm_core::{Alert, Severity, concat_hash};

/// Alertmanager webhook body (version 4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PrometheusWebhook {
    /// Payload version.
    pub version: String,
    /// Alertmanager group key.
    pub group_key: String,
    /// Alerts left out because of `max_alerts`.
    pub truncated_alerts: i64,
    /// `firing` or `resolved`.
    pub status: String,
    /// Receiver name.
    pub receiver: String,
    /// Labels of the group.
    pub group_labels: BTreeMap<String, String>,
    /// Labels common to all alerts.
    pub common_labels: BTreeMap<String, String>,
    /// Annotations common to all alerts.
    pub common_annotations: BTreeMap<String, String>,
    /// Alertmanager URL.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// The alerts.
    pub alerts: Vec<PrometheusAlert>,
}

/// One alert of an Alertmanager webhook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PrometheusAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// When the alert started (RFC 3339).
    pub starts_at: Option<DateTime<FixedOffset>>,
    /// When the alert ended (RFC 3339; the zero time while firing).
    pub ends_at: Option<DateTime<FixedOffset>>,
    /// Link to the alert's expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Alert fingerprint.
    pub fingerprint: String,
}

const DEFAULT_AUTO_RESOLVE_SECONDS: i64 = 3600;
const MIN_AUTO_RESOLVE_SECONDS: i64 = 30;
const DEFAULT_ARCHIVING_DELAY_SECONDS: i64 = 21_600;

/// Go's `time.Time` RFC 3339 with nanoseconds, trailing zeros trimmed, `Z` for UTC, keeping the offset.
fn format_go_rfc3339_nano(t: &DateTime<FixedOffset>) -> String {
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    let offset = t.offset().local_minus_utc();
    if offset == 0 {
        s.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.unsigned_abs();
        s.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60));
    }
    s
}

fn zero_time() -> DateTime<FixedOffset> {
    sm_core::zero_time().fixed_offset()
}

/// Adds a lower-cased copy of every key. When several keys fold to the same lower-case key, a key
/// that already is lower-case wins, else the first in sorted order.
fn with_lower_case_keys(map: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = map.clone();
    for (k, v) in map {
        let lower = k.to_lowercase();
        if lower != *k {
            out.entry(lower).or_insert_with(|| v.clone());
        }
    }
    out
}

struct Lookup<'a> {
    annotations: &'a BTreeMap<String, String>,
    labels: &'a BTreeMap<String, String>,
}

impl Lookup<'_> {
    fn find(&self, keys: &[&str]) -> String {
        keys.iter()
            .find_map(|k| self.annotations.get(*k).or_else(|| self.labels.get(*k)))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    fn find_lower(&self, keys: &[&str]) -> String {
        self.find(keys).to_lowercase()
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        let v = self.find_lower(&[key]);
        if v.is_empty() { default } else { v == "true" }
    }
}

fn labels_correlation_id(labels: &BTreeMap<String, String>) -> Option<String> {
    let mut parts = Vec::new();
    for key in [
        "namespace",
        "alertname",
        "job",
        "service",
        "destination_service_name",
    ] {
        if let Some(v) = labels.get(key) {
            parts.push(format!("{key}::{v}"));
        }
    }
    if labels.get("namespace").map(String::as_str) == Some("monitoring") {
        if let Some(v) = labels.get("instance") {
            parts.push(format!("instance::{v}"));
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(concat_hash(parts))
    }
}

/// Maps every alert of `webhook` to an [`Alert`]. The `i`-th alert gets the timestamp `now + i` ns, so
/// alerts of one webhook that share a correlation ID keep their order (the manager ignores an alert
/// that is not newer than the issue's last one; Go takes a fresh clock reading per alert).
pub fn map_prometheus_webhook(webhook: &PrometheusWebhook, now: DateTime<Utc>) -> Vec<Alert> {
    webhook
        .alerts
        .iter()
        .zip(0i64..)
        .map(|(a, i)| map_one(webhook, a, now + chrono::Duration::nanoseconds(i)))
        .collect()
}

fn map_one(webhook: &PrometheusWebhook, source: &PrometheusAlert, now: DateTime<Utc>) -> Alert {
    let annotations = with_lower_case_keys(&source.annotations);
    let labels = with_lower_case_keys(&source.labels);
    let look = Lookup {
        annotations: &annotations,
        labels: &labels,
    };
    let starts_at = source.starts_at.unwrap_or_else(zero_time);
    let ends_at = source.ends_at.unwrap_or_else(zero_time);

    let mut correlation_id = look.find(&["correlationid", "correlation_id"]);
    if correlation_id.is_empty() {
        correlation_id = labels_correlation_id(&labels).unwrap_or_else(|| {
            format!(
                "{}-{}",
                concat_hash([webhook.group_key.as_str()]),
                format_go_rfc3339_nano(&starts_at)
            )
        });
    }

    let text = look.find(&["text", "description", "body"]);
    let mut header = look.find(&["header", "title", "summary"]);
    if header.is_empty() {
        header = "Prometheus alert".into();
    }
    let mut fallback_text = look.find(&["fallbacktext"]);
    if fallback_text.is_empty() {
        fallback_text = header.clone();
    }
    if !header.contains(":status:") && !text.contains(":status:") {
        header = format!(":status: {header}");
    }

    let mut auto_resolve_seconds = look
        .find(&["autoresolveseconds"])
        .parse::<i64>()
        .unwrap_or(DEFAULT_AUTO_RESOLVE_SECONDS);
    if auto_resolve_seconds < MIN_AUTO_RESOLVE_SECONDS {
        auto_resolve_seconds = DEFAULT_AUTO_RESOLVE_SECONDS;
    }
    let notification_delay_seconds = look
        .find(&["notificationdelayseconds"])
        .parse::<i64>()
        .ok()
        .filter(|v| (0..=auto_resolve_seconds).contains(v))
        .unwrap_or(0);
    let archiving_delay_seconds = look
        .find(&["archivingdelayseconds", "deletiondelayseconds"])
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .unwrap_or(DEFAULT_ARCHIVING_DELAY_SECONDS);

    let severity_raw = look.find_lower(&["severity", "level"]);
    let mut severity = match severity_raw.as_str() {
        "" | "critical" => Severity::Error,
        other => {
            let s = Severity::from_wire(other);
            if s.is_valid() {
                s
            } else {
                tracing::info!(
                    severity = other,
                    "invalid Prometheus alert severity, using error"
                );
                Severity::Error
            }
        }
    };
    if source.status == "resolved" {
        severity = Severity::Resolved;
    }

    let ignore = look.find(&["ignoreiftextcontains"]);

    let mut metadata = Map::new();
    metadata.insert("status".into(), Value::String(source.status.clone()));
    metadata.insert("labels".into(), string_map(&labels));
    metadata.insert("annotations".into(), string_map(&annotations));
    metadata.insert(
        "startsAt".into(),
        Value::String(format_go_rfc3339_nano(&starts_at)),
    );
    metadata.insert(
        "endsAt".into(),
        Value::String(format_go_rfc3339_nano(&ends_at)),
    );
    metadata.insert("groupKey".into(), Value::String(webhook.group_key.clone()));

    Alert {
        timestamp: now,
        correlation_id,
        alert_type: look.find(&["alerttype", "alert_type", "type"]),
        header,
        text,
        fallback_text,
        author: look.find(&["author"]),
        host: look.find(&["host"]),
        footer: look.find(&["footer"]),
        link: look.find(&["link"]),
        issue_follow_up_enabled: look.flag("issuefollowupenabled", true),
        auto_resolve_seconds,
        auto_resolve_as_inconclusive: look.flag("autoresolveasinconclusive", true),
        severity,
        slack_channel_id: look.find(&[
            "slackchannelid",
            "channel",
            "slackchannel",
            "channelid",
            "slack_channel_id",
            "slack_channel",
            "channel_id",
        ]),
        route_key: look.find(&["routekey", "route", "route_key"]),
        username: look.find(&["username"]),
        icon_emoji: look.find(&["iconemoji", "icon"]),
        notification_delay_seconds,
        archiving_delay_seconds,
        ignore_if_text_contains: (!ignore.is_empty()).then(|| vec![ignore]),
        metadata: Some(metadata),
        fail_on_rate_limit_error: look.find(&["failonratelimiterror"]) == "true",
        ..Alert::default()
    }
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(alert: PrometheusAlert) -> PrometheusWebhook {
        PrometheusWebhook {
            group_key: "{}:{alertname=\"X\"}".into(),
            alerts: vec![alert],
            ..PrometheusWebhook::default()
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let now = Utc::now();
        let starts: DateTime<FixedOffset> = "2024-05-01T10:00:00.120+02:00".parse().unwrap();
        let w = webhook(PrometheusAlert {
            status: "firing".into(),
            starts_at: Some(starts),
            ..PrometheusAlert::default()
        });
        let a = &map_prometheus_webhook(&w, now)[0];
        assert_eq!(a.timestamp, now);
        let mut twice = w.clone();
        twice.alerts.push(twice.alerts[0].clone());
        let mapped = map_prometheus_webhook(&twice, now);
        assert!(
            mapped[1].timestamp > mapped[0].timestamp,
            "alerts of one webhook must keep their order"
        );
        assert_eq!(a.header, ":status: Prometheus alert");
        assert_eq!(a.fallback_text, "Prometheus alert");
        assert_eq!(a.auto_resolve_seconds, 3600);
        assert_eq!(a.archiving_delay_seconds, 21_600);
        assert_eq!(a.notification_delay_seconds, 0);
        assert_eq!(a.severity, Severity::Error);
        assert!(a.issue_follow_up_enabled);
        assert!(a.auto_resolve_as_inconclusive);
        assert_eq!(a.ignore_if_text_contains, None);
        assert_eq!(
            a.correlation_id,
            format!(
                "{}-2024-05-01T10:00:00.12+02:00",
                concat_hash([w.group_key.as_str()])
            )
        );
        let meta = a.metadata.as_ref().unwrap();
        assert_eq!(meta["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(meta["startsAt"], "2024-05-01T10:00:00.12+02:00");
    }

    #[test]
    fn key_order_and_case() {
        let w = webhook(PrometheusAlert {
            status: "resolved".into(),
            labels: map(&[
                ("Title", "from label title"),
                ("Severity", "WARNING"),
                ("namespace", "monitoring"),
                ("instance", "i-1"),
                ("alertname", "Down"),
            ]),
            annotations: map(&[
                ("summary", "from annotation summary"),
                ("Description", " the text :status: "),
                ("AutoResolveSeconds", "29"),
                ("notificationDelaySeconds", "100"),
                ("ArchivingDelaySeconds", "-1"),
                ("IssueFollowUpEnabled", "FALSE"),
                ("ignoreIfTextContains", " noise "),
            ]),
            ..PrometheusAlert::default()
        });
        let a = &map_prometheus_webhook(&w, Utc::now())[0];
        // `title` (a label) comes before `summary` (an annotation) in the key list.
        assert_eq!(a.header, "from label title");
        assert_eq!(a.text, "the text :status:");
        assert_eq!(a.auto_resolve_seconds, 3600);
        assert_eq!(a.notification_delay_seconds, 100);
        assert_eq!(a.archiving_delay_seconds, 21_600);
        assert!(!a.issue_follow_up_enabled);
        assert_eq!(a.severity, Severity::Resolved);
        assert_eq!(a.ignore_if_text_contains, Some(vec!["noise".to_string()]));
        assert_eq!(
            a.correlation_id,
            concat_hash(["namespace::monitoring", "alertname::Down", "instance::i-1"])
        );
        let labels = &a.metadata.as_ref().unwrap()["labels"];
        assert_eq!(labels["Title"], "from label title");
        assert_eq!(labels["title"], "from label title");
    }

    #[test]
    fn severity_rules() {
        let sev = |v: &str| {
            let w = webhook(PrometheusAlert {
                labels: map(&[("level", v)]),
                ..PrometheusAlert::default()
            });
            map_prometheus_webhook(&w, Utc::now())[0].severity.clone()
        };
        assert_eq!(sev("critical"), Severity::Error);
        assert_eq!(sev("Panic"), Severity::Panic);
        assert_eq!(sev("info"), Severity::Info);
        assert_eq!(sev("bogus"), Severity::Error);
    }
}
