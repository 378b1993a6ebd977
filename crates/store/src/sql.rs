//! What the SQL backends share: statements, body encoding, and the [`Store`](sm_core::Store)
//! methods whose SQL is the same for SQLite and PostgreSQL.
//!
//! Statements use `$N` parameters, which both drivers accept. Issue bodies are stored without the
//! `version` key; the `version` column is authoritative and is copied into each decoded issue.
//! Alert timestamps additionally go to an integer nanosecond column (`stored_at_ns`) used only for
//! the age bound; the exact value is in the JSON body.

use chrono::{DateTime, Utc};
use sm_core::{Issue, StoreError, StoredAlert};

pub(crate) const UPSERT_ISSUE_LWW: &str = "INSERT INTO issues \
    (id, channel_id, correlation_id, post_id, archived, version, body) \
    VALUES ($1, $2, $3, $4, $5, 1, $6) \
    ON CONFLICT (id) DO UPDATE SET channel_id = excluded.channel_id, \
    correlation_id = excluded.correlation_id, post_id = excluded.post_id, \
    archived = excluded.archived, body = excluded.body, version = issues.version + 1 \
    RETURNING version";

pub(crate) const UPDATE_ISSUE_VERSIONED: &str = "UPDATE issues SET channel_id = $2, \
    correlation_id = $3, post_id = $4, archived = $5, body = $6, version = version + 1 \
    WHERE id = $1 AND version = $7 RETURNING version";

pub(crate) const SELECT_ISSUE_VERSION: &str = "SELECT version FROM issues WHERE id = $1";

pub(crate) const FIND_OPEN_BY_CORRELATION: &str = "SELECT id, version, body FROM issues \
    WHERE channel_id = $1 AND correlation_id = $2 AND NOT archived";

pub(crate) const FIND_BY_POST: &str =
    "SELECT id, version, body FROM issues WHERE channel_id = $1 AND post_id = $2";

pub(crate) const ACTIVE_CHANNELS: &str =
    "SELECT DISTINCT channel_id FROM issues WHERE NOT archived ORDER BY channel_id";

pub(crate) const OPEN_IN_CHANNEL: &str = "SELECT id, version, body FROM issues \
    WHERE channel_id = $1 AND NOT archived ORDER BY id";

pub(crate) const UPSERT_MAPPING: &str = "INSERT INTO move_mappings \
    (channel_id, correlation_id, body) VALUES ($1, $2, $3) \
    ON CONFLICT (channel_id, correlation_id) DO UPDATE SET body = excluded.body";

pub(crate) const FIND_MAPPING: &str =
    "SELECT body FROM move_mappings WHERE channel_id = $1 AND correlation_id = $2";

pub(crate) const DELETE_MAPPING: &str =
    "DELETE FROM move_mappings WHERE channel_id = $1 AND correlation_id = $2";

pub(crate) const UPSERT_STATE: &str = "INSERT INTO processing_states (channel_id, body) \
    VALUES ($1, $2) ON CONFLICT (channel_id) DO UPDATE SET body = excluded.body";

pub(crate) const FIND_STATE: &str = "SELECT body FROM processing_states WHERE channel_id = $1";

pub(crate) const INSERT_ALERT: &str =
    "INSERT INTO alerts (issue_id, stored_at_ns, body) VALUES ($1, $2, $3)";

/// Deletes all but the newest `$2 + 1` alerts of issue `$1`.
pub(crate) const PRUNE_ALERTS_BY_COUNT: &str = "DELETE FROM alerts WHERE issue_id = $1 \
    AND seq < (SELECT seq FROM alerts WHERE issue_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)";

pub(crate) const PRUNE_ALERTS_BY_AGE: &str = "DELETE FROM alerts WHERE stored_at_ns < $1";

pub(crate) const FIND_ALERTS: &str = "SELECT body FROM alerts \
    WHERE issue_id = $1 AND stored_at_ns >= $2 ORDER BY seq DESC LIMIT $3";

pub(crate) const DROP_ALL: [&str; 4] = [
    "DELETE FROM issues",
    "DELETE FROM move_mappings",
    "DELETE FROM processing_states",
    "DELETE FROM alerts",
];

/// The columns an issue is stored with.
pub(crate) struct IssueRow {
    pub(crate) version: i64,
    pub(crate) body: String,
}

/// Serialises an issue without its `version` key (the column holds it).
pub(crate) fn issue_row(issue: &Issue) -> Result<IssueRow, StoreError> {
    crate::args::issue(issue)?;
    let version = crate::args::version_i64(issue)?;
    let body = if issue.version == 0 {
        serde_json::to_string(issue)
    } else {
        let mut copy = issue.clone();
        copy.version = 0;
        serde_json::to_string(&copy)
    }
    .map_err(|e| StoreError::backend(format!("encoding issue {}", issue.id), e))?;
    Ok(IssueRow { version, body })
}

/// Decodes a stored issue and sets its version from the column.
pub(crate) fn decode_issue(id: &str, version: i64, body: &str) -> Result<Issue, StoreError> {
    let mut issue: Issue = serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
        kind: "issue",
        id: id.to_owned(),
        source,
    })?;
    issue.version = u64::try_from(version).unwrap_or(0);
    Ok(issue)
}

/// Decodes the rows of an issue query.
pub(crate) fn decode_issues(rows: Vec<(String, i64, String)>) -> Result<Vec<Issue>, StoreError> {
    rows.iter()
        .map(|(id, version, body)| decode_issue(id, *version, body))
        .collect()
}

/// Zero or one issue, else [`StoreError::Ambiguous`].
pub(crate) fn at_most_one(
    rows: Vec<(String, i64, String)>,
    channel_id: &str,
    what: impl FnOnce() -> String,
) -> Result<Option<Issue>, StoreError> {
    match rows.as_slice() {
        [] => Ok(None),
        [(id, version, body)] => decode_issue(id, *version, body).map(Some),
        _ => Err(StoreError::Ambiguous {
            channel_id: channel_id.to_owned(),
            what: what(),
            count: rows.len(),
        }),
    }
}

/// Decodes a JSON body of kind `kind` keyed by `id`.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    id: &str,
    body: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
        kind,
        id: id.to_owned(),
        source,
    })
}

/// A `map_err` adapter making a [`StoreError::Backend`]; `context` is formatted only on failure.
pub(crate) fn failed<E: Into<sm_core::BoxError>>(
    context: impl FnOnce() -> String,
) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError::backend(context(), e)
}

/// Encodes a JSON body.
pub(crate) fn encode_json<T: serde::Serialize>(
    what: &str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::backend(format!("encoding {what}"), e))
}

/// Unix nanoseconds of `t`, saturated to the `i64` range.
pub(crate) fn unix_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// A stored alert and its body.
pub(crate) fn alert_row(
    issue_id: &str,
    alert: &sm_core::IssueAlert,
) -> Result<(i64, String), StoreError> {
    let stored = StoredAlert {
        issue_id: issue_id.to_owned(),
        stored_at: Utc::now(),
        alert: alert.clone(),
    };
    let body = encode_json(&format!("alert of issue {issue_id}"), &stored)?;
    Ok((unix_nanos(stored.stored_at), body))
}

/// Implements [`sm_core::Store`] for a SQL store type with fields `pool` and `retention`, given its
/// connection type. The type provides inherent `run_init(&self, bool)` and
/// `save_batch(&self, &[Issue])` (which can end in `save_each_and_commit`); everything else is
/// generated here.
macro_rules! impl_sql_store {
    ($store:ty, $conn:ty) => {
        impl $store {
            /// Saves one issue with the version rule on `conn`; returns the new version.
            async fn save_one(
                conn: &mut $conn,
                issue: &sm_core::Issue,
            ) -> Result<u64, sm_core::StoreError> {
                use crate::sql;
                let row = sql::issue_row(issue)?;
                let context = || format!("saving issue {}", issue.id);
                let new_version: Option<i64> = if issue.version == 0 {
                    sqlx::query_scalar(sql::UPSERT_ISSUE_LWW)
                        .bind(&issue.id)
                        .bind(issue.channel_id())
                        .bind(&issue.correlation_id)
                        .bind(&issue.slack_post_id)
                        .bind(issue.archived)
                        .bind(&row.body)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(sql::failed(context))?
                } else {
                    sqlx::query_scalar(sql::UPDATE_ISSUE_VERSIONED)
                        .bind(&issue.id)
                        .bind(issue.channel_id())
                        .bind(&issue.correlation_id)
                        .bind(&issue.slack_post_id)
                        .bind(issue.archived)
                        .bind(&row.body)
                        .bind(row.version)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(sql::failed(context))?
                };
                if let Some(v) = new_version {
                    return Ok(u64::try_from(v).unwrap_or(0));
                }
                let actual: Option<i64> = sqlx::query_scalar(sql::SELECT_ISSUE_VERSION)
                    .bind(&issue.id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(sql::failed(context))?;
                Err(sm_core::StoreError::VersionConflict {
                    issue_id: issue.id.clone(),
                    expected: issue.version,
                    actual: actual.and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
                })
            }

            /// Saves one issue on a pooled connection.
            async fn save_pooled(&self, issue: &sm_core::Issue) -> Result<u64, sm_core::StoreError> {
                let mut conn = self
                    .pool
                    .acquire()
                    .await
                    .map_err(crate::sql::failed(|| format!("saving issue {}", issue.id)))?;
                Self::save_one(&mut conn, issue).await
            }

            /// Saves `issues` in order inside `tx`, then commits. Not atomic by contract: a version
            /// conflict or an invalid issue commits the issues saved before it and returns its
            /// error; any other error rolls the transaction back.
            async fn save_each_and_commit(
                mut tx: sqlx::Transaction<'_, <$conn as sqlx::Connection>::Database>,
                issues: &[sm_core::Issue],
            ) -> Result<Vec<u64>, sm_core::StoreError> {
                use sm_core::StoreError;
                let context = || format!("saving {} issues", issues.len());
                let mut versions = Vec::with_capacity(issues.len());
                for issue in issues {
                    match Self::save_one(&mut tx, issue).await {
                        Ok(v) => versions.push(v),
                        Err(
                            e @ (StoreError::VersionConflict { .. }
                            | StoreError::InvalidArgument(_)),
                        ) => {
                            tx.commit().await.map_err(crate::sql::failed(context))?;
                            return Err(e);
                        }
                        Err(e) => return Err(e),
                    }
                }
                tx.commit().await.map_err(crate::sql::failed(context))?;
                Ok(versions)
            }

            /// Runs `statement` with the text parameters `params` on the pool.
            async fn execute_text(
                &self,
                statement: &'static str,
                params: &[&str],
                context: impl FnOnce() -> String,
            ) -> Result<(), sm_core::StoreError> {
                let mut query = sqlx::query(statement);
                for param in params {
                    query = query.bind(*param);
                }
                query
                    .execute(&self.pool)
                    .await
                    .map_err(crate::sql::failed(context))?;
                Ok(())
            }

            /// The issue rows (`id`, `version`, `body`) that `statement` selects with the text
            /// parameters `params`.
            async fn issue_rows(
                &self,
                statement: &'static str,
                params: &[&str],
                context: impl FnOnce() -> String,
            ) -> Result<Vec<(String, i64, String)>, sm_core::StoreError> {
                let mut query = sqlx::query_as(statement);
                for param in params {
                    query = query.bind(*param);
                }
                query
                    .fetch_all(&self.pool)
                    .await
                    .map_err(crate::sql::failed(context))
            }

            /// The JSON body that `statement` selects with the text parameters `params`, if a row
            /// matches.
            async fn body(
                &self,
                statement: &'static str,
                params: &[&str],
                context: impl FnOnce() -> String,
            ) -> Result<Option<String>, sm_core::StoreError> {
                let mut query = sqlx::query_scalar(statement);
                for param in params {
                    query = query.bind(*param);
                }
                query
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(crate::sql::failed(context))
            }
        }

        #[async_trait::async_trait]
        impl sm_core::Store for $store {
            async fn init(&self, skip_schema_validation: bool) -> Result<(), sm_core::StoreError> {
                self.run_init(skip_schema_validation).await
            }

            async fn save_alert(
                &self,
                issue_id: &str,
                alert: &sm_core::IssueAlert,
            ) -> Result<(), sm_core::StoreError> {
                use crate::sql;
                crate::args::non_empty("issue_id", issue_id)?;
                let context = || format!("saving an alert of issue {issue_id}");
                if let Some(cutoff) = self.retention.cutoff(chrono::Utc::now()) {
                    sqlx::query(sql::PRUNE_ALERTS_BY_AGE)
                        .bind(sql::unix_nanos(cutoff))
                        .execute(&self.pool)
                        .await
                        .map_err(sql::failed(context))?;
                }
                let keep = self.retention.max_per_issue;
                if keep == 0 {
                    return Ok(());
                }
                let (stored_at_ns, body) = sql::alert_row(issue_id, alert)?;
                sqlx::query(sql::INSERT_ALERT)
                    .bind(issue_id)
                    .bind(stored_at_ns)
                    .bind(&body)
                    .execute(&self.pool)
                    .await
                    .map_err(sql::failed(context))?;
                sqlx::query(sql::PRUNE_ALERTS_BY_COUNT)
                    .bind(issue_id)
                    .bind(i64::try_from(keep - 1).unwrap_or(i64::MAX))
                    .execute(&self.pool)
                    .await
                    .map_err(sql::failed(context))?;
                Ok(())
            }

            async fn save_issue(&self, issue: &sm_core::Issue) -> Result<u64, sm_core::StoreError> {
                self.save_pooled(issue).await
            }

            async fn save_issues(
                &self,
                issues: &[sm_core::Issue],
            ) -> Result<Vec<u64>, sm_core::StoreError> {
                match issues {
                    [] => Ok(Vec::new()),
                    [one] => Ok(vec![self.save_pooled(one).await?]),
                    _ => self.save_batch(issues).await,
                }
            }

            async fn move_issue(
                &self,
                issue: &sm_core::Issue,
                source_channel_id: &str,
                target_channel_id: &str,
            ) -> Result<u64, sm_core::StoreError> {
                crate::args::move_issue(issue, source_channel_id, target_channel_id)?;
                self.save_pooled(issue).await
            }

            async fn find_open_issue_by_correlation_id(
                &self,
                channel_id: &str,
                correlation_id: &str,
            ) -> Result<Option<sm_core::Issue>, sm_core::StoreError> {
                crate::args::non_empty("channel_id", channel_id)?;
                crate::args::non_empty("correlation_id", correlation_id)?;
                let rows = self
                    .issue_rows(
                        crate::sql::FIND_OPEN_BY_CORRELATION,
                        &[channel_id, correlation_id],
                        || {
                            format!(
                                "finding the open issue with correlation id {correlation_id} in channel {channel_id}"
                            )
                        },
                    )
                    .await?;
                crate::sql::at_most_one(rows, channel_id, || {
                    format!("correlation id {correlation_id}")
                })
            }

            async fn find_issue_by_slack_post_id(
                &self,
                channel_id: &str,
                post_id: &str,
            ) -> Result<Option<sm_core::Issue>, sm_core::StoreError> {
                crate::args::non_empty("channel_id", channel_id)?;
                crate::args::non_empty("post_id", post_id)?;
                let rows = self
                    .issue_rows(crate::sql::FIND_BY_POST, &[channel_id, post_id], || {
                        format!("finding the issue of post {post_id} in channel {channel_id}")
                    })
                    .await?;
                crate::sql::at_most_one(rows, channel_id, || format!("post id {post_id}"))
            }

            async fn find_active_channels(&self) -> Result<Vec<String>, sm_core::StoreError> {
                sqlx::query_scalar(crate::sql::ACTIVE_CHANNELS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| sm_core::StoreError::backend("finding active channels", e))
            }

            async fn load_open_issues_in_channel(
                &self,
                channel_id: &str,
            ) -> Result<Vec<sm_core::Issue>, sm_core::StoreError> {
                crate::args::non_empty("channel_id", channel_id)?;
                let rows = self
                    .issue_rows(crate::sql::OPEN_IN_CHANNEL, &[channel_id], || {
                        format!("loading the open issues of channel {channel_id}")
                    })
                    .await?;
                crate::sql::decode_issues(rows)
            }

            async fn save_move_mapping(
                &self,
                mapping: &sm_core::MoveMapping,
            ) -> Result<(), sm_core::StoreError> {
                crate::args::move_mapping(mapping)?;
                let what = format!(
                    "move mapping of correlation id {} in channel {}",
                    mapping.correlation_id, mapping.original_channel_id
                );
                let body = crate::sql::encode_json(&what, mapping)?;
                let params = [
                    mapping.original_channel_id.as_str(),
                    mapping.correlation_id.as_str(),
                    body.as_str(),
                ];
                self.execute_text(crate::sql::UPSERT_MAPPING, &params, || {
                    format!("saving {what}")
                })
                .await
            }

            async fn find_move_mapping(
                &self,
                channel_id: &str,
                correlation_id: &str,
            ) -> Result<Option<sm_core::MoveMapping>, sm_core::StoreError> {
                crate::args::non_empty("channel_id", channel_id)?;
                crate::args::non_empty("correlation_id", correlation_id)?;
                let body = self
                    .body(crate::sql::FIND_MAPPING, &[channel_id, correlation_id], || {
                        format!(
                            "finding the move mapping of correlation id {correlation_id} in channel {channel_id}"
                        )
                    })
                    .await?;
                body.map(|b| {
                    crate::sql::decode_json(
                        "move mapping",
                        &format!("{channel_id}/{correlation_id}"),
                        &b,
                    )
                })
                .transpose()
            }

            async fn delete_move_mapping(
                &self,
                channel_id: &str,
                correlation_id: &str,
            ) -> Result<(), sm_core::StoreError> {
                crate::args::non_empty("channel_id", channel_id)?;
                crate::args::non_empty("correlation_id", correlation_id)?;
                self.execute_text(crate::sql::DELETE_MAPPING, &[channel_id, correlation_id], || {
                    format!(
                        "deleting the move mapping of correlation id {correlation_id} in channel {channel_id}"
                    )
                })
                .await
            }

            async fn save_channel_processing_state(
                &self,
                state: &sm_core::ChannelProcessingState,
            ) -> Result<(), sm_core::StoreError> {
                crate::args::processing_state(state)?;
                let what = format!("processing state of channel {}", state.channel_id);
                let body = crate::sql::encode_json(&what, state)?;
                self.execute_text(crate::sql::UPSERT_STATE, &[state.channel_id.as_str(), body.as_str()], || {
                    format!("saving {what}")
                })
                .await
            }

            async fn find_channel_processing_state(
                &self,
                channel_id: &str,
            ) -> Result<Option<sm_core::ChannelProcessingState>, sm_core::StoreError> {
                crate::args::non_empty("channel_id", channel_id)?;
                let body = self
                    .body(crate::sql::FIND_STATE, &[channel_id], || {
                        format!("finding the processing state of channel {channel_id}")
                    })
                    .await?;
                body.map(|b| crate::sql::decode_json("processing state", channel_id, &b))
                    .transpose()
            }

            async fn find_alerts_for_issue(
                &self,
                issue_id: &str,
                limit: usize,
            ) -> Result<Vec<sm_core::StoredAlert>, sm_core::StoreError> {
                crate::args::non_empty("issue_id", issue_id)?;
                let min_ns = self
                    .retention
                    .cutoff(chrono::Utc::now())
                    .map_or(i64::MIN, crate::sql::unix_nanos);
                let bodies: Vec<String> = sqlx::query_scalar(crate::sql::FIND_ALERTS)
                    .bind(issue_id)
                    .bind(min_ns)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(crate::sql::failed(|| {
                        format!("finding the alerts of issue {issue_id}")
                    }))?;
                bodies
                    .iter()
                    .rev()
                    .map(|b| crate::sql::decode_json("alert of issue", issue_id, b))
                    .collect()
            }

            async fn drop_all_data(&self) -> Result<(), sm_core::StoreError> {
                for statement in crate::sql::DROP_ALL {
                    sqlx::query(statement)
                        .execute(&self.pool)
                        .await
                        .map_err(|e| sm_core::StoreError::backend("dropping all data", e))?;
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_sql_store;
