"""Where the documents and the time went: exactly-once accounting, latency segments, logs."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from workers.tools.bench.config import percentile, rounded
from workers.tools.bench.store import StoreReader


def log_figures(path: Path, doc_ids: set[str], batch_ids: set[str] | None = None) -> dict[str, Any]:
    """Per-task durations (task_prerun..postrun, store writes included) and log volume per doc.

    A batch task's own lines name its batch, not a document: they count as the tasks of
    the burst when the batch is one of `batch_ids`.
    """
    batches = batch_ids or set()
    durations: dict[str, list[float]] = defaultdict(list)
    lines = size = doc_lines = 0
    events: Counter[str] = Counter()
    try:
        handle = path.open("rb")
    except OSError:
        return {}
    with handle:
        for raw in handle:
            lines += 1
            size += len(raw)
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if record.get("doc_id") not in doc_ids:
                if record.get("batch_id") in batches and record.get("event") == "task_finished":
                    durations[str(record.get("stage"))].append(float(record.get("duration_ms", 0)))
                continue
            doc_lines += 1
            events[str(record.get("event")).split("[", 1)[0]] += 1
            if record.get("event") == "task_finished" and "stage" in record:
                durations[str(record["stage"])].append(float(record.get("duration_ms", 0)))
    n = max(1, len(doc_ids))
    return {
        "task_busy_ms_per_doc": rounded(sum(sum(v) for v in durations.values()) / n, 2),
        "task_ms": {
            stage: {"p50": rounded(percentile(v, 50), 2), "p95": rounded(percentile(v, 95), 2)}
            for stage, v in sorted(durations.items())
        },
        "worker_log_lines_per_doc": rounded(doc_lines / n, 1),
        "worker_log_bytes_total": size,
        "worker_log_events_per_doc": {k: rounded(v / n, 2) for k, v in events.most_common(8)},
    }


#: segments of drop-to-indexed at low load: (name, start point, end point)
_SEGMENTS = (
    ("watcher: drop to recorded", "drop", "created"),
    ("queue: recorded to parse start", "created", "parse.start"),
    ("parse", "parse.start", "parse.end"),
    ("parse done to tag start", "parse.end", "tag.start"),
    ("tag", "tag.start", "tag.end"),
    ("tag done to index start", "tag.end", "index.start"),
    ("index", "index.start", "index.end"),
    ("index done to found by search", "index.end", "found"),
)


def latency_breakdown(
    reader: StoreReader, drops: dict[str, float], found: dict[str, float]
) -> dict[str, float | None]:
    """p50 of each segment from drop to indexed, for documents dropped one at a time.

    A stage's recorded duration stops just before its result is written, so each
    "done to next start" gap holds that write, the publish of the next message, the ack
    and the broker round trip to a worker process.
    """
    if not drops:
        return {}
    ids = list(drops)
    marks = ",".join("?" * len(ids))
    points: dict[str, dict[str, float]] = {d: {"drop": t} for d, t in drops.items()}
    for doc_id, at in found.items():
        points[doc_id]["found"] = at
    for doc_id, created in reader.rows(
        f"SELECT id, created_at FROM documents WHERE id IN ({marks})", tuple(ids)
    ):
        points[doc_id]["created"] = float(created)
    for doc_id, stage, started, duration in reader.rows(
        f"SELECT doc_id, stage, started, duration_ms FROM stage_runs WHERE doc_id IN ({marks})",
        tuple(ids),
    ):
        if started is None or duration is None:
            continue
        points[doc_id][f"{stage}.start"] = float(started)
        points[doc_id][f"{stage}.end"] = float(started) + float(duration) / 1000
    out: dict[str, float | None] = {}
    for name, start, end in _SEGMENTS:
        values = [(p[end] - p[start]) * 1000 for p in points.values() if start in p and end in p]
        out[name] = rounded(percentile(values, 50), 1)
    return out


def placed_counts(*folders: Path) -> dict[str, int]:
    """How many times each original file name was placed (`name`, `name-1`, ... count)."""
    counts: dict[str, int] = defaultdict(int)
    clash = re.compile(r"^(?P<stem>.*?)-(?P<n>\d+)$")
    for folder in folders:
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if not path.is_file() or path.name.endswith(".error.json"):
                continue
            name = path.name
            match = clash.match(path.stem)
            if match and (folder / f"{match['stem']}{path.suffix}").exists():
                name = f"{match['stem']}{path.suffix}"
            counts[name] += 1
    return counts


def indexed_span(reader: StoreReader, ids: list[str]) -> tuple[float, int]:
    """(the last `indexed_at`, how many are indexed) of the documents `ids`."""
    last = 0.0
    indexed = 0
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        row = reader.rows(
            f"SELECT max(indexed_at), count(indexed_at) FROM documents"
            f" WHERE id IN ({marks}) AND status = 'indexed'",
            tuple(chunk),
        )[0]
        if row[0] is not None:
            last = max(last, float(row[0]))
            indexed += int(row[1])
    return last, indexed


def account_figures(
    reader: StoreReader,
    expected: set[str],
    burst: set[str],
    names: list[str],
    data: Path,
    warm: int,
    workers: int,
    pipeline: float | None,
) -> dict[str, Any]:
    """Every expected document indexed exactly once, and the stage times of the burst's.

    `names` are the dropped files, `data` the run's data dir (its processed and failed
    folders), `warm` the number of warm-up documents (expected in the store too),
    `pipeline` the burst's documents/s over `workers` processes.
    """
    status = dict(reader.rows("SELECT id, status FROM documents"))
    runs = reader.rows("SELECT doc_id, stage, duration_ms, attempts FROM stage_runs")
    total = reader.rows("SELECT count(*) FROM documents")[0][0]
    indexed = sum(1 for d in expected if status.get(d) == "indexed")
    failed = sum(1 for d in expected if status.get(d) == "failed")
    placed = placed_counts(data / "processed", data / "failed")
    stage_ms: dict[str, list[float]] = defaultdict(list)
    reruns = 0
    per_doc: dict[str, float] = defaultdict(float)
    for doc_id, stage, duration, attempts in runs:
        if doc_id not in burst:
            continue
        if duration is not None:
            stage_ms[stage].append(float(duration))
            if stage != "ingest":
                per_doc[doc_id] += float(duration)
        reruns += int(attempts or 1) > 1
    busy = sum(per_doc.values()) / len(per_doc) if per_doc else None
    out: dict[str, Any] = {
        "expected": len(expected),
        "indexed": indexed,
        "failed": failed,
        "lost": len(expected) - indexed - failed,
        "duplicated": sum(max(0, placed.get(n, 0) - 1) for n in names),
        "not_placed": sum(1 for n in names if not placed.get(n)),
        "unexpected_documents": max(0, int(total) - len(expected) - warm),
        "stage_reruns": reruns,
        "stage_ms": {
            stage: {"p50": rounded(percentile(v, 50), 2), "p95": rounded(percentile(v, 95), 2)}
            for stage, v in sorted(stage_ms.items())
        },
        "stage_busy_ms_per_doc": rounded(busy, 2),
        "stage_bound_docs_per_s": rounded(workers * 1000 / busy, 2) if busy else None,
    }
    if pipeline and busy:
        out["stage_time_share_pct"] = rounded(100 * pipeline * busy / (1000 * workers), 1)
    return out
