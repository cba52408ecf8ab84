-- docflow schema v4 (PostgreSQL): each label of an indexed document once, so the label
-- facet counts a few rows per document instead of a distinct count over every entity
-- pair. This migration's Python step (SQLStore._fill_search_fields) writes them for every
-- indexed document.
CREATE TABLE IF NOT EXISTS doc_labels (
    doc_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    label text NOT NULL,
    PRIMARY KEY (doc_id, label)
);

-- the entity facet reads (entity_id, label) of each matched document from the index
-- alone (SQLite's doc_entities is clustered by document already)
CREATE INDEX IF NOT EXISTS doc_entities_cover ON doc_entities (doc_id) INCLUDE (entity_id, label);
