"""What every request of one app needs: the settings, the store and the templates."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from fastapi import Request
from fastapi.templating import Jinja2Templates

from tasks.store import Store
from workers.settings import Settings

HERE = Path(__file__).resolve().parent


class StoreSource:
    """The store for the calling thread.

    A SQLite connection must not be shared by threads mid-transaction, so each request
    thread gets its own SQLite store (WAL readers do not block each other); a PostgreSQL
    store is shared, its connection pool being thread-safe.
    """

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self._shared = store  # given by the caller (tests): shared, and not closed here
        self._sqlite = store is None and settings.parsed_store.is_sqlite
        self._local = threading.local()
        self._lock = threading.RLock()  # `get` opens the shared store holding it
        self._opened: list[Store] = []

    def get(self) -> Store:
        if not self._sqlite:
            if self._shared is None:
                with self._lock:
                    if self._shared is None:
                        self._shared = self._open()
            return self._shared
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._open()
            self._local.store = store
        return cast(Store, store)

    def _open(self) -> Store:
        from workers.commands import store_for

        store = store_for(self.settings)
        with self._lock:
            self._opened.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            store.close()


@dataclass
class WebState:
    """Held on `app.state.web`: one per app (tests build several apps in one process)."""

    settings: Settings
    stores: StoreSource
    templates: Jinja2Templates = field(
        default_factory=lambda: Jinja2Templates(directory=str(HERE / "templates"))
    )

    @property
    def store(self) -> Store:
        return self.stores.get()


def web(request: Request) -> WebState:
    """The app's state, for a route (a FastAPI dependency)."""
    return cast(WebState, request.app.state.web)
