"""`docflow bench`: the whole pipeline measured end to end, against raw spaCy on the same texts.

Self-contained: a temporary folder holds the data dir (store, logs, processed, failed),
the watched inbox and the embedded Redis (a private one on a free port); a PostgreSQL
store gets a private database created for the run and dropped afterwards. Nothing of
the user's data, broker or configuration is touched, and everything is stopped and
removed at the end (even on Ctrl-C or SIGTERM) unless `keep` is set. The run's settings
are built explicitly (`environment.private_settings`) and handed to its processes in
their environment: the caller's own environment is never changed.

The run, in order:

1. **corpus**: generated articles (`workers.tools.corpus`) or the files of a folder; every file's
   expected documents are computed with the same pure functions ingest uses
   (`split_file`, `content_hash`), and every article is parsed for the baseline.
2. **baseline**: the same spaCy model with the same components (tok2vec + ner, loaded by
   `tasks.tag.load_pipeline`) over the same parsed texts, `nlp.pipe` in N spawned
   processes pulling from one shared counter; the clock starts once every process has
   loaded its model. It runs again right after the burst (the machine slows down under
   sustained load); the ratio uses the mean of the two runs. A third run alternates
   `nlp.pipe` with one model call per text (as a worker taking one document per message
   must call it) and reports what that costs; `ratio_ceiling` is the ratio the pipeline
   would reach if its workers did nothing but that call, with the watcher's, Celery main
   process's and Redis's measured CPU per document added.
3. **stack**: `LocalStack` (embedded Redis + a Celery worker with N pool processes) and
   `docflow watch INBOX` as a subprocess; a few warm-up files go through first.
4. **burst**: every corpus file is written under a temporary name and renamed into the
   inbox; throughput is documents / (last `indexed_at` - first drop). Per-process RSS
   and CPU are sampled every second; Redis command counts are read before and after.
5. **trickle**: probe files dropped one at a time, each waited for until `store.search`
   finds its unique word: drop-to-searchable latency at low load.
6. **search**: realistic queries (names, places, words from the corpus) over the store.
7. **accounting**: every expected document indexed exactly once (`lost`, `failed`,
   `duplicated`), per-stage durations from `stage_runs`, per-task durations and log
   volume from the worker log.
"""
