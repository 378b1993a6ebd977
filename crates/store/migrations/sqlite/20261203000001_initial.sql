-- Issues: JSON body (Go field names, without "version") plus the columns the store queries by.
CREATE TABLE IF NOT EXISTS issues (
    id             TEXT    PRIMARY KEY NOT NULL,
    channel_id     TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    post_id        TEXT    NOT NULL,
    archived       BOOLEAN NOT NULL,
    version        INTEGER NOT NULL,
    body           TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS issues_open_by_correlation ON issues (channel_id, correlation_id) WHERE NOT archived;
CREATE INDEX IF NOT EXISTS issues_by_post ON issues (channel_id, post_id);
CREATE INDEX IF NOT EXISTS issues_open_by_channel ON issues (channel_id) WHERE NOT archived;

CREATE TABLE IF NOT EXISTS move_mappings (
    channel_id     TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    body           TEXT NOT NULL,
    PRIMARY KEY (channel_id, correlation_id)
);

CREATE TABLE IF NOT EXISTS processing_states (
    channel_id TEXT PRIMARY KEY NOT NULL,
    body       TEXT NOT NULL
);

-- Alert history: seq orders alerts; stored_at_ns serves the age bound only (the body has the exact time).
CREATE TABLE IF NOT EXISTS alerts (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id     TEXT    NOT NULL,
    stored_at_ns INTEGER NOT NULL,
    body         TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_issue ON alerts (issue_id, seq);
CREATE INDEX IF NOT EXISTS alerts_by_age ON alerts (stored_at_ns);
