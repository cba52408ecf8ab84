-- docflow schema v7 (SQLite): one row of `mentions` per name a document writes (entity
-- id, label and surface form), with how often it occurs there; `start`/`end` are its
-- first occurrence (a document's every offset is in `documents.mentions`). Rows written
-- before this version stand for one occurrence each, so every count stays right.
ALTER TABLE mentions ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1;
