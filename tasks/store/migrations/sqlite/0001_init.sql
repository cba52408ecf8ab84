-- docflow schema v1 (SQLite)
CREATE TABLE IF NOT EXISTS documents (
    id           TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    source       TEXT NOT NULL,
    format       TEXT NOT NULL,
    part         INTEGER NOT NULL DEFAULT 0,
    raw          TEXT NOT NULL,
    status       TEXT NOT NULL,
    stage        TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    trace_id     TEXT NOT NULL,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL,
    article      TEXT,
    mentions     TEXT,
    tag_version  TEXT,
    title        TEXT,
    published    TEXT,
    indexed_at   REAL
);
CREATE INDEX IF NOT EXISTS documents_status ON documents (status, updated_at);
CREATE INDEX IF NOT EXISTS documents_indexed_at ON documents (indexed_at);

CREATE TABLE IF NOT EXISTS stage_runs (
    doc_id      TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    stage       TEXT NOT NULL,
    worker      TEXT,
    task_id     TEXT,
    started     REAL,
    duration_ms REAL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    PRIMARY KEY (doc_id, stage)
);

CREATE TABLE IF NOT EXISTS mentions (
    doc_id    TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    start     INTEGER NOT NULL,
    "end"     INTEGER NOT NULL,
    text      TEXT NOT NULL,
    label     TEXT NOT NULL,
    canonical TEXT NOT NULL,
    entity_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mentions_doc ON mentions (doc_id);
CREATE INDEX IF NOT EXISTS mentions_entity ON mentions (entity_id);
CREATE INDEX IF NOT EXISTS mentions_canonical ON mentions (canonical COLLATE NOCASE);

CREATE TABLE IF NOT EXISTS entities (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    label     TEXT NOT NULL,
    aliases   TEXT NOT NULL DEFAULT '[]',
    documents INTEGER NOT NULL DEFAULT 0,
    mentions  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entities_rank ON entities (documents DESC, mentions DESC);

CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5 (
    doc_id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE IF NOT EXISTS rejected_files (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    source   TEXT NOT NULL,
    stage    TEXT NOT NULL,
    error    TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    at       REAL NOT NULL
);
