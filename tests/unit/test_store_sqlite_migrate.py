"""Several processes migrating a new SQLite store at once apply each version once."""

from __future__ import annotations

import threading
from pathlib import Path

from tasks.store.migrations import migration_scripts
from tasks.store.sqlite import SQLiteStore


def test_four_stores_migrating_one_new_file_at_once_apply_each_version_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'docflow.db'}"
    start = threading.Barrier(4)
    errors: list[BaseException] = []
    versions: list[int] = []

    stores = [SQLiteStore(url) for _ in range(4)]
    for store in stores:  # each connection opened (WAL set) before the race on migrate
        assert store.conn is not None

    def migrate(store: SQLiteStore) -> None:
        try:
            start.wait()
            versions.append(store.migrate())
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=migrate, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    newest = migration_scripts("sqlite")[-1][0]
    assert errors == [] and versions == [newest] * 4
    store = SQLiteStore(url)
    try:
        applied = [r["version"] for r in store._read("SELECT version FROM schema_version")]
    finally:
        store.close()
    assert sorted(applied) == list(range(1, newest + 1))
