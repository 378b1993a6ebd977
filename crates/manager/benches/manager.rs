//! Manager benchmark: end-to-end throughput, Slack calls per alert in a storm, and memory per
//! open issue.
//!
//! - Throughput: alerts per second from the in-memory alert queue through the manager and the
//!   memory store to the Slack emulator (real `sm-slack` client over loopback HTTP), 100 channels.
//!   Baseline in the same run: the same load with storm coalescing off.
//! - Storm: 10,000 alerts on 100 issues; Slack calls (`chat.postMessage` + `chat.update`) per alert
//!   with coalescing on, against coalescing off.
//! - Memory: resident-set growth per 10,000 open issues held by the manager's store, with a Slack
//!   client that keeps nothing (so only the manager side is measured).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use sm_core::{
    Alert, FifoQueueProducer, InMemoryFifoQueue, Issue, NoopChannelLocker, PostState, Severity,
    SlackAction, SlackClient, SlackError, Store,
};
use sm_manager::{Manager, ManagerConfig, ManagerSettings};
use sm_slack::{PostSettings, SlackApi, SlackClientConfig, SlackManagerClient};
use sm_slack_emulator::{Emulator, EmulatorConfig};
use sm_store::MemoryStore;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

fn alert(channel: &str, corr: &str, text: String, ts_ms: i64) -> Alert {
    let mut a = Alert::new(Severity::Error);
    a.slack_channel_id = channel.into();
    a.correlation_id = corr.into();
    a.header = "bench".into();
    a.text = text;
    a.issue_follow_up_enabled = true;
    a.auto_resolve_seconds = 3600;
    a.timestamp = Utc::now() + chrono::Duration::milliseconds(ts_ms);
    a
}

async fn emulator_client() -> (Emulator, Arc<dyn SlackClient>) {
    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    let cfg = SlackClientConfig::new("xoxb-emulator")
        .with_base_url(emu.base_url())
        .with_retry_timing(Duration::from_millis(10), Duration::from_millis(10));
    let api = SlackApi::new(cfg).expect("slack api");
    api.connect().await.expect("connect");
    let client = SlackManagerClient::new(Arc::new(api), PostSettings::default());
    (emu, Arc::new(client))
}

struct Run {
    alerts: usize,
    elapsed: Duration,
}

/// Sends `alerts` (channel, correlation) pairs through a fresh manager and waits until the store
/// holds every alert.
async fn run(
    slack: Arc<dyn SlackClient>,
    coalescing: bool,
    alerts: &[(String, String)],
    store: Arc<MemoryStore>,
) -> Run {
    let queue = InMemoryFifoQueue::new("alerts");
    let settings = ManagerSettings {
        disable_storm_coalescing: !coalescing,
        ..Default::default()
    };
    let manager = Arc::new(
        Manager::new(
            store.clone(),
            Arc::new(queue.clone()),
            Arc::new(InMemoryFifoQueue::new("commands")),
            Arc::new(NoopChannelLocker),
            ManagerConfig::new("xapp-bench", "xoxb-bench"),
            settings,
        )
        .with_slack_client(slack),
    );
    let cancel = CancellationToken::new();
    let task = {
        let (m, c) = (manager.clone(), cancel.clone());
        tokio::spawn(async move { m.run(c).await })
    };
    let start = Instant::now();
    for (k, (channel, corr)) in alerts.iter().enumerate() {
        let a = alert(
            channel,
            corr,
            format!("value {k}"),
            i64::try_from(k).unwrap_or(0),
        );
        let body = serde_json::to_string(&a).expect("json");
        queue
            .send(channel, &a.unique_id(), &body)
            .await
            .expect("send");
    }
    let mut channels: Vec<&String> = alerts.iter().map(|(c, _)| c).collect();
    channels.sort();
    channels.dedup();
    loop {
        let mut total = 0i64;
        for c in &channels {
            for i in store.load_open_issues_in_channel(c).await.expect("load") {
                total += i.alert_count;
            }
        }
        if total as usize >= alerts.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = start.elapsed();
    // Let trailing coalesced updates go out before counting calls.
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    cancel.cancel();
    let _ = task.await;
    Run {
        alerts: alerts.len(),
        elapsed,
    }
}

/// A Slack client that keeps nothing: every post gets a new `ts`.
struct NullSlack(std::sync::atomic::AtomicU64);

impl NullSlack {
    fn post(&self, issue: &Issue) -> Option<PostState> {
        let now = Utc::now();
        let action = issue.slack_action(now);
        if action == SlackAction::None {
            return None;
        }
        let mut s = issue.post_state();
        if s.slack_post_id.is_empty() {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            s.slack_post_id = format!("1700000000.{n:06}");
            s.slack_post_created = now;
        }
        s.slack_post_updated = now;
        s.slack_post_needs_update = false;
        s.slack_alert_sent_at_least_once |= action == SlackAction::Alert;
        s.slack_post_last_action = action;
        Some(s)
    }
}

#[async_trait]
impl SlackClient for NullSlack {
    async fn get_channel_name(&self, channel_id: &str) -> String {
        channel_id.to_lowercase()
    }
    async fn is_alert_channel(&self, _: &str) -> Result<(bool, String), SlackError> {
        Ok((true, String::new()))
    }
    async fn update(&self, _: &str, issues: &[Issue]) -> Result<Vec<PostState>, SlackError> {
        Ok(issues.iter().filter_map(|i| self.post(i)).collect())
    }
    async fn update_single_issue_with_throttling(
        &self,
        issue: &Issue,
        _: &str,
        _: usize,
    ) -> Result<Option<PostState>, SlackError> {
        Ok(self.post(issue))
    }
    async fn update_single_issue(
        &self,
        issue: &Issue,
        _: &str,
    ) -> Result<Option<PostState>, SlackError> {
        Ok(self.post(issue))
    }
    async fn delete(
        &self,
        issue: &Issue,
        _: &str,
        _: bool,
        _: Option<&Semaphore>,
    ) -> Result<Option<PostState>, SlackError> {
        Ok(Some(issue.post_state()))
    }
    async fn delete_post(&self, _: &str, _: &str) -> Result<(), SlackError> {
        Ok(())
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // 1. Throughput over 100 channels: 100 channels x 10 issues x 3 alerts.
        let load: Vec<(String, String)> = (0..3000)
            .map(|k| (format!("C{:03}", k % 100), format!("i{}", k % 1000)))
            .collect();
        let mut rates = Vec::new();
        for coalescing in [false, true] {
            let (emu, slack) = emulator_client().await;
            let r = run(slack, coalescing, &load, Arc::new(MemoryStore::new())).await;
            let calls = emu.calls_to("chat.postMessage").len() + emu.calls_to("chat.update").len();
            let rate = r.alerts as f64 / r.elapsed.as_secs_f64();
            println!(
                "throughput, 100 channels, coalescing {:>3}: {:>6} alerts in {:>6.2} s = {:>8.0} alerts/s, {:.3} slack calls/alert",
                if coalescing { "on" } else { "off" },
                r.alerts,
                r.elapsed.as_secs_f64(),
                rate,
                calls as f64 / r.alerts as f64
            );
            rates.push(rate);
        }
        println!("throughput ratio (coalescing on / off): {:.2}", rates[1] / rates[0]);

        // 2. Storm: 10,000 alerts on 100 issues (10 channels x 10 issues).
        let storm: Vec<(String, String)> = (0..10_000)
            .map(|k| (format!("S{:02}", k % 10), format!("s{}", k % 100)))
            .collect();
        let mut per_alert = Vec::new();
        for coalescing in [false, true] {
            let (emu, slack) = emulator_client().await;
            let r = run(slack, coalescing, &storm, Arc::new(MemoryStore::new())).await;
            let calls = emu.calls_to("chat.postMessage").len() + emu.calls_to("chat.update").len();
            let cpa = calls as f64 / r.alerts as f64;
            println!(
                "storm, 10000 alerts on 100 issues, coalescing {:>3}: {calls} slack calls = {cpa:.4} calls/alert ({:.2} s)",
                if coalescing { "on" } else { "off" },
                r.elapsed.as_secs_f64()
            );
            per_alert.push(cpa);
        }
        println!(
            "storm slack calls per alert, coalescing on vs off: {:.1}x fewer",
            per_alert[0] / per_alert[1].max(f64::MIN_POSITIVE)
        );

        // 3. Resident memory per 10,000 open issues.
        let store = Arc::new(MemoryStore::new());
        let before = rss_kib();
        let issues: Vec<(String, String)> = (0..10_000)
            .map(|k| (format!("M{:02}", k % 50), format!("m{k}")))
            .collect();
        let slack: Arc<dyn SlackClient> = Arc::new(NullSlack(Default::default()));
        let r = run(slack, true, &issues, store.clone()).await;
        let after = rss_kib();
        let open: usize = {
            let mut n = 0;
            for c in store.find_active_channels().await.expect("channels") {
                n += store.load_open_issues_in_channel(&c).await.expect("load").len();
            }
            n
        };
        println!(
            "memory: {open} open issues ({} alerts, {:.2} s): resident set grew {} KiB = {:.2} KiB per issue",
            r.alerts,
            r.elapsed.as_secs_f64(),
            after.saturating_sub(before),
            after.saturating_sub(before) as f64 / open.max(1) as f64
        );
    });
}
