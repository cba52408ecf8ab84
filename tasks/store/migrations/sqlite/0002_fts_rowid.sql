-- docflow schema v2 (SQLite): the full-text row of a document shares its rowid, so
-- re-indexing one document deletes its row by key instead of scanning the whole index
CREATE TEMP TABLE fts_copy AS SELECT doc_id, title, body FROM documents_fts;
DELETE FROM documents_fts;
INSERT INTO documents_fts (rowid, doc_id, title, body)
    SELECT d.rowid, c.doc_id, c.title, c.body FROM fts_copy AS c JOIN documents AS d ON d.id = c.doc_id;
DROP TABLE fts_copy
