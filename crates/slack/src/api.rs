//! The typed Web API client: encodings, caching and the retry policy of `spec/slack.md` §2.
//!
//! Every method but `views.open` goes through [`SlackApi`]'s retry loop: a call that fails is
//! classified as rate-limited (HTTP 429 with `Retry-After`: wait `Retry-After` + margin, and hold the
//! method on the [`RateLimitGate`]), transient (HTTP ≥ 500, 429 without `Retry-After`, or the Slack
//! codes `internal_error`, `fatal_error`, `service_unavailable`, `request_timeout`, `ratelimited`:
//! wait `attempt × unit`) or fatal (anything else: wait `attempt × 2 × unit`), each class with its
//! own attempt limit and wait budget. Seven Slack codes are returned at once, and each method has
//! codes it expects (returned at once, not counted as errors). Waits have no jitter.
//!
//! Errors keep Slack's code verbatim ([`SlackError::Api`]), because callers compare codes.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sm_core::SlackError;
use tokio::time::Instant;

use crate::cache::{Cached, LookupCache, jittered};
use crate::config::SlackClientConfig;
use crate::gate::{InProcessGate, RateLimitGate};
use crate::types::{
    AuthInfo, ChannelInfo, ChannelSummary, EphemeralContent, PostMessage, UserInfo,
};

/// Slack codes that are never retried (`spec/slack.md` §2.3).
pub const NON_RETRYABLE_ERRORS: [&str; 7] = [
    "channel_not_found",
    "message_not_found",
    "cant_update_message",
    "cant_delete_message",
    "invalid_blocks",
    "not_in_channel",
    "is_archived",
];

/// Slack codes that are retried as transient errors.
pub const TRANSIENT_ERRORS: [&str; 5] = [
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

/// One failed attempt.
#[derive(Debug)]
enum Failure {
    Slack(String),
    RateLimited(Option<Duration>),
    Http(u16),
    Transport(String),
}

/// Retry classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    RateLimit,
    Transient,
    Fatal,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::RateLimit => "rate limit",
            Class::Transient => "transient",
            Class::Fatal => "fatal",
        }
    }
}

fn classify(f: &Failure) -> Class {
    match f {
        Failure::RateLimited(Some(_)) => Class::RateLimit,
        Failure::RateLimited(None) => Class::Transient,
        Failure::Http(s) if *s >= 500 => Class::Transient,
        Failure::Slack(code) if TRANSIENT_ERRORS.contains(&code.as_str()) => Class::Transient,
        _ => Class::Fatal,
    }
}

fn to_error(method: &str, f: Failure) -> SlackError {
    let method = method.to_owned();
    match f {
        Failure::Slack(code) => SlackError::Api { method, code },
        Failure::RateLimited(d) => SlackError::RateLimited {
            method,
            retry_after: d.unwrap_or_default(),
        },
        Failure::Http(status) => SlackError::Http { method, status },
        Failure::Transport(msg) => SlackError::Transport {
            method,
            source: msg.into(),
        },
    }
}

enum Body<'a> {
    Form(Vec<(&'a str, String)>),
    Json(Value),
}

/// Which token a call uses.
#[derive(Clone, Copy)]
enum Token {
    Bot,
    App,
}

/// The Slack Web API client.
///
/// ```no_run
/// # async fn dox() -> Result<(), sm_core::SlackError> {
/// use sm_slack::{SlackApi, SlackClientConfig};
/// let api = SlackApi::new(SlackClientConfig::new("xoxb-…"))?;
/// let me = api.connect().await?; // auth.test; stores the bot user ID
/// let channel = api.get_channel_info("C0123").await?;
/// println!("{} is #{}", me.user_id, channel.name);
/// # Ok(()) }
/// ```
pub struct SlackApi {
    http: reqwest::Client,
    cfg: SlackClientConfig,
    gate: Arc<dyn RateLimitGate>,
    cache: LookupCache,
    bot_user_id: OnceLock<String>,
}

fn install_crypto_provider() {
    // Idempotent: fails only when a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl SlackApi {
    /// A client with an in-process rate-limit gate. Validates the configuration.
    pub fn new(cfg: SlackClientConfig) -> Result<Self, SlackError> {
        cfg.validate()?;
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(cfg.http_timeout)
            .user_agent(concat!("slack-manager-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackError::Config(format!("cannot build http client: {e}")))?;
        Ok(SlackApi {
            http,
            cache: LookupCache::new(&cfg.cache_key_prefix),
            cfg,
            gate: Arc::new(InProcessGate::new()),
            bot_user_id: OnceLock::new(),
        })
    }

    /// Uses this rate-limit gate (for example a [`RedisGate`](crate::RedisGate) shared by instances).
    pub fn with_gate(mut self, gate: Arc<dyn RateLimitGate>) -> Self {
        self.gate = gate;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &SlackClientConfig {
        &self.cfg
    }

    /// The bot's user ID, once [`connect`](Self::connect) succeeded.
    pub fn bot_user_id(&self) -> Option<&str> {
        self.bot_user_id.get().map(String::as_str)
    }

    /// Calls `auth.test` and remembers the bot user ID (an empty ID is an error).
    pub async fn connect(&self) -> Result<AuthInfo, SlackError> {
        let info = self.auth_test().await?;
        if info.user_id.is_empty() {
            return Err(SlackError::Config(
                "missing bot user ID in auth.test response".into(),
            ));
        }
        let _ = self.bot_user_id.set(info.user_id.clone());
        tracing::info!(user = %info.user, user_id = %info.user_id, "connected to slack");
        Ok(info)
    }

    /// `auth.test`.
    pub async fn auth_test(&self) -> Result<AuthInfo, SlackError> {
        let v = self
            .call("auth.test", "auth.test", Body::Form(Vec::new()), &[])
            .await?;
        parse("auth.test", v)
    }

    /// `chat.postMessage`; returns the new message's `ts`.
    pub async fn post_message(&self, msg: &PostMessage) -> Result<String, SlackError> {
        let v = self
            .call(
                "chat.postMessage",
                "chat.post",
                Body::Form(message_form(msg)?),
                &[],
            )
            .await?;
        Ok(str_field(&v, "ts"))
    }

    /// `chat.update` of `ts`; returns the `ts` Slack answers.
    pub async fn update_message(&self, ts: &str, msg: &PostMessage) -> Result<String, SlackError> {
        let mut form = message_form(msg)?;
        form.push(("ts", ts.to_owned()));
        let v = self
            .call("chat.update", "chat.update", Body::Form(form), &[])
            .await?;
        Ok(str_field(&v, "ts"))
    }

    /// `chat.delete`.
    pub async fn delete_message(&self, channel: &str, ts: &str) -> Result<(), SlackError> {
        let form = vec![("channel", channel.to_owned()), ("ts", ts.to_owned())];
        self.call("chat.delete", "chat.delete", Body::Form(form), &[])
            .await?;
        Ok(())
    }

    /// `chat.postEphemeral`; returns `message_ts`.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        content: &EphemeralContent,
    ) -> Result<String, SlackError> {
        if channel.is_empty() || user.is_empty() {
            return Err(SlackError::Config(
                "chat.postEphemeral needs a channel and a user".into(),
            ));
        }
        let mut form = vec![("channel", channel.to_owned()), ("user", user.to_owned())];
        match content {
            EphemeralContent::Blocks(b) => form.push(("blocks", to_json(b)?)),
            EphemeralContent::Attachments(a) => form.push(("attachments", to_json(a)?)),
        }
        let v = self
            .call(
                "chat.postEphemeral",
                "chat.postEphemeral",
                Body::Form(form),
                &[],
            )
            .await?;
        Ok(str_field(&v, "message_ts"))
    }

    /// Posts an ephemeral text to an interaction's `response_url` (JSON; retried like the Web API).
    pub async fn send_response(
        &self,
        channel: &str,
        response_url: &str,
        response_type: &str,
        text: &str,
    ) -> Result<(), SlackError> {
        if channel.is_empty()
            || response_url.is_empty()
            || response_type.is_empty()
            || text.is_empty()
        {
            return Err(SlackError::Config(
                "send_response needs a channel, a response URL, a response type and a text".into(),
            ));
        }
        let body = json!({
            "text": text, "response_type": response_type,
            "replace_original": false, "delete_original": false,
        });
        self.retrying("chat.responseURL", "chat.responseURL", &[], || {
            self.send_response_once(response_url, &body)
        })
        .await?;
        Ok(())
    }

    async fn send_response_once(&self, url: &str, body: &Value) -> Result<Value, Failure> {
        let resp = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| Failure::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        if status == 429 {
            return Err(Failure::RateLimited(retry_after(&resp)));
        }
        if !(200..300).contains(&status) {
            return Err(Failure::Http(status));
        }
        Ok(Value::Null)
    }

    /// `views.open` (JSON, bearer token) — a single attempt, never retried; returns the view ID.
    pub async fn open_modal(&self, trigger_id: &str, view: &Value) -> Result<String, SlackError> {
        metrics::counter!("slack_request", "slack_action" => "views.open").increment(1);
        self.gate.wait("views.open").await;
        let body = json!({"trigger_id": trigger_id, "view": view});
        match self.send("views.open", Body::Json(body), Token::Bot).await {
            Ok(v) => Ok(v
                .get("view")
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()),
            Err(f) => {
                if let Failure::RateLimited(Some(d)) = &f {
                    self.gate.hold("views.open", *d).await;
                }
                Err(to_error("views.open", f))
            }
        }
    }

    /// `apps.connections.open` with the app token; returns the Socket Mode WebSocket URL.
    pub async fn open_socket_connection(&self) -> Result<String, SlackError> {
        if self.cfg.app_token.is_empty() {
            return Err(SlackError::Config("app token is empty".into()));
        }
        let v = self
            .retrying(
                "apps.connections.open",
                "apps.connections.open",
                &[],
                || self.send("apps.connections.open", Body::Json(json!({})), Token::App),
            )
            .await?;
        Ok(str_field(&v, "url"))
    }

    /// Whether a message has thread replies (`conversations.replies`, more than one message).
    /// `channel_not_found` and `thread_not_found` mean no.
    pub async fn message_has_replies(&self, channel: &str, ts: &str) -> Result<bool, SlackError> {
        let form = vec![
            ("channel", channel.to_owned()),
            ("ts", ts.to_owned()),
            ("inclusive", "1".to_owned()),
            ("limit", "3".to_owned()),
            ("include_all_metadata", "0".to_owned()),
        ];
        let expected = ["channel_not_found", "thread_not_found"];
        let result = self
            .call(
                "conversations.replies",
                "conversations.replies",
                Body::Form(form),
                &expected,
            )
            .await;
        Ok(unless_expected(result, &expected)?.is_some_and(|v| {
            v.get("messages")
                .and_then(Value::as_array)
                .is_some_and(|m| m.len() > 1)
        }))
    }

    /// `conversations.info` (cached 10 s + up to 10 s, `channel_not_found` included).
    pub async fn get_channel_info(&self, channel: &str) -> Result<Arc<ChannelInfo>, SlackError> {
        let key = format!("GetChannelInfo:{channel}");
        let not_found = || SlackError::Api {
            method: "conversations.info".into(),
            code: "channel_not_found".into(),
        };
        match self.cached(&key, "conversations.info").await {
            Some(Cached::Channel(c)) => return Ok(c),
            Some(Cached::ChannelNotFound) => return Err(not_found()),
            _ => {}
        }
        let form = vec![
            ("channel", channel.to_owned()),
            ("include_locale", "false".to_owned()),
            ("include_num_members", "false".to_owned()),
        ];
        let ttl = jittered(Duration::from_secs(10), 10);
        match self
            .call(
                "conversations.info",
                "conversations.info",
                Body::Form(form),
                &[],
            )
            .await
        {
            Ok(v) => {
                let info: ChannelInfo = parse(
                    "conversations.info",
                    v.get("channel").cloned().unwrap_or_default(),
                )?;
                let info = Arc::new(info);
                self.cache
                    .put(&key, Cached::Channel(info.clone()), ttl)
                    .await;
                Ok(info)
            }
            Err(e) if e.code() == Some("channel_not_found") => {
                self.cache.put(&key, Cached::ChannelNotFound, ttl).await;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The bot's channels (`users.conversations`, all pages), sorted by name; cached 1 min.
    pub async fn list_bot_channels(&self) -> Result<Arc<Vec<ChannelSummary>>, SlackError> {
        let key = "ListBotChannels";
        if let Some(Cached::Channels(c)) = self.cached(key, "users.conversations").await {
            return Ok(c);
        }
        let form = vec![
            ("exclude_archived", "true".to_owned()),
            ("limit", "999".to_owned()),
            ("types", "public_channel,private_channel".to_owned()),
        ];
        let mut out: Vec<ChannelSummary> = self
            .all_pages("users.conversations", form, "channels", &[])
            .await?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        let out = Arc::new(out);
        self.cache
            .put(key, Cached::Channels(out.clone()), Duration::from_secs(60))
            .await;
        Ok(out)
    }

    /// `users.info` (cached 1 h + up to 1 h).
    pub async fn get_user_info(&self, user: &str) -> Result<Arc<UserInfo>, SlackError> {
        let key = format!("GetUserInfo:{user}");
        if let Some(Cached::User(u)) = self.cached(&key, "users.info").await {
            return Ok(u);
        }
        let form = vec![
            ("user", user.to_owned()),
            ("include_locale", "true".to_owned()),
        ];
        let v = self
            .call("users.info", "users.info", Body::Form(form), &[])
            .await?;
        let info: UserInfo = parse("users.info", v.get("user").cloned().unwrap_or_default())?;
        let info = Arc::new(info);
        self.cache
            .put(
                &key,
                Cached::User(info.clone()),
                jittered(Duration::from_secs(3600), 3600),
            )
            .await;
        Ok(info)
    }

    /// Members of a user group (`usergroups.users.list`; cached 1 min + up to 30 s).
    /// `no_such_subteam` gives an empty set (not cached).
    pub async fn list_user_group_members(
        &self,
        group: &str,
    ) -> Result<Arc<HashSet<String>>, SlackError> {
        let key = format!("ListUserGroupMembers:{group}");
        if let Some(Cached::Set(s)) = self.cached(&key, "usergroups.users.list").await {
            return Ok(s);
        }
        let form = vec![("usergroup", group.to_owned())];
        let expected = ["no_such_subteam"];
        let result = self
            .call(
                "usergroups.users.list",
                "usergroups.users.list",
                Body::Form(form),
                &expected,
            )
            .await;
        let Some(v) = unless_expected(result, &expected)? else {
            return Ok(Arc::default());
        };
        let users: Vec<String> = parse(
            "usergroups.users.list",
            v.get("users").cloned().unwrap_or(json!([])),
        )?;
        Ok(self.cache_member_set(&key, users).await)
    }

    /// Members of a channel (`conversations.members`, all pages; cached 1 min + up to 30 s).
    /// `channel_not_found` gives an empty set (not cached).
    pub async fn get_user_ids_in_channel(
        &self,
        channel: &str,
    ) -> Result<Arc<HashSet<String>>, SlackError> {
        let key = format!("GetUserIDsInChannel:{channel}");
        if let Some(Cached::Set(s)) = self.cached(&key, "conversations.members").await {
            return Ok(s);
        }
        let form = vec![("channel", channel.to_owned())];
        let expected = ["channel_not_found"];
        let result = self
            .all_pages("conversations.members", form, "members", &expected)
            .await;
        let Some(members) = unless_expected(result, &expected)? else {
            return Ok(Arc::default());
        };
        Ok(self.cache_member_set(&key, members).await)
    }

    /// Caches a member set under `key` for 1 min + up to 30 s and returns it.
    async fn cache_member_set(&self, key: &str, members: Vec<String>) -> Arc<HashSet<String>> {
        let set = Arc::new(members.into_iter().collect::<HashSet<_>>());
        self.cache
            .put(
                key,
                Cached::Set(set.clone()),
                jittered(Duration::from_secs(60), 30),
            )
            .await;
        set
    }

    /// The `field` arrays of every page of the cursor-paginated `method` called with `form`
    /// (plus each page's `cursor`), in order.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        method: &str,
        form: Vec<(&str, String)>,
        field: &str,
        expected: &[&str],
    ) -> Result<Vec<T>, SlackError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut page_form = form.clone();
            if !cursor.is_empty() {
                page_form.push(("cursor", cursor.clone()));
            }
            let v = self
                .call(method, method, Body::Form(page_form), expected)
                .await?;
            let page: Vec<T> = parse(method, v.get(field).cloned().unwrap_or(json!([])))?;
            out.extend(page);
            cursor = next_cursor(&v);
            if cursor.is_empty() {
                return Ok(out);
            }
        }
    }

    /// Whether the bot is a member of the channel (cached: yes 5 min + up to 1 min, no 30 s + up
    /// to 15 s). Needs [`connect`](Self::connect) first.
    pub async fn bot_is_in_channel(&self, channel: &str) -> Result<bool, SlackError> {
        let bot = self
            .bot_user_id()
            .ok_or_else(|| SlackError::Config("client not connected: call connect first".into()))?
            .to_owned();
        let key = format!("BotIsInChannel:{channel}");
        if let Some(Cached::Bool(b)) = self.cache.get(&key).await {
            metrics::counter!("slack_cache_hit", "slack_action" => "bot_is_in_channel")
                .increment(1);
            return Ok(b);
        }
        let members = self.get_user_ids_in_channel(channel).await?;
        let yes = members.contains(&bot);
        let ttl = if yes {
            jittered(Duration::from_secs(300), 60)
        } else {
            jittered(Duration::from_secs(30), 15)
        };
        self.cache.put(&key, Cached::Bool(yes), ttl).await;
        Ok(yes)
    }

    async fn cached(&self, key: &str, action: &'static str) -> Option<Cached> {
        metrics::counter!("slack_request", "slack_action" => action).increment(1);
        let hit = self.cache.get(key).await;
        if hit.is_some() {
            metrics::counter!("slack_cache_hit", "slack_action" => action).increment(1);
        }
        hit
    }

    async fn call(
        &self,
        method: &str,
        action: &str,
        body: Body<'_>,
        expected: &[&str],
    ) -> Result<Value, SlackError> {
        let body = Arc::new(body);
        self.retrying(method, action, expected, || {
            let body = body.clone();
            async move { self.send(method, clone_body(&body), Token::Bot).await }
        })
        .await
    }

    /// The retry loop of `spec/slack.md` §2.3 around `attempt`.
    async fn retrying<F, Fut>(
        &self,
        method: &str,
        action: &str,
        expected: &[&str],
        mut attempt_fn: F,
    ) -> Result<Value, SlackError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Value, Failure>>,
    {
        let started = Instant::now();
        let mut attempt: u32 = 1;
        loop {
            self.gate.wait(method).await;
            let result = attempt_fn().await;
            metrics::counter!("slack_api_call", "slack_action" => action.to_owned()).increment(1);
            let failure = match result {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            if let Failure::Slack(code) = &failure {
                if expected.contains(&code.as_str()) {
                    return Err(to_error(method, failure));
                }
            }
            metrics::counter!("slack_api_error", "slack_action" => action.to_owned()).increment(1);
            if let Failure::Slack(code) = &failure {
                if NON_RETRYABLE_ERRORS.contains(&code.as_str()) {
                    return Err(to_error(method, failure));
                }
            }
            let class = classify(&failure);
            let unit = self.cfg.retry_unit;
            let (max_attempts, budget, wait) = match (&failure, class) {
                (Failure::RateLimited(Some(d)), Class::RateLimit) => {
                    self.gate.hold(method, *d).await;
                    (
                        self.cfg.max_attempts_for_rate_limit_error,
                        self.cfg.max_rate_limit_error_wait_time,
                        *d + self.cfg.rate_limit_margin,
                    )
                }
                (_, Class::Transient) => (
                    self.cfg.max_attempts_for_transient_error,
                    self.cfg.max_transient_error_wait_time,
                    unit * attempt,
                ),
                _ => (
                    self.cfg.max_attempts_for_fatal_error,
                    self.cfg.max_fatal_error_wait_time,
                    unit * 2 * attempt,
                ),
            };
            let remaining = budget.saturating_sub(started.elapsed());
            if attempt >= max_attempts || remaining < unit {
                tracing::warn!(
                    method,
                    attempts = attempt,
                    seconds = started.elapsed().as_secs_f64(),
                    class = class.name(),
                    error = ?failure,
                    "failed to call Slack API {action} after {attempt} attempts: {} error",
                    class.name()
                );
                return Err(to_error(method, failure));
            }
            tracing::debug!(method, attempt, class = class.name(), error = ?failure, wait_ms = wait.min(remaining).as_millis() as u64, "retrying Slack API call");
            tokio::time::sleep(wait.min(remaining)).await;
            attempt += 1;
        }
    }

    /// One HTTP request and the classification of its answer.
    async fn send(&self, method: &str, body: Body<'_>, token: Token) -> Result<Value, Failure> {
        let url = format!("{}{method}", self.cfg.base_url);
        let token = match token {
            Token::Bot => &self.cfg.bot_token,
            Token::App => &self.cfg.app_token,
        };
        let req = match body {
            Body::Form(mut form) => {
                form.push(("token", token.clone()));
                self.http.post(url).form(&form)
            }
            Body::Json(v) => self.http.post(url).bearer_auth(token).json(&v),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        if status == 429 {
            return Err(Failure::RateLimited(retry_after(&resp)));
        }
        if !(200..300).contains(&status) {
            return Err(Failure::Http(status));
        }
        let v: Value = resp
            .json()
            .await
            .map_err(|e| Failure::Transport(format!("cannot decode {method} response: {e}")))?;
        if v.get("ok").and_then(Value::as_bool) == Some(true) {
            Ok(v)
        } else {
            let code = v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error");
            Err(Failure::Slack(code.to_owned()))
        }
    }
}

/// `result`, with an error carrying one of the `expected` Slack codes turned into `None`.
fn unless_expected<T>(
    result: Result<T, SlackError>,
    expected: &[&str],
) -> Result<Option<T>, SlackError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code().is_some_and(|c| expected.contains(&c)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn clone_body<'a>(b: &Body<'a>) -> Body<'a> {
    match b {
        Body::Form(f) => Body::Form(f.clone()),
        Body::Json(v) => Body::Json(v.clone()),
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, SlackError> {
    serde_json::to_string(v).map_err(|e| SlackError::Config(format!("cannot encode blocks: {e}")))
}

fn message_form(msg: &PostMessage) -> Result<Vec<(&'static str, String)>, SlackError> {
    let mut form = vec![
        ("channel", msg.channel.clone()),
        ("blocks", to_json(&msg.blocks)?),
        ("username", msg.username.clone()),
    ];
    if let Some(url) = &msg.icon_url {
        form.push(("icon_url", url.clone()));
    } else if let Some(emoji) = &msg.icon_emoji {
        form.push(("icon_emoji", emoji.clone()));
    }
    if let Some(text) = &msg.text {
        form.push(("text", text.clone()));
    }
    Ok(form)
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn next_cursor(v: &Value) -> String {
    v.get("response_metadata")
        .and_then(|m| m.get("next_cursor"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn parse<T: DeserializeOwned>(method: &str, v: Value) -> Result<T, SlackError> {
    serde_json::from_value(v).map_err(|e| SlackError::Transport {
        method: method.to_owned(),
        source: format!("cannot decode response: {e}").into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_can_run_many_times() {
        for _ in 0..3 {
            SlackApi::new(SlackClientConfig::new("xoxb-1")).unwrap();
        }
        let err = SlackApi::new(SlackClientConfig::default()).err().unwrap();
        assert!(err.to_string().contains("bot token is empty"));
    }

    #[test]
    fn classification_follows_the_spec() {
        assert_eq!(
            classify(&Failure::RateLimited(Some(Duration::from_secs(1)))),
            Class::RateLimit
        );
        assert_eq!(classify(&Failure::RateLimited(None)), Class::Transient);
        assert_eq!(classify(&Failure::Http(500)), Class::Transient);
        assert_eq!(classify(&Failure::Http(503)), Class::Transient);
        assert_eq!(classify(&Failure::Http(404)), Class::Fatal);
        for code in TRANSIENT_ERRORS {
            assert_eq!(classify(&Failure::Slack(code.into())), Class::Transient);
        }
        assert_eq!(
            classify(&Failure::Slack("invalid_auth".into())),
            Class::Fatal
        );
        assert_eq!(classify(&Failure::Transport("reset".into())), Class::Fatal);
    }
}
