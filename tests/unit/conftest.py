"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.watcher import WatchConfig


@pytest.fixture
def layout(tmp_path: Path) -> WatchConfig:
    """A watcher's folders under a temporary folder, with quick settle and rescan times."""
    return WatchConfig(
        inbox=tmp_path / "inbox",
        processed=tmp_path / "processed",
        failed=tmp_path / "failed",
        max_bytes=1024 * 1024,
        settle_s=0.3,
        rescan_s=5.0,
        stall_s=10.0,
        run_dir=tmp_path / "run",
    )
