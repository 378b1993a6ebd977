//! Routing rules: how an alert without a channel ID finds its channel from its route key.
//!
//! [`ApiSettings`] is the hot-reloadable configuration (a list of [`RoutingRule`]s, JSON names of the
//! Go `APISettings`). [`RoutingTable::new`] normalises and validates it once (trim, lower-case, `(?i)`
//! on regexes, channel IDs checked) and answers [`RoutingTable::match_route`] with the precedence
//! exact → prefix → regex → catch-all; within a level a rule whose alert type equals the alert's wins
//! over the first rule with an empty alert type, and rules of another alert type never apply.
//!
//! Results (hits and misses) are cached per table, so a settings reload starts with an empty cache.
//! Unlike Go, the cache is bounded ([`MATCH_CACHE_CAPACITY`]): it is cleared when full, so random
//! route keys cannot grow memory without bound.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, RwLock};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Most cached route matches per [`RoutingTable`] before the cache is cleared.
pub const MATCH_CACHE_CAPACITY: usize = 10_000;

static RULE_CHANNEL_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new("^[0-9a-zA-Z]{9,15}$").ok());

/// Runtime settings of the API: the routing rules. Replace them on a running server with
/// [`ApiServer::update_settings`](crate::ApiServer::update_settings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiSettings {
    /// Rules for alerts that name no channel, tried as described on [`RoutingTable`].
    pub routing_rules: Vec<RoutingRule>,
}

/// One routing rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoutingRule {
    /// Unique, non-empty name (does not affect routing).
    pub name: String,
    /// Optional description.
    pub description: String,
    /// Case-insensitive alert type this rule is limited to; empty matches every type, at a lower precedence.
    pub alert_type: String,
    /// Case-insensitive exact route keys.
    pub equals: Vec<String>,
    /// Case-insensitive route key prefixes.
    pub has_prefix: Vec<String>,
    /// Regular expressions searched (unanchored) in the route key; `(?i)` is added when missing.
    pub matches_regex: Vec<String>,
    /// Catch-all rule: matches every alert, also those without a route key.
    pub match_all: bool,
    /// Target Slack channel ID (`^[0-9a-zA-Z]{9,15}$`).
    pub channel: String,
}

/// Whether a rule matches a (lower-cased) route key at one precedence level.
type RuleMatcher = fn(&CompiledRule, &str) -> bool;

struct CompiledRule {
    rule: RoutingRule,
    regexes: Vec<Regex>,
}

/// Validated routing rules with a match cache.
///
/// Precedence: exact (`equals`) → prefix (`hasPrefix`) → regex (`matchesRegex`) → catch-all
/// (`matchAll`, the only level tried for an empty route key). Within a level, the first rule whose
/// alert type equals the alert's wins, else the first matching rule with an empty alert type; rules
/// of another alert type never apply.
///
/// ```
/// use sm_api::{ApiSettings, RoutingRule, RoutingTable};
/// let table = RoutingTable::new(ApiSettings {
///     routing_rules: vec![RoutingRule {
///         name: "db".into(),
///         has_prefix: vec!["DB-".into()],
///         channel: "C0123456789".into(),
///         ..RoutingRule::default()
///     }],
/// })
/// .unwrap();
/// assert_eq!(table.match_route("db-primary", "").as_deref(), Some("C0123456789"));
/// assert_eq!(table.match_route("web", ""), None);
/// ```
pub struct RoutingTable {
    rules: Vec<CompiledRule>,
    cache: RwLock<HashMap<String, Option<String>>>,
}

impl std::fmt::Debug for RoutingTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutingTable")
            .field("rules", &self.rules())
            .finish_non_exhaustive()
    }
}

impl RoutingTable {
    /// Normalises and validates `settings` (the Go `InitAndValidate`); the first invalid rule is an error.
    pub fn new(settings: ApiSettings) -> Result<Self, ApiError> {
        let invalid = |msg: String| Err(ApiError::InvalidSettings(msg));
        let mut names = HashSet::new();
        let mut rules = Vec::with_capacity(settings.routing_rules.len());
        for (i, mut r) in settings.routing_rules.into_iter().enumerate() {
            r.name = r.name.trim().to_owned();
            if r.name.is_empty() {
                return invalid(format!("rule[{i}].name cannot be empty"));
            }
            if !names.insert(r.name.clone()) {
                return invalid(format!("rule[{i}].name is not unique"));
            }
            r.description = r.description.trim().to_owned();
            r.alert_type = r.alert_type.trim().to_lowercase();
            for (j, s) in r.equals.iter_mut().enumerate() {
                *s = s.trim().to_lowercase();
                if s.is_empty() {
                    return invalid(format!("rule[{i}].equals[{j}] cannot be empty"));
                }
            }
            for (j, s) in r.has_prefix.iter_mut().enumerate() {
                *s = s.trim().to_lowercase();
                if s.is_empty() {
                    return invalid(format!("rule[{i}].hasPrefix[{j}] cannot be empty"));
                }
            }
            let mut regexes = Vec::with_capacity(r.matches_regex.len());
            for (j, s) in r.matches_regex.iter_mut().enumerate() {
                let trimmed = s.trim();
                if trimmed.is_empty() {
                    return invalid(format!("rule[{i}].matchesRegex[{j}] cannot be empty"));
                }
                *s = if trimmed.starts_with("(?i)") {
                    trimmed.to_owned()
                } else {
                    format!("(?i){trimmed}")
                };
                match Regex::new(s) {
                    Ok(re) => regexes.push(re),
                    Err(e) => {
                        return invalid(format!("failed to compile regex for rule[{i}]: {e}"));
                    }
                }
            }
            if !r.match_all
                && r.equals.is_empty()
                && r.has_prefix.is_empty()
                && r.matches_regex.is_empty()
            {
                return invalid(format!("rule[{i}] does not match anything"));
            }
            r.channel = r.channel.trim().to_owned();
            if r.channel.is_empty() {
                return invalid(format!("rule[{i}].channel cannot be empty"));
            }
            let valid_channel = RULE_CHANNEL_RE
                .as_ref()
                .is_some_and(|re| re.is_match(&r.channel));
            if !valid_channel {
                return invalid(format!("rule[{i}].channel is not a valid Slack channel ID"));
            }
            rules.push(CompiledRule { rule: r, regexes });
        }
        tracing::info!(
            rules = rules.len(),
            "API settings initialized with {} routing rules",
            rules.len()
        );
        for (i, c) in rules.iter().enumerate() {
            tracing::debug!(
                index = i,
                name = %c.rule.name,
                channel = %c.rule.channel,
                equals = ?c.rule.equals,
                has_prefix = ?c.rule.has_prefix,
                regex = ?c.rule.matches_regex,
                match_all = c.rule.match_all,
                "routing rule"
            );
        }
        Ok(RoutingTable {
            rules,
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// The normalised rules, in configuration order.
    pub fn rules(&self) -> Vec<&RoutingRule> {
        self.rules.iter().map(|c| &c.rule).collect()
    }

    /// The channel for `route_key` and `alert_type` (both compared case-insensitively), or `None`.
    /// An empty route key matches only catch-all rules.
    pub fn match_route(&self, route_key: &str, alert_type: &str) -> Option<String> {
        let key = route_key.to_lowercase();
        let alert_type = alert_type.to_lowercase();
        let cache_key = format!("{key}\0{alert_type}");
        if let Ok(cache) = self.cache.read() {
            if let Some(hit) = cache.get(&cache_key) {
                return hit.clone();
            }
        }
        let found = self.find(&key, &alert_type);
        let channel = match found {
            Some((rule, reason)) => {
                tracing::debug!(route_key = %key, alert_type = %alert_type, rule = %rule.name, channel = %rule.channel, reason, "route key matched");
                Some(rule.channel.clone())
            }
            None => {
                tracing::debug!(route_key = %key, alert_type = %alert_type, "no matching route");
                None
            }
        };
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= MATCH_CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(cache_key, channel.clone());
        }
        channel
    }

    fn find(&self, key: &str, alert_type: &str) -> Option<(&RoutingRule, &'static str)> {
        if !key.is_empty() {
            let levels: [(&'static str, RuleMatcher); 3] = [
                ("exact match", |c, k| c.rule.equals.iter().any(|s| s == k)),
                ("prefix match", |c, k| {
                    c.rule.has_prefix.iter().any(|s| k.starts_with(s.as_str()))
                }),
                ("regex match", |c, k| {
                    c.regexes.iter().any(|re| re.is_match(k))
                }),
            ];
            for (reason, matches) in levels {
                let mut untyped = None;
                for c in &self.rules {
                    if !matches(c, key) {
                        continue;
                    }
                    if c.rule.alert_type == alert_type {
                        return Some((&c.rule, reason));
                    }
                    if c.rule.alert_type.is_empty() && untyped.is_none() {
                        untyped = Some(&c.rule);
                    }
                }
                if let Some(rule) = untyped {
                    return Some((rule, reason));
                }
            }
        }
        let catch_all = |typed: &str| {
            self.rules
                .iter()
                .find(|c| c.rule.match_all && c.rule.alert_type == typed)
        };
        catch_all(alert_type)
            .or_else(|| catch_all(""))
            .map(|c| (&c.rule, "match-all rule"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, channel: &str) -> RoutingRule {
        RoutingRule {
            name: name.into(),
            channel: channel.into(),
            ..RoutingRule::default()
        }
    }

    fn table(rules: Vec<RoutingRule>) -> RoutingTable {
        RoutingTable::new(ApiSettings {
            routing_rules: rules,
        })
        .unwrap()
    }

    fn err(rules: Vec<RoutingRule>) -> String {
        RoutingTable::new(ApiSettings {
            routing_rules: rules,
        })
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn precedence_exact_prefix_regex_catch_all() {
        let t = table(vec![
            RoutingRule {
                match_all: true,
                ..rule("all", "CALL000000")
            },
            RoutingRule {
                matches_regex: vec!["main-prod$".into()],
                ..rule("regex", "CREGEX0000")
            },
            RoutingRule {
                has_prefix: vec![" DB-".into()],
                ..rule("prefix", "CPREFIX000")
            },
            RoutingRule {
                equals: vec!["db-main-prod ".into()],
                ..rule("exact", "CEXACT0000")
            },
        ]);
        assert_eq!(
            t.match_route("DB-MAIN-PROD", "").as_deref(),
            Some("CEXACT0000")
        );
        assert_eq!(
            t.match_route("db-other-prod", "").as_deref(),
            Some("CPREFIX000")
        );
        assert_eq!(
            t.match_route("x-MAIN-prod", "").as_deref(),
            Some("CREGEX0000")
        );
        assert_eq!(t.match_route("web", "").as_deref(), Some("CALL000000"));
        assert_eq!(t.match_route("", "").as_deref(), Some("CALL000000"));
        // The regex search is unanchored only where the pattern is.
        let r = table(vec![RoutingRule {
            matches_regex: vec!["prod$".into()],
            ..rule("regex", "CREGEX0000")
        }]);
        assert_eq!(r.match_route("api-PROD", "").as_deref(), Some("CREGEX0000"));
        assert_eq!(r.match_route("prod-api", ""), None);
        assert_eq!(r.rules()[0].matches_regex, vec!["(?i)prod$".to_string()]);
    }

    #[test]
    fn alert_type_scoping() {
        let t = table(vec![
            RoutingRule {
                equals: vec!["k".into()],
                ..rule("untyped", "CUNTYPED00")
            },
            RoutingRule {
                equals: vec!["k".into()],
                alert_type: " Metric ".into(),
                ..rule("metric", "CMETRIC000")
            },
            RoutingRule {
                has_prefix: vec!["only".into()],
                alert_type: "log".into(),
                ..rule("log", "CLOG000000")
            },
            RoutingRule {
                match_all: true,
                alert_type: "log".into(),
                ..rule("all-log", "CALLLOG000")
            },
        ]);
        assert_eq!(t.match_route("k", "METRIC").as_deref(), Some("CMETRIC000"));
        assert_eq!(t.match_route("k", "log").as_deref(), Some("CUNTYPED00"));
        assert_eq!(t.match_route("k", "").as_deref(), Some("CUNTYPED00"));
        // A typed rule of another type never applies; no untyped catch-all exists.
        assert_eq!(t.match_route("only-this", "metric"), None);
        assert_eq!(
            t.match_route("only-this", "log").as_deref(),
            Some("CLOG000000")
        );
        assert_eq!(t.match_route("zzz", "log").as_deref(), Some("CALLLOG000"));
        assert_eq!(t.match_route("", "log").as_deref(), Some("CALLLOG000"));
        assert_eq!(t.match_route("", ""), None);
        // Cached answers are the same.
        assert_eq!(t.match_route("K", "Metric").as_deref(), Some("CMETRIC000"));
        assert_eq!(t.match_route("only-this", "metric"), None);
    }

    #[test]
    fn validation_messages() {
        assert_eq!(
            err(vec![rule(" ", "C012345678")]),
            "rule[0].name cannot be empty"
        );
        let m = |n: &str| RoutingRule {
            match_all: true,
            ..rule(n, "C012345678")
        };
        assert_eq!(err(vec![m("a"), m(" a ")]), "rule[1].name is not unique");
        assert_eq!(
            err(vec![RoutingRule {
                equals: vec!["x".into(), " ".into()],
                ..rule("a", "C012345678")
            }]),
            "rule[0].equals[1] cannot be empty"
        );
        assert_eq!(
            err(vec![RoutingRule {
                has_prefix: vec!["".into()],
                ..rule("a", "C012345678")
            }]),
            "rule[0].hasPrefix[0] cannot be empty"
        );
        assert_eq!(
            err(vec![RoutingRule {
                matches_regex: vec!["".into()],
                ..rule("a", "C012345678")
            }]),
            "rule[0].matchesRegex[0] cannot be empty"
        );
        assert!(
            err(vec![RoutingRule {
                matches_regex: vec!["(".into()],
                ..rule("a", "C012345678")
            }])
            .starts_with("failed to compile regex for rule[0]: ")
        );
        assert_eq!(
            err(vec![rule("a", "C012345678")]),
            "rule[0] does not match anything"
        );
        let mut no_channel = m("a");
        no_channel.channel = " ".into();
        assert_eq!(err(vec![no_channel]), "rule[0].channel cannot be empty");
        let mut name_channel = m("a");
        name_channel.channel = "alerts".into();
        assert_eq!(
            err(vec![name_channel]),
            "rule[0].channel is not a valid Slack channel ID"
        );
    }

    #[test]
    fn cache_is_bounded() {
        let t = table(vec![RoutingRule {
            has_prefix: vec!["a".into()],
            ..rule("a", "C012345678")
        }]);
        for i in 0..(MATCH_CACHE_CAPACITY + 5) {
            assert_eq!(t.match_route(&format!("b{i}"), ""), None);
        }
        let len = t.cache.read().map(|c| c.len()).unwrap_or(usize::MAX);
        assert!(len <= MATCH_CACHE_CAPACITY, "cache holds {len} entries");
        assert_eq!(t.match_route("a1", "").as_deref(), Some("C012345678"));
    }
}
