-- docflow schema v6 (PostgreSQL): one row of `mentions` per name a document writes
-- (entity id, label and surface form), with how often it occurs there; `start`/`end` are
-- its first occurrence (a document's every offset is in `documents.mentions`). Rows
-- written before this version stand for one occurrence each, so every count stays right.
ALTER TABLE mentions ADD COLUMN IF NOT EXISTS occurrences integer NOT NULL DEFAULT 1;
