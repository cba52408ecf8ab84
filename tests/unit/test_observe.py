"""Observing docflow without services: status, failed, trace, the Flower command, monitoring."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tasks.models import RawArticle, Stage
from tasks.store import StageResult, Store, open_store
from tests.conftest import REPO
from workers.settings import Settings, get_settings

MONITORING = REPO / "deploy" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "docflow.json"
#: the task event types Celery sends (celery/events/state.py, docs "Event Reference")
CELERY_TASK_EVENTS = {
    "task-sent",
    "task-received",
    "task-started",
    "task-succeeded",
    "task-failed",
    "task-rejected",
    "task-revoked",
    "task-retried",
}
PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "increase",
    "clamp_min",
    "histogram_quantile",
    "max",
    "or",
    "absent",
    "without",
    "on",
    "ignoring",
    "and",
    "unless",
}


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private data dir, no broker configured, fresh settings."""
    for name in list(__import__("os").environ):
        if name.startswith(("DOCFLOW_", "FLOWER_")):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("DOCFLOW_DATA_DIR", str(data))
    monkeypatch.setenv("DOCFLOW_LOG_FORMAT", "json")
    from workers.output import console

    monkeypatch.setattr(console, "width", 200)  # tables on one line each
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


@pytest.fixture
def store(env: Path) -> Iterator[Store]:
    s = open_store(get_settings().store)
    yield s
    s.close()


def run(
    stage: Stage,
    error: str | None = None,
    attempts: int = 1,
    started: float | None = None,
    worker: str = "docflow@host1",
) -> StageResult:
    return StageResult(
        stage=stage,
        worker=worker,
        task_id=f"task-{stage.value}",
        started=started or time.time(),
        duration_ms=12.345,
        attempts=attempts,
        error=error,
    )


def add(store: Store, text: str, source: str = "a.txt", trace: str = "trace-a") -> str:
    raw = RawArticle(source=source, format="text", content=text)
    doc_id, _ = store.add_document(raw, (text.encode().hex() * 64)[:64], trace, run(Stage.ingest))
    return doc_id


def docflow(*args: str) -> Any:
    from workers.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


# ---- docflow status --------------------------------------------------------------------


def test_status_json_reports_counts_queues_workers_throughput_eta_and_broker(
    store: Store,
) -> None:
    add(store, "one")
    add(store, "two")
    result = docflow("status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["documents"] == {"received": 2, "parsed": 0, "tagged": 0, "indexed": 0, "failed": 0}
    assert {"queues", "workers", "throughput_per_min", "eta_s", "broker"} <= set(data)
    assert data["throughput_per_min"] == 0 and data["eta_s"] is None


def test_status_with_the_broker_down_still_reports_the_store_and_says_so(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(store, "one")
    monkeypatch.setenv("DOCFLOW_BROKER_URL", "redis://:hunter2@127.0.0.1:1/0")
    get_settings.cache_clear()
    result = docflow("status", "--json")
    data = json.loads(result.output)
    assert data["documents"]["received"] == 1
    assert data["broker"].startswith("down") and "hunter2" not in data["broker"]
    assert data["queues"] == {} and data["workers"] == []
    table = docflow("status")
    assert "broker: down" in table.output and "received" in table.output


def test_throughput_counts_the_last_minute_and_the_eta_divides_the_backlog_by_it() -> None:
    from workers.commands.status import throughput

    class Fake:
        def indexed_since(self, since: float) -> int:
            assert time.time() - since == pytest.approx(60, abs=1)
            return 30

    counts = {"received": 40, "parsed": 10, "tagged": 10, "indexed": 5, "failed": 1}
    data = throughput(Fake(), counts)  # type: ignore[arg-type]
    assert data == {"throughput_per_min": 30.0, "backlog": 60, "eta_s": 120.0}
    assert throughput(Fake(), {"indexed": 3})["eta_s"] == 0.0  # type: ignore[arg-type]


def test_durations_read_well() -> None:
    from workers.commands.status import fmt_duration

    assert [fmt_duration(s) for s in (4.2, 250, 7500)] == ["4 s", "4 min 10 s", "2 h 05 min"]
    assert fmt_duration(None).startswith("unknown")


def test_status_watch_refreshes_until_interrupted(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workers.commands.status as status_module

    calls = []

    def sleep(_: float) -> None:
        calls.append(1)
        if len(calls) >= 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(status_module.time, "sleep", sleep)
    result = docflow("status", "--watch", "--json", "--interval", "0.5")
    assert result.exit_code == 0
    snapshots = [json.loads(line) for line in result.output.splitlines()]
    assert len(snapshots) == 2 and "documents" in snapshots[0]
    calls.clear()
    live = docflow("status", "--watch")
    assert live.exit_code == 0 and "documents" in live.output


# ---- docflow failed / trace -------------------------------------------------------------


def test_failed_lists_failed_documents_and_rejected_files_with_reasons(store: Store) -> None:
    doc_id = add(store, "bad one", source="bad.html")
    store.mark_failed(doc_id, run(Stage.parse, error="ParseError: no article text", attempts=3))
    store.record_rejected("photo.txt", "photo.txt: the file is a PNG image, not text")
    result = docflow("failed", "--json")
    rows = json.loads(result.output)
    assert [(r["source"], r["stage"], r["attempts"]) for r in rows] == [
        ("bad.html", "parse", 3),
        ("photo.txt", "ingest", 1),
    ]
    assert rows[0]["error"] == "ParseError: no article text"
    for row in rows:
        assert {"source", "stage", "error", "attempts", "at"} <= set(row)
        assert row["at"].endswith("+00:00")
    table = docflow("failed")
    assert "bad.html" in table.output and "photo.txt" in table.output
    assert "1 failed document, 1 rejected file" in table.output


def test_failed_says_so_when_nothing_failed(store: Store) -> None:
    assert "nothing failed" in docflow("failed").output
    assert json.loads(docflow("failed", "--json").output) == []


def test_trace_prints_each_stage_with_worker_timing_attempts_and_errors_in_order(
    store: Store,
) -> None:
    from tasks.models import Article

    doc_id = add(store, "an article", trace="trace-xyz")
    t0 = time.time()
    store.save_parsed(
        doc_id,
        Article(title="T", paragraphs=["p"]),
        run(Stage.parse, started=t0 + 1, worker="docflow@host2"),
    )
    store.record_attempt(
        doc_id, run(Stage.tag, error="StoreUnavailable: busy", attempts=2, started=t0 + 2)
    )
    result = docflow("trace", doc_id[:6], "--json")
    data = json.loads(result.output)
    assert (data["id"], data["trace_id"]) == (doc_id, "trace-xyz")
    assert [s["stage"] for s in data["stages"]] == ["ingest", "parse", "tag"]
    parse = data["stages"][1]
    assert {"stage", "worker", "started", "duration_ms", "attempts", "error"} <= set(parse)
    assert parse["worker"] == "docflow@host2" and parse["duration_ms"] == 12.35
    assert data["stages"][2]["error"] == "StoreUnavailable: busy"
    assert data["stages"][2]["attempts"] == 2
    table = docflow("trace", doc_id)
    assert "trace-xyz" in table.output and "docflow@host2" in table.output
    assert "StoreUnavailable: busy" in table.output


def test_trace_shows_the_batch_each_stage_ran_in_and_its_size(store: Store) -> None:
    import dataclasses

    from tasks.models import Article

    doc_id = add(store, "an article in a batch", trace="trace-batch")
    batch = "5f0c7a1e-0000-4000-8000-000000000000"
    parse = dataclasses.replace(run(Stage.parse), batch_id=batch, batch_size=32)
    store.start_stage(doc_id, parse)
    store.save_parsed(doc_id, Article(title="T", paragraphs=["p"]), parse)
    data = json.loads(docflow("trace", doc_id, "--json").output)
    stages = {s["stage"]: s for s in data["stages"]}
    assert (stages["parse"]["batch_id"], stages["parse"]["batch_size"]) == (batch, 32)
    assert stages["ingest"]["batch_id"] is None
    assert "5f0c7a1e of 32" in docflow("trace", doc_id).output


def test_trace_of_an_unknown_id_is_a_clear_error(store: Store) -> None:
    from tasks.errors import DocumentNotFound

    with pytest.raises(DocumentNotFound, match="no document"):
        docflow("trace", "ffffffff")


# ---- docflow flower ----------------------------------------------------------------------


def test_flower_command_line_never_carries_the_password() -> None:
    from workers.flower import flower_command, flower_env

    settings = Settings(flower_basic_auth="admin:hunter2", flower_port=5600)
    cmd = flower_command(settings)
    assert "hunter2" not in " ".join(cmd)
    assert cmd[1:3] == ["-m", "workers.flower"] and "--port=5600" in cmd
    assert flower_env(settings, {})["FLOWER_BASIC_AUTH"] == "admin:hunter2"


def test_flower_api_stays_closed_without_auth_unless_asked_for(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.flower import flower_env

    assert "FLOWER_UNAUTHENTICATED_API" not in flower_env(Settings(), {})
    monkeypatch.setenv("DOCFLOW_FLOWER_UNAUTHENTICATED_API", "true")
    opted = flower_env(Settings(), {"DOCFLOW_FLOWER_UNAUTHENTICATED_API": "true"})
    assert opted["FLOWER_UNAUTHENTICATED_API"] == "true"


def test_flower_listens_on_loopback_without_auth_and_everywhere_with_it() -> None:
    from workers.flower import flower_address

    assert flower_address(Settings()) == "127.0.0.1"
    assert flower_address(Settings(flower_basic_auth="a:b")) == "0.0.0.0"
    assert flower_address(Settings(), "10.0.0.5") == "10.0.0.5"


def test_flower_cli_runs_the_child_with_auth_in_its_environment(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    seen: dict[str, Any] = {}

    class Child:
        def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
            seen.update(cmd=cmd, env=env)

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setenv("DOCFLOW_FLOWER_BASIC_AUTH", "admin:hunter2")
    get_settings.cache_clear()
    monkeypatch.setattr(subprocess, "Popen", Child)
    result = docflow("flower", "--port", "5999")
    assert result.exit_code == 0
    assert "--port=5999" in seen["cmd"] and "hunter2" not in " ".join(seen["cmd"])
    assert seen["env"]["FLOWER_BASIC_AUTH"] == "admin:hunter2"


# ---- deploy/monitoring -----------------------------------------------------------------


def flower_metrics() -> dict[str, tuple[str, ...]]:
    """Every metric Flower defines, with its label names, read from the installed source."""
    import flower.events

    source = Path(flower.events.__file__).read_text()
    found = re.findall(
        r"(?:PrometheusCounter|Gauge|Histogram)\(\s*'(flower_\w+)',\s*(?:\"[^\"]*\"|'[^']*'),"
        r"\s*\[([^\]]*)\]",
        source,
    )
    assert len(found) >= 6, "Flower's metric definitions moved: update this test"
    return {name: tuple(re.findall(r"'(\w+)'", labels)) for name, labels in found}


def promql_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    alerts = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    exprs += [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    return exprs


def base_metric(name: str, known: dict[str, tuple[str, ...]]) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name.removesuffix(suffix) in known:
            return name.removesuffix(suffix)
    return name


def test_every_metric_the_dashboard_and_alerts_use_exists_in_flowers_source() -> None:
    known = flower_metrics()
    used = {
        base_metric(m, known) for e in promql_expressions() for m in re.findall(r"\bflower_\w+", e)
    }
    assert used, "no Flower metric used at all"
    assert used <= set(known), f"not Flower metrics: {sorted(used - set(known))}"
    for name in (
        "flower_events_total",
        "flower_task_runtime_seconds",
        "flower_worker_online",
        "flower_worker_number_of_currently_executing_tasks",
    ):
        assert name in used


def test_every_label_and_event_type_used_exists() -> None:
    known = flower_metrics()
    all_labels = {label for labels in known.values() for label in labels} | {"le"}
    for expr in promql_expressions():
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            labels = {x.strip() for x in group.split(",") if x.strip()}
            assert labels <= all_labels, f"unknown label in {expr}"
        for label in re.findall(r"[{,]\s*(\w+)\s*=~?", expr):
            assert label in all_labels, f"unknown label {label} in {expr}"
        for types in re.findall(r'type=~?"([^"]+)"', expr):
            assert set(types.split("|")) <= CELERY_TASK_EVENTS, expr


def test_the_dashboard_shows_throughput_failures_queue_depth_and_runtime_percentiles() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = {p["title"].lower(): p for p in dashboard["panels"]}
    exprs = " ".join(promql_expressions())
    assert any("throughput" in t for t in titles)
    assert any("fail" in t for t in titles)
    assert any("queue depth" in t for t in titles)
    assert any("percentile" in t for t in titles)
    for q in ("0.50", "0.95", "0.99"):
        assert f"histogram_quantile({q}" in exprs
    assert dashboard["uid"] and dashboard["templating"]["list"][0]["type"] == "datasource"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_prometheus_scrapes_flowers_metrics_endpoint() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if "flower" in j["job_name"]]
    assert job["metrics_path"] == "/metrics"
    assert any("5555" in t for sc in job["static_configs"] for t in sc["targets"])
    assert all((MONITORING / f).exists() for f in config["rule_files"])
