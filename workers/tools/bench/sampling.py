"""Sampling the stack while it runs: RSS and CPU of its processes, Redis command counts."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workers.tools.bench.config import rounded

PG_SCAN_EVERY_S = 5.0
SAMPLE_EVERY_S = 1.0  # sampling is the benchmark's own load: not too often


@dataclass
class Sample:
    at: float
    role: str  #: worker-main | worker | watcher | redis
    pid: int
    rss: int
    cpu: float


class Sampler(threading.Thread):
    """Samples RSS and CPU time of the stack's processes every second."""

    def __init__(
        self,
        roots: Callable[[], dict[str, int]],
        every: float = SAMPLE_EVERY_S,
        database: str | None = None,
    ) -> None:
        super().__init__(name="docflow-bench-sampler", daemon=True)
        self.roots = roots
        self.every = every
        #: a local PostgreSQL database: its server processes count as the pipeline's
        self.database = database
        self.samples: list[Sample] = []
        self.stopped = threading.Event()
        self._pg_procs: dict[int, Any] = {}
        self._pg_next_scan = 0.0

    def snapshot(self, rescan: bool = False) -> list[Sample]:
        """Every process of the stack now; `rescan` finds new database backends at once."""
        import psutil

        now = time.time()
        out: list[Sample] = []
        for role, pid in self.roots().items():
            try:
                root = psutil.Process(pid)
                procs = [(role, root)]
                if role == "worker-main":
                    procs += [("worker", p) for p in root.children(recursive=True)]
                for name, proc in procs:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        out.append(
                            Sample(
                                now,
                                name,
                                proc.pid,
                                proc.memory_info().rss,
                                times.user + times.system,
                            )
                        )
            except psutil.Error:
                continue
        if self.database:
            out += self._postgres(now, rescan)
        return out

    def _postgres(self, now: float, rescan: bool = False) -> list[Sample]:
        """The local server's backends serving the benchmark database (`postgres: ... db ...`).

        Listing every process is itself costly, so the list of backends is refreshed only
        every few seconds (connections are pooled and long-lived); known ones are sampled
        every time.
        """
        import psutil

        if rescan or now >= self._pg_next_scan:
            self._pg_next_scan = now + PG_SCAN_EVERY_S
            for proc in psutil.process_iter(["cmdline"]):
                cmdline = " ".join(proc.info.get("cmdline") or [])
                ours = cmdline.startswith("postgres:") and f" {self.database} " in f"{cmdline} "
                if ours and proc.pid not in self._pg_procs:
                    self._pg_procs[proc.pid] = proc
        out: list[Sample] = []
        for pid, proc in list(self._pg_procs.items()):
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    cpu = times.user + times.system
                    out.append(Sample(now, "postgres", pid, proc.memory_info().rss, cpu))
            except psutil.Error:
                del self._pg_procs[pid]
        return out

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.extend(self.snapshot())
            self.stopped.wait(self.every)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(5)


def rss_figures(samples: list[Sample], start: float, end: float) -> dict[str, Any]:
    """Peak RSS per role, and growth of the worker processes from the first to the last quarter."""
    peak: dict[str, int] = defaultdict(int)
    for s in samples:
        peak[s.role] = max(peak[s.role], s.rss)
    per_time: dict[float, int] = defaultdict(int)
    for s in samples:
        if s.role == "worker" and start <= s.at <= end:
            per_time[s.at] = max(per_time[s.at], s.rss)
    series = [per_time[t] for t in sorted(per_time)]
    growth = None
    if len(series) >= 4:
        quarter = max(1, len(series) // 4)
        first = sum(series[:quarter]) / quarter
        last = sum(series[-quarter:]) / quarter
        growth = (last / first - 1) * 100 if first else None
    mb = 1024 * 1024
    return {
        "worker_rss_mb_max": rounded(peak["worker"] / mb, 1) if peak["worker"] else None,
        "worker_main_rss_mb_max": rounded(peak["worker-main"] / mb, 1)
        if peak["worker-main"]
        else None,
        "watcher_rss_mb_max": rounded(peak["watcher"] / mb, 1) if peak["watcher"] else None,
        "worker_rss_growth_pct": rounded(growth, 1),
        "worker_rss_first_quarter_mb": rounded(series[0] / mb, 1) if series else None,
        "rss_samples": len(series),
    }


def cpu_by_role(before: list[Sample], after: list[Sample]) -> dict[str, float]:
    """CPU seconds spent per role between two snapshots (processes new in `after` count fully)."""
    start = {s.pid: s.cpu for s in before}
    out: dict[str, float] = defaultdict(float)
    for s in after:
        out[s.role] += max(0.0, s.cpu - start.get(s.pid, 0.0))
    return dict(out)


def redis_info(url: str) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    info: dict[str, Any] = client.info("all")
    return info


def command_deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Redis commands run between two `INFO all` replies, per command."""
    out: dict[str, int] = {}
    for key, value in after.items():
        if key.startswith("cmdstat_") and isinstance(value, dict):
            old = before.get(key, {}).get("calls", 0) if isinstance(before.get(key), dict) else 0
            delta = int(value.get("calls", 0)) - int(old)
            if delta:
                out[key.removeprefix("cmdstat_")] = delta
    return out
