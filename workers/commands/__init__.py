"""The CLI's sub-commands, one module per area; each registers itself on `workers.cli.app`."""

from __future__ import annotations

from tasks.store import Store, open_store
from workers.logging import configure_logging
from workers.settings import Settings, get_settings


def setup(*, logs: bool = True) -> Settings:
    """Settings for a command, with logging configured from them."""
    settings = get_settings()
    if logs:
        configure_logging(settings.log_format, settings.log_level)
    return settings


def store_for(settings: Settings) -> Store:
    return open_store(settings.store)
