-- docflow schema v5 (PostgreSQL): the model's own entity spans of each tagged document,
-- JSON [[start, end, label], ...], so a change of the user's rules re-canonicalises the
-- stored documents without running the model again (`docflow reprocess`). NULL: tagged
-- before this version (those are re-tagged by the model).
ALTER TABLE documents ADD COLUMN IF NOT EXISTS raw_spans text;
