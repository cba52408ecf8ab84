"""Flower on a real worker and a private Redis: API, basic auth, /metrics, and its pages."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.store import open_store
from tests.conftest import SEED, WorkerProcess, docflow, docflow_env, wait_until
from tests.fixtures.browser import headless_chromium
from tests.integration.observing import FlowerProcess, get, json_lines
from workers.broker import EmbeddedRedis, free_port

pytestmark = pytest.mark.integration

AUTH = "admin:flower-hunter2"
STAGES = ("docflow.parse", "docflow.tag", "docflow.index")

BRUSSELS = (
    "# EU ministers meet in Brussels\n\nBRUSSELS\n\nForeign ministers of the European "
    "Union met in Brussels on Monday to discuss sanctions on Russia, officials said.\n"
)


@dataclass
class Stack:
    env: dict[str, str]
    worker: WorkerProcess
    node: str
    open_flower: FlowerProcess  # no auth, API opened with DOCFLOW_FLOWER_UNAUTHENTICATED_API
    auth_flower: FlowerProcess  # DOCFLOW_FLOWER_BASIC_AUTH
    doc_ids: list[str]
    tmp: Path


def tasks(flower: FlowerProcess, auth: str | None = None) -> dict[str, dict]:
    status, body = get(flower.url + "/api/tasks", auth)
    assert status == 200, body
    return json.loads(body)


def doc_arg(task: dict) -> str | None:
    """The document id a stage task was called with, as Flower shows its arguments."""
    found = re.fullmatch(r"[\[(]'([0-9a-f]+)',?[\])]", task["args"] or "")
    return found.group(1) if found else None


def listed_workers(flower: FlowerProcess, node: str, auth: str | None = None) -> dict[str, dict]:
    """Flower's `/api/workers?refresh=1` once it lists `node`, as a user reloading would see.

    A refresh asked while Flower's own start-up inspection is still out (1 s) is answered
    by that inspection, which may have gone out before the worker listened: `{}`."""
    listed: dict[str, dict] = {}

    def lists_node() -> bool:
        status, body = get(flower.url + "/api/workers?refresh=1", auth)
        assert status == 200, body
        listed.clear()
        listed.update(json.loads(body))  # the latest answer only
        return node in listed

    assert wait_until(lists_node, timeout=15, every=0.5), listed
    return listed


def chains_done(flower: FlowerProcess, doc_ids: list[str], auth: str | None = None) -> bool:
    seen = {
        (t["name"], doc_arg(t)) for t in tasks(flower, auth).values() if t["state"] == "SUCCESS"
    }
    return all((name, d) in seen for d in doc_ids for name in STAGES)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One worker, two Flowers (open API / basic auth), two documents put through."""
    tmp = tmp_path_factory.mktemp("flower")
    redis = EmbeddedRedis(tmp / "redis", persist=False)
    redis.start()
    data = tmp / "data"
    data.mkdir()
    env = docflow_env(data, redis.url, DOCFLOW_SWEEP_INTERVAL_S="0")
    started: list[WorkerProcess | FlowerProcess] = []
    try:
        worker = WorkerProcess(env, tmp / "worker.log", name="flowerpot")
        started.append(worker)
        open_flower = FlowerProcess(
            {**env, "DOCFLOW_FLOWER_UNAUTHENTICATED_API": "true"},
            free_port(),
            tmp / "flower-open.log",
        )
        started.append(open_flower)
        auth_flower = FlowerProcess(
            {**env, "DOCFLOW_FLOWER_BASIC_AUTH": AUTH}, free_port(), tmp / "flower-auth.log"
        )
        started.append(auth_flower)
        open_flower.wait_ready()
        auth_flower.wait_ready()
        assert wait_until(lambda: " ready." in worker.log(), timeout=30), worker.log()
        node = next(r["worker"] for r in json_lines(worker.log()) if r["event"].endswith("ready."))
        drop = tmp / "drop"
        drop.mkdir()
        shutil.copy(SEED, drop / SEED.name)
        (drop / "brussels.md").write_text(BRUSSELS, encoding="utf-8")
        sent = docflow(env, "ingest", str(drop))
        assert sent.returncode == 0, sent.stderr
        store = open_store(f"sqlite:///{data / 'docflow.db'}")
        assert wait_until(lambda: store.counts()["indexed"] == 2, timeout=45), worker.log()[-3000:]
        doc_ids = sorted(d.id for d in store.iter_documents())
        store.close()
        assert wait_until(lambda: chains_done(open_flower, doc_ids), timeout=15)
        yield Stack(env, worker, node, open_flower, auth_flower, doc_ids, tmp)
    finally:
        for process in reversed(started):
            process.stop()
        redis.stop()


def test_flowers_api_shows_our_worker_and_every_stage_of_each_chain_succeeding(
    stack: Stack,
) -> None:
    # Given a worker and Flower on one private Redis, and two documents processed
    flower = stack.open_flower
    # When Flower's API is asked for workers and tasks
    workers = listed_workers(flower, stack.node)
    found = tasks(flower)
    # Then our worker is listed, consuming every stage's queue
    queues = {q["name"] for q in workers[stack.node]["active_queues"]}
    assert queues == {"ingest", "parse", "tag", "index"}
    # and each document went through parse, tag and index, shown by its id
    assert {t["name"] for t in found.values()} == set(STAGES)
    for doc_id in stack.doc_ids:
        for name in STAGES:
            runs = [t for t in found.values() if t["name"] == name and doc_arg(t) == doc_id]
            assert [t["state"] for t in runs] == ["SUCCESS"], (name, doc_id)
            assert runs[0]["worker"] == stack.node
    # and no task carries a file's bytes: `docflow ingest` records files in the store
    # and sends only document ids
    seed_b64 = base64.b64encode(SEED.read_bytes()).decode()[:40]
    seed_text = SEED.read_text(encoding="utf-8")[:40]
    for task in found.values():
        assert seed_b64 not in json.dumps(task) and seed_text not in json.dumps(task)


def test_with_basic_auth_flower_answers_401_without_the_right_credentials(stack: Stack) -> None:
    # Given Flower started with DOCFLOW_FLOWER_BASIC_AUTH
    flower = stack.auth_flower
    user = AUTH.split(":")[0]
    # When its API and pages are asked without, with wrong, and with the right credentials
    for path in ("/api/workers", "/api/tasks", "/workers", "/tasks"):
        assert get(flower.url + path)[0] == 401, path
        assert get(flower.url + path, f"{user}:wrong")[0] == 401, path
    # Then only the right credentials get in, and they see the worker and the chains
    listed_workers(flower, stack.node, AUTH)
    assert chains_done(flower, stack.doc_ids, AUTH)
    # and the password is never on a command line that `ps` shows
    for pid in flower.pids():
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        assert AUTH.split(":")[1] not in cmdline, cmdline
    assert AUTH.split(":")[1] not in flower.log()


def test_without_auth_flowers_api_stays_closed_unless_opted_in(stack: Stack) -> None:
    # Given Flower started with neither basic auth nor the opt-in
    flower = FlowerProcess(stack.env, free_port(), stack.tmp / "flower-closed.log")
    try:
        flower.wait_ready()
        # When its API is called
        status, body = get(flower.url + "/api/workers")
        # Then it refuses (Flower's API can shut workers down), while the pages still work
        assert status == 401, body
        assert get(flower.url + "/workers")[0] == 200
    finally:
        flower.stop()
    # and the opted-in Flower answers
    assert get(stack.open_flower.url + "/api/tasks")[0] == 200


def test_flowers_metrics_carry_the_series_the_grafana_dashboard_uses(stack: Stack) -> None:
    # Given Flower with basic auth that saw the chains run
    flower = stack.auth_flower

    def metrics() -> str:
        status, body = get(flower.url + "/metrics")  # served without auth, for Prometheus
        assert status == 200
        return body.decode()

    # When Prometheus would scrape /metrics
    # Then every kind of series the dashboard queries is there, for our task names
    assert wait_until(
        lambda: "flower_worker_number_of_currently_executing_tasks{" in metrics(), timeout=15
    )
    text = metrics()
    for name in STAGES:
        assert f'flower_events_total{{task="{name}",type="task-succeeded"' in text
        assert f'flower_events_total{{task="{name}",type="task-sent"' in text
        assert f'flower_events_total{{task="{name}",type="task-received"' in text
        assert f'flower_task_runtime_seconds_bucket{{le="0.5",task="{name}"' in text
    assert f'flower_worker_online{{worker="{stack.node}"}} 1.0' in text


def test_flowers_pages_render_our_workers_and_tasks_in_headless_chromium(stack: Stack) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Given a headless Chromium and Flower behind basic auth
    driver = headless_chromium(stack.tmp, size="1400,1000")
    user_url = stack.auth_flower.url.replace("http://", f"http://{AUTH}@")
    try:
        body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
        # When the workers page is opened
        driver.get(user_url + "/workers")
        # Then it lists our worker, online
        WebDriverWait(driver, 20).until(lambda d: stack.node in body(d))
        assert "Online" in body(driver)
        # When the tasks page is opened
        driver.get(stack.auth_flower.url + "/tasks")
        # Then its table shows every stage of the chain, succeeded on our worker
        WebDriverWait(driver, 20).until(lambda d: all(name in body(d) for name in STAGES))
        rows = driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
        assert len(rows) >= 6  # two documents, three stages each
        assert "SUCCESS" in body(driver) and stack.node in body(driver)
        driver.save_screenshot(str(stack.tmp / "flower-tasks.png"))
    finally:
        driver.quit()
