"""Per-process resources: the store connection and the spaCy tagger, made after fork."""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.errors import ConfigError
from tasks.store import Store, open_store
from workers.settings import Settings, get_settings

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


def check_model(model: str) -> None:
    """ConfigError (one line: which model, how to install it) unless `model` is an installed
    spaCy pipeline package or a model folder. Nothing is loaded: a model must not be in a
    process that forks workers, and this check runs in exactly those processes."""
    if importlib.util.find_spec("spacy") is None:
        raise ConfigError("spaCy is not installed", hint="pip install spacy")
    if model.isidentifier() and _is_model_folder(_package_dir(model)):
        return
    if _is_model_folder(Path(model).expanduser()):
        return
    other = "or set DOCFLOW_SPACY_MODEL to an installed pipeline or a model folder"
    if model.isidentifier():
        raise ConfigError(
            f"DOCFLOW_SPACY_MODEL: spaCy model {model!r} is not installed",
            hint=f"pip install {model.replace('_', '-')}, or for spaCy's own models "
            f"python -m spacy download {model}; {other}",
        )
    raise ConfigError(
        f"DOCFLOW_SPACY_MODEL: {model!r} is no installed spaCy pipeline and no model folder "
        "(a folder holding config.cfg or meta.json)",
        hint=f"fix the path, {other}",
    )


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else None


def _is_model_folder(folder: Path | None) -> bool:
    return folder is not None and any(
        (folder / name).is_file() for name in ("config.cfg", "meta.json")
    )


def check_store_location(settings: Settings) -> None:
    """A write command given an explicit SQLite store URL whose folder does not exist is
    refused (a typo must not grow a new tree); the default store under the data dir is
    created as needed."""
    store = settings.parsed_store
    path = store.path
    if path is None or settings.store_url is None or path.parent.is_dir():
        return
    raise ConfigError(
        f"DOCFLOW_STORE_URL={store.masked}: the folder {path.parent} does not exist",
        hint="create the folder, fix DOCFLOW_STORE_URL, or unset it to use <data dir>/docflow.db",
    )


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
