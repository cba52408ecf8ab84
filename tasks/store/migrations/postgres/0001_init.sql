-- docflow schema v1 (PostgreSQL). Runs with search_path set to the store's schema,
-- inside one transaction holding the migration advisory lock.
-- Times are Unix epoch seconds (double precision), as in the SQLite store.
CREATE TABLE IF NOT EXISTS documents (
    id           text PRIMARY KEY,
    content_hash text NOT NULL UNIQUE,
    source       text NOT NULL,
    format       text NOT NULL,
    part         integer NOT NULL DEFAULT 0,
    raw          text NOT NULL,
    status       text NOT NULL,
    stage        text,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    trace_id     text NOT NULL,
    created_at   double precision NOT NULL,
    updated_at   double precision NOT NULL,
    article      text,
    mentions     text,
    tag_version  text,
    title        text,
    published    text,
    indexed_at   double precision
);
CREATE INDEX IF NOT EXISTS documents_status ON documents (status, updated_at);
CREATE INDEX IF NOT EXISTS documents_indexed_at ON documents (indexed_at);
CREATE INDEX IF NOT EXISTS documents_created ON documents (created_at, id);
CREATE INDEX IF NOT EXISTS documents_id_prefix ON documents (id text_pattern_ops);

CREATE TABLE IF NOT EXISTS stage_runs (
    doc_id      text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    stage       text NOT NULL,
    worker      text,
    task_id     text,
    started     double precision,
    duration_ms double precision,
    attempts    integer NOT NULL DEFAULT 0,
    error       text,
    PRIMARY KEY (doc_id, stage)
);

CREATE TABLE IF NOT EXISTS mentions (
    doc_id    text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    start     integer NOT NULL,
    "end"     integer NOT NULL,
    text      text NOT NULL,
    label     text NOT NULL,
    canonical text NOT NULL,
    entity_id text NOT NULL
);
CREATE INDEX IF NOT EXISTS mentions_doc ON mentions (doc_id);
CREATE INDEX IF NOT EXISTS mentions_entity ON mentions (entity_id);
CREATE INDEX IF NOT EXISTS mentions_canonical ON mentions (lower(canonical));
CREATE INDEX IF NOT EXISTS mentions_text ON mentions (lower(text));

CREATE TABLE IF NOT EXISTS entities (
    id        text PRIMARY KEY,
    name      text NOT NULL,
    label     text NOT NULL,
    aliases   text[] NOT NULL DEFAULT '{}',
    documents integer NOT NULL DEFAULT 0,
    mentions  integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entities_rank ON entities (documents DESC, mentions DESC);
CREATE INDEX IF NOT EXISTS entities_label ON entities (label, documents DESC, mentions DESC);

-- The full-text index: what was indexed (title, body, shown in results) and a tsvector of
-- its words (title weight A, body B). The store builds tsv from the same word split that
-- query_terms() applies to queries, so "F-35" and "U.S." match however they are typed.
CREATE TABLE IF NOT EXISTS documents_fts (
    doc_id text PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    title  text NOT NULL DEFAULT '',
    body   text NOT NULL DEFAULT '',
    tsv    tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_fts_tsv ON documents_fts USING gin (tsv);

CREATE TABLE IF NOT EXISTS rejected_files (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source   text NOT NULL,
    stage    text NOT NULL,
    error    text NOT NULL,
    attempts integer NOT NULL DEFAULT 1,
    at       double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS rejected_files_at ON rejected_files (at);
