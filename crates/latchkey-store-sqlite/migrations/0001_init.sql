-- Latchkey store, schema version 1.
-- Times are INTEGER milliseconds since the Unix epoch (UTC); digests and sealed data are BLOBs.
-- Nothing here holds a secret in clear.

-- Recovery flows. The offered methods and the verified list are JSON arrays, kept in order.
CREATE TABLE flows (
    id               TEXT    NOT NULL PRIMARY KEY,
    intent           TEXT    NOT NULL,
    subject          TEXT    NOT NULL CHECK (subject IN ('user', 'decoy')),
    user_id          TEXT    NOT NULL,
    -- Only for real users; NULL for decoys.
    directory_key    TEXT,
    methods          TEXT    NOT NULL,
    methods_required INTEGER NOT NULL,
    verified         TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX flows_expires_at ON flows (expires_at);

-- Challenges inside a flow; the code_* columns are all NULL for kinds without a code.
CREATE TABLE challenges (
    id                TEXT    NOT NULL PRIMARY KEY,
    flow_id           TEXT    NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    method_id         TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    code_digest       BLOB,
    code_expires_at   INTEGER,
    code_attempts     INTEGER,
    code_max_attempts INTEGER,
    code_consumed     INTEGER,
    state             TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL
);
CREATE INDEX challenges_latest ON challenges (flow_id, method_id, created_at);

-- Registered verification methods.
CREATE TABLE methods (
    id                 TEXT    NOT NULL PRIMARY KEY,
    user_key           TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    label              TEXT    NOT NULL,
    destination_sealed BLOB    NOT NULL,
    hint               TEXT    NOT NULL,
    created_at         INTEGER NOT NULL
);
CREATE INDEX methods_user ON methods (user_key, created_at);

-- CAPTCHAs waiting for their answer.
CREATE TABLE captchas (
    id            TEXT    NOT NULL PRIMARY KEY,
    answer_digest BLOB    NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX captchas_expires_at ON captchas (expires_at);

-- Fixed-window rate counters, one row per key and window.
CREATE TABLE rate_counters (
    key          TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
CREATE INDEX rate_counters_expires_at ON rate_counters (expires_at);

-- The audit trail; seq orders events with the same timestamp.
CREATE TABLE audit_events (
    seq     INTEGER NOT NULL PRIMARY KEY,
    at      INTEGER NOT NULL,
    action  TEXT    NOT NULL,
    user_id TEXT,
    source  TEXT,
    flow_id TEXT,
    outcome TEXT    NOT NULL,
    decoy   INTEGER NOT NULL,
    detail  TEXT    NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
CREATE INDEX audit_events_flow ON audit_events (flow_id, at);

-- Messages queued for delivery; seq orders messages queued in the same millisecond.
CREATE TABLE outbox (
    seq             INTEGER NOT NULL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    channel         TEXT    NOT NULL,
    payload_sealed  BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    state           TEXT    NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE state = 'sent';

-- Remembered password hashes, to refuse reuse.
CREATE TABLE password_history (
    seq      INTEGER NOT NULL PRIMARY KEY,
    user_key TEXT    NOT NULL,
    phc      TEXT    NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_key, at);
