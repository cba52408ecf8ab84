"""The watcher's claim / ingest / move / quarantine logic, without Redis or Celery.

The store is a real SQLite file; the pipeline is a recorder; time is a fake clock
unless a test runs the real event loop.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tasks.errors import ConfigError, StoreUnavailable
from tasks.models import IngestResult
from tasks.store import open_store
from workers.inbox_fs import parent_of
from workers.watcher import (
    CLAIMED_DIR,
    LOCK_NAME,
    Claim,
    ClaimBox,
    Event,
    WatchConfig,
    Watcher,
    place,
    relative_key,
)

ARTICLE = "A headline\n\nTurkish Foreign Minister Hakan Fidan met Marco Rubio in Washington.\n"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Recorder:
    """Stands in for the Celery pipeline: queues what the watcher starts, 'publishes' on
    flush (each flush is one burst), and can fail the next flushes like a broker that is down."""

    def __init__(self) -> None:
        self.queued: list[IngestResult] = []
        self.queued_ids: list[str] = []
        self.started: list[IngestResult] = []  #: published
        self.resumed: list[str] = []  #: published by `resume`
        self.flushes: list[list[str]] = []  #: the ids of each flush that sent something
        self.fail_next = 0
        self._resuming: list[str] = []

    def start(self, result: IngestResult) -> None:
        self.queued.append(result)
        self.queued_ids.extend(result.new_ids)

    def resume(self, doc_ids: list[str]) -> None:
        self.queued_ids.extend(doc_ids)
        self._resuming.extend(doc_ids)

    def flush(self, *, more_coming: bool = False) -> None:
        if not self.queued_ids:
            return
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker down")
        self.flushes.append(self.queued_ids)
        self.started.extend(self.queued)
        self.resumed.extend(self._resuming)
        self.queued, self.queued_ids, self._resuming = [], [], []

    def waiting(self) -> set[str]:
        return set(self.queued_ids)

    def burst_ready(self) -> bool:
        return False  # one flush per step


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'docflow.db'}")
    yield s
    s.close()


def make_watcher(
    config: WatchConfig,
    store,
    clock: Clock | None = None,
    dispatcher: Recorder | None = None,
    ident: str = "test-1",
) -> Watcher:
    config.inbox.mkdir(parents=True, exist_ok=True)
    return Watcher(config, store, dispatcher or Recorder(), ident=ident, clock=clock or Clock())


def claim(box: ClaimBox, inbox: Path, rel: str) -> Claim | None:
    """Claim `inbox/rel` into a box the way the watcher does, through descriptors."""
    fd = os.open(inbox, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with parent_of(fd, rel) as (parent, name):
            return box.claim(parent, name, rel)
    finally:
        os.close(fd)


def files_under(folder: Path) -> list[str]:
    """Files below a folder, except the watchers' own `.claimed` boxes."""
    if not folder.exists():
        return []
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and CLAIMED_DIR not in p.relative_to(folder).parts
    )


# ---- naming and moving ------------------------------------------------------------------


def test_relative_keys_keep_sub_folders_and_skip_dotfiles_temp_names_and_outside_paths() -> None:
    root = "/in"
    assert relative_key(root, "/in/a.txt") == "a.txt"
    assert relative_key(root, "/in/2025/march/a.txt") == "2025/march/a.txt"
    for ignored in (
        "/in/.hidden.txt",
        "/in/a.txt.part",
        "/in/a.tmp",
        "/in/a.crdownload",
        "/in/~a.txt",
        "/in/a.txt.swp",
        "/in/.claimed/x/a.txt",
        "/in/.git/a.txt",
        "/elsewhere/a.txt",
        "/in",
        "/in/../a.txt",
        "",
    ):
        assert relative_key(root, ignored) is None, ignored


def test_placing_a_file_keeps_its_relative_folder_and_never_overwrites(tmp_path: Path) -> None:
    dest = tmp_path / "processed"
    for body in ("first", "second", "third"):
        src = tmp_path / "src.txt"
        src.write_text(body)
        place(src, dest, "2025/a.txt")
        assert not src.exists()
    assert files_under(dest) == ["2025/a-1.txt", "2025/a-2.txt", "2025/a.txt"]
    assert (dest / "2025" / "a.txt").read_text() == "first"


def test_placing_a_file_already_linked_into_place_does_not_make_a_copy(tmp_path: Path) -> None:
    # Given a crash between linking the file into processed/ and unlinking the claim
    src = tmp_path / "a.txt"
    src.write_text("x")
    (tmp_path / "processed").mkdir()
    os.link(src, tmp_path / "processed" / "a.txt")
    # When the move is done again
    final = place(src, tmp_path / "processed", "a.txt")
    # Then there is still one file
    assert final.name == "a.txt" and files_under(tmp_path / "processed") == ["a.txt"]
    assert not src.exists()


def test_an_inbox_inside_the_processed_folder_is_refused(tmp_path: Path) -> None:
    config = WatchConfig(
        inbox=tmp_path / "out" / "inbox",
        processed=tmp_path / "out",
        failed=tmp_path / "failed",
        max_bytes=1,
    )
    with pytest.raises(ConfigError, match="inside the processed folder"):
        config.check()


# ---- taking files ---------------------------------------------------------------------


def test_a_closed_file_is_ingested_at_once_and_moved_to_processed(layout, store) -> None:
    recorder = Recorder()
    watcher = make_watcher(layout, store, dispatcher=recorder)
    watcher.start(observe=False)
    (layout.inbox / "news").mkdir()
    (layout.inbox / "news" / "a.txt").write_text(ARTICLE)

    watcher.handle(Event("closed", str(layout.inbox / "news" / "a.txt")))

    assert files_under(layout.processed) == ["news/a.txt"]
    assert files_under(layout.inbox) == []
    [result] = recorder.started
    assert result.source == "news/a.txt" and len(result.new_ids) == 1
    assert store.get_document(result.new_ids[0]).source == "news/a.txt"


def test_a_temp_file_renamed_into_place_is_taken_under_its_final_name(layout, store) -> None:
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    part = layout.inbox / "a.txt.part"
    part.write_text(ARTICLE)
    watcher.handle(Event("closed", str(part)))
    assert files_under(layout.inbox) == ["a.txt.part"]  # a temp name is left alone

    part.rename(layout.inbox / "a.txt")
    watcher.handle(Event("moved", str(part), str(layout.inbox / "a.txt")))

    assert files_under(layout.processed) == ["a.txt"]
    assert [d.source for d in store.iter_documents()] == ["a.txt"]


def test_a_file_seen_only_by_rescan_is_taken_after_it_settles(layout, store) -> None:
    clock = Clock()
    watcher = make_watcher(layout, store, clock)
    (layout.inbox / "old.txt").write_text(ARTICLE)
    watcher.start(observe=False)  # the start-up scan sees it
    assert files_under(layout.inbox) == ["old.txt"]

    clock.t += 0.31
    watcher.step(timeout=0)

    assert files_under(layout.processed) == ["old.txt"]


def test_lost_events_make_the_next_step_rescan_the_inbox_at_once(layout, store) -> None:
    clock = Clock()
    watcher = make_watcher(layout, store, clock)
    watcher.start(observe=False)
    (layout.inbox / "unseen.txt").write_text(ARTICLE)  # its events were lost
    watcher.note(Event("overflow"))
    watcher.step(timeout=0)  # the rescan notes it; it settles like any quiet file
    clock.t += 0.31
    watcher.step(timeout=0)

    assert files_under(layout.processed) == ["unseen.txt"]


def test_a_file_still_growing_at_each_look_is_not_taken(layout, store) -> None:
    clock = Clock()
    watcher = make_watcher(layout, store, clock)
    watcher.start(observe=False)
    path = layout.inbox / "growing.txt"
    with path.open("w") as f:
        f.write("first chunk ")
        f.flush()
        watcher.rescan()
        for i in range(1, 5):
            f.write(f"chunk {i} " * 20)
            f.flush()
            os.utime(path, ns=(i * 10**9, i * 10**9))
            clock.t += 0.31
            watcher.step(timeout=0)
            assert files_under(layout.processed) == []
    clock.t += 0.31
    watcher.step(timeout=0)
    assert files_under(layout.processed) == ["growing.txt"]


def test_a_file_being_written_waits_for_its_close_even_when_quiet(layout, store) -> None:
    # Given inotify, which reports closes, and a writer that pauses with the file open
    clock = Clock()
    watcher = make_watcher(layout, store, clock)
    watcher.closes_reported = True
    watcher.start(observe=False)
    path = layout.inbox / "slow.txt"
    path.write_text(ARTICLE[:20])
    watcher.handle(Event("created", str(path)))
    watcher.handle(Event("modified", str(path)))
    # When it stays quiet for longer than the settle interval
    clock.t += 2.0
    watcher.step(timeout=0)
    # Then it is not taken; its close takes it at once
    assert files_under(layout.processed) == []
    watcher.handle(Event("closed", str(path)))
    assert files_under(layout.processed) == ["slow.txt"]


def test_links_fifos_and_dotfiles_are_left_alone(layout, store, tmp_path: Path) -> None:
    clock = Clock()
    outside = tmp_path / "secret.txt"
    outside.write_text(ARTICLE)
    watcher = make_watcher(layout, store, clock)
    os.symlink(outside, layout.inbox / "link.txt")
    os.mkfifo(layout.inbox / "pipe.txt")
    (layout.inbox / ".hidden.txt").write_text(ARTICLE)
    os.symlink(tmp_path, layout.inbox / "linked-dir")
    watcher.start(observe=False)
    for name in ("link.txt", "pipe.txt", ".hidden.txt", "linked-dir/secret.txt"):
        watcher.handle(Event("closed", str(layout.inbox / name)))
    clock.t += 60
    watcher.step(timeout=0)

    assert sorted(os.listdir(layout.inbox)) == sorted(
        [".claimed", ".hidden.txt", "link.txt", "linked-dir", "pipe.txt"]
    )
    assert outside.read_text() == ARTICLE
    assert files_under(layout.processed) == [] and list(store.iter_documents()) == []


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("empty.txt", b"   \n", "empty"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n....", "PNG"),
        ("report.docx", b"text", "not supported"),
    ],
)
def test_a_file_that_cannot_be_ingested_is_quarantined_with_a_reason_beside_it(
    layout, store, name: str, data: bytes, why: str
) -> None:
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    (layout.inbox / name).write_bytes(data)

    watcher.handle(Event("closed", str(layout.inbox / name)))

    assert files_under(layout.failed) == [name, f"{name}.error.json"]
    assert (layout.failed / name).read_bytes() == data
    note = json.loads((layout.failed / f"{name}.error.json").read_text())
    assert why in note["error"] and note["hint"] and note["at"].endswith("Z")
    assert note["source"] == name
    [rejected] = store.rejected_files()
    assert rejected.source == name and why in rejected.error


def test_a_file_over_the_size_limit_is_rejected_without_being_read(layout, store) -> None:
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    huge = layout.inbox / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(20 * 1024**3)  # sparse: reading it would take minutes
    started = time.monotonic()

    watcher.handle(Event("closed", str(huge)))

    assert time.monotonic() - started < 5
    note = json.loads((layout.failed / "huge.txt.error.json").read_text())
    assert "over the limit" in note["error"] and "DOCFLOW_MAX_FILE_MB" in note["hint"]


def test_a_bad_line_in_a_jsonl_file_is_recorded_and_the_file_still_counts_as_processed(
    layout, store
) -> None:
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    feed = layout.inbox / "feed.jsonl"
    feed.write_text(json.dumps({"title": "A", "text": "One story."}) + "\n{oops\n")

    watcher.handle(Event("closed", str(feed)))

    assert files_under(layout.processed) == ["feed.jsonl"]
    assert "line 2" in store.rejected_files()[0].error


# ---- claims and restarts ----------------------------------------------------------------


def test_only_one_of_two_watchers_claims_a_file(layout, store) -> None:
    first = make_watcher(layout, store, ident="first")
    second = make_watcher(layout, store, ident="second")
    first.start(observe=False)
    second.start(observe=False)
    path = layout.inbox / "a.txt"
    path.write_text(ARTICLE)

    claimed = claim(first.box, layout.inbox, "a.txt")
    assert claimed is not None
    assert claim(second.box, layout.inbox, "a.txt") is None
    assert second.take("a.txt", reason="closed") is False


def test_a_watcher_counts_the_files_it_lost_to_another_and_says_so_when_it_stops(
    layout, store
) -> None:
    from structlog.testing import capture_logs

    # Given two watchers, and the first claims a file while the second is taking it
    first = make_watcher(layout, store, ident="first")
    second = make_watcher(layout, store, ident="second")
    first.start(observe=False)
    second.start(observe=False)
    (layout.inbox / "a.txt").write_text(ARTICLE)
    its_own_claim = second.box.claim

    def first_claims_it_just_before(parent: int, name: str, key: str) -> Claim | None:
        assert claim(first.box, layout.inbox, key) is not None
        return its_own_claim(parent, name, key)

    second.box.claim = first_claims_it_just_before  # type: ignore[method-assign]
    # When the second watcher takes the file, then stops
    taken = second.take("a.txt", reason="closed")
    with capture_logs() as logs:
        second.close()
    # Then it lost the race, and its last log line counts it
    assert taken is False and second.stats.lost_races == 1 and second.stats.claimed == 0
    stopped = [line for line in logs if line["event"] == "watcher_stopped"]
    assert stopped[0]["lost_races"] == 1 and stopped[0]["claimed"] == 0
    first.close()


def test_a_dead_watchers_claims_are_taken_over_and_ingested(layout, store) -> None:
    # Given a watcher that claimed a file and died (its lock is gone with its process)
    layout.inbox.mkdir(parents=True)
    dead = ClaimBox(layout.inbox, "deadhost-4242-abc")
    dead.open()
    (layout.inbox / "sub").mkdir()
    (layout.inbox / "sub" / "a.txt").write_text(ARTICLE)
    claim(dead, layout.inbox, "sub/a.txt")
    assert dead._lock_fd is not None
    os.close(dead._lock_fd)  # what the kernel does when the process dies
    # When a new watcher starts
    recorder = Recorder()
    watcher = make_watcher(layout, store, dispatcher=recorder)
    watcher.start(observe=False)
    watcher.step(timeout=0)
    # Then it took the claim over and ingested the file under its original name
    assert files_under(layout.processed) == ["sub/a.txt"]
    assert not (layout.inbox / CLAIMED_DIR / "deadhost-4242-abc").exists()
    assert watcher.stats.recovered == 1 and len(recorder.started[0].new_ids) == 1


def test_a_claim_folder_without_a_lock_is_adopted_only_once_it_is_old(layout, store) -> None:
    # Given a claim folder with a file but no lock (a watcher mid-setup, or tampering)
    orphan = layout.inbox / CLAIMED_DIR / "orphan"
    orphan.mkdir(parents=True)
    (orphan / "a.txt").write_text(ARTICLE)
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    # Then it is left alone while young
    assert (orphan / "a.txt").exists() and watcher.stats.recovered == 0
    # When it is over a minute old
    os.utime(orphan, (time.time() - 120, time.time() - 120))
    watcher.rescan()
    watcher.step(timeout=0)
    # Then its file is taken
    assert files_under(layout.processed) == ["a.txt"] and not orphan.exists()


def test_a_live_watchers_claims_are_left_alone(layout, store) -> None:
    alive = make_watcher(layout, store, ident="alive")
    alive.start(observe=False)
    (layout.inbox / "a.txt").write_text(ARTICLE)
    claimed = claim(alive.box, layout.inbox, "a.txt")

    other = make_watcher(layout, store, ident="other")
    other.start(observe=False)
    other.step(timeout=0)

    assert claimed is not None and alive.box.path(claimed).exists()
    assert other.stats.recovered == 0


def test_a_recovered_file_already_recorded_makes_no_second_document(layout, store) -> None:
    # Given a file whose content was recorded before its watcher died
    first = make_watcher(layout, store, ident="first")
    first.start(observe=False)
    (layout.inbox / "a.txt").write_text(ARTICLE)
    claimed = claim(first.box, layout.inbox, "a.txt")
    assert claimed is not None
    from tasks.ingest import ingest_file

    data = first.box.path(claimed).read_bytes()
    recorded = ingest_file(store, "a.txt", data, max_bytes=1 << 20)
    assert first.box._lock_fd is not None
    os.close(first.box._lock_fd)
    # When another watcher recovers the claim
    recorder = Recorder()
    second = make_watcher(layout, store, dispatcher=recorder, ident="second")
    second.start(observe=False)
    second.step(timeout=0)
    # Then there is one document, and its chain is (re)started in case it never was
    assert len(list(store.iter_documents())) == 1
    assert recorder.resumed == recorded.new_ids
    assert files_under(layout.processed) == ["a.txt"]


def test_a_file_stays_claimed_and_is_retried_while_the_broker_is_down(layout, store) -> None:
    clock = Clock()
    recorder = Recorder()
    recorder.fail_next = 1
    watcher = make_watcher(layout, store, clock, dispatcher=recorder)
    watcher.start(observe=False)
    (layout.inbox / "a.txt").write_text(ARTICLE)

    watcher.handle(Event("closed", str(layout.inbox / "a.txt")))
    assert files_under(watcher.box.folder) == [LOCK_NAME, "a.txt"]

    assert watcher.health.waiting and watcher.health.kind == "broker"

    clock.t += 1
    watcher.step(timeout=0)
    assert files_under(layout.processed) == ["a.txt"]
    # the document was recorded once, on the first try; the retried flush published it
    [doc] = store.iter_documents()
    assert recorder.flushes == [[doc.id]] and not watcher.health.waiting


def test_a_file_stays_claimed_and_is_retried_while_the_store_is_locked(
    layout, store, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    watcher = make_watcher(layout, store, clock)
    watcher.start(observe=False)
    (layout.inbox / "a.txt").write_text(ARTICLE)
    real = store.add_document
    calls = []

    def locked_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise StoreUnavailable("the store is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "add_document", locked_once)
    watcher.handle(Event("closed", str(layout.inbox / "a.txt")))
    assert files_under(layout.processed) == [] and (watcher.box.folder / "a.txt").exists()

    clock.t += 1
    watcher.step(timeout=0)
    assert files_under(layout.processed) == ["a.txt"]


def test_a_stop_keeps_unfinished_claims_for_the_next_watcher(layout, store) -> None:
    # Given a watcher holding a file it could not finish (the broker was down)
    recorder = Recorder()
    recorder.fail_next = 1
    first = make_watcher(layout, store, dispatcher=recorder, ident="first")
    first.start(observe=False)
    (layout.inbox / "a.txt").write_text(ARTICLE)
    first.handle(Event("closed", str(layout.inbox / "a.txt")))
    # When it stops, and another watcher starts
    first.close()
    second = make_watcher(layout, store, dispatcher=recorder, ident="second")
    second.start(observe=False)
    second.step(timeout=0)
    # Then the second one finishes the file: one document, its chain started
    assert files_under(layout.processed) == ["a.txt"]
    assert len(list(store.iter_documents())) == 1 and len(recorder.resumed) == 1
    assert os.listdir(layout.inbox / CLAIMED_DIR) == ["second"]


def test_a_stop_with_nothing_claimed_leaves_no_box_behind(layout, store) -> None:
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    watcher.close()
    assert os.listdir(layout.inbox / CLAIMED_DIR) == []


# ---- the real event loop --------------------------------------------------------------


@contextmanager
def running(watcher: Watcher) -> Iterator[float]:
    """The watcher's real loop in a thread, started and holding its claim box; yields a
    deadline 5 s away; stopped and joined at the end (the test checks it ended)."""
    watcher.config.inbox.mkdir(parents=True, exist_ok=True)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    try:
        while watcher.box._lock_fd is None and time.monotonic() < deadline:
            time.sleep(0.01)
        yield deadline
    finally:
        watcher.stop()
        thread.join(5)
    assert not thread.is_alive()


def test_the_running_watcher_takes_a_dropped_file_within_a_fraction_of_a_second(
    layout, store
) -> None:
    watcher = Watcher(layout, store, Recorder(), ident="live")
    with running(watcher) as deadline:
        time.sleep(0.2)
        dropped = time.monotonic()
        (layout.inbox / "a.txt").write_text(ARTICLE)
        while not (layout.processed / "a.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        took = time.monotonic() - dropped
    assert (layout.processed / "a.txt").exists()
    assert took < 0.25, f"took {took:.3f} s: the close event should make it immediate"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux")
def test_the_running_watcher_on_linux_reads_inotify_itself_and_takes_a_folder_moved_in(
    tmp_path: Path, layout, store
) -> None:
    outside = tmp_path / "delivery" / "2026"
    outside.mkdir(parents=True)
    for name in ("a.txt", "b.txt"):
        (outside / name).write_text(ARTICLE.replace("headline", name))
    watcher = Watcher(layout, store, Recorder(), ident="live")
    with running(watcher) as deadline:
        assert watcher.mode == "inotify"
        assert [t.name for t in threading.enumerate() if "watchdog" in type(t).__module__] == []
        os.rename(outside, layout.inbox / "2026")
        while len(files_under(layout.processed)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert files_under(layout.processed) == ["2026/a.txt", "2026/b.txt"]


def test_the_running_watcher_in_polling_mode_takes_files_in_sub_folders_once_they_settle(
    tmp_path: Path, store
) -> None:
    config = WatchConfig(
        inbox=tmp_path / "inbox",
        processed=tmp_path / "processed",
        failed=tmp_path / "failed",
        max_bytes=1 << 20,
        settle_s=0.3,
        rescan_s=0.5,
        polling=True,
    )
    config.inbox.mkdir()
    watcher = Watcher(config, store, Recorder(), ident="poller")
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        (config.inbox / "2025" / "03").mkdir(parents=True)
        (config.inbox / "2025" / "03" / "a.txt").write_text(ARTICLE)
        deadline = time.monotonic() + 10
        while not (config.processed / "2025" / "03" / "a.txt").exists():
            assert time.monotonic() < deadline, "not taken within 10 s"
            time.sleep(0.05)
    finally:
        watcher.stop()
        thread.join(5)
    assert not watcher.closes_reported
    assert not thread.is_alive()
