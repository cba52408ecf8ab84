"""The watcher's inotify reader on a real folder tree: what each change becomes, which
folders are watched, and a burst of moves read in one call with no pairing delay."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from workers.inbox_fs import DirId

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux")

if sys.platform.startswith("linux"):
    from workers.watch_inotify import InotifyTree


def changes(tree: InotifyTree, wait_s: float = 0.5) -> list[tuple[str, str, str]]:
    """Everything the tree reports until it has been quiet for a moment."""
    out = tree.read(wait_s)
    while more := tree.read(0.05):
        out += more
    return out


def no_exclusions() -> frozenset[DirId]:
    return frozenset()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    root.mkdir()
    return root


def test_a_file_written_and_closed_is_one_closed_change_after_its_create_and_modify(
    inbox: Path,
) -> None:
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        (inbox / "a.txt").write_text("words")
        got = changes(tree)
    finally:
        tree.close()
    path = str(inbox / "a.txt")
    assert got == [("created", path, ""), ("modified", path, ""), ("closed", path, "")]


def test_a_temporary_name_says_nothing_and_its_rename_into_place_is_a_complete_move(
    inbox: Path,
) -> None:
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        (inbox / "a.txt.part").write_text("words")
        os.rename(inbox / "a.txt.part", inbox / "a.txt")
        got = changes(tree)
    finally:
        tree.close()
    assert got == [("moved", "", str(inbox / "a.txt"))]


def test_a_file_renamed_out_of_the_tree_is_gone_at_once_with_no_pairing_delay(
    tmp_path: Path, inbox: Path
) -> None:
    (inbox / "a.txt").write_text("words")
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        os.rename(inbox / "a.txt", tmp_path / "elsewhere.txt")
        began = time.monotonic()
        got = tree.read(0.5)
        took = time.monotonic() - began
    finally:
        tree.close()
    assert got == [("deleted", str(inbox / "a.txt"), "")]
    assert took < 0.4  # watchdog held an unpaired move for 0.5 s


def test_dot_folders_and_excluded_folders_are_never_watched(inbox: Path) -> None:
    (inbox / ".claimed" / "w1").mkdir(parents=True)
    processed = inbox / "processed"
    processed.mkdir()
    info = processed.stat()
    tree = InotifyTree(str(inbox), lambda: frozenset({(info.st_dev, info.st_ino)}))
    try:
        assert tree.watched == 1  # the inbox alone
        (inbox / ".claimed" / "w1" / "a.txt").write_text("claimed")
        (processed / "b.txt").write_text("placed")
        assert changes(tree, 0.2) == []
    finally:
        tree.close()


def test_a_dot_folder_created_or_moved_in_later_is_not_watched_either(
    tmp_path: Path, inbox: Path
) -> None:
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        (inbox / ".git").mkdir()
        (tmp_path / ".cache").mkdir()
        os.rename(tmp_path / ".cache", inbox / ".cache")
        (inbox / ".git" / "HEAD").write_text("ref")
        (inbox / ".cache" / "a.txt").write_text("cached")
        assert changes(tree, 0.2) == []
        assert tree.watched == 1
    finally:
        tree.close()


def test_a_folder_created_in_the_tree_is_watched_and_what_it_holds_is_reported(
    inbox: Path,
) -> None:
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        folder = inbox / "2026" / "12"
        folder.mkdir(parents=True)
        (folder / "first.txt").write_text("one")
        got = changes(tree)
        (folder / "second.txt").write_text("two")
        later = changes(tree)
    finally:
        tree.close()
    first = str(folder / "first.txt")
    # written before or after its folder was watched: seen either way, never lost
    assert ("created", first, "") in got or ("closed", first, "") in got
    assert ("closed", str(folder / "second.txt"), "") in later
    assert tree.watched == 3


def test_a_folder_moved_in_is_one_change_and_is_watched_from_then_on(
    tmp_path: Path, inbox: Path
) -> None:
    outside = tmp_path / "batch"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "a.txt").write_text("complete")
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        os.rename(outside, inbox / "batch")
        got = changes(tree)
        (inbox / "batch" / "sub" / "b.txt").write_text("later")
        later = changes(tree)
    finally:
        tree.close()
    assert got == [("dir_moved", "", str(inbox / "batch"))]
    assert ("closed", str(inbox / "batch" / "sub" / "b.txt"), "") in later


def test_a_folder_moved_away_or_deleted_stops_being_watched(tmp_path: Path, inbox: Path) -> None:
    (inbox / "away" / "deep").mkdir(parents=True)
    (inbox / "gone").mkdir()
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        assert tree.watched == 4
        os.rename(inbox / "away", tmp_path / "away")
        (inbox / "gone").rmdir()
        assert changes(tree) == []
        (tmp_path / "away" / "deep" / "a.txt").write_text("not ours any more")
        assert changes(tree, 0.2) == []
    finally:
        tree.close()
    assert tree.watched == 1


def test_a_burst_of_a_thousand_renames_is_read_back_in_order_each_file_once(
    tmp_path: Path, inbox: Path
) -> None:
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        for i in range(1000):
            part = inbox / f"f{i:04d}.txt.part"
            part.write_text("x")
            os.rename(part, inbox / f"f{i:04d}.txt")
            os.rename(inbox / f"f{i:04d}.txt", tmp_path / f"f{i:04d}.txt")  # claimed away
        got = changes(tree)
    finally:
        tree.close()
    arrived = [dest for kind, _, dest in got if kind == "moved"]
    left = [src for kind, src, _ in got if kind == "deleted"]
    assert arrived == [str(inbox / f"f{i:04d}.txt") for i in range(1000)]
    assert left == arrived


def test_a_kernel_queue_overflow_is_reported_so_the_watcher_rescans(inbox: Path) -> None:
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 20_000:
        pytest.skip(f"the kernel queues {limit} events: too many to overflow quickly")
    tree = InotifyTree(str(inbox), no_exclusions)
    try:
        for i in range(limit // 2 + 10):  # created and closed: two events each
            (inbox / f"f{i}.txt").touch()
        got = changes(tree)
    finally:
        tree.close()
    assert ("overflow", "", "") in got


def test_the_root_that_cannot_be_watched_raises_so_the_watcher_falls_back(
    tmp_path: Path,
) -> None:
    with pytest.raises(OSError):
        InotifyTree(str(tmp_path / "missing"), no_exclusions)
