"""The watcher and `docflow ingest` take files in groups: one store transaction and one
publish per burst, batch messages for a burst and a single message for a lone file.

The store is real (SQLite; PostgreSQL too where it is reachable); messages go to Celery's
in-memory transport and are read back as they are published (the `published` fixture).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import workers.batch_publish as batch_publish
from tasks.errors import StoreUnavailable
from tasks.ingest import prepare_file, record_files
from tasks.store import Store, open_store
from tests.unit.test_delivery_outcomes import published
from tests.unit.test_store_batch import make_store
from tests.unit.test_watcher import ARTICLE, LOCK_NAME, Clock, files_under
from workers.batch_publish import BatchSender
from workers.intake import ingest_paths
from workers.publish import BATCH_TASK
from workers.settings import Settings
from workers.watch_config import CeleryDispatcher, WatchConfig
from workers.watch_events import Event
from workers.watch_process import GROUP_FILES, MAX_UNEXPECTED_ATTEMPTS
from workers.watcher import Watcher

__all__ = ["make_store", "published"]

MB = 1 << 20


def story(i: int) -> str:
    return f"Story {i}\n\n{ARTICLE}Round {i} of the talks ended on Monday.\n"


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'docflow.db'}")
    yield s
    s.close()


def celery_watcher(layout: WatchConfig, store: Store, clock: Clock, consumers: int = 2) -> Watcher:
    """A watcher publishing through the real sender, to as many parse consumers as given."""
    layout.inbox.mkdir(parents=True, exist_ok=True)
    sender = BatchSender(32, 20000, lambda: consumers)
    watcher = Watcher(layout, store, CeleryDispatcher(store, sender), ident="w", clock=clock)
    watcher.start(observe=False)
    return watcher


def drop(watcher: Watcher, names: list[str], text: Callable[[int], str] = story) -> None:
    """Files written and closed in the inbox, their close events noted (not yet taken)."""
    for i, name in enumerate(names):
        (watcher.config.inbox / name).write_text(text(i))
        watcher.note(Event("closed", str(watcher.config.inbox / name)))


def message_ids(messages: list[dict[str, Any]]) -> list[str]:
    """Every document id the messages carry, a batch's and a single one's alike."""
    ids: list[str] = []
    for m in messages:
        ids.extend(m["args"][0] if m["task"] == BATCH_TASK else m["args"][:1])
    return ids


# ---- the watcher ------------------------------------------------------------------------


def test_a_burst_of_files_is_published_as_a_few_batch_messages_in_one_step(
    layout, store, published
) -> None:
    # Given a watcher whose pipeline has two parse processes
    watcher = celery_watcher(layout, store, Clock(), consumers=2)
    names = [f"s{i:02d}.txt" for i in range(40)]
    # When 40 files arrive at once and the watcher takes one step
    drop(watcher, names)
    watcher.step(timeout=0)
    # Then they went out as batch messages of 5 (four per parse process), the last ones
    # smaller so both processes finish together, each document exactly once
    docs = {doc.id for doc in store.iter_documents()}
    assert len(docs) == 40
    sizes = [len(m["args"][0]) if m["task"] == BATCH_TASK else 1 for m in published]
    assert sizes == [5] * 7 + [3, 1, 1]
    assert sorted(message_ids(published)) == sorted(docs)
    # and every file was moved out once its documents were recorded and published
    assert files_under(layout.processed) == names


def test_a_watcher_behind_a_burst_sends_only_full_batches_until_it_catches_up(
    layout, store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a watcher whose turn ends after its first group of files (its time budget
    # runs out) while 40 files are ready
    import workers.watcher as watcher_module

    ticks = iter([0.0, 0.5, 2.0] + [100.0 + i / 100 for i in range(1000)])
    monkeypatch.setattr(watcher_module, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    watcher = celery_watcher(layout, store, Clock(), consumers=2)
    names = [f"s{i:02d}.txt" for i in range(40)]
    drop(watcher, names)
    # When it takes one step, only the full batch of 32 goes: the rest waits for more
    watcher.step(timeout=0)
    assert [len(m["args"][0]) for m in published] == [32]
    assert len(files_under(layout.processed)) == 32  # the waiting files stay claimed
    # and the next step, with nothing more ready, sends the rest in a shrinking tail
    watcher.step(timeout=0)
    sizes = [len(m["args"][0]) if m["task"] == BATCH_TASK else 1 for m in published]
    assert sum(sizes) == 40 and sizes[0] == 32 and sizes[1:] == sorted(sizes[1:], reverse=True)
    assert sorted(message_ids(published)) == sorted(d.id for d in store.iter_documents())
    assert files_under(layout.processed) == names


def test_a_lone_file_is_one_single_message_sent_in_the_step_it_is_taken(
    layout, store, published
) -> None:
    watcher = celery_watcher(layout, store, Clock())
    (layout.inbox / "a.txt").write_text(ARTICLE)
    watcher.handle(Event("closed", str(layout.inbox / "a.txt")))
    [doc] = store.iter_documents()
    assert [(m["task"], m["args"]) for m in published] == [("docflow.parse", [doc.id])]
    assert published[0]["trace_id"] == doc.trace_id
    assert files_under(layout.processed) == ["a.txt"]


def test_a_group_with_one_bad_file_records_the_others_and_rejects_the_bad_one_alone(
    layout, store, published
) -> None:
    watcher = celery_watcher(layout, store, Clock())
    drop(watcher, ["a.txt", "b.txt", "c.txt"])
    (layout.inbox / "bad.txt").write_bytes(b"%PDF-1.7 not text at all")
    watcher.note(Event("closed", str(layout.inbox / "bad.txt")))
    watcher.step(timeout=0)
    assert files_under(layout.processed) == ["a.txt", "b.txt", "c.txt"]
    assert files_under(layout.failed) == ["bad.txt", "bad.txt.error.json"]
    [rejected] = store.rejected_files()
    assert rejected.source == "bad.txt" and "PDF" in rejected.error
    assert len(message_ids(published)) == 3 == len(list(store.iter_documents()))


def test_a_store_outage_during_a_groups_recording_keeps_every_file_claimed_then_takes_each_once(
    layout, store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store that fails on the third article of a group of five
    clock = Clock()
    watcher = celery_watcher(layout, store, clock)
    real, calls = store.add_document, []

    def down_once_midway(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise StoreUnavailable("the store went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "add_document", down_once_midway)
    names = [f"s{i}.txt" for i in range(5)]
    drop(watcher, names)
    watcher.step(timeout=0)
    # Then nothing of the group was recorded or sent, and every file is still claimed
    assert list(store.iter_documents()) == [] and published == []
    assert files_under(watcher.box.folder) == sorted([LOCK_NAME, *names])
    assert watcher.health.waiting and watcher.health.kind == "store"
    # When the retry comes, with the store back
    clock.t += 1
    watcher.step(timeout=0)
    # Then every file is ingested, each document recorded and published exactly once
    docs = [doc.id for doc in store.iter_documents()]
    assert len(docs) == 5 and sorted(message_ids(published)) == sorted(docs)
    assert files_under(layout.processed) == names and not watcher.health.waiting


def test_a_group_the_store_refuses_for_one_file_is_recorded_file_by_file(
    layout, store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store with a bug for one article (not an outage)
    clock = Clock()
    watcher = celery_watcher(layout, store, clock)
    real = store.add_document

    def refuses_story_2(raw: Any, *args: Any, **kwargs: Any) -> Any:
        if raw.content.startswith("Story 2"):
            raise RuntimeError("a store bug on one article")
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(store, "add_document", refuses_story_2)
    names = [f"s{i}.txt" for i in range(4)]
    drop(watcher, names)
    watcher.step(timeout=0)
    # Then the other files are recorded, published and placed in that same step
    assert files_under(layout.processed) == ["s0.txt", "s1.txt", "s3.txt"]
    assert len(message_ids(published)) == 3
    # and the odd one stays claimed and is retried alone, then quarantined as a bug
    for _ in range(MAX_UNEXPECTED_ATTEMPTS):
        clock.t += 60
        watcher.step(timeout=0)
    assert files_under(layout.failed) == ["s2.txt", "s2.txt.error.json"]


def test_a_flush_the_broker_refuses_keeps_the_files_claimed_and_sends_each_id_once_later(
    layout, store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    watcher = celery_watcher(layout, store, clock, consumers=1)
    real, calls = batch_publish.send_batch, []

    def down_once(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("broker down")
        real(*args, **kwargs)

    monkeypatch.setattr(batch_publish, "send_batch", down_once)
    names = [f"s{i}.txt" for i in range(3)]
    drop(watcher, names)
    watcher.step(timeout=0)
    assert files_under(layout.processed) == [] and published == []
    assert watcher.health.waiting and watcher.health.kind == "broker"
    clock.t += 1
    watcher.step(timeout=0)
    docs = sorted(doc.id for doc in store.iter_documents())
    assert sorted(message_ids(published)) == docs and len(docs) == 3
    assert files_under(layout.processed) == names and not watcher.health.waiting


def test_files_beyond_one_group_are_recorded_in_several_groups_but_published_once(
    layout, store, published
) -> None:
    watcher = celery_watcher(layout, store, Clock(), consumers=2)
    names = [f"s{i:03d}.txt" for i in range(GROUP_FILES + 5)]
    drop(watcher, names)
    watcher.step(timeout=0)
    sizes = [len(m["args"][0]) if m["task"] == BATCH_TASK else 1 for m in published]
    assert sizes == [5] * 6 + [4, 2, 1]  # one flush, shrinking toward its end
    assert len(files_under(layout.processed)) == GROUP_FILES + 5


def test_a_long_burst_sends_its_first_full_batches_before_the_watcher_has_taken_it_all(
    layout, store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a watcher with two parse processes and 100 files ready at once
    watcher = celery_watcher(layout, store, Clock(), consumers=2)
    names = [f"s{i:03d}.txt" for i in range(100)]
    drop(watcher, names)
    taken_when_sent: list[int] = []
    send = watcher.processor.dispatcher.flush

    def flush(*, more_coming: bool = False) -> None:
        taken_when_sent.append(watcher.stats.claimed)
        send(more_coming=more_coming)

    monkeypatch.setattr(watcher.processor.dispatcher, "flush", flush)
    # When it takes one step
    watcher.step(timeout=0)
    # Then once two groups were recorded (a full batch for each process), those two
    # batches went out while 36 files still waited to be taken; the rest went at the
    # end of the step, shrinking toward the end; every document once
    sizes = [len(m["args"][0]) if m["task"] == BATCH_TASK else 1 for m in published]
    assert taken_when_sent[0] == 2 * GROUP_FILES and sizes[:2] == [32, 32]
    assert sum(sizes) == 100 and sizes[2:] == sorted(sizes[2:], reverse=True)
    assert sorted(message_ids(published)) == sorted(d.id for d in store.iter_documents())
    assert files_under(layout.processed) == names


# ---- recording a group in one transaction ------------------------------------------------


def test_a_group_of_files_is_recorded_all_or_nothing_in_one_transaction(
    make_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store()
    files = [prepare_file(f"s{i}.txt", story(i).encode(), max_bytes=MB) for i in range(4)]
    feed = b'{"text": "one"}\nnot json\n{"text": "two"}\n'
    files.append(prepare_file("feed.jsonl", feed, max_bytes=MB))
    real, calls = store.add_document, []

    def fails_on_the_last(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 6:
            raise StoreUnavailable("gone")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "add_document", fails_on_the_last)
    with pytest.raises(StoreUnavailable):
        record_files(store, files, worker="w")
    assert list(store.iter_documents()) == [] and store.rejected_files() == []
    results = record_files(store, files, worker="w")
    assert [len(r.new_ids) for r in results] == [1, 1, 1, 1, 2]
    assert len(list(store.iter_documents())) == 6
    [bad_line] = store.rejected_files()
    assert bad_line.source == "feed.jsonl" and "line 2" in bad_line.error


def test_the_same_article_twice_in_one_group_is_one_document_and_one_duplicate(
    make_store,
) -> None:
    store = make_store()
    files = [prepare_file(n, story(7).encode(), max_bytes=MB) for n in ("a.txt", "b.txt")]
    first, second = record_files(store, files)
    assert len(first.new_ids) + len(second.new_ids) == 1
    assert first.new_ids + second.new_ids == first.duplicate_ids + second.duplicate_ids
    assert len(list(store.iter_documents())) == 1


# ---- docflow ingest -----------------------------------------------------------------------


def test_ingest_of_many_files_records_them_in_groups_and_publishes_batch_messages(
    tmp_path: Path, store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workers.intake as intake_module

    folder = tmp_path / "many"
    folder.mkdir()
    count = 2 * intake_module.GROUP_FILES + 3
    for i in range(count):
        (folder / f"s{i:03d}.txt").write_text(story(i))
    (folder / "bad.txt").write_bytes(b"\x89PNG not text")
    real, groups = intake_module.record_files, []

    def recorded(store_: Store, files: list[Any], **kwargs: Any) -> Any:
        groups.append((len(files), len(published)))  # group size, messages sent before it
        return real(store_, files, **kwargs)

    monkeypatch.setattr(intake_module, "record_files", recorded)
    sender = BatchSender(8, 20000, lambda: 2)
    intake = ingest_paths(store, Settings(data_dir=tmp_path), [folder], sender)
    # Then every file was recorded in three transactions, the bad one rejected alone
    assert [size for size, _ in groups] == [64, 64, 3]
    assert intake.rejected == 1 and [r.source for r in store.rejected_files()] == ["bad.txt"]
    # and the documents went out as batch messages, each once: full batches after each
    # group (work starts early; a partial batch would wait for the next group), and the
    # last three at the end
    sizes = [len(m["args"][0]) if m["task"] == BATCH_TASK else 1 for m in published]
    assert sizes == [8] * 16 + [1, 1, 1] and groups[1][1] == 8 and groups[2][1] == 16
    assert sorted(message_ids(published)) == sorted(intake.new_ids)
    assert len(intake.new_ids) == count and intake.messages == len(published)
    assert intake.unsent == []


def test_ingest_with_the_broker_down_keeps_everything_recorded_and_returns_the_unsent(
    tmp_path: Path, store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broker_down(*_: Any, **__: Any) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(batch_publish, "send_batch", broker_down)
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(5):
        (folder / f"s{i}.txt").write_text(story(i))
    intake = ingest_paths(
        store, Settings(data_dir=tmp_path), [folder], BatchSender(32, 20000, lambda: 1)
    )
    assert sorted(intake.unsent) == sorted(intake.new_ids) and len(intake.new_ids) == 5
    assert "connection refused" in intake.publish_error
    assert store.counts().get("received") == 5


def test_a_watcher_that_dies_between_recording_a_group_and_publishing_it_loses_nothing(
    layout, store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a watcher that recorded a group of eight files but could not publish them
    real = batch_publish.send_batch

    def broker_down(*_: Any, **__: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(batch_publish, "send_batch", broker_down)
    first = celery_watcher(layout, store, Clock())
    names = [f"s{i}.txt" for i in range(8)]
    drop(first, names)
    first.step(timeout=0)
    assert len(list(store.iter_documents())) == 8 and published == []
    # When it dies (its lock goes with its process) and another watcher starts
    assert first.box._lock_fd is not None
    os.close(first.box._lock_fd)
    monkeypatch.setattr(batch_publish, "send_batch", real)
    second = Watcher(
        layout,
        store,
        CeleryDispatcher(store, BatchSender(32, 20000, lambda: 1)),
        ident="second",
        clock=Clock(),
    )
    second.start(observe=False)
    second.step(timeout=0)
    # Then the second takes the claims over: no new documents, and the recorded ones,
    # still `received`, are published once, in one flush (4 batches for its one consumer)
    docs = sorted(doc.id for doc in store.iter_documents())
    assert len(docs) == 8 and sorted(message_ids(published)) == docs
    assert [m["task"] for m in published] == [BATCH_TASK] * 4
    assert files_under(layout.processed) == names
