-- docflow schema v3 (PostgreSQL): what search filters, counts and finds (tasks.store.search).
-- The new columns are filled by the store from the parsed article (tasks.search.fields);
-- for rows already there, by this migration's Python step (SQLStore._fill_search_fields),
-- which also writes every indexed document's full-text row and entity pairs again: the
-- tsvector now holds the folded words of tasks.search.query.plain_words under the
-- 'simple' configuration (title A, body B, dateline and the article's own id C), as the
-- queries of to_tsquery() read them.
ALTER TABLE documents ADD COLUMN IF NOT EXISTS published_day text,
    ADD COLUMN IF NOT EXISTS dateline_key text, ADD COLUMN IF NOT EXISTS dateline_place text,
    ADD COLUMN IF NOT EXISTS language text;

-- an entity's folded name and aliases, one per line (tasks.search.fields.entity_keys)
ALTER TABLE entities ADD COLUMN IF NOT EXISTS keys text NOT NULL DEFAULT '';

-- the label filter (the entity filter reads mentions_entity; names: entities.keys)
DROP INDEX IF EXISTS mentions_canonical, mentions_text;
CREATE INDEX IF NOT EXISTS mentions_label ON mentions (label, doc_id);

-- each entity of an indexed document once: the entity and label facets count these
CREATE TABLE IF NOT EXISTS doc_entities (
    doc_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    entity_id text NOT NULL, label text NOT NULL, PRIMARY KEY (doc_id, entity_id)
);

-- the full-text row carries what search filters and sorts on (copied from the document
-- when it is indexed), so a search reads no `documents` row but the page's
ALTER TABLE documents_fts ADD COLUMN IF NOT EXISTS published text,
    ADD COLUMN IF NOT EXISTS published_day text, ADD COLUMN IF NOT EXISTS dateline_key text,
    ADD COLUMN IF NOT EXISTS dateline_place text, ADD COLUMN IF NOT EXISTS language text,
    ADD COLUMN IF NOT EXISTS format text;
