"""The watcher at the edges: names at the 255-byte limit, and a store that cannot be written.

A real SQLite store and a recording pipeline, as in test_watcher.py; the hostile names and
the unwritable store (an immutable file, a database at its size limit) are made at test time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from tasks.store.sqlite import SQLiteStore
from tests.unit.test_watcher import ARTICLE, Clock, files_under, make_watcher
from workers.inbox_fs import NAME_MAX, candidates, error_file_name, fit_name
from workers.settings import Settings
from workers.watch_events import Event
from workers.watcher import WatchConfig
from workers.watcher_health import health_line, read_health


class SizedStore(SQLiteStore):
    """The real SQLite store, whose database can be held at its current size (SQLITE_FULL)."""

    limit: int | None = None

    @property
    def conn(self) -> Any:
        conn = super().conn
        conn.execute(f"PRAGMA max_page_count = {self.limit or 1073741823}")
        return conn

    def fill_up(self) -> None:
        """No page can be added any more: every write that needs room fails as 'full'."""
        conn = self.conn
        conn.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
        self.limit = int(conn.execute("PRAGMA page_count").fetchone()[0])
        conn = self.conn
        for sql in (  # new pages, then the room left in the rejected files' own page
            "INSERT INTO filler VALUES (zeroblob(512))",
            "INSERT INTO rejected_files (source, stage, error, at) VALUES ('filler', '', '', 0)",
        ):
            for _ in range(10_000):
                try:
                    conn.execute(sql)
                except Exception:
                    break

    def empty_out(self) -> None:
        self.limit = None
        self.conn.execute("DROP TABLE IF EXISTS filler")
        self.conn.execute("DELETE FROM rejected_files WHERE source = 'filler'")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SizedStore]:
    s = SizedStore(f"sqlite:///{tmp_path / 'docflow.db'}")
    s.migrate()
    yield s
    s.empty_out()
    s.close()


def named(n_bytes: int, char: str = "n", ext: str = ".txt") -> str:
    """A file name of at most `n_bytes` bytes (exactly, for one-byte characters)."""
    per = len(char.encode())
    return char * ((n_bytes - len(ext)) // per) + ext


def utf8_names(folder: Path) -> list[str]:
    """Names under a folder, each checked to be whole UTF-8 (no character cut in two)."""
    names = files_under(folder)
    for name in names:
        os.fsencode(name).decode("utf-8")  # raises if a multibyte character was split
    return names


# ---- names -----------------------------------------------------------------------------


def test_names_are_shortened_by_whole_characters_keeping_their_extension() -> None:
    stem = "é" * 126  # 252 bytes
    assert fit_name(stem, ".txt") == "é" * 125 + ".txt"
    assert fit_name("abc", ".txt") == "abc.txt"
    for name in (named(255), named(255, "é"), named(255, "語"), "x" * 255):
        for candidate in [c for _, c in zip(range(12), candidates(name), strict=False)]:
            assert len(os.fsencode(candidate)) <= NAME_MAX
            os.fsencode(candidate).decode("utf-8")
        long = error_file_name(name)
        assert len(os.fsencode(long)) <= NAME_MAX and long.endswith(".error.json")
    assert error_file_name("short.txt") == "short.txt.error.json"
    assert error_file_name(named(250)) != error_file_name(named(250, "m"))


@pytest.mark.parametrize("size", [230, 250, 255])
def test_a_rejected_file_with_a_long_name_is_quarantined_with_an_error_file_that_fits(
    layout, store, size: int
) -> None:
    # Given a file that cannot be ingested (empty), its name 230, 250 or 255 bytes long
    name = named(size)
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    (layout.inbox / name).write_bytes(b"  \n")
    # When the watcher takes it
    watcher.handle(Event("closed", str(layout.inbox / name)))
    # Then it is in the failed folder with an error file beside it, within the name limit
    [error_file] = [n for n in utf8_names(layout.failed) if n.endswith(".error.json")]
    assert sorted(utf8_names(layout.failed)) == sorted([name, error_file])
    assert len(os.fsencode(error_file)) <= NAME_MAX
    assert error_file.startswith(name[:200])
    note = json.loads((layout.failed / error_file).read_text())
    assert note["source"] == name and note["file"] == name and "empty" in note["error"]


@pytest.mark.parametrize("char", ["n", "é", "語"])
def test_a_255_byte_name_dropped_twice_is_placed_twice_within_the_limit(
    layout, store, char: str
) -> None:
    name = named(255, char)
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    for i in (1, 2):
        (layout.inbox / name).write_text(f"Story {i}\n\n{ARTICLE}")
        watcher.handle(Event("closed", str(layout.inbox / name)))
    placed = utf8_names(layout.processed)
    assert len(placed) == 2 and name in placed, placed
    [other] = [n for n in placed if n != name]
    assert other.endswith("-1.txt") and len(os.fsencode(other)) <= NAME_MAX
    assert files_under(layout.inbox) == [] and len(list(store.iter_documents())) == 2


def test_a_255_byte_name_rejected_twice_is_quarantined_twice_with_two_error_files(
    layout, store
) -> None:
    name = named(255)
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    for _ in (1, 2):
        (layout.inbox / name).write_bytes(b"\n")
        watcher.handle(Event("closed", str(layout.inbox / name)))
    failed = utf8_names(layout.failed)
    assert len(failed) == 4 and all(len(os.fsencode(n)) <= NAME_MAX for n in failed)
    notes = [json.loads((layout.failed / n).read_text()) for n in failed if n.endswith(".json")]
    assert sorted(n["source"] for n in notes) == [name, name]
    assert len({n["file"] for n in notes}) == 2
    assert files_under(layout.inbox) == [] and len(store.rejected_files()) == 2


# ---- a store that cannot be written ----------------------------------------------------


def _immutable(store: SizedStore) -> Callable[[], None]:
    """Make the store's files read-only even for root (`chattr +i`); returns the undo."""
    files = [str(store.path), f"{store.path}-wal"]
    files = [f for f in files if os.path.exists(f)]
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run(["chattr", "+i", *files], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make the store immutable here: {done.stderr.strip()}")
    return lambda: subprocess.run(["chattr", "-i", *files], check=True)


def _full(store: SizedStore) -> Callable[[], None]:
    store.fill_up()
    return store.empty_out


@pytest.mark.parametrize("first", ["good.txt", "empty.txt"])
@pytest.mark.parametrize(
    ("condition", "words"), [("read-only", ("read-only", "I/O error")), ("full", ("full",))]
)
def test_an_unwritable_store_keeps_files_claimed_says_so_once_and_recovers_by_itself(
    layout, store, condition: str, words: tuple[str, ...], first: str
) -> None:
    """Given a running watcher, When its store becomes read-only (an immutable file, which
    even root cannot write) or full (the database at its size limit) and a good file and a
    file to reject arrive, Then nothing is lost or quarantined, the watcher says once what
    it waits for (log, health file, `docflow status` line), and it finishes both files by
    itself once the store can be written again."""
    clock = Clock()
    watcher = make_watcher(layout, store, clock)
    watcher.start(observe=False)
    undo = _immutable(store) if condition == "read-only" else _full(store)
    try:
        with capture_logs() as logs:
            contents = {"good.txt": ARTICLE * 200, "empty.txt": "   \n"}
            for name in (first, *(n for n in contents if n != first)):
                (layout.inbox / name).write_text(contents[name])
                watcher.handle(Event("closed", str(layout.inbox / name)))
            for _ in range(6):  # retries over three minutes
                clock.t += 31
                watcher.step(timeout=0)
            # Then nothing moved out, nothing was quarantined, every file is still here
            assert files_under(layout.processed) == [] and files_under(layout.failed) == []
            waiting = sorted(files_under(layout.inbox) + files_under(watcher.box.folder))
            assert waiting == [".lock", "empty.txt", "good.txt"]
            # and the watcher said so once: what, which store, what to do
            said = [e for e in logs if e["event"] == "watcher_waiting"]
            assert len(said) == 1, said
            assert str(store.path) in said[0]["problem"]
            assert any(w in said[0]["problem"] for w in words), said[0]["problem"]
            assert said[0]["hint"]
            loud = [e for e in logs if e["log_level"] in ("warning", "error", "critical")]
            assert loud == said, f"more than one line while waiting: {loud}"
        [health] = read_health(layout.run_dir)
        assert health["state"] == "waiting" and str(store.path) in health["problem"]
        line = health_line(health)
        assert line.startswith("watcher: waiting since ") and "; fix: " in line
    finally:
        undo()
    # When the store can be written again, it finishes both files by itself
    with capture_logs() as logs:
        for _ in range(4):
            clock.t += 31
            watcher.step(timeout=0)
        clock.t += 1
        watcher.step(timeout=0)
    assert files_under(layout.processed) == ["good.txt"]
    assert files_under(layout.failed) == ["empty.txt", "empty.txt.error.json"]
    assert [e["event"] for e in logs].count("watcher_recovered") == 1
    assert read_health(layout.run_dir)[0]["state"] == "ok" and not watcher.health.waiting
    watcher.close()
    assert read_health(layout.run_dir) == []


def test_docflow_status_shows_a_waiting_watcher_in_one_line(tmp_path: Path, layout) -> None:
    from workers.commands.status import collect_status, render
    from workers.output import console

    settings = Settings(data_dir=tmp_path, broker_url=None)
    store = SizedStore(settings.store)
    store.migrate()
    config = WatchConfig(
        inbox=settings.inbox,
        processed=settings.processed,
        failed=settings.failed,
        max_bytes=1 << 20,
        run_dir=settings.run_dir,
    )
    watcher = make_watcher(config, store, Clock())
    watcher.start(observe=False)
    watcher.health.wait_on("store", f"the store {store.path} cannot be written", "fix it")
    data = collect_status(settings, store)
    assert [w["state"] for w in data["watchers"]] == ["waiting"]
    with console.capture() as out:
        console.print(render(data))
    text = " ".join(out.get().split())  # the line may wrap on a narrow console
    assert "watcher: waiting since" in text and "fix: fix it" in text, text
    watcher.close()
    store.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB filesystem (tmpfs), so that a full disk is a real ENOSPC."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_store_on_a_full_disk_waits_and_recovers_once_space_is_freed(
    layout, small_disk: Path
) -> None:
    """Given a watcher whose SQLite store lives on a small disk,
    When the disk fills up (a real ENOSPC) and a good file and a file to reject arrive,
    Then both stay claimed and the watcher says once that the store cannot be written;
    And when space is freed, it finishes both by itself."""
    store = SQLiteStore(f"sqlite:///{small_disk / 'docflow.db'}")
    store.migrate()
    clock = Clock()
    watcher = make_watcher(layout, store, clock)
    watcher.start(observe=False)
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as f, pytest.raises(OSError):
        while True:  # until the disk is full
            f.write(b"\0" * 65536)
            f.flush()
    try:
        with capture_logs() as logs:
            (layout.inbox / "good.txt").write_text(ARTICLE * 200)
            (layout.inbox / "empty.txt").write_text("  \n")
            for name in ("good.txt", "empty.txt"):
                watcher.handle(Event("closed", str(layout.inbox / name)))
            for _ in range(4):
                clock.t += 31
                watcher.step(timeout=0)
        assert files_under(layout.processed) == [] and files_under(layout.failed) == []
        said = [e for e in logs if e["event"] == "watcher_waiting"]
        assert len(said) == 1 and str(store.path) in said[0]["problem"], said
        assert watcher.health.waiting
    finally:
        filler.unlink()
    for _ in range(4):
        clock.t += 31
        watcher.step(timeout=0)
    clock.t += 1
    watcher.step(timeout=0)
    assert files_under(layout.processed) == ["good.txt"]
    assert files_under(layout.failed) == ["empty.txt", "empty.txt.error.json"]
    assert not watcher.health.waiting
    watcher.close()
    store.close()
