-- docflow schema v5 (SQLite): facets read narrow rows keyed by integers.
-- Reading a column of an FTS5 row reads its whole stored record, the body included, so a
-- search that matched thousands of documents spent most of its time there. The match
-- now yields full-text rowids only (the document's rowid) and joins `search_rows`, a
-- narrow copy of what search filters, sorts and counts on; the entity pairs and each
-- document's labels are keyed by the same integer. The full-text table keeps only the
-- text it indexes (the filter columns it copied live in search_rows now). This
-- migration's Python step (tasks.store.refill) writes these rows again for every indexed
-- document.
CREATE TABLE IF NOT EXISTS search_rows (
    rowid          INTEGER PRIMARY KEY,  -- the document's rowid and its full-text row's
    doc_id         TEXT NOT NULL UNIQUE,
    published      TEXT,
    published_day  TEXT,
    dateline_key   TEXT,
    dateline_place TEXT,
    language       TEXT,
    format         TEXT
);
DROP TABLE IF EXISTS doc_entities;
-- each entity of an indexed document once: the entity facet counts these
CREATE TABLE doc_entities (
    doc       INTEGER NOT NULL,  -- search_rows.rowid
    entity_id TEXT NOT NULL,
    label     TEXT NOT NULL,
    PRIMARY KEY (doc, entity_id)
) WITHOUT ROWID;
-- each label of an indexed document once: the label facet counts these
CREATE TABLE IF NOT EXISTS doc_labels (
    doc   INTEGER NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (doc, label)
) WITHOUT ROWID;
DROP TABLE IF EXISTS documents_fts;
CREATE VIRTUAL TABLE documents_fts USING fts5 (
    title, body, meta, tokenize = 'unicode61 remove_diacritics 2'
);
