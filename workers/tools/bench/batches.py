"""The batches a bench run's pipeline formed: their sizes, for the report and the ceiling.

Each tag run of a document records the batch task it ran in (`stage_runs.batch_id`); a
run alone has none. One batch is one model call (`Tagger.tag_batch`), so the number of
the burst's documents per batch id is the size of each model call the workers made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

#: the bins of the batch-size distribution: (label, smallest, largest)
SIZE_BINS = (
    ("1", 1, 1),
    ("2-3", 2, 3),
    ("4-7", 4, 7),
    ("8-15", 8, 15),
    ("16-31", 16, 31),
    ("32+", 32, None),
)


def model_calls(runs: Iterable[tuple[str, str | None]], docs: set[str]) -> list[int]:
    """Documents per model call, from (doc_id, batch_id) of tag runs, for `docs` only.

    Sorted largest first. A run with no batch id was a call of its own (size 1).
    """
    per_batch: Counter[str] = Counter()
    alone = 0
    for doc_id, batch_id in runs:
        if doc_id not in docs:
            continue
        if batch_id:
            per_batch[batch_id] += 1
        else:
            alone += 1
    return sorted([*per_batch.values(), *([1] * alone)], reverse=True)


def batch_figures(calls: list[int]) -> dict[str, Any]:
    """What the report says of the calls: how many, how large, how many documents in each bin.

    >>> batch_figures([32, 4, 1])["docs_by_batch_size"]
    {'1': 1, '2-3': 0, '4-7': 4, '8-15': 0, '16-31': 0, '32+': 32}
    """
    docs = sum(calls)
    if not docs:
        return {}
    by_bin = {
        label: sum(c for c in calls if c >= low and (high is None or c <= high))
        for label, low, high in SIZE_BINS
    }
    weighted = sorted(size for size in calls for _ in range(size))  # one entry per document
    return {
        "model_calls": len(calls),
        "docs_per_model_call": round(docs / len(calls), 2),
        "batch_size_p50_by_doc": weighted[len(weighted) // 2],
        "batch_size_max": max(calls),
        "batched_docs_pct": round(100 * sum(c for c in calls if c > 1) / docs, 1),
        "docs_by_batch_size": by_bin,
    }
