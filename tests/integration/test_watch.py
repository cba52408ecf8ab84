"""`docflow watch` end to end: a real watcher process, real Celery workers, a private Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.store import Store, open_store
from tests.conftest import REPO, docflow_env, wait_until
from workers.commands.watch import watch_command

pytestmark = pytest.mark.integration


def article(i: int, words: str = "") -> str:
    return (
        f"Story number {i}\n\nForeign Minister Hakan Fidan met Marco Rubio in Washington "
        f"on day {i} to discuss trade {words}.\n"
    )


class WatcherProcess:
    """`docflow watch <inbox>` as a subprocess, its log kept for assertions."""

    def __init__(self, env: dict[str, str], inbox: Path, log_path: Path) -> None:
        self.log_path = log_path
        self.proc = subprocess.Popen(
            watch_command(inbox),
            env=env,
            cwd=REPO,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts = self.log().count("watcher_started")
        ready = wait_until(
            lambda: (
                self.log().count("watcher_started") > self.starts or self.proc.poll() is not None
            ),
            30,
        )
        assert ready and self.proc.poll() is None, self.log()[-3000:]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


@dataclass
class Stack:
    data: Path
    inbox: Path
    env: dict[str, str]
    store: Store
    start_watcher: Callable[[], WatcherProcess]

    def counts(self) -> dict[str, int]:
        return self.store.counts()

    def sources(self) -> list[str]:
        return sorted(d.source for d in self.store.iter_documents())

    def files(self, folder: Path) -> list[str]:
        """Regular files under a folder (including the watchers' claim boxes), relative."""
        if not folder.exists():
            return []
        return sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p.name != ".lock"
        )


@pytest.fixture
def stack(data_dir: Path, private_redis, start_worker, tmp_path: Path) -> Iterator[Stack]:
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_RESCAN_S="1", DOCFLOW_SETTLE_S="0.3")
    inbox = data_dir / "inbox"
    inbox.mkdir()
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    worker = start_worker(env, concurrency=2)
    watchers: list[WatcherProcess] = []

    def start() -> WatcherProcess:
        watcher = WatcherProcess(env, inbox, tmp_path / "watcher.log")
        watchers.append(watcher)
        return watcher

    yield Stack(data_dir, inbox, env, store, start)
    for watcher in watchers:
        watcher.stop(signal.SIGKILL)
    worker.stop()
    store.close()


def test_a_file_written_in_three_slow_chunks_is_ingested_once_after_the_last_chunk(
    stack: Stack,
) -> None:
    # Given a running watcher (settle 0.3 s, rescans every second)
    stack.start_watcher()
    path = stack.inbox / "slow.txt"
    chunks = [
        "Slow story\n\n",
        "Hakan Fidan met Marco Rubio in Washington. ",
        "They spoke about Syria and Ukraine.\n",
    ]
    # When a writer writes three chunks with pauses longer than the settle interval
    with path.open("w") as f:
        for chunk in chunks:
            f.write(chunk)
            f.flush()
            time.sleep(1.2)
            # Then nothing is taken while the writer holds the file open
            assert stack.sources() == [], "taken before the last chunk"
    # Then, once closed, it becomes one document holding all three chunks
    assert wait_until(lambda: stack.counts()["indexed"] == 1, 30)
    [doc] = list(stack.store.iter_documents())
    assert doc.source == "slow.txt" and "Syria and Ukraine" in doc.raw
    assert (stack.data / "processed" / "slow.txt").read_text() == "".join(chunks)
    assert stack.files(stack.inbox) == []


def test_a_temp_name_then_rename_write_is_ingested_once_under_its_final_name(
    stack: Stack,
) -> None:
    # Given a running watcher
    stack.start_watcher()
    part = stack.inbox / "report.txt.part"
    # When a downloader writes under a temporary name, pausing past the settle interval
    part.write_text(article(1))
    time.sleep(1.5)
    assert stack.sources() == [] and part.exists()
    # and then renames it into place
    renamed = time.monotonic()
    part.rename(stack.inbox / "report.txt")
    # Then it is taken at once, under its final name, once
    assert wait_until(lambda: (stack.data / "processed" / "report.txt").exists(), 10, 0.01)
    assert time.monotonic() - renamed < 1.0
    assert wait_until(lambda: stack.counts()["indexed"] == 1, 30)
    assert stack.sources() == ["report.txt"]
    assert stack.files(stack.inbox) == []


def test_500_files_dropped_at_once_are_all_indexed_exactly_once(stack: Stack) -> None:
    # Given a running watcher
    stack.start_watcher()
    # When 500 files (in two sub-folders) are dropped at once
    for i in range(500):
        folder = stack.inbox / ("a" if i % 2 else "b")
        folder.mkdir(exist_ok=True)
        (folder / f"doc{i:03d}.txt").write_text(article(i))
    # Then every one becomes exactly one indexed document, and leaves the inbox
    assert wait_until(lambda: stack.counts()["indexed"] >= 500, 150, 0.5), stack.counts()
    sources = stack.sources()
    assert len(sources) == 500 and len(set(sources)) == 500
    assert stack.counts() == {"received": 0, "parsed": 0, "tagged": 0, "indexed": 500, "failed": 0}
    assert len(stack.files(stack.data / "processed")) == 500
    assert stack.files(stack.inbox) == []


def test_a_watcher_killed_mid_burst_and_restarted_loses_and_duplicates_nothing(
    stack: Stack,
) -> None:
    # Given a running watcher working through a burst of 200 files
    first = stack.start_watcher()
    total = 200
    for i in range(total):
        (stack.inbox / f"k{i:03d}.txt").write_text(article(i, "after the crash"))
    processed = stack.data / "processed"
    assert wait_until(lambda: len(stack.files(processed)) >= 15, 30, 0.005)
    # When it is killed with SIGKILL in the middle
    first.stop(signal.SIGKILL)
    left = len(stack.files(stack.inbox))
    print(f"files still in the inbox at the kill: {left} of {total}")
    assert left > 0, "the burst finished before the kill; the test proves nothing"
    # and a new watcher starts on the same folder
    stack.start_watcher()
    # Then every file ends as exactly one indexed document, and none is left behind
    assert wait_until(lambda: stack.counts()["indexed"] >= total, 120, 0.5), stack.counts()
    sources = stack.sources()
    assert len(sources) == total and len(set(sources)) == total
    assert stack.counts()["indexed"] == total
    assert sorted(stack.files(processed)) == sorted(f"k{i:03d}.txt" for i in range(total))
    assert stack.files(stack.inbox) == []
    assert len(os.listdir(stack.inbox / ".claimed")) == 1  # only the live watcher's box


def test_links_fifos_and_dotfiles_are_left_alone_and_the_watcher_keeps_working(
    stack: Stack,
    tmp_path: Path,
) -> None:
    # Given a file outside the inbox, and a running watcher
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(article(99, "secret"))
    watcher = stack.start_watcher()
    # When a symlink to it, a symlinked folder, a FIFO and a dotfile are dropped
    os.symlink(secret, stack.inbox / "link.txt")
    os.symlink(secret.parent, stack.inbox / "linked-folder")
    os.mkfifo(stack.inbox / "pipe.txt")
    (stack.inbox / ".draft.txt").write_text(article(1))
    time.sleep(2.5)  # two rescans and more than the settle interval
    # and then an ordinary file
    (stack.inbox / "plain.txt").write_text(article(2))
    # Then only the ordinary file is ingested; the others stay where they are, untouched
    assert wait_until(lambda: stack.counts()["indexed"] == 1, 30)
    assert stack.sources() == ["plain.txt"]
    assert watcher.proc.poll() is None
    assert {".draft.txt", "link.txt", "linked-folder", "pipe.txt"} <= set(os.listdir(stack.inbox))
    assert secret.read_text() == article(99, "secret")
    assert "file_skipped" in watcher.log()
    # And a dotfile is taken once renamed
    (stack.inbox / ".draft.txt").rename(stack.inbox / "draft.txt")
    assert wait_until(lambda: stack.counts()["indexed"] == 2, 30)
    assert stack.sources() == ["draft.txt", "plain.txt"]


def test_a_read_only_store_makes_the_watcher_wait_with_one_status_line_and_recover_by_itself(
    stack: Stack,
) -> None:
    """Given a running `docflow watch` and a worker,
    When the store file becomes read-only (`chattr +i`: root ignores file modes) and a good
    file and a file to reject arrive,
    Then the watcher process stays up (no crash, no restart), says once what it waits for,
    `docflow status` shows it in one line, and nothing is quarantined;
    And once the store is writable again the watcher finishes both files by itself."""
    import json
    import shutil

    from tests.conftest import docflow

    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    watcher = stack.start_watcher()
    db = stack.data / "docflow.db"
    files = [str(p) for p in (db, Path(f"{db}-wal")) if p.exists()]
    made = subprocess.run(["chattr", "+i", *files], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make the store immutable here: {made.stderr.strip()}")
    try:
        (stack.inbox / "good.txt").write_text(article(1))
        (stack.inbox / "empty.txt").write_text("  \n")
        assert wait_until(lambda: "watcher_waiting" in watcher.log(), 20), watcher.log()[-2000:]
        status = json.loads(docflow(stack.env, "status", "--json").stdout)
        [health] = status["watchers"]
        assert health["state"] == "waiting" and str(db) in health["problem"], health
        assert health["hint"]
        text = " ".join(docflow(stack.env, "status").stdout.split())
        assert "watcher: waiting since" in text and "fix:" in text, text
        time.sleep(4)  # a few retries go by
        assert watcher.proc.poll() is None
        assert watcher.log().count("watcher_waiting") == 1 and "Traceback" not in watcher.log()
        assert stack.files(stack.data / "processed") == []
        assert stack.files(stack.data / "failed") == []
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
    processed = stack.data / "processed" / "good.txt"
    assert wait_until(processed.exists, 60), watcher.log()[-3000:]
    assert stack.sources() == ["good.txt"]  # recorded (indexing is the workers' part)
    assert wait_until(lambda: len(stack.files(stack.data / "failed")) == 2, 30)
    assert stack.files(stack.data / "failed") == ["empty.txt", "empty.txt.error.json"]
    assert "watcher_recovered" in watcher.log() and watcher.proc.poll() is None
    status = json.loads(docflow(stack.env, "status", "--json").stdout)
    assert [w["state"] for w in status["watchers"]] == ["ok"]
