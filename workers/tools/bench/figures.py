"""The bench's derived figures: baseline means, burst throughput and CPU, and the ratios."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from workers.tools.bench.baseline import other_load_pct
from workers.tools.bench.config import rounded
from workers.tools.bench.sampling import Sample, command_deltas, cpu_by_role


def baseline_figures(baselines: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each baseline run's figures (`before`, `after` the burst) and their means."""
    out: dict[str, Any] = {}
    for when, base in baselines.items():
        out[f"baseline_{when}_docs_per_s"] = rounded(base["docs_per_s"], 2)
        out[f"baseline_{when}_cpu_ms_per_doc"] = rounded(base["cpu_ms_per_doc"], 1)
    runs = list(baselines.values())
    last, n = runs[-1], len(runs)
    out.update(
        baseline_docs_per_s=rounded(sum(r["docs_per_s"] for r in runs) / n, 2),
        baseline_seconds=rounded(sum(r["seconds"] for r in runs) / n, 2),
        baseline_model_load_s=rounded(last["load_s"], 2),
        baseline_cpu_ms_per_doc=rounded(sum(r["cpu_ms_per_doc"] for r in runs) / n, 1),
        baseline_other_load_pct=last["other_load_pct"],
        baseline_entities=last["entities"],
    )
    return out


def burst_figures(
    *,
    documents: int,
    indexed: int,
    seconds: float | None,
    drop_seconds: float,
    cpu: tuple[list[Sample], list[Sample]],
    bench_cpu: float,
    machine_cpu: float,
    wall: float,
    redis: tuple[dict[str, Any], dict[str, Any]],
) -> dict[str, Any]:
    """Throughput, CPU per document per role and Redis traffic of the burst."""
    n = max(1, documents)
    by_role = cpu_by_role(*cpu)
    by_role["bench"] = bench_cpu
    pipeline_cpu = sum(v for k, v in by_role.items() if k != "bench")
    before, after = redis
    commands = command_deltas(before, after)
    net_in = after.get("total_net_input_bytes", 0) - before.get("total_net_input_bytes", 0)
    return {
        "pipeline_docs_per_s": rounded(indexed / seconds, 2) if seconds else None,
        "pipeline_seconds": rounded(seconds, 2),
        "drop_seconds": rounded(drop_seconds, 2),
        "cpu_ms_per_doc": {k: rounded(v * 1000 / n, 1) for k, v in sorted(by_role.items())},
        "pipeline_cpu_ms_per_doc": rounded(pipeline_cpu * 1000 / n, 1),
        "pipeline_cpu_pct_of_machine": rounded(
            100 * pipeline_cpu / (wall * (os.cpu_count() or 1)), 1
        )
        if wall > 0
        else None,
        "pipeline_other_load_pct": other_load_pct(machine_cpu, sum(by_role.values()), wall),
        "redis_commands_per_doc": rounded(sum(commands.values()) / n, 1),
        "redis_top_commands_per_doc": {
            k: rounded(v / n, 2) for k, v in Counter(commands).most_common(8)
        },
        "redis_net_in_bytes_per_doc": rounded(net_in / n, 0),
    }


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """The ratios of the pipeline to the baseline the figures so far allow."""
    out: dict[str, Any] = {}
    baseline = result.get("baseline_docs_per_s")
    pipeline = result.get("pipeline_docs_per_s")
    out["ratio"] = rounded(pipeline / baseline, 3) if baseline and pipeline else None
    base_cpu = result.get("baseline_cpu_ms_per_doc")
    pipe_cpu = result.get("pipeline_cpu_ms_per_doc")
    # what the ratio would be on an otherwise idle machine when both are CPU-bound
    out["cpu_ratio"] = rounded(base_cpu / pipe_cpu, 3) if base_cpu and pipe_cpu else None
    cost = result.get("spacy_per_call_cost_pct")
    cpu = result.get("cpu_ms_per_doc") or {}
    if base_cpu and cost is not None and cpu:
        around = sum(cpu.get(role, 0.0) for role in ("watcher", "worker-main", "redis"))
        call_cpu = base_cpu * (1 + cost / 100)
        out["ratio_ceiling"] = rounded(base_cpu / (call_cpu + around), 3)
        if "worker" in cpu:
            # what the workers spend beyond that one model call: parse, rules, store, logs
            out["worker_own_cpu_ms_per_doc"] = rounded(cpu["worker"] - call_cpu, 1)
    return out
