//! `Alert::validate`: the Go rules, checked in the Go order; the first failure wins.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::limits::*;
use super::{Alert, Escalation, Webhook, WebhookCheckboxInput, WebhookPlainTextInput};

/// Why an alert (or one of its parts) is invalid. The message names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    message: String,
}

impl ValidationError {
    /// A validation error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ValidationError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, ValidationError> {
    Err(ValidationError::new(message))
}

static CHANNEL_RE: LazyLock<Regex> = LazyLock::new(|| compiled(r"^[0-9a-zA-Z\-_]{1,80}$"));
static ICON_RE: LazyLock<Regex> = LazyLock::new(|| compiled(r"^:[^:]{1,50}:$"));
static MENTION_RE: LazyLock<Regex> =
    LazyLock::new(|| compiled(r"^((<!here>)|(<!channel>)|(<@[^>\s]{1,20}>))$"));

fn compiled(pattern: &str) -> Regex {
    // The patterns above are constants known to compile; a failure is a programming error caught by the tests.
    Regex::new(pattern)
        .unwrap_or_else(|e| panic!("built-in pattern {pattern:?} does not compile: {e}"))
}

/// Whether `s` is a valid Slack channel ID or name for an alert (`^[0-9a-zA-Z\-_]{1,80}$`).
pub fn is_valid_channel_id(s: &str) -> bool {
    CHANNEL_RE.is_match(s)
}

/// Whether `s` is an absolute URI with a scheme (Go `url.ParseRequestURI` for absolute URIs).
fn is_absolute_url(s: &str) -> bool {
    url::Url::parse(s).is_ok()
}

impl Alert {
    /// Checks the alert against the Go rules, in the Go order, and returns the first failure.
    ///
    /// ```
    /// use sm_core::Alert;
    /// let alert = Alert { slack_channel_id: "C1".into(), ..Alert::default() };
    /// assert_eq!(alert.validate().unwrap_err().to_string(), "header and text cannot both be empty");
    /// ```
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.validate_channel_and_route_key()?;
        if self.header.is_empty() && self.text.is_empty() {
            return fail("header and text cannot both be empty");
        }
        if !self.icon_emoji.is_empty() && !ICON_RE.is_match(&self.icon_emoji) {
            return fail(format!(
                "iconEmoji '{}' is not valid, expected the format :emoji_name:",
                self.icon_emoji
            ));
        }
        if !self.link.is_empty() && !is_absolute_url(&self.link) {
            return fail("link is not a valid absolute URL");
        }
        if !self.severity.is_valid() {
            return fail(format!(
                "severity '{}' is not valid, expected one of panic, error, warning, resolved, info",
                self.severity
            ));
        }
        if self.correlation_id.len() > MAX_CORRELATION_ID_BYTES {
            return fail(format!(
                "correlationId is too long, expected length <= {MAX_CORRELATION_ID_BYTES}"
            ));
        }
        if self.issue_follow_up_enabled
            && !(MIN_AUTO_RESOLVE_SECONDS..=MAX_AUTO_RESOLVE_SECONDS)
                .contains(&self.auto_resolve_seconds)
        {
            return fail(format!(
                "autoResolveSeconds must be between {MIN_AUTO_RESOLVE_SECONDS} and {MAX_AUTO_RESOLVE_SECONDS} when issueFollowUpEnabled is true, got {}",
                self.auto_resolve_seconds
            ));
        }
        if let Some(fields) = &self.fields {
            if fields.len() > MAX_FIELDS {
                return fail(format!(
                    "too many fields, expected <= {MAX_FIELDS}, got {}",
                    fields.len()
                ));
            }
        }
        validate_webhooks(self.webhooks.as_deref())?;
        validate_escalation(self.escalation.as_deref())?;
        if let Some(patterns) = &self.ignore_if_text_contains {
            if patterns.len() > MAX_IGNORE_IF_TEXT_CONTAINS {
                return fail(format!(
                    "too many ignoreIfTextContains entries, expected <= {MAX_IGNORE_IF_TEXT_CONTAINS}, got {}",
                    patterns.len()
                ));
            }
            for (i, p) in patterns.iter().enumerate() {
                if p.len() > MAX_IGNORE_IF_TEXT_CONTAINS_BYTES {
                    return fail(format!(
                        "ignoreIfTextContains[{i}] is too long, expected length <= {MAX_IGNORE_IF_TEXT_CONTAINS_BYTES}"
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_channel_and_route_key(&self) -> Result<(), ValidationError> {
        if self.slack_channel_id.is_empty() {
            if self.route_key.is_empty() {
                return fail("slackChannelId and routeKey cannot both be empty");
            }
            if self.route_key.len() > MAX_ROUTE_KEY_BYTES {
                return fail(format!(
                    "routeKey is too long, expected length <= {MAX_ROUTE_KEY_BYTES}"
                ));
            }
            return Ok(());
        }
        if !is_valid_channel_id(&self.slack_channel_id) {
            return fail(format!(
                "slackChannelId '{}' is not valid, expected 1-80 characters of a-z, A-Z, 0-9, '-' and '_'",
                self.slack_channel_id
            ));
        }
        Ok(())
    }
}

/// Validates a webhook list with the Go rules (`ValidateWebhooks`).
pub(crate) fn validate_webhooks(webhooks: Option<&[Webhook]>) -> Result<(), ValidationError> {
    let Some(webhooks) = webhooks else {
        return Ok(());
    };
    if webhooks.len() > MAX_WEBHOOKS {
        return fail(format!(
            "too many webhooks, expected <= {MAX_WEBHOOKS}, got {}",
            webhooks.len()
        ));
    }
    let mut ids = HashSet::new();
    for (i, w) in webhooks.iter().enumerate() {
        if w.id.is_empty() {
            return fail(format!("webhook[{i}].id is required"));
        }
        if w.id.len() > 100 {
            return fail(format!(
                "webhook[{i}].id is too long, expected length <= 100"
            ));
        }
        if !ids.insert(w.id.as_str()) {
            return fail(format!("webhook[{i}].id '{}' is not unique", w.id));
        }
        if w.url.is_empty() {
            return fail(format!("webhook[{i}].url is required"));
        }
        if w.url.len() > 1000 {
            return fail(format!(
                "webhook[{i}].url is too long, expected length <= 1000"
            ));
        }
        if w.url.to_lowercase().starts_with("http") {
            let ok = url::Url::parse(&w.url)
                .map(|u| u.host_str().is_some_and(|h| !h.is_empty()))
                .unwrap_or(false);
            if !ok {
                return fail(format!(
                    "webhook[{i}].url '{}' is not a valid absolute URL",
                    w.url
                ));
            }
        } else if !w.url.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return fail(format!(
                "webhook[{i}].url contains non-printable or non-ASCII characters"
            ));
        }
        if w.button_text.is_empty() {
            return fail(format!("webhook[{i}].buttonText is required"));
        }
        if w.button_text.len() > 25 {
            return fail(format!(
                "webhook[{i}].buttonText is too long, expected length <= 25"
            ));
        }
        if w.confirmation_text.len() > 1000 {
            return fail(format!(
                "webhook[{i}].confirmationText is too long, expected length <= 1000"
            ));
        }
        if !w.button_style.is_known() {
            return fail(format!(
                "webhook[{i}].buttonStyle '{}' is not valid, expected one of primary, danger",
                w.button_style
            ));
        }
        if !w.access_level.is_known() {
            return fail(format!(
                "webhook[{i}].accessLevel '{}' is not valid, expected one of global_admins, channel_admins, channel_members",
                w.access_level
            ));
        }
        if !w.display_mode.is_known() {
            return fail(format!(
                "webhook[{i}].displayMode '{}' is not valid, expected one of always, open_issue, resolved_issue",
                w.display_mode
            ));
        }
        if let Some(payload) = &w.payload {
            if payload.len() > 50 {
                return fail(format!(
                    "webhook[{i}].payload has too many keys, expected <= 50"
                ));
            }
        }
        let text_inputs = w.plain_text_input.as_deref().unwrap_or(&[]);
        let checkbox_inputs = w.checkbox_input.as_deref().unwrap_or(&[]);
        if text_inputs.len() > 10 {
            return fail(format!(
                "webhook[{i}] has too many plainTextInput entries, expected <= 10"
            ));
        }
        if checkbox_inputs.len() > 10 {
            return fail(format!(
                "webhook[{i}] has too many checkboxInput entries, expected <= 10"
            ));
        }
        let mut input_ids = HashSet::new();
        for (j, input) in text_inputs.iter().enumerate() {
            validate_text_input(i, j, input, &mut input_ids)?;
        }
        for (j, input) in checkbox_inputs.iter().enumerate() {
            validate_checkbox_input(i, j, input, &mut input_ids)?;
        }
    }
    Ok(())
}

fn validate_input_id<'a>(
    prefix: &str,
    id: &'a str,
    ids: &mut HashSet<&'a str>,
) -> Result<(), ValidationError> {
    if id.is_empty() {
        return fail(format!("{prefix}.id is required"));
    }
    if id.len() > 200 {
        return fail(format!("{prefix}.id is too long, expected length <= 200"));
    }
    if !ids.insert(id) {
        return fail(format!(
            "{prefix}.id '{id}' is not unique within the webhook"
        ));
    }
    Ok(())
}

fn validate_text_input<'a>(
    i: usize,
    j: usize,
    input: &'a WebhookPlainTextInput,
    ids: &mut HashSet<&'a str>,
) -> Result<(), ValidationError> {
    let p = format!("webhook[{i}].plainTextInput[{j}]");
    validate_input_id(&p, &input.id, ids)?;
    if input.description.len() > 200 {
        return fail(format!(
            "{p}.description is too long, expected length <= 200"
        ));
    }
    if !(0..=3000).contains(&input.min_length) {
        return fail(format!("{p}.minLength must be between 0 and 3000"));
    }
    if !(0..=3000).contains(&input.max_length) {
        return fail(format!("{p}.maxLength must be between 0 and 3000"));
    }
    if input.max_length < input.min_length {
        return fail(format!("{p}.maxLength must be >= minLength"));
    }
    let len = i64::try_from(input.initial_value.len()).unwrap_or(i64::MAX);
    if len > input.max_length {
        return fail(format!("{p}.initialValue is longer than maxLength"));
    }
    if len < input.min_length {
        return fail(format!("{p}.initialValue is shorter than minLength"));
    }
    Ok(())
}

fn validate_checkbox_input<'a>(
    i: usize,
    j: usize,
    input: &'a WebhookCheckboxInput,
    ids: &mut HashSet<&'a str>,
) -> Result<(), ValidationError> {
    let p = format!("webhook[{i}].checkboxInput[{j}]");
    validate_input_id(&p, &input.id, ids)?;
    if input.label.len() > 200 {
        return fail(format!("{p}.label is too long, expected length <= 200"));
    }
    let options = input.options.as_deref().unwrap_or(&[]);
    if options.len() > 5 {
        return fail(format!("{p} has too many options, expected <= 5"));
    }
    let mut values = HashSet::new();
    for (k, o) in options.iter().enumerate() {
        if o.value.is_empty() {
            return fail(format!("{p}.options[{k}].value is required"));
        }
        if o.value.len() > 100 {
            return fail(format!(
                "{p}.options[{k}].value is too long, expected length <= 100"
            ));
        }
        if !values.insert(o.value.as_str()) {
            return fail(format!(
                "{p}.options[{k}].value '{}' is not unique within the group",
                o.value
            ));
        }
        if o.text.len() > 50 {
            return fail(format!(
                "{p}.options[{k}].text is too long, expected length <= 50"
            ));
        }
    }
    Ok(())
}

/// Validates an escalation ladder with the Go rules (`ValidateEscalation`).
pub(crate) fn validate_escalation(ladder: Option<&[Escalation]>) -> Result<(), ValidationError> {
    let Some(ladder) = ladder else { return Ok(()) };
    if ladder.len() > MAX_ESCALATIONS {
        return fail(format!(
            "too many escalations, expected <= {MAX_ESCALATIONS}, got {}",
            ladder.len()
        ));
    }
    let mut previous_delay = 0;
    for (i, rung) in ladder.iter().enumerate() {
        if rung.delay_seconds < MIN_ESCALATION_DELAY_SECONDS {
            return fail(format!(
                "escalation[{i}].delaySeconds must be >= {MIN_ESCALATION_DELAY_SECONDS}"
            ));
        }
        if previous_delay > 0 && rung.delay_seconds - previous_delay < MIN_ESCALATION_DELAY_SECONDS
        {
            return fail(format!(
                "escalation[{i}].delaySeconds must be at least {MIN_ESCALATION_DELAY_SECONDS} seconds after the previous escalation"
            ));
        }
        previous_delay = rung.delay_seconds;
        if !rung.severity.is_escalation_severity() {
            return fail(format!(
                "escalation[{i}].severity '{}' is not valid, expected one of panic, error, warning",
                rung.severity
            ));
        }
        let mentions = rung.slack_mentions.as_deref().unwrap_or(&[]);
        if mentions.len() > MAX_ESCALATION_MENTIONS {
            return fail(format!(
                "escalation[{i}] has too many slackMentions, expected <= {MAX_ESCALATION_MENTIONS}"
            ));
        }
        for (j, m) in mentions.iter().enumerate() {
            if !MENTION_RE.is_match(m) {
                return fail(format!(
                    "escalation[{i}].slackMentions[{j}] '{m}' is not valid, expected <@USER_ID>, <!here> or <!channel>"
                ));
            }
        }
        if !rung.move_to_channel.is_empty() && !is_valid_channel_id(&rung.move_to_channel) {
            return fail(format!(
                "escalation[{i}].moveToChannel '{}' is not a valid channel ID or name",
                rung.move_to_channel
            ));
        }
    }
    Ok(())
}
