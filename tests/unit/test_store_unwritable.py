"""A SQLite store that cannot be written right now (read-only, full, unopenable) is retryable.

The watcher and the stages wait on StoreUnavailable and retry; any other error crash-loops
them. Each case here is a real SQLite file in a temporary folder made unwritable for real.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tasks.errors import RetryableError, StoreUnavailable
from tasks.store import open_store
from tasks.store.sqlite import SQLiteStore


def sqlite(path: Path) -> SQLiteStore:
    store = open_store(f"sqlite:///{path}")
    assert isinstance(store, SQLiteStore)
    return store


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """`chattr +i`: not even root can write the file (file modes do not stop root)."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run([chattr, "+i", *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a file immutable here (needs root on ext4/xfs): {done.stderr}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", *map(str, paths)], check=True)


def test_a_full_disk_is_retryable_names_the_file_and_recovers_when_space_returns(
    tmp_path: Path,
) -> None:
    # Given a store whose file may not grow by one more page (as on a full disk)
    db = tmp_path / "docflow.db"
    store = sqlite(db)
    (pages,) = store.conn.execute("PRAGMA page_count").fetchone()
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    # When a rejected file is recorded (the watcher's write)
    with pytest.raises(StoreUnavailable) as caught:
        store.record_rejected("big.txt", "x" * 100_000)
    # Then the error is retryable and says which file and what to do
    assert isinstance(caught.value, RetryableError)
    message = caught.value.describe()
    assert str(db) in message and "full" in message and "free space" in message, message
    # And once there is room again the same store writes, with nothing half-written
    store.conn.execute(f"PRAGMA max_page_count = {pages * 1000}")
    store.record_rejected("big.txt", "x" * 100_000)
    assert [r.source for r in store.rejected_files()] == ["big.txt"]
    store.close()


def test_a_read_only_store_file_is_retryable_and_says_how_to_make_it_writable(
    tmp_path: Path,
) -> None:
    # Given a store file that became read-only (a watcher started after the change)
    db = tmp_path / "docflow.db"
    sqlite(db).close()
    with immutable(db):
        store = sqlite(db)
        assert store.rejected_files() == []  # reading still works
        # When a rejected file is recorded, Then it is retryable with what to do
        with pytest.raises(StoreUnavailable) as caught:
            store.record_rejected("a.txt", "rejected")
        store.close()
    message = caught.value.describe()
    assert str(db) in message and "read-only" in message and "writable" in message, message
    # And once the file is writable again, a new connection just works
    store = sqlite(db)
    store.record_rejected("a.txt", "rejected")
    assert len(store.rejected_files()) == 1
    store.close()


def test_the_same_store_writes_again_once_a_read_only_file_is_writable_again(
    tmp_path: Path,
) -> None:
    # Given a long-lived store (a worker's) that opened its file while it was read-only
    db = tmp_path / "docflow.db"
    sqlite(db).close()
    with immutable(db):
        store = sqlite(db)
        assert store.rejected_files() == []
        with pytest.raises(StoreUnavailable):
            store.record_rejected("a.txt", "rejected")
    # When the file is writable again, Then the same store object writes (no restart)
    store.record_rejected("a.txt", "rejected")
    assert len(store.rejected_files()) == 1
    store.close()


def test_a_store_whose_folder_cannot_be_written_is_retryable_and_names_the_folder(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    db = folder / "docflow.db"
    sqlite(db).close()  # no -wal / -shm left: SQLite must create them to open it
    with immutable(db, folder), pytest.raises(StoreUnavailable) as caught:
        sqlite(db)
    message = caught.value.describe()
    assert str(db) in message and f"check that {folder} exists" in message, message


def test_a_store_under_a_path_that_is_not_a_folder_is_retryable_and_says_so(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable) as caught:
        sqlite(blocker / "docflow.db")
    assert str(blocker) in caught.value.describe()


def test_a_query_only_connection_is_reported_as_read_only_too(tmp_path: Path) -> None:
    # the same SQLITE_READONLY as a read-only mount, where chattr is not available
    db = tmp_path / "docflow.db"
    store = sqlite(db)
    store.conn.execute("PRAGMA query_only = ON")
    with pytest.raises(StoreUnavailable) as caught:
        store.record_rejected("a.txt", "rejected")
    assert "read-only" in caught.value.describe() and str(db) in caught.value.describe()
    store.close()
