//! Snapshots of rendered issue posts: each severity and state, and the tombstone.

use chrono::{DateTime, Duration, Utc};
use sm_core::{
    Field, Issue, Severity, SlackAction, Webhook, WebhookButtonStyle, WebhookDisplayMode,
};
use sm_slack::{PostSettings, RenderMode, render_issue_post};

use crate::support::{issue, t0};

fn now() -> DateTime<Utc> {
    t0() + Duration::minutes(10)
}

fn rich(severity: Severity) -> Issue {
    let mut i = issue("C1", "db-primary", severity, t0());
    let a = &mut i.last_alert.alert;
    a.header_when_resolved = ":status: db-primary is back".into();
    a.text = "Replication lag is *high* on <!everyone>'s database.\nSee the graph.".into();
    a.text_when_resolved = "Replication lag is normal again.".into();
    a.fallback_text = "db-primary: replication lag".into();
    a.author = "Prometheus".into();
    a.host = "db-1.example.invalid".into();
    a.link = "<https://grafana.example.invalid/d/1|Dashboard>".into();
    a.footer = "Team Storage".into();
    a.fields = Some(vec![
        Field {
            title: "Lag".into(),
            value: "42 s".into(),
        },
        Field {
            title: "Region".into(),
            value: "eu-north-1".into(),
        },
    ]);
    a.webhooks = Some(vec![
        Webhook {
            id: "restart".into(),
            button_text: "Restart replica".into(),
            button_style: WebhookButtonStyle::Danger,
            display_mode: WebhookDisplayMode::OpenIssue,
            ..Webhook::default()
        },
        Webhook {
            id: "postmortem".into(),
            button_text: "Post-mortem".into(),
            button_style: WebhookButtonStyle::Primary,
            display_mode: WebhookDisplayMode::ResolvedIssue,
            ..Webhook::default()
        },
        Webhook {
            id: "runbook".into(),
            button_text: "Runbook".into(),
            display_mode: WebhookDisplayMode::Always,
            ..Webhook::default()
        },
    ]);
    i.alert_count = 7;
    i.last_alert_received = t0() + Duration::minutes(9);
    i
}

fn settings() -> PostSettings {
    PostSettings {
        show_issue_correlation_id: true,
        ..PostSettings::default()
    }
}

fn render(i: &Issue, action: SlackAction, mode: RenderMode) -> sm_slack::PostMessage {
    render_issue_post(i, &action, mode, &settings(), now())
}

#[test]
fn each_severity_as_a_new_post() {
    for sev in [Severity::Panic, Severity::Error, Severity::Warning] {
        let i = rich(sev.clone());
        insta::assert_json_snapshot!(
            format!("new_{}", sev.as_str()),
            render(&i, SlackAction::Alert, RenderMode::New)
        );
    }
    // Info issues are fire-and-forget: no follow-up line, resolved header and text.
    let i = rich(Severity::Info);
    insta::assert_json_snapshot!("new_info", render(&i, SlackAction::Alert, RenderMode::New));
}

#[test]
fn resolved_states() {
    let mut i = rich(Severity::Resolved);
    i.slack_post_id = "1700000000.000100".into();
    insta::assert_json_snapshot!(
        "resolved",
        render(&i, SlackAction::Resolve, RenderMode::Update)
    );

    let mut i = rich(Severity::Error);
    i.resolved_by_emoji = true;
    i.resolved_by_user = "Jane Doe".into();
    i.last_alert.severity = Severity::Resolved;
    i.resolve_time = t0() + Duration::minutes(5);
    insta::assert_json_snapshot!(
        "resolved_by_user",
        render(&i, SlackAction::Resolve, RenderMode::Update)
    );

    // Resolved by time with auto-resolve-as-inconclusive.
    let mut i = rich(Severity::Warning);
    i.last_alert.auto_resolve_as_inconclusive = true;
    i.resolve_time = t0() + Duration::minutes(1);
    insta::assert_json_snapshot!(
        "resolved_inconclusive",
        render(&i, SlackAction::Resolve, RenderMode::Update)
    );
}

#[test]
fn user_states() {
    let mut i = rich(Severity::Error);
    i.investigated = true;
    i.investigated_by_user = "Jane Doe".into();
    i.investigated_since = t0() + Duration::minutes(2);
    insta::assert_json_snapshot!(
        "investigated",
        render(&i, SlackAction::Alert, RenderMode::Update)
    );

    let mut i = rich(Severity::Panic);
    i.muted = true;
    i.muted_by_user = "Richard Roe".into();
    i.muted_since = t0() + Duration::minutes(3);
    insta::assert_json_snapshot!("muted", render(&i, SlackAction::Alert, RenderMode::Update));

    let mut i = rich(Severity::Warning);
    i.buttons_activated = true;
    insta::assert_json_snapshot!(
        "option_buttons",
        render(&i, SlackAction::Alert, RenderMode::Update)
    );
}

#[test]
fn tombstone() {
    let mut i = rich(Severity::Error);
    i.buttons_activated = true;
    i.investigated = true;
    i.investigated_by_user = "Jane Doe".into();
    insta::assert_json_snapshot!(
        "tombstone",
        render(&i, SlackAction::Alert, RenderMode::UpdateDeleted)
    );
}

#[test]
fn minimal_post_with_icon_url_and_long_code_text() {
    let mut i = issue("C1", "batch", Severity::Warning, t0());
    let a = &mut i.last_alert.alert;
    a.icon_emoji = "https://example.invalid/icon.png".into();
    a.header = String::new();
    a.text = format!("```{}```", "0123456789".repeat(300));
    let m = render_issue_post(
        &i,
        &SlackAction::Alert,
        RenderMode::New,
        &PostSettings::default(),
        now(),
    );
    assert_eq!(
        m.icon_url.as_deref(),
        Some("https://example.invalid/icon.png")
    );
    assert_eq!(m.icon_emoji, None);
    assert_eq!(m.text, None);
    let sections: Vec<&str> = m
        .blocks
        .iter()
        .filter(|b| b["type"] == "section")
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(sections.len(), 2);
    assert!(
        sections
            .iter()
            .all(|s| s.starts_with("```") && s.ends_with("```"))
    );
    insta::assert_json_snapshot!("minimal_long_text", m);
}

#[test]
fn status_keyword_uses_configured_emojis() {
    let mut s = PostSettings::default();
    s.status.error = ":fire:".into();
    let i = rich(Severity::Error);
    let m = render_issue_post(&i, &SlackAction::Alert, RenderMode::New, &s, now());
    assert_eq!(m.blocks[0]["text"]["text"], ":fire: db-primary is down");
}
