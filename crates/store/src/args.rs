//! Argument checks shared by every backend, so all of them reject the same inputs with the same messages.

use sm_core::{ChannelProcessingState, Issue, MoveMapping, StoreError};

/// `Err(InvalidArgument("<name> is empty"))` when `value` is empty.
pub(crate) fn non_empty(name: &str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::InvalidArgument(format!("{name} is empty")));
    }
    Ok(())
}

/// An issue must have an ID and a channel (its last alert's channel) to be stored.
pub(crate) fn issue(issue: &Issue) -> Result<(), StoreError> {
    non_empty("issue id", &issue.id)?;
    if issue.channel_id().is_empty() {
        return Err(StoreError::InvalidArgument(format!(
            "issue {} has an empty channel id (lastAlert.slackChannelId)",
            issue.id
        )));
    }
    Ok(())
}

/// The stored form of a version: a non-negative `i64`.
pub(crate) fn version_i64(issue: &Issue) -> Result<i64, StoreError> {
    i64::try_from(issue.version).map_err(|_| {
        StoreError::InvalidArgument(format!(
            "issue {} has version {} beyond the storable range",
            issue.id, issue.version
        ))
    })
}

/// Checks the arguments of `move_issue`.
pub(crate) fn move_issue(issue: &Issue, source: &str, target: &str) -> Result<(), StoreError> {
    self::issue(issue)?;
    non_empty("source_channel_id", source)?;
    non_empty("target_channel_id", target)?;
    if source == target {
        return Err(StoreError::InvalidArgument(format!(
            "cannot move issue {} from channel {source} to itself",
            issue.id
        )));
    }
    if issue.channel_id() != target {
        return Err(StoreError::InvalidArgument(format!(
            "issue {} is in channel {}, not in the move target {target}",
            issue.id,
            issue.channel_id()
        )));
    }
    Ok(())
}

/// A move mapping needs its key (original channel, correlation ID) and a target.
pub(crate) fn move_mapping(m: &MoveMapping) -> Result<(), StoreError> {
    non_empty("move mapping originalChannelId", &m.original_channel_id)?;
    non_empty("move mapping correlationId", &m.correlation_id)?;
    non_empty("move mapping targetChannelId", &m.target_channel_id)
}

/// A processing state needs its channel.
pub(crate) fn processing_state(s: &ChannelProcessingState) -> Result<(), StoreError> {
    non_empty("processing state channelId", &s.channel_id)
}
