-- Users of the embedded directory and their argon2id password hashes.
--
-- The `*_norm` columns hold the names as `UserId` normalises what people type (NFKC, trimmed,
-- lower case), computed in Rust: SQLite's own lower() and NOCASE fold ASCII only. Times are
-- milliseconds since the Unix epoch, from the directory's clock.
CREATE TABLE users (
    user_key TEXT PRIMARY KEY NOT NULL,
    login TEXT NOT NULL,
    login_norm TEXT NOT NULL UNIQUE,
    account_name TEXT NOT NULL,
    account_norm TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    given_name TEXT,
    surname TEXT,
    email TEXT,
    email_norm TEXT,
    password_hash TEXT NOT NULL,
    password_changed_at INTEGER NOT NULL,
    must_change INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    bad_password_count INTEGER NOT NULL DEFAULT 0,
    locked_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Email is not unique (a shared mailbox may front several accounts), but it is searched.
CREATE INDEX users_email_norm ON users (email_norm);

CREATE TABLE user_groups (
    user_key TEXT NOT NULL REFERENCES users (user_key) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (user_key, group_name)
) STRICT;
