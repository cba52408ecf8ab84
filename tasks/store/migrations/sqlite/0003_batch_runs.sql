-- the batch task a stage run ran in (its id and how many documents it held); NULL = alone
ALTER TABLE stage_runs ADD COLUMN batch_id TEXT;
ALTER TABLE stage_runs ADD COLUMN batch_size INTEGER;
