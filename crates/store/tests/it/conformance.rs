//! The store contract, checked against any backend.
//!
//! `run_all` runs every contract on one store; each contract uses its own channel IDs, so contracts
//! never see each other's data (except `drop_all_data`, which runs last). `Caps` says whether the
//! store supports `init`/`drop_all_data` (the cache middleware refuses them).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sm_core::{
    Alert, ChannelProcessingState, Issue, IssueAlert, MoveMapping, MoveReason, Severity, Store,
    StoreError,
};

/// What the store under test supports.
#[derive(Clone, Copy)]
pub(crate) struct Caps {
    /// `init` and `drop_all_data` work (false for the cache middleware, which refuses them).
    pub(crate) admin: bool,
}

/// A fresh ID with a readable prefix.
pub(crate) fn fresh(prefix: &str) -> String {
    format!("{prefix}{}", ulid::Ulid::new())
}

/// An alert for `channel` with correlation ID `corr`.
pub(crate) fn alert(channel: &str, corr: &str) -> IssueAlert {
    let mut a = Alert::new(Severity::Error);
    a.slack_channel_id = channel.to_owned();
    a.correlation_id = corr.to_owned();
    a.header = "disk full".into();
    a.text = format!("host {corr} is out of disk");
    a.issue_follow_up_enabled = true;
    a.auto_resolve_seconds = 3600;
    IssueAlert::new(a)
}

/// A new issue (version 0) in `channel` with correlation ID `corr`.
pub(crate) fn issue(channel: &str, corr: &str) -> Issue {
    Issue::from_alert(alert(channel, corr), Utc::now())
}

fn with_version(issue: &Issue, version: u64) -> Issue {
    let mut copy = issue.clone();
    copy.version = version;
    copy
}

#[track_caller]
fn assert_invalid(result: Result<impl std::fmt::Debug, StoreError>, needle: &str) {
    match result {
        Err(StoreError::InvalidArgument(msg)) => assert!(
            msg.contains(needle),
            "error message {msg:?} should name {needle:?}"
        ),
        other => panic!("expected InvalidArgument naming {needle:?}, got {other:?}"),
    }
}

/// Runs every contract on `store`.
pub(crate) async fn run_all(store: Arc<dyn Store>, caps: Caps) {
    let s = store.as_ref();
    if caps.admin {
        init_is_idempotent(s).await;
    } else {
        admin_operations_unsupported(s).await;
    }
    save_and_find_by_correlation(s).await;
    several_open_issues_with_one_correlation_id_are_ambiguous(s).await;
    find_by_post_id_matches_only_the_current_post(s).await;
    timestamps_round_trip_at_nanosecond_precision(s).await;
    concurrent_unversioned_saves_do_not_fail(Arc::clone(&store)).await;
    concurrent_overlapping_batches_do_not_fail(Arc::clone(&store)).await;
    versioned_saves_detect_conflicts(s).await;
    save_issues_returns_versions_in_order(s).await;
    move_issue_semantics(s).await;
    empty_arguments_are_errors(s).await;
    move_mappings_upsert_find_delete(s).await;
    processing_state_upsert_find(s).await;
    active_channels_and_open_issues(s).await;
    alert_history(s).await;
    if caps.admin {
        drop_all_data_empties_the_store(s).await;
    }
}

pub(crate) async fn init_is_idempotent(s: &dyn Store) {
    s.init(false).await.expect("second init");
    s.init(true).await.expect("init trusting the schema");
}

pub(crate) async fn admin_operations_unsupported(s: &dyn Store) {
    assert!(matches!(
        s.init(false).await,
        Err(StoreError::Unsupported(_))
    ));
    assert!(matches!(
        s.drop_all_data().await,
        Err(StoreError::Unsupported(_))
    ));
}

pub(crate) async fn save_and_find_by_correlation(s: &dyn Store) {
    let channel = fresh("C");
    let i = issue(&channel, "corr-1");
    assert_eq!(
        s.find_open_issue_by_correlation_id(&channel, "corr-1")
            .await
            .unwrap(),
        None
    );
    let v = s.save_issue(&i).await.unwrap();
    assert_eq!(v, 1, "first save of a new issue stores version 1");
    let found = s
        .find_open_issue_by_correlation_id(&channel, "corr-1")
        .await
        .unwrap()
        .expect("saved issue is found");
    assert_eq!(found, with_version(&i, 1), "the issue round-trips exactly");
    assert_eq!(
        s.find_open_issue_by_correlation_id(&channel, "other")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_open_issue_by_correlation_id(&fresh("C"), "corr-1")
            .await
            .unwrap(),
        None
    );

    // Archived issues are not open.
    let mut archived = found.clone();
    archived.archived = true;
    assert_eq!(s.save_issue(&archived).await.unwrap(), 2);
    assert_eq!(
        s.find_open_issue_by_correlation_id(&channel, "corr-1")
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn several_open_issues_with_one_correlation_id_are_ambiguous(s: &dyn Store) {
    let channel = fresh("C");
    let a = issue(&channel, "dup");
    let b = issue(&channel, "dup");
    assert_ne!(a.id, b.id);
    s.save_issues(&[a.clone(), b.clone()]).await.unwrap();
    match s.find_open_issue_by_correlation_id(&channel, "dup").await {
        Err(StoreError::Ambiguous {
            channel_id,
            what,
            count,
        }) => {
            assert_eq!(channel_id, channel);
            assert_eq!(count, 2);
            assert!(what.contains("dup"), "{what}");
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    // Archiving one leaves exactly one open.
    let mut b1 = with_version(&b, 1);
    b1.archived = true;
    s.save_issue(&b1).await.unwrap();
    let found = s
        .find_open_issue_by_correlation_id(&channel, "dup")
        .await
        .unwrap();
    assert_eq!(found.map(|i| i.id), Some(a.id));
}

pub(crate) async fn find_by_post_id_matches_only_the_current_post(s: &dyn Store) {
    let channel = fresh("C");
    let mut i = issue(&channel, "posted");
    i.slack_post_id = "1700000000.000100".into();
    let v = s.save_issue(&i).await.unwrap();
    let found = s
        .find_issue_by_slack_post_id(&channel, "1700000000.000100")
        .await
        .unwrap()
        .expect("found by its post");
    assert_eq!(found.id, i.id);
    assert_eq!(
        s.find_issue_by_slack_post_id(&fresh("C"), "1700000000.000100")
            .await
            .unwrap(),
        None
    );

    // Re-posted: the old post no longer matches, the new one does.
    i.version = v;
    i.slack_post_id = "1700000000.000200".into();
    let v = s.save_issue(&i).await.unwrap();
    assert_eq!(
        s.find_issue_by_slack_post_id(&channel, "1700000000.000100")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_issue_by_slack_post_id(&channel, "1700000000.000200")
            .await
            .unwrap()
            .map(|x| x.id),
        Some(i.id.clone())
    );

    // Archived issues are still found by post.
    i.version = v;
    i.archived = true;
    s.save_issue(&i).await.unwrap();
    let found = s
        .find_issue_by_slack_post_id(&channel, "1700000000.000200")
        .await
        .unwrap()
        .expect("archived issue found by post");
    assert!(found.archived);

    // Two issues claiming one post are ambiguous.
    let mut other = issue(&channel, "posted-too");
    other.slack_post_id = "1700000000.000200".into();
    s.save_issue(&other).await.unwrap();
    match s
        .find_issue_by_slack_post_id(&channel, "1700000000.000200")
        .await
    {
        Err(StoreError::Ambiguous { count: 2, what, .. }) => {
            assert!(what.contains("1700000000.000200"), "{what}")
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

fn ns_time(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, nanos).single().expect("valid time")
}

pub(crate) async fn timestamps_round_trip_at_nanosecond_precision(s: &dyn Store) {
    let channel = fresh("C");
    let mut i = issue(&channel, "ns");
    i.created = ns_time(1_700_000_000, 123_456_789);
    i.last_alert_received = ns_time(1_700_000_001, 1);
    i.slack_post_updated = ns_time(1_700_000_002, 999_999_999);
    i.archive_time = ns_time(4_102_444_800, 100); // year 2100
    i.last_alert.alert.timestamp = ns_time(1_700_000_003, 10);
    i.auto_resolve_period = Duration::new(3600, 7);
    s.save_issue(&i).await.unwrap();
    let found = s
        .find_open_issue_by_correlation_id(&channel, "ns")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.created, i.created);
    assert_eq!(found.last_alert_received, i.last_alert_received);
    assert_eq!(found.slack_post_updated, i.slack_post_updated);
    assert_eq!(found.archive_time, i.archive_time);
    assert_eq!(found.last_alert.timestamp, i.last_alert.timestamp);
    assert_eq!(found.auto_resolve_period, i.auto_resolve_period);
    assert_eq!(found, with_version(&i, 1));

    let mut m = MoveMapping::new("ns", &channel, fresh("C"), MoveReason::UserCommand);
    m.timestamp = ns_time(1_700_000_004, 123_456_780);
    s.save_move_mapping(&m).await.unwrap();
    assert_eq!(s.find_move_mapping(&channel, "ns").await.unwrap(), Some(m));

    let mut st = ChannelProcessingState::new(&channel);
    st.last_processed = ns_time(1_700_000_005, 5);
    s.save_channel_processing_state(&st).await.unwrap();
    assert_eq!(
        s.find_channel_processing_state(&channel).await.unwrap(),
        Some(st)
    );

    let mut a = alert(&channel, "ns");
    a.alert.timestamp = ns_time(1_700_000_006, 6);
    s.save_alert(&i.id, &a).await.unwrap();
    let history = s.find_alerts_for_issue(&i.id, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].alert, a);
}

pub(crate) async fn concurrent_unversioned_saves_do_not_fail(store: Arc<dyn Store>) {
    const WRITERS: u64 = 16;
    let channel = fresh("C");
    let base = issue(&channel, "busy");
    let tasks: Vec<_> = (0..WRITERS)
        .map(|n| {
            let store = Arc::clone(&store);
            let mut copy = base.clone();
            copy.alert_count = i64::try_from(n).unwrap() + 1;
            tokio::spawn(async move { store.save_issue(&copy).await })
        })
        .collect();
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(
            t.await
                .expect("task")
                .expect("concurrent version-0 save succeeds"),
        );
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=WRITERS).collect::<Vec<_>>(),
        "each save got its own version"
    );
    let stored = store
        .find_open_issue_by_correlation_id(&channel, "busy")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.version, WRITERS);
}

pub(crate) async fn concurrent_overlapping_batches_do_not_fail(store: Arc<dyn Store>) {
    const WRITERS: u64 = 8;
    const ROUNDS: u64 = 10;
    let channel = fresh("C");
    let x = issue(&channel, "batch-x");
    let y = issue(&channel, "batch-y");
    let tasks: Vec<_> = (0..WRITERS)
        .map(|n| {
            let store = Arc::clone(&store);
            let (mut x, mut y) = (x.clone(), y.clone());
            tokio::spawn(async move {
                for round in 0..ROUNDS {
                    // Distinct content per save, so nothing is skipped by the cache middleware.
                    let count = i64::try_from(n * ROUNDS + round).unwrap();
                    x.alert_count = count;
                    y.alert_count = count;
                    // Half the writers use the opposite order (a deadlock risk for row locks).
                    let batch = if n % 2 == 0 {
                        [x.clone(), y.clone()]
                    } else {
                        [y.clone(), x.clone()]
                    };
                    store.save_issues(&batch).await?;
                }
                Ok::<(), StoreError>(())
            })
        })
        .collect();
    for t in tasks {
        t.await
            .expect("task")
            .expect("concurrent version-0 batch saves succeed");
    }
    for corr in ["batch-x", "batch-y"] {
        let stored = store
            .find_open_issue_by_correlation_id(&channel, corr)
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(
            stored.version,
            WRITERS * ROUNDS,
            "every save of {corr} was applied"
        );
    }
}

pub(crate) async fn versioned_saves_detect_conflicts(s: &dyn Store) {
    let channel = fresh("C");
    let i = issue(&channel, "occ");
    assert_eq!(s.save_issue(&i).await.unwrap(), 1);
    let load = || async {
        s.find_open_issue_by_correlation_id(&channel, "occ")
            .await
            .unwrap()
            .expect("found")
    };
    let mut a = load().await;
    let mut b = load().await;
    assert_eq!((a.version, b.version), (1, 1));

    a.alert_count = 2;
    assert_eq!(s.save_issue(&a).await.unwrap(), 2);

    b.alert_count = 3;
    match s.save_issue(&b).await {
        Err(StoreError::VersionConflict {
            issue_id,
            expected,
            actual,
        }) => {
            assert_eq!((issue_id.as_str(), expected, actual), (i.id.as_str(), 1, 2));
        }
        other => panic!("expected VersionConflict, got {other:?}"),
    }
    // The stale copy did not overwrite anything.
    assert_eq!(load().await.alert_count, 2);

    // The same stale copy, unchanged, still conflicts.
    a.version = 1;
    assert!(matches!(
        s.save_issue(&a).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2,
            ..
        })
    ));

    // The current copy saves.
    a.version = 2;
    a.alert_count = 4;
    assert_eq!(s.save_issue(&a).await.unwrap(), 3);

    // A version-0 copy saves last-write-wins.
    let mut lww = with_version(&a, 0);
    lww.alert_count = 5;
    assert_eq!(s.save_issue(&lww).await.unwrap(), 4);
    assert_eq!(load().await.alert_count, 5);

    // A versioned copy of an issue the store does not have conflicts with version 0.
    let ghost = with_version(&issue(&channel, "ghost"), 7);
    assert!(matches!(
        s.save_issue(&ghost).await,
        Err(StoreError::VersionConflict {
            expected: 7,
            actual: 0,
            ..
        })
    ));
    assert_eq!(
        s.find_open_issue_by_correlation_id(&channel, "ghost")
            .await
            .unwrap(),
        None
    );

    // Batches are not atomic: issues before a conflicting one stay saved.
    let first = issue(&channel, "batch-first");
    let last = issue(&channel, "batch-last");
    let stale = with_version(&a, 1);
    assert!(matches!(
        s.save_issues(&[first.clone(), stale, last.clone()]).await,
        Err(StoreError::VersionConflict { .. })
    ));
    assert!(
        s.find_open_issue_by_correlation_id(&channel, "batch-first")
            .await
            .unwrap()
            .is_some()
    );
}

pub(crate) async fn save_issues_returns_versions_in_order(s: &dyn Store) {
    let channel = fresh("C");
    assert_eq!(s.save_issues(&[]).await.unwrap(), Vec::<u64>::new());
    let issues: Vec<Issue> = (0..3)
        .map(|n| issue(&channel, &format!("many-{n}")))
        .collect();
    assert_eq!(s.save_issues(&issues).await.unwrap(), vec![1, 1, 1]);
    // Every copy changes (an unchanged one may be skipped by the cache middleware, keeping its version).
    let versioned: Vec<Issue> = issues
        .iter()
        .zip(10..)
        .map(|(i, count)| {
            let mut copy = with_version(i, 1);
            copy.alert_count = count;
            copy
        })
        .collect();
    assert_eq!(s.save_issues(&versioned).await.unwrap(), vec![2, 2, 2]);
    let loaded = s.load_open_issues_in_channel(&channel).await.unwrap();
    assert_eq!(loaded.len(), 3);
    assert!(loaded.iter().all(|i| i.version == 2));
    assert_eq!(
        loaded
            .iter()
            .find(|i| i.correlation_id == "many-1")
            .map(|i| i.alert_count),
        Some(11)
    );
}

pub(crate) async fn move_issue_semantics(s: &dyn Store) {
    let source = fresh("C");
    let target = fresh("C");
    let mut i = issue(&source, "mover");
    i.version = s.save_issue(&i).await.unwrap();

    // Source equal to target is an error.
    assert_invalid(s.move_issue(&i, &source, &source).await, "itself");
    // The issue must already be in the target channel.
    assert_invalid(s.move_issue(&i, &source, &target).await, &target);

    i.last_alert.slack_channel_id = target.clone();
    i.is_moved = true;
    i.move_reason = MoveReason::UserCommand;
    let v = s.move_issue(&i, &source, &target).await.unwrap();
    assert_eq!(v, 2);
    assert_eq!(
        s.find_open_issue_by_correlation_id(&source, "mover")
            .await
            .unwrap(),
        None
    );
    let moved = s
        .find_open_issue_by_correlation_id(&target, "mover")
        .await
        .unwrap()
        .expect("found in the target channel");
    assert!(moved.is_moved);
    assert!(
        s.load_open_issues_in_channel(&source)
            .await
            .unwrap()
            .is_empty()
    );
    let active = s.find_active_channels().await.unwrap();
    assert!(active.contains(&target) && !active.contains(&source));

    // A stale copy cannot be moved.
    assert!(matches!(
        s.move_issue(&i, &fresh("C"), &target).await,
        Err(StoreError::VersionConflict {
            expected: 1,
            actual: 2,
            ..
        })
    ));

    // An issue the store does not know is saved as new.
    let unknown = issue(&target, "never-saved");
    assert_eq!(s.move_issue(&unknown, &source, &target).await.unwrap(), 1);
    assert!(
        s.find_open_issue_by_correlation_id(&target, "never-saved")
            .await
            .unwrap()
            .is_some()
    );
}

pub(crate) async fn empty_arguments_are_errors(s: &dyn Store) {
    let c = fresh("C");
    assert_invalid(
        s.find_open_issue_by_correlation_id("", "x").await,
        "channel_id",
    );
    assert_invalid(
        s.find_open_issue_by_correlation_id(&c, "").await,
        "correlation_id",
    );
    assert_invalid(s.find_issue_by_slack_post_id("", "1.2").await, "channel_id");
    assert_invalid(s.find_issue_by_slack_post_id(&c, "").await, "post_id");
    assert_invalid(s.load_open_issues_in_channel("").await, "channel_id");
    assert_invalid(s.find_move_mapping("", "x").await, "channel_id");
    assert_invalid(s.find_move_mapping(&c, "").await, "correlation_id");
    assert_invalid(s.delete_move_mapping("", "x").await, "channel_id");
    assert_invalid(s.delete_move_mapping(&c, "").await, "correlation_id");
    assert_invalid(s.find_channel_processing_state("").await, "channel_id");
    assert_invalid(s.save_alert("", &alert(&c, "x")).await, "issue_id");
    assert_invalid(s.find_alerts_for_issue("", 10).await, "issue_id");

    let mut no_id = issue(&c, "x");
    no_id.id.clear();
    assert_invalid(s.save_issue(&no_id).await, "issue id");
    assert_invalid(s.save_issues(&[no_id.clone()]).await, "issue id");
    let mut no_channel = issue(&c, "x");
    no_channel.last_alert.slack_channel_id.clear();
    assert_invalid(s.save_issue(&no_channel).await, "channel id");
    let i = issue(&c, "x");
    assert_invalid(s.move_issue(&i, "", &c).await, "source_channel_id");
    assert_invalid(s.move_issue(&i, &c, "").await, "target_channel_id");

    let m = MoveMapping::new("", &c, fresh("C"), MoveReason::Escalation);
    assert_invalid(s.save_move_mapping(&m).await, "correlationId");
    let m = MoveMapping::new("x", "", fresh("C"), MoveReason::Escalation);
    assert_invalid(s.save_move_mapping(&m).await, "originalChannelId");
    let m = MoveMapping::new("x", &c, "", MoveReason::Escalation);
    assert_invalid(s.save_move_mapping(&m).await, "targetChannelId");
    assert_invalid(
        s.save_channel_processing_state(&ChannelProcessingState::new(""))
            .await,
        "channelId",
    );
    // Nothing was stored by the failed calls.
    assert!(s.load_open_issues_in_channel(&c).await.unwrap().is_empty());
}

pub(crate) async fn move_mappings_upsert_find_delete(s: &dyn Store) {
    let channel = fresh("C");
    assert_eq!(s.find_move_mapping(&channel, "m").await.unwrap(), None);
    let first = MoveMapping::new("m", &channel, fresh("C"), MoveReason::Escalation);
    s.save_move_mapping(&first).await.unwrap();
    assert_eq!(
        s.find_move_mapping(&channel, "m").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(s.find_move_mapping(&channel, "other").await.unwrap(), None);
    assert_eq!(s.find_move_mapping(&fresh("C"), "m").await.unwrap(), None);

    let second = MoveMapping::new("m", &channel, fresh("C"), MoveReason::UserCommand);
    s.save_move_mapping(&second).await.unwrap();
    assert_eq!(
        s.find_move_mapping(&channel, "m").await.unwrap(),
        Some(second)
    );

    s.delete_move_mapping(&channel, "m").await.unwrap();
    assert_eq!(s.find_move_mapping(&channel, "m").await.unwrap(), None);
    s.delete_move_mapping(&channel, "m")
        .await
        .expect("deleting a missing mapping is ok");
}

pub(crate) async fn processing_state_upsert_find(s: &dyn Store) {
    let channel = fresh("C");
    assert_eq!(
        s.find_channel_processing_state(&channel).await.unwrap(),
        None
    );
    let mut st = ChannelProcessingState::new(&channel);
    s.save_channel_processing_state(&st).await.unwrap();
    assert_eq!(
        s.find_channel_processing_state(&channel).await.unwrap(),
        Some(st.clone())
    );
    st.open_issues = 7;
    st.last_processed = Utc::now();
    s.save_channel_processing_state(&st).await.unwrap();
    assert_eq!(
        s.find_channel_processing_state(&channel).await.unwrap(),
        Some(st)
    );
    assert_eq!(
        s.find_channel_processing_state(&fresh("C")).await.unwrap(),
        None
    );
}

pub(crate) async fn active_channels_and_open_issues(s: &dyn Store) {
    let open_channel = fresh("C");
    let archived_channel = fresh("C");
    let a = issue(&open_channel, "a");
    let b = issue(&open_channel, "b");
    let mut gone = issue(&open_channel, "gone");
    gone.archived = true;
    let mut old = issue(&archived_channel, "old");
    old.archived = true;
    s.save_issues(&[a.clone(), b.clone(), gone, old])
        .await
        .unwrap();

    let active: HashSet<String> = s
        .find_active_channels()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert!(active.contains(&open_channel));
    assert!(!active.contains(&archived_channel));

    let open = s.load_open_issues_in_channel(&open_channel).await.unwrap();
    let ids: HashSet<&str> = open.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, HashSet::from([a.id.as_str(), b.id.as_str()]));
    assert!(open.iter().all(|i| i.version == 1));
    assert!(
        s.load_open_issues_in_channel(&archived_channel)
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) async fn alert_history(s: &dyn Store) {
    let channel = fresh("C");
    let i = issue(&channel, "hist");
    let alerts: Vec<IssueAlert> = (0..3)
        .map(|n| {
            let mut a = alert(&channel, "hist");
            a.alert.text = format!("alert {n}");
            a
        })
        .collect();
    for a in &alerts {
        s.save_alert(&i.id, a).await.unwrap();
    }
    s.save_alert(&i.id, &alerts[2])
        .await
        .expect("repeats are allowed");

    let all = s.find_alerts_for_issue(&i.id, 10).await.unwrap();
    let texts: Vec<&str> = all.iter().map(|a| a.alert.text.as_str()).collect();
    assert_eq!(
        texts,
        ["alert 0", "alert 1", "alert 2", "alert 2"],
        "oldest first"
    );
    assert!(all.iter().all(|a| a.issue_id == i.id));
    assert!(all.windows(2).all(|w| w[0].stored_at <= w[1].stored_at));

    let newest = s.find_alerts_for_issue(&i.id, 2).await.unwrap();
    let texts: Vec<&str> = newest.iter().map(|a| a.alert.text.as_str()).collect();
    assert_eq!(texts, ["alert 2", "alert 2"], "the newest, oldest first");
    assert!(s.find_alerts_for_issue(&i.id, 0).await.unwrap().is_empty());
    assert!(
        s.find_alerts_for_issue(&fresh("I"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Run on a store whose retention keeps at most 3 alerts per issue (no age bound).
pub(crate) async fn alert_retention_by_count(s: &dyn Store) {
    let channel = fresh("C");
    let issue_id = fresh("I");
    let other_id = fresh("I");
    for n in 0..5 {
        let mut a = alert(&channel, "ret");
        a.alert.text = format!("alert {n}");
        s.save_alert(&issue_id, &a).await.unwrap();
    }
    s.save_alert(&other_id, &alert(&channel, "ret"))
        .await
        .unwrap();
    let kept = s.find_alerts_for_issue(&issue_id, 100).await.unwrap();
    let texts: Vec<&str> = kept.iter().map(|a| a.alert.text.as_str()).collect();
    assert_eq!(texts, ["alert 2", "alert 3", "alert 4"]);
    assert_eq!(
        s.find_alerts_for_issue(&other_id, 100).await.unwrap().len(),
        1,
        "per issue"
    );
}

/// Run on a store whose retention drops alerts older than `max_age`.
pub(crate) async fn alert_retention_by_age(s: &dyn Store, max_age: Duration) {
    let channel = fresh("C");
    let issue_id = fresh("I");
    s.save_alert(&issue_id, &alert(&channel, "age"))
        .await
        .unwrap();
    // Bounded polling: the alert must disappear once it is older than the bound.
    let deadline = tokio::time::Instant::now() + max_age + Duration::from_secs(30);
    loop {
        if s.find_alerts_for_issue(&issue_id, 10)
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "an alert older than the age bound is still returned"
        );
        tokio::time::sleep(max_age / 4).await;
    }
}

pub(crate) async fn drop_all_data_empties_the_store(s: &dyn Store) {
    let channel = fresh("C");
    s.save_issue(&issue(&channel, "doomed")).await.unwrap();
    s.save_move_mapping(&MoveMapping::new(
        "doomed",
        &channel,
        fresh("C"),
        MoveReason::Escalation,
    ))
    .await
    .unwrap();
    s.drop_all_data().await.unwrap();
    assert!(s.find_active_channels().await.unwrap().is_empty());
    assert_eq!(
        s.find_open_issue_by_correlation_id(&channel, "doomed")
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.find_move_mapping(&channel, "doomed").await.unwrap(), None);
    // The schema is still there.
    s.save_issue(&issue(&channel, "after")).await.unwrap();
}
