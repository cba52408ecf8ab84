"""Per-process resources: the store connection and the spaCy tagger, made after fork."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from tasks.store import Store, open_store
from workers.settings import get_settings

if TYPE_CHECKING:
    from tasks.tag import Tagger

_lock = threading.Lock()
_store: tuple[int, Store] | None = None
_tagger: tuple[int, Tagger] | None = None


def get_store() -> Store:
    """This process's store, opened (and migrated) on first use."""
    global _store
    with _lock:
        if _store is None or _store[0] != os.getpid():
            _store = (os.getpid(), open_store(get_settings().store))
        return _store[1]


def get_tagger() -> Tagger:
    """This process's tagger: the spaCy model is loaded once per process, never before fork."""
    global _tagger
    with _lock:
        if _tagger is None or _tagger[0] != os.getpid():
            from tasks.tag import Tagger

            settings = get_settings()
            _tagger = (os.getpid(), Tagger(settings.spacy_model, settings.entities_path))
        return _tagger[1]


def reset() -> None:
    """Forget this process's resources (after fork, or when settings change)."""
    global _store, _tagger
    with _lock:
        if _store is not None and _store[0] == os.getpid():
            _store[1].close()
        _store = None
        _tagger = None
