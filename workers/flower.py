"""Flower, started with the project's settings.

`docflow flower` (and `docflow up`) run `python -m workers.flower`, which configures
docflow's logging, puts the auth settings into Flower's own environment variables and
then runs `celery -A workers.app flower`. Secrets never appear on a command line (where
`ps` shows them): DOCFLOW_FLOWER_BASIC_AUTH becomes FLOWER_BASIC_AUTH in the child's
environment.

Flower's HTTP API can shut workers down, so it stays closed unless basic auth is on or
DOCFLOW_FLOWER_UNAUTHENTICATED_API=true asks for it (Flower answers 401 otherwise).
`/metrics` (Prometheus) and `/healthcheck` are always served without auth.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from workers.settings import Settings

LOOPBACK = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"  # only with basic auth on


def flower_address(settings: Settings, address: str | None = None) -> str:
    """Where Flower listens: loopback without auth; every interface once auth is on."""
    chosen = address or settings.flower_address
    if chosen:
        return chosen
    return ALL_INTERFACES if settings.flower_basic_auth else LOOPBACK


def flower_args(
    settings: Settings, port: int | None = None, address: str | None = None
) -> list[str]:
    """Flower's own options (never a secret among them)."""
    return [
        f"--port={port or settings.flower_port}",
        f"--address={flower_address(settings, address)}",
        f"--logging={settings.log_level.lower()}",
    ]


def flower_command(
    settings: Settings, port: int | None = None, address: str | None = None
) -> list[str]:
    """The command line that starts Flower on this project's Celery app."""
    return [sys.executable, "-m", "workers.flower", *flower_args(settings, port, address)]


def flower_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for Flower: `base` (os.environ) plus Flower's auth variables."""
    env = dict(os.environ if base is None else base)
    if settings.flower_basic_auth:
        env["FLOWER_BASIC_AUTH"] = settings.flower_basic_auth
    if settings.flower_unauthenticated_api:  # off unless the operator opted in
        env["FLOWER_UNAUTHENTICATED_API"] = "true"
    return env


def main(argv: list[str] | None = None) -> None:
    """`python -m workers.flower [flower options]`: Flower with docflow's settings and logs."""
    import structlog

    from tasks.masking import mask_url
    from workers.logging import configure_logging
    from workers.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    if settings.resolved_broker_url() is None:  # never watch a broker nobody configured
        from workers.app import no_broker_error

        raise SystemExit(f"docflow: error: {no_broker_error().describe()}")
    os.environ.update(flower_env(settings))
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith("--port") for a in args):
        args.append(f"--port={settings.flower_port}")
    if not any(a.startswith("--address") for a in args):
        args.append(f"--address={flower_address(settings)}")
    if not any(a.startswith("--logging") for a in args):
        args.append(f"--logging={settings.log_level.lower()}")
    structlog.get_logger("docflow.flower").info(
        "flower_starting",
        broker=mask_url(settings.resolved_broker_url()),
        auth="basic" if os.environ.get("FLOWER_BASIC_AUTH") else "none",
        unauthenticated_api=os.environ.get("FLOWER_UNAUTHENTICATED_API", "false"),
        options=args,
    )
    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", "-A", "workers.app", "flower", *args]
    celery_main()


if __name__ == "__main__":
    main()
