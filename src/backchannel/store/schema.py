"""The database schema, as numbered migrations: ``MIGRATIONS[n]`` brings a
database from version n to n + 1 (``PRAGMA user_version``). Never edit a
released migration; append a new one."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "UNREAD_COUNTS_REBUILD"]

_V1 = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE web_sessions (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
CREATE TABLE networks (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);
CREATE INDEX networks_user ON networks(user_id);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    network_id INTEGER NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    target_key TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    time TEXT NOT NULL,
    nick TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    counts INTEGER NOT NULL DEFAULT 0,
    highlight INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX events_user ON events(user_id, id);
CREATE INDEX events_target ON events(user_id, network_id, target_key, id);
CREATE VIRTUAL TABLE events_fts USING fts5(
    text, content='events', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TABLE read_markers (
    user_id INTEGER NOT NULL,
    network_id INTEGER NOT NULL,
    target_key TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    PRIMARY KEY (user_id, network_id, target_key)
) WITHOUT ROWID;
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID
"""

# Unread and mention counts per conversation, kept up to date as events are
# stored and markers move (so the counts never need a scan of the history),
# and as events are deleted (pruned, or with their network or user).
# A row exists for every conversation that ever had a counted event.
UNREAD_COUNTS_REBUILD = """INSERT OR REPLACE INTO unread_counts
    (user_id, network_id, target_key, unread, mentions)
SELECT e.user_id, e.network_id, e.target_key,
    COALESCE(SUM(e.id > COALESCE(m.cursor, 0)), 0),
    COALESCE(SUM(e.highlight AND e.id > COALESCE(m.cursor, 0)), 0)
FROM events e LEFT JOIN read_markers m
    ON m.user_id = e.user_id AND m.network_id = e.network_id AND m.target_key = e.target_key
WHERE e.counts = 1
GROUP BY e.user_id, e.network_id, e.target_key"""

_V2 = f"""
CREATE TABLE unread_counts (
    user_id INTEGER NOT NULL,
    network_id INTEGER NOT NULL,
    target_key TEXT NOT NULL,
    unread INTEGER NOT NULL DEFAULT 0,
    mentions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, network_id, target_key)
) WITHOUT ROWID;
{UNREAD_COUNTS_REBUILD};
CREATE TRIGGER unread_counts_user AFTER DELETE ON users BEGIN
    DELETE FROM unread_counts WHERE user_id = old.id; END;
CREATE TRIGGER unread_counts_network AFTER DELETE ON networks BEGIN
    DELETE FROM unread_counts WHERE user_id = old.user_id AND network_id = old.id; END;
CREATE TRIGGER unread_counts_event AFTER DELETE ON events WHEN old.counts = 1 BEGIN
    UPDATE unread_counts SET unread = unread - 1, mentions = mentions - old.highlight
    WHERE user_id = old.user_id AND network_id = old.network_id
    AND target_key = old.target_key AND old.id > COALESCE((SELECT cursor FROM read_markers
        WHERE user_id = old.user_id AND network_id = old.network_id
        AND target_key = old.target_key), 0); END
"""

# Bytes of stored event JSON per user, kept as events are stored and deleted,
# so the ``max_stored_bytes`` limit never needs a scan of the history.
_V3 = """
CREATE TABLE user_usage (
    user_id INTEGER PRIMARY KEY,
    bytes INTEGER NOT NULL DEFAULT 0
);
INSERT INTO user_usage (user_id, bytes)
SELECT user_id, SUM(length(CAST(data AS BLOB))) FROM events GROUP BY user_id;
CREATE TRIGGER user_usage_event AFTER DELETE ON events BEGIN
    UPDATE user_usage SET bytes = bytes - length(CAST(old.data AS BLOB))
    WHERE user_id = old.user_id; END;
CREATE TRIGGER user_usage_user AFTER DELETE ON users BEGIN
    DELETE FROM user_usage WHERE user_id = old.id; END
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
