-- docflow schema v4 (SQLite): what search filters, counts and finds (tasks.store.search).
-- The new columns are filled by the store from the parsed article (tasks.search.fields);
-- for rows already there, by this migration's Python step (SQLStore._fill_search_fields),
-- which also writes every indexed document's full-text row and entity pairs again.
ALTER TABLE documents ADD COLUMN published_day TEXT;
ALTER TABLE documents ADD COLUMN dateline_key TEXT;
ALTER TABLE documents ADD COLUMN dateline_place TEXT;
ALTER TABLE documents ADD COLUMN language TEXT;
-- an entity's folded name and aliases, one per line (tasks.search.fields.entity_keys)
ALTER TABLE entities ADD COLUMN keys TEXT NOT NULL DEFAULT '';
-- the label filter; the entity filter reads mentions_entity (canonical names: entities.keys)
DROP INDEX IF EXISTS mentions_canonical;
CREATE INDEX IF NOT EXISTS mentions_label ON mentions (label, doc_id);
-- each entity of an indexed document once: the entity and label facets count these
CREATE TABLE IF NOT EXISTS doc_entities (
    doc_id    TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    entity_id TEXT NOT NULL,
    label     TEXT NOT NULL,
    PRIMARY KEY (doc_id, entity_id)
) WITHOUT ROWID;
-- the full-text row carries what search filters and sorts on (copied from the document
-- when it is indexed), so a search reads no `documents` row but the page's; `meta` is
-- the dateline and the article's own id, searchable
DROP TABLE documents_fts;
CREATE VIRTUAL TABLE documents_fts USING fts5 (
    doc_id UNINDEXED, published UNINDEXED, published_day UNINDEXED, dateline_key UNINDEXED,
    dateline_place UNINDEXED, language UNINDEXED, format UNINDEXED,
    title, body, meta, tokenize = 'unicode61 remove_diacritics 2'
)
