//! Hand-written JSON in the Go shape must round-trip unchanged through the Rust models.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sm_core::{
    Alert, ChannelProcessingState, Command, CommandAction, Issue, MoveMapping, Severity,
    SlackAction, WebhookCallback,
};

fn round_trip<T: Serialize + DeserializeOwned>(name: &str, raw: &str) -> T {
    let original: Value = serde_json::from_str(raw).unwrap();
    let model: T =
        serde_json::from_str(raw).unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    let written = serde_json::to_value(&model).unwrap();
    assert_eq!(written, original, "{name} did not round-trip unchanged");
    model
}

#[test]
fn alert_full_round_trips() {
    let a: Alert = round_trip("alert_full", include_str!("fixtures/alert_full.json"));
    assert_eq!(a.severity, Severity::Error);
    assert_eq!(a.escalation.as_ref().unwrap()[0].severity, Severity::Panic);
    assert_eq!(
        a.webhooks.as_ref().unwrap()[0]
            .plain_text_input
            .as_ref()
            .unwrap()[0]
            .max_length,
        200
    );
    assert_eq!(
        sm_core::format_go_time(&a.timestamp),
        "2024-02-23T18:38:39.123456789Z"
    );
    a.validate().unwrap();
}

#[test]
fn alert_with_nulls_and_zero_time_round_trips() {
    let a: Alert = round_trip(
        "alert_minimal_nulls",
        include_str!("fixtures/alert_minimal_nulls.json"),
    );
    assert!(sm_core::is_zero_time(&a.timestamp));
    assert!(a.fields.is_none() && a.metadata.is_none());
    assert_eq!(a.severity.as_str(), "");
}

#[test]
fn alert_accepts_any_offset_and_writes_utc() {
    let a: Alert =
        serde_json::from_str(r#"{"timestamp":"2024-02-23T20:38:39.5+02:00","header":"x"}"#)
            .unwrap();
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["timestamp"], "2024-02-23T18:38:39.5Z");
    // Absent keys read as Go zero values and are all written back.
    assert_eq!(v["fields"], Value::Null);
    assert_eq!(v["autoResolveSeconds"], 0);
}

#[test]
fn issue_round_trips_with_durations_in_nanoseconds() {
    let i: Issue = round_trip("issue", include_str!("fixtures/issue.json"));
    assert_eq!(i.auto_resolve_period, std::time::Duration::from_secs(3600));
    assert_eq!(i.slack_post_last_action, SlackAction::Alert);
    assert_eq!(i.last_alert.slack_channel_name, "ops-alerts");
    assert_eq!(i.channel_id(), "C0123ABC");
    assert!(i.investigated);
    assert_eq!(i.version, 0);
}

#[test]
fn command_round_trips_and_omits_empty_keys() {
    let c: Command = round_trip("command", include_str!("fixtures/command.json"));
    assert_eq!(c.action, CommandAction::Webhook);
    assert_eq!(c.param_as_int("hours"), 2);
    assert_eq!(c.param_as_string("targetChannelId"), "C999");
    let bare = Command::new("C1", "", CommandAction::ResolveIssue);
    let v = serde_json::to_value(&bare).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "action",
            "executeWhenNoIssueFound",
            "includeArchivedIssues",
            "slackChannelId",
            "timestamp"
        ]
    );
    assert!(bare.dedup_id().starts_with("command::C1::resolve_issue::"));
}

#[test]
fn command_params_decode_floats_like_go() {
    let c: Command = serde_json::from_str(r#"{"parameters":{"n":7.9,"s":1,"b":true}}"#).unwrap();
    assert_eq!(c.param_as_int("n"), 7);
    assert_eq!(c.param_as_string("s"), "");
    assert!(c.param_as_bool("b"));
}

#[test]
fn move_mapping_and_processing_state_round_trip() {
    round_trip::<MoveMapping>("move_mapping", include_str!("fixtures/move_mapping.json"));
    let s: ChannelProcessingState = round_trip(
        "processing_state",
        include_str!("fixtures/processing_state.json"),
    );
    assert_eq!(s.open_issues, 4);
}

#[test]
fn webhook_callback_round_trips_and_keeps_null_inputs() {
    let cb: WebhookCallback = round_trip(
        "webhook_callback",
        include_str!("fixtures/webhook_callback.json"),
    );
    assert!(cb.input.is_none());
    assert_eq!(cb.checkbox_input_selected_values("opts"), &[] as &[String]);
    assert_eq!(cb.payload_int("a", 0), 1);
    assert_eq!(cb.input_value("missing"), "");
}

#[test]
fn unique_id_matches_the_documented_hash() {
    let a: Alert = serde_json::from_str(include_str!("fixtures/alert_full.json")).unwrap();
    let expected = sm_core::separated_hash([
        "alert",
        "C0123ABC",
        "",
        "disk-full-db1",
        "2024-02-23T18:38:39.123456789Z",
        ":status: Disk full on db1",
        "Only 2% left on /var",
    ]);
    assert_eq!(a.unique_id(), expected);
    assert_eq!(a.unique_id().len(), 44);
    // Independent check of the hash construction: SHA-256 of "alert\0C1\0\0\0...".
    let b = Alert {
        slack_channel_id: "C1".into(),
        ..Alert::default()
    };
    assert_ne!(a.unique_id(), b.unique_id());
}

#[test]
fn default_correlation_id_hashes_the_plain_concatenation() {
    let a = Alert {
        header: "h".into(),
        author: "a".into(),
        host: "o".into(),
        text: "t".into(),
        slack_channel_id: "C".into(),
        ..Alert::default()
    };
    assert_eq!(a.default_correlation_id(), sm_core::concat_hash(["haotC"]));
    assert_eq!(a.effective_correlation_id(), a.default_correlation_id());
}
