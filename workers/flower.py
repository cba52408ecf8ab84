"""Flower, started with the project's settings."""

from __future__ import annotations

import sys

from workers.settings import Settings


def flower_command(settings: Settings, port: int | None = None) -> list[str]:
    """The command line that starts Flower on this project's Celery app."""
    cmd = [sys.executable, "-m", "celery", "-A", "workers.app", "flower",
           f"--port={port or settings.flower_port}", "--address=127.0.0.1"]
    if settings.flower_basic_auth:
        cmd.append(f"--basic-auth={settings.flower_basic_auth}")
    return cmd
