-- the batch task a stage run ran in (its id and how many documents it held); NULL = alone
ALTER TABLE stage_runs ADD COLUMN IF NOT EXISTS batch_id text;
ALTER TABLE stage_runs ADD COLUMN IF NOT EXISTS batch_size integer;
