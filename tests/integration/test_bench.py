"""`docflow bench` end to end: a private stack, a burst, a trickle, and honest accounting.

No assertion on speed: figures come from the command, never from a timed test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

REQUIRED_KEYS = {
    "docs",
    "workers",
    "pipeline_docs_per_s",
    "baseline_docs_per_s",
    "ratio",
    "latency_p50_s",
    "latency_p95_s",
    "worker_rss_mb_max",
    "worker_rss_growth_pct",
    "search_p50_ms",
    "search_p95_ms",
    "stage_ms",
    "redis_used_memory_peak_mb",
    "indexed",
    "lost",
    "duplicated",
    "failed",
}


def _bench_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("docflow-bench-*")}


def users_environment(tmp_path: Path) -> dict[str, str]:
    """This environment, pointing at someone's data dir, broker and store under tmp_path."""
    env = dict(os.environ)
    env["DOCFLOW_DATA_DIR"] = str(tmp_path / "users-data")
    env["DOCFLOW_BROKER_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    env["DOCFLOW_STORE_URL"] = f"sqlite:///{tmp_path / 'users.db'}"
    return env


def bench(options: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docflow bench OPTIONS` from the repository, in `env`."""
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", "bench", *options],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_bench_runs_a_private_stack_and_every_document_is_indexed_exactly_once(
    tmp_path: Path,
) -> None:
    # Given an environment that points at someone's data, broker and store
    env = users_environment(tmp_path)
    before = _bench_dirs()
    # When a small benchmark runs
    result = bench(
        ["--docs", "20", "--workers", "1", "--trickle", "5", "--queries", "50", "--json"], env
    )
    # Then it reports every figure, and every dropped document ended indexed exactly once
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert set(figures) >= REQUIRED_KEYS
    assert figures["docs"] == 20 and figures["workers"] == 1
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["failed"] == 0
    assert figures["indexed"] == figures["expected"] == 25
    assert figures["latency_samples"] == 5
    assert set(figures["stage_ms"]) >= {"parse", "tag", "index"}
    assert figures["pipeline_docs_per_s"] > 0 and figures["baseline_docs_per_s"] > 0
    # and the baseline brackets the burst: run before and after it, the ratio uses the mean
    runs = (figures["baseline_before_docs_per_s"], figures["baseline_after_docs_per_s"])
    assert figures["baseline_docs_per_s"] == pytest.approx(sum(runs) / 2, abs=0.01)
    assert figures["ratio"] == pytest.approx(
        figures["pipeline_docs_per_s"] / figures["baseline_docs_per_s"], abs=0.002
    )
    # and it says how the workers batched the burst: every burst document in one model call
    batches = figures["batches"]
    assert sum(batches["docs_by_batch_size"].values()) == figures["docs"] == 20
    assert batches["model_calls"] <= 20 and batches["batch_size_max"] >= 1
    # and it bounds what a pipeline making those model calls could reach: calls of those
    # sizes, plus what the watcher, Celery's main process and Redis spend per document
    assert figures["spacy_per_call_cost_pct"] is not None
    around = sum(figures["cpu_ms_per_doc"].get(k, 0) for k in ("watcher", "worker-main", "redis"))
    assert around > 0
    call_cpu = figures["baseline_cpu_ms_per_doc"] * (1 + figures["spacy_per_call_cost_pct"] / 100)
    assert figures["ratio_ceiling"] == pytest.approx(
        figures["baseline_cpu_ms_per_doc"] / (call_cpu + around), abs=0.005
    )
    assert figures["worker_own_cpu_ms_per_doc"] == pytest.approx(
        figures["cpu_ms_per_doc"]["worker"] - call_cpu, abs=0.1
    )
    # And it used none of the user's places, and left nothing behind
    assert not (tmp_path / "users-data").exists()
    assert not (tmp_path / "users.db").exists()
    assert _bench_dirs() <= before


def test_bench_in_process_splits_a_workers_cpu_by_part_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    # Given an environment that points at someone's data, broker and store
    env = users_environment(tmp_path)
    env["DOCFLOW_BATCH_MAX_DOCS"] = "8"  # not the bench's: it measures the defaults
    before = _bench_dirs()
    # When the in-process bench runs over 96 short stories (batches of 32)
    options = ["--in-process", "--length", "short"]
    result = bench([*options, "--docs", "96", "--json"], env)
    # Then the first batch warmed up and the other two were timed, part by part
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["in_process_docs"] == 64 and figures["in_process_batches"] == 2
    parts = figures["in_process_ms_per_doc"]
    assert set(parts) == {
        "parse",
        "model",
        "rules",
        "store_writes",
        "leases_and_loads",
        "other",
    }
    assert all(parts[p] > 0 for p in ("parse", "model", "rules", "store_writes"))
    assert sum(parts.values()) == pytest.approx(figures["in_process_cpu_ms_per_doc"], abs=0.05)
    # and the model is compared with raw nlp.pipe over the same texts
    raw = figures["raw_pipe_cpu_ms_per_doc"]
    assert figures["model_vs_raw"] == pytest.approx(parts["model"] / raw, abs=0.01)
    assert figures["in_process_ratio"] == pytest.approx(
        raw / figures["in_process_cpu_ms_per_doc"], abs=0.01
    )
    # And it used none of the user's places, and left nothing behind
    assert not (tmp_path / "users-data").exists()
    assert not (tmp_path / "users.db").exists()
    assert _bench_dirs() <= before
    # and too few documents for two batches says what to do
    few = bench([*options, "--docs", "30"], env)
    assert few.returncode != 0
    assert "--in-process needs two batches" in few.stderr and "--docs 64" in few.stderr
