"""What a bench run is asked to do, the files it drops, and the rounding of its figures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from workers.tools.corpus import LENGTHS

MAX_FILE_BYTES = 50 * 1024 * 1024

Say = Callable[[str], None]


@dataclass
class BenchConfig:
    """What to run; see `docflow bench --help`."""

    docs: int | None = 300  #: None with a corpus folder = every file in it
    workers: int = 2
    corpus: Path | None = None
    words: tuple[int, int] = LENGTHS["seed"]
    seed: int = 0
    store_url: str | None = None  #: None = SQLite; postgresql://... = a private database there
    trickle: int = 20
    queries: int = 200
    warmup: int | None = None  #: None = 2 per worker (at least 4)
    stall_s: float = 180.0  #: give up when no document finishes for this long
    baseline: bool = True
    keep: bool = False
    baseline_batch: int = 4


@dataclass
class DropFile:
    """A file to drop into the inbox, with what ingest will make of it."""

    name: str
    data: bytes
    doc_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rejected: str | None = None


# ---- small helpers ---------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
