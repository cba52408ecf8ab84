"""The SQL of the store core's writes that both dialects run as written (`?` placeholders,
`ON CONFLICT` and `RETURNING` as SQLite 3.35+ and PostgreSQL both read them)."""

#: a new document, or nothing if its id (content hash) is stored already
INSERT_DOCUMENT = (
    "INSERT INTO documents (id, content_hash, source, format, part, raw, status, trace_id,"
    " created_at, updated_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
    " ON CONFLICT DO NOTHING RETURNING id"
)
#: a stage run begins: its lease (worker, task) and one more attempt
START_RUN = (
    "INSERT INTO stage_runs AS r (doc_id, stage, worker, task_id, started, attempts,"
    " batch_id, batch_size) VALUES (?, ?, ?, ?, ?, 1, ?, ?)"
    " ON CONFLICT (doc_id, stage) DO UPDATE SET"
    " worker = excluded.worker, task_id = excluded.task_id,"
    " started = excluded.started, duration_ms = NULL, error = NULL,"
    " batch_id = excluded.batch_id, batch_size = excluded.batch_size,"
    " attempts = r.attempts + 1 RETURNING attempts"
)
#: a stage run written whole, its outcome included (a run of a document that does not
#: exist is an error, as with a foreign key)
UPSERT_RUN = (
    "INSERT INTO stage_runs AS r (doc_id, stage, worker, task_id, started, duration_ms,"
    " attempts, error, batch_id, batch_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (doc_id, stage) DO UPDATE SET worker = excluded.worker,"
    " task_id = excluded.task_id, started = excluded.started,"
    " duration_ms = excluded.duration_ms,"
    " attempts = CASE WHEN r.attempts > excluded.attempts THEN r.attempts"
    " ELSE excluded.attempts END,"
    " error = excluded.error, batch_id = excluded.batch_id,"
    " batch_size = excluded.batch_size"
)
#: who owns a document's stage now: its status and the run's task id
OWNER = (
    "SELECT d.status, r.task_id FROM documents AS d LEFT JOIN stage_runs AS r"
    " ON r.doc_id = d.id AND r.stage = ? WHERE d.id = ?"
)
#: the columns a finished stage clears
DONE = "stage = NULL, last_error = NULL, updated_at = ?"
