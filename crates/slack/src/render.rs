//! Rendering an issue post (`spec/slack.md` §3): Block Kit blocks and message-level parameters.
//!
//! Pure functions of the issue, the action being rendered, the mode, the settings and `now`; the
//! snapshot tests pin the JSON. Three modes: a new post, an update, and the "tombstone" update of a
//! post that is abandoned because it has a thread (struck-through text, mute icons, no buttons or
//! user notes).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sm_core::{Issue, Severity, SlackAction, WebhookButtonStyle, WebhookDisplayMode};

use crate::config::PostSettings;
use crate::types::PostMessage;

/// How a post is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderMode {
    /// A new post (`chat.postMessage`).
    New,
    /// An update of the current post (`chat.update`).
    Update,
    /// A tombstone update of a post that keeps its thread while the issue moves to a new post.
    UpdateDeleted,
}

/// Text sections are split above this many bytes.
pub const MAX_TEXT_SECTION_BYTES: usize = 2800;
/// Size of each split chunk, in bytes (cut at a character boundary at or below it).
pub const TEXT_CHUNK_BYTES: usize = 2700;

/// The status emoji that replaces `:status:` (`spec/slack.md` §3.1).
pub fn status_emoji(
    issue: &Issue,
    action: &SlackAction,
    mode: RenderMode,
    settings: &PostSettings,
) -> String {
    let s = &settings.status;
    if *action == SlackAction::Resolve {
        return if issue.is_resolved_as_inconclusive() {
            s.inconclusive.clone()
        } else {
            s.resolved.clone()
        };
    }
    let muted = issue.muted || mode == RenderMode::UpdateDeleted;
    let pick = |normal: &str, mute: &str| if muted { mute } else { normal }.to_owned();
    match issue.severity() {
        Severity::Panic => pick(&s.panic, &s.mute_panic),
        Severity::Error => pick(&s.error, &s.mute_error),
        Severity::Warning => pick(&s.warning, &s.mute_warning),
        Severity::Resolved => s.resolved.clone(),
        Severity::Info => s.info.clone(),
        Severity::Unknown(v) => {
            tracing::error!(issue_id = %issue.id, severity = %v, "unknown severity: no status emoji");
            String::new()
        }
    }
}

/// Renders the post for `issue` as `action` in `mode`.
pub fn render_issue_post(
    issue: &Issue,
    action: &SlackAction,
    mode: RenderMode,
    settings: &PostSettings,
    now: DateTime<Utc>,
) -> PostMessage {
    let alert = &issue.last_alert;
    let emoji = status_emoji(issue, action, mode, settings);
    let info_or_resolved = issue.is_info_or_resolved(now);
    let deleted = mode == RenderMode::UpdateDeleted;
    let sub = |t: &str| {
        t.replace(":status:", &emoji)
            .replace("<!everyone>", "everyone")
    };
    let mut blocks: Vec<Value> = Vec::new();

    // 1. Header.
    let header = if info_or_resolved && !alert.header_when_resolved.is_empty() {
        &alert.header_when_resolved
    } else {
        &alert.header
    };
    if !header.is_empty() {
        blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": sub(header), "emoji": true}}));
    }

    // 2. Text.
    let text = if info_or_resolved && !alert.text_when_resolved.is_empty() {
        &alert.text_when_resolved
    } else {
        &alert.text
    };
    if !text.is_empty() {
        let chunks = if deleted {
            vec![strike_through(text)]
        } else {
            split_text(text)
        };
        for chunk in chunks {
            blocks.push(json!({"type": "section", "text": mrkdwn(&sub(&chunk))}));
        }
    }

    // 3. Fields.
    let fields: Vec<Value> = alert
        .fields
        .iter()
        .flatten()
        .map(|f| mrkdwn(&sub(&format!("*{}:*\n{}", f.title, f.value))))
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }

    // 4–6. Author, host, link.
    if !alert.author.is_empty() {
        blocks.push(context(vec![mrkdwn(&sub(&format!("*{}*", alert.author)))]));
    }
    if !alert.host.is_empty() {
        blocks.push(context(vec![mrkdwn(&sub(&format!("*{}*", alert.host)))]));
    }
    if !alert.link.is_empty() {
        blocks.push(context(vec![mrkdwn(&sub(&alert.link))]));
    }

    let resolved = issue.is_resolved(now);
    if !deleted {
        // 7. Webhook buttons.
        let buttons: Vec<Value> = alert
            .webhooks
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, w)| webhook_visible(&w.display_mode, resolved))
            .map(|(i, w)| {
                let mut b = json!({
                    "type": "button", "action_id": format!("webhook_action_{i}"), "value": w.id,
                    "text": {"type": "plain_text", "text": w.button_text, "emoji": false},
                });
                match &w.button_style {
                    WebhookButtonStyle::Default => {}
                    WebhookButtonStyle::Unknown(s) if s.is_empty() || s == "default" => {}
                    style => b["style"] = json!(style.as_str()),
                }
                b
            })
            .collect();
        if !buttons.is_empty() {
            blocks
                .push(json!({"type": "actions", "block_id": "issue_actions", "elements": buttons}));
        }

        // 8. Option buttons.
        if settings.always_show_option_buttons || issue.buttons_activated {
            let mut el = Vec::new();
            if !resolved {
                el.push(option_button("Move issue...", "issue_move"));
            }
            el.push(option_button("Details...", "view_issue_details"));
            blocks.push(json!({"type": "actions", "block_id": "issue_options", "elements": el}));
        }
    }

    // 9. Footer.
    if !alert.footer.is_empty() {
        blocks.push(context(vec![mrkdwn(&sub(&alert.footer))]));
    }

    // 10. Correlation ID.
    if settings.show_issue_correlation_id {
        blocks.push(context(vec![plain(&format!(
            "Correlation ID: {}",
            issue.correlation_id
        ))]));
    }

    // 11. Follow-up line.
    let local = |t: &DateTime<Utc>| t.with_timezone(&settings.utc_offset);
    if alert.issue_follow_up_enabled {
        blocks.push(context(vec![
            plain(&format!(
                "First: {}",
                local(&issue.created).format("%m-%d %H:%M:%S")
            )),
            plain(&format!(
                "Last: {}",
                local(&issue.last_alert_received).format("%m-%d %H:%M:%S")
            )),
            plain(&format!("#{}", issue.alert_count)),
        ]));
    }

    // 12–14. User notes.
    if !deleted {
        let long = |t: &DateTime<Utc>| local(t).format("%Y-%m-%d %H:%M:%S").to_string();
        if info_or_resolved && issue.resolved_by_emoji {
            blocks.push(context(vec![mrkdwn(&sub(&format!(
                ":raising_hand: The issue was resolved by *{}* at {}",
                issue.resolved_by_user,
                long(&issue.resolve_time)
            )))]));
        }
        if !info_or_resolved && issue.investigated {
            blocks.push(context(vec![mrkdwn(&sub(&format!(
                ":cop: The issue is investigated by *{}* since {}",
                issue.investigated_by_user,
                long(&issue.investigated_since)
            )))]));
        }
        if !info_or_resolved && issue.muted {
            blocks.push(context(vec![mrkdwn(&sub(&format!(
                ":mask: The issue was muted by *{}* at {}",
                issue.muted_by_user,
                long(&issue.muted_since)
            )))]));
        }
    }

    // Message-level parameters.
    let (icon_url, icon_emoji) = if alert.icon_emoji.starts_with("http") {
        (Some(alert.icon_emoji.clone()), None)
    } else if !alert.icon_emoji.is_empty() {
        (None, Some(alert.icon_emoji.clone()))
    } else {
        (None, None)
    };
    PostMessage {
        channel: issue.channel_id().to_owned(),
        blocks,
        username: alert.username.clone(),
        icon_emoji,
        icon_url,
        text: (!alert.fallback_text.is_empty()).then(|| alert.fallback_text.clone()),
    }
}

fn webhook_visible(mode: &WebhookDisplayMode, resolved: bool) -> bool {
    let shown_when_resolved = matches!(
        mode,
        WebhookDisplayMode::Always | WebhookDisplayMode::ResolvedIssue
    );
    if resolved {
        shown_when_resolved
    } else {
        *mode != WebhookDisplayMode::ResolvedIssue
    }
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text, "emoji": true})
}

fn context(elements: Vec<Value>) -> Value {
    json!({"type": "context", "elements": elements})
}

fn option_button(text: &str, value: &str) -> Value {
    json!({
        "type": "button", "action_id": format!("option_button_action_{value}"), "value": value,
        "text": {"type": "plain_text", "text": text, "emoji": false},
    })
}

/// The tombstone form of a text: trimmed, without `_`, `*`, `~`, each line struck through.
pub fn strike_through(text: &str) -> String {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '*' | '~'))
        .collect();
    format!("~{}~", cleaned.replace('\n', "~\n~"))
}

/// Splits a long text into section-sized chunks (`spec/slack.md` §3.2, cutting at char boundaries).
pub fn split_text(text: &str) -> Vec<String> {
    if text.len() <= MAX_TEXT_SECTION_BYTES {
        return vec![text.to_owned()];
    }
    let code = text.ends_with("```");
    let mut chunks = Vec::new();
    let mut rest = text.to_owned();
    while rest.len() > MAX_TEXT_SECTION_BYTES {
        let mut cut = TEXT_CHUNK_BYTES;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut chunk = rest[..cut].to_owned();
        let mut tail = rest[cut..].to_owned();
        if code {
            chunk.push_str("```");
            tail.insert_str(0, "```");
        }
        chunks.push(chunk);
        rest = tail;
    }
    chunks.push(rest);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk() {
        assert_eq!(split_text("abc"), vec!["abc".to_owned()]);
        let t = "x".repeat(2800);
        assert_eq!(split_text(&t), vec![t.clone()]);
    }

    #[test]
    fn long_text_splits_at_2700_bytes_and_char_boundaries() {
        let t = "x".repeat(6000);
        let c = split_text(&t);
        assert_eq!(
            c.iter().map(String::len).collect::<Vec<_>>(),
            vec![2700, 2700, 600]
        );
        // A 2-byte character straddling byte 2700 moves to the next chunk.
        let t = format!("{}é{}", "x".repeat(2699), "y".repeat(3000));
        let c = split_text(&t);
        assert_eq!(c[0].len(), 2699);
        assert!(c[1].starts_with('é'));
        assert_eq!(c.concat(), t);
    }

    #[test]
    fn code_blocks_are_closed_and_reopened() {
        let t = format!("```{}```", "z".repeat(3000));
        let c = split_text(&t);
        assert_eq!(c.len(), 2);
        assert!(c[0].ends_with("```") && c[0].starts_with("```"));
        assert!(c[1].starts_with("```") && c[1].ends_with("```"));
    }

    #[test]
    fn strike_through_each_line() {
        assert_eq!(strike_through("  *a* _b_\n~c~ "), "~a b~\n~c~");
    }

    #[test]
    fn webhook_visibility() {
        use WebhookDisplayMode as M;
        let cases = [
            (M::Unset, false, true),
            (M::Unset, true, false),
            (M::OpenIssue, true, false),
            (M::Always, true, true),
            (M::Always, false, true),
            (M::ResolvedIssue, false, false),
            (M::ResolvedIssue, true, true),
        ];
        for (mode, resolved, want) in cases {
            assert_eq!(
                webhook_visible(&mode, resolved),
                want,
                "{mode:?} resolved={resolved}"
            );
        }
    }
}
