"""What the entity rules' data (places, given names, legal forms) costs one process.

Measured in a fresh Python process (`python -m workers.tools.bench.entity_data`): its
RSS after importing the tagger's modules, then after `tasks.entities.knowledge.
load_knowledge` (the tables read from the machine's cache, as a worker reads them; built
there first if the cache is empty), and how long that took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

#: longest a probe may take (a cold cache builds the tables in child processes first)
PROBE_TIMEOUT_S = 120


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def probe() -> dict[str, Any]:
    """In this process: RSS before and after loading the tables, and the time it took."""
    import tasks.entities.knowledge as knowledge
    import tasks.tag  # noqa: F401  (the tagger's imports, so only the tables are counted)

    before = _rss_mb()
    started = time.perf_counter()
    entries = knowledge.load_knowledge()
    return {
        "entity_data_load_ms": round((time.perf_counter() - started) * 1000, 1),
        "entity_data_rss_mb": round(_rss_mb() - before, 1),
        "entity_data_entries": entries,
    }


def entity_data_figures() -> dict[str, Any]:
    """`probe` run in a fresh interpreter; an `entity_data_error` if it failed."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "workers.tools.bench.entity_data"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=True,
        )
        figures: dict[str, Any] = json.loads(done.stdout)
        return figures
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        return {"entity_data_error": f"{type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    print(json.dumps(probe()))
