"""The watcher against a hostile inbox: swapped folders and links, tampered claim folders,
hard links, names at the 255-byte limit, and a store that cannot be written.

The store is a real SQLite file and the pipeline a recorder, as in test_watcher.py; the
hostile files are built at test time. Race tests run the real event loop for a few seconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.errors import ConfigError
from tasks.store import open_store
from tests.unit.test_watcher import ARTICLE, Clock, Recorder, files_under, make_watcher
from workers.claims import CLAIMED_DIR
from workers.watch_events import Event
from workers.watcher import WatchConfig, Watcher


def story(i: int, marker: str) -> str:
    return f"{marker} story {i}\n\nHakan Fidan met Marco Rubio in Washington. {marker} {i}.\n"


@pytest.fixture
def store(tmp_path: Path) -> Iterator:
    s = open_store(f"sqlite:///{tmp_path / 'docflow.db'}")
    yield s
    s.close()


def run_in_thread(watcher: Watcher) -> threading.Thread:
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while watcher.box._lock_fd is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread


def wait_for(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


# ---- races: a folder swapped for a link to an outside folder -----------------------------


def test_a_folder_swapped_with_a_link_to_an_outside_folder_never_lets_an_outside_file_in(
    tmp_path: Path, store
) -> None:
    """Given an outside folder of secrets, and a thread that keeps swapping `inbox/sub`
    between a real folder (holding decoys of the same names) and a link to it,
    When the watcher runs through it for three seconds,
    Then no outside file is moved or ingested, and the watcher is alive and takes a
    good file dropped afterwards."""
    config = WatchConfig(
        inbox=tmp_path / "inbox",
        processed=tmp_path / "processed",
        failed=tmp_path / "failed",
        max_bytes=1 << 20,
        settle_s=0.02,
        rescan_s=0.02,
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    names = [f"s{i}.txt" for i in range(8)]
    for i, name in enumerate(names):
        (outside / name).write_text(story(i, "SECRET"))
    inbox = config.inbox
    inbox.mkdir()
    (inbox / "sub").mkdir()
    watcher = Watcher(config, store, Recorder(), ident="racer")
    thread = run_in_thread(watcher)
    stop = threading.Event()

    def swapper() -> None:
        sub, hold = inbox / "sub", inbox / ".hold"
        while not stop.is_set():
            with contextlib.suppress(OSError):
                for i, name in enumerate(names):
                    if not (sub / name).exists():
                        (sub / name).write_text(story(i, "decoy"))
                sub.rename(hold)
                os.symlink(outside, sub)
                time.sleep(0.0005)
                sub.unlink()
                hold.rename(sub)
            time.sleep(0.0005)

    attacker = threading.Thread(target=swapper, daemon=True)
    attacker.start()
    try:
        time.sleep(3.0)
        stop.set()
        attacker.join(5)
        if (inbox / "sub").is_symlink():
            (inbox / "sub").unlink()
        alive = thread.is_alive()
        (inbox / "after.txt").write_text(story(1, "after"))
        taken = wait_for(lambda: (config.processed / "after.txt").exists(), 5)
    finally:
        stop.set()
        watcher.stop()
        thread.join(5)
    assert sorted(os.listdir(outside)) == sorted(names), "an outside file was moved"
    for i, name in enumerate(names):
        assert (outside / name).read_text() == story(i, "SECRET")
    for doc in store.iter_documents():
        assert "SECRET" not in doc.raw, f"{doc.source} came from outside the inbox"
    for path in config.processed.rglob("*"):
        assert not path.is_file() or "SECRET" not in path.read_text()
    assert alive, "the watcher died during the swaps"
    assert taken, "the watcher did not take a good file dropped afterwards"


def test_a_claim_box_swapped_for_a_link_routes_no_claim_outside(
    layout, store, tmp_path: Path
) -> None:
    # Given a running watcher whose broker is down (claims stay in the box a while)
    clock = Clock()
    recorder = Recorder()
    recorder.fail_next = 1
    watcher = make_watcher(layout, store, clock, dispatcher=recorder)
    watcher.start(observe=False)
    outside = tmp_path / "attacker"
    outside.mkdir()
    # When someone replaces `.claimed/<id>` with a link to a folder of theirs
    box = layout.inbox / CLAIMED_DIR / watcher.ident
    box.rename(layout.inbox / CLAIMED_DIR / "moved-away")
    os.symlink(outside, box)
    (layout.inbox / "a.txt").write_text(ARTICLE)
    watcher.handle(Event("closed", str(layout.inbox / "a.txt")))
    # Then the claim went to the real box, nothing to the attacker's folder
    assert os.listdir(outside) == []
    assert (layout.inbox / CLAIMED_DIR / "moved-away" / "a.txt").exists()
    clock.t += 1
    watcher.step(timeout=0)
    assert files_under(layout.processed) == ["a.txt"] and os.listdir(outside) == []


def test_a_claimed_folder_swapped_for_a_link_routes_no_claim_outside(
    layout, store, tmp_path: Path
) -> None:
    clock = Clock()
    recorder = Recorder()
    recorder.fail_next = 1
    watcher = make_watcher(layout, store, clock, dispatcher=recorder)
    watcher.start(observe=False)
    outside = tmp_path / "attacker"
    (outside / watcher.ident).mkdir(parents=True)
    # When someone renames `.claimed` away and puts a link to their folder in its place
    (layout.inbox / CLAIMED_DIR).rename(layout.inbox / "old-claims")
    os.symlink(outside, layout.inbox / CLAIMED_DIR)
    (layout.inbox / "a.txt").write_text(ARTICLE)
    watcher.handle(Event("closed", str(layout.inbox / "a.txt")))
    # Then the claim waits in the real box (now under its new name), not in their folder
    assert files_under(outside) == []
    assert (layout.inbox / "old-claims" / watcher.ident / "a.txt").exists()
    clock.t += 1
    watcher.step(timeout=0)
    assert files_under(layout.processed) == ["a.txt"] and files_under(outside) == []


def test_a_claim_folder_that_is_a_link_shared_or_someone_elses_is_refused_at_start(
    layout, store, tmp_path: Path
) -> None:
    layout.inbox.mkdir(parents=True)
    claimed = layout.inbox / CLAIMED_DIR
    os.symlink(tmp_path, claimed)
    with pytest.raises(ConfigError, match="is a symbolic link") as link:
        make_watcher(layout, store, ident="w1").start(observe=False)
    assert str(claimed) in link.value.message and "rm" in link.value.hint
    claimed.unlink()

    claimed.mkdir()
    claimed.chmod(0o777)
    with pytest.raises(ConfigError, match="writable by other users") as shared:
        make_watcher(layout, store, ident="w2").start(observe=False)
    assert f"chmod 700 {claimed}" in shared.value.hint

    if os.geteuid() == 0:
        claimed.chmod(0o700)
        os.chown(claimed, 65534, 65534)
        with pytest.raises(ConfigError, match="belongs to uid 65534"):
            make_watcher(layout, store, ident="w3").start(observe=False)


def test_a_new_claim_folder_is_private_to_the_watchers_user(layout, store) -> None:
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    info = os.stat(layout.inbox / CLAIMED_DIR)
    assert info.st_mode & 0o077 == 0 and info.st_uid == os.geteuid()


# ---- hard links ----------------------------------------------------------------------


def test_a_hard_link_to_an_outside_file_is_taken_by_its_inbox_name_and_the_outside_name_stays(
    layout, store, tmp_path: Path
) -> None:
    # Given a file outside the inbox and a hard link to it dropped into the inbox
    outside = tmp_path / "elsewhere" / "kept.txt"
    outside.parent.mkdir()
    outside.write_text(story(1, "linked"))
    before = outside.stat()
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    os.link(outside, layout.inbox / "linked.txt")
    # When the watcher takes it
    watcher.handle(Event("closed", str(layout.inbox / "linked.txt")))
    # Then the inbox name moved to processed; the outside name and its content stay
    assert files_under(layout.processed) == ["linked.txt"] and files_under(layout.inbox) == []
    after = outside.stat()
    assert outside.read_text() == story(1, "linked") and after.st_ino == before.st_ino
    assert after.st_nlink == 2  # the outside name + the processed one: the same inode
    [doc] = store.iter_documents()
    assert doc.source == "linked.txt"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root to act as another user (setpriv)",
)
def test_an_inbox_user_cannot_hard_link_a_file_they_cannot_read() -> None:
    """What the hard-link rule above rests on: Linux's fs.protected_hardlinks=1 (the default)."""
    if Path("/proc/sys/fs/protected_hardlinks").read_text().strip() != "1":
        pytest.skip("fs.protected_hardlinks is off on this machine")
    base = Path(tempfile.mkdtemp(prefix="docflow-hl-"))  # a place user nobody can reach
    try:
        base.chmod(0o755)
        secret = base / "secret.txt"
        secret.write_text("root only")
        secret.chmod(0o600)
        inbox = base / "inbox"
        inbox.mkdir()
        inbox.chmod(0o777)
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = subprocess.run(
            [*as_nobody, "ln", str(secret), str(inbox / "x.txt")], capture_output=True, text=True
        )
        assert done.returncode != 0 and "Operation not permitted" in done.stderr, done.stderr
        assert not (inbox / "x.txt").exists()
    finally:
        shutil.rmtree(base)


# ---- the watcher goes on --------------------------------------------------------------


def test_a_processed_folder_inside_the_inbox_is_never_taken_from(tmp_path: Path, store) -> None:
    config = WatchConfig(
        inbox=tmp_path / "inbox",
        processed=tmp_path / "inbox" / "done",
        failed=tmp_path / "failed",
        max_bytes=1 << 20,
    )
    clock = Clock()
    watcher = make_watcher(config, store, clock)
    watcher.start(observe=False)
    (config.inbox / "a.txt").write_text(ARTICLE)
    watcher.handle(Event("closed", str(config.inbox / "a.txt")))
    for _ in range(3):
        clock.t += 6
        watcher.step(timeout=0)
    assert files_under(config.processed) == ["a.txt"]
    assert watcher.stats.claimed == 1 and len(list(store.iter_documents())) == 1


def test_an_unexpected_error_on_one_file_is_logged_and_the_next_file_is_taken(
    layout, store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workers.watch_scan as taking  # where a file to take is looked up

    real = taking.lookup

    def broken_for_one(root_fd: int, rel: str, excluded: frozenset) -> tuple:
        if rel == "bad.txt":
            raise RuntimeError("a bug on one path")
        return real(root_fd, rel, excluded)

    monkeypatch.setattr(taking, "lookup", broken_for_one)
    watcher = make_watcher(layout, store)
    watcher.start(observe=False)
    for name in ("bad.txt", "good.txt"):
        (layout.inbox / name).write_text(f"{name}\n\n{ARTICLE}")
        watcher.note(Event("closed", str(layout.inbox / name)))
    watcher.step(timeout=0)
    assert files_under(layout.processed) == ["good.txt"]
    assert files_under(layout.inbox) == ["bad.txt"]
