"""What a worker process does once after fork, before its first task."""

from __future__ import annotations

import gc

import pytest

from workers import resources, signals


def test_a_worker_process_loads_the_model_then_freezes_it_out_of_the_garbage_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded: list[str] = []
    monkeypatch.setattr(resources, "reset", lambda: loaded.append("reset"))
    monkeypatch.setattr(resources, "get_store", lambda: loaded.append("store"))
    monkeypatch.setattr(resources, "get_tagger", lambda: loaded.append("tagger"))
    monkeypatch.setattr(signals, "_consumes_tag", True)
    gc.unfreeze()
    try:
        signals._process_init()
        # what was loaded lives as long as the process: full collections no longer walk it
        assert loaded == ["reset", "store", "tagger"]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
