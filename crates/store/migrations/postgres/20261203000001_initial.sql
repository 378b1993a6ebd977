-- Issues: JSON body (Go field names, without "version") plus the columns the store queries by.
-- The body is TEXT, not JSONB, so it is stored byte for byte as written.
CREATE TABLE IF NOT EXISTS issues (
    id             TEXT    PRIMARY KEY,
    channel_id     TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    post_id        TEXT    NOT NULL,
    archived       BOOLEAN NOT NULL,
    version        BIGINT  NOT NULL,
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
    channel_id TEXT PRIMARY KEY,
    body       TEXT NOT NULL
);

-- Alert history: seq orders alerts; stored_at_ns serves the age bound only (the body has the exact time).
CREATE TABLE IF NOT EXISTS alerts (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id     TEXT   NOT NULL,
    stored_at_ns BIGINT NOT NULL,
    body         TEXT   NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_issue ON alerts (issue_id, seq);
CREATE INDEX IF NOT EXISTS alerts_by_age ON alerts (stored_at_ns);
