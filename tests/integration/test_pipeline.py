"""The pipeline end to end: real Redis, real Celery worker processes, real store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tasks.store import open_store
from tests.conftest import SEED, docflow, docflow_env

pytestmark = pytest.mark.integration

OTHER_ARTICLES = {
    "brussels.md": "# EU ministers meet in Brussels\n\nBRUSSELS\n\nForeign ministers of the "
    "European Union met in Brussels on Monday to discuss sanctions on Russia, officials said.\n\n"
    "## Energy\n\nGermany and France pressed for a common gas purchasing scheme.\n",
    "tokyo.html": "<html><head><title>Toyota profits rise</title>"
    '<meta property="article:published_time" content="2025-02-01"></head><body>'
    "<nav>Home | World</nav><article><h1>Toyota profits rise</h1>"
    "<p>Toyota Motor reported record quarterly profits in Tokyo on Tuesday, helped by a weak "
    "yen and strong sales of hybrid cars in North America.</p>"
    "<p>Chief executive Koji Sato said the company would raise wages.</p></article>"
    "<footer>Copyright</footer></body></html>",
    "feed.jsonl": json.dumps(
        {
            "id": "w1",
            "title": "Nairobi floods",
            "text": "Heavy rain caused floods in Nairobi, Kenya, on Friday, the Red Cross said.",
        }
    )
    + "\n"
    + json.dumps(
        {
            "id": "w2",
            "title": "Lima talks",
            "body": "Peru's president met union leaders "
            "in Lima to end a strike at the Las Bambas copper mine.",
        }
    )
    + "\n",
    "empty.txt": "",
}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    for name, content in OTHER_ARTICLES.items():
        (folder / name).write_text(content, encoding="utf-8")
    (folder / "photo.txt").write_bytes(PNG)
    return folder


def test_articles_go_through_parse_tag_and_index_on_a_real_worker(
    private_redis, data_dir, inbox, start_worker
) -> None:
    # Given a real worker on a private Redis and a folder of articles of every format
    env = docflow_env(data_dir, private_redis.url)
    worker = start_worker(env, concurrency=2)
    # When the folder is run through `docflow run` with the workers elsewhere
    result = docflow(env, "run", str(inbox), "--no-workers", "--json", timeout=180)
    # Then every article is indexed, and the two bad files are rejected with reasons
    summary = json.loads(result.stdout)
    assert summary["indexed"] == 5, result.stderr + worker.log()[-3000:]
    assert summary["failed"] == 0 and summary["rejected_files"] == 2
    assert result.returncode == 1  # rejected files make the run exit non-zero
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    reasons = {r.source: r.error for r in store.rejected_files()}
    assert "empty" in reasons["empty.txt"] and "PNG image" in reasons["photo.txt"]
    # And the seed is found by search, with highlighted snippet
    hits = json.loads(docflow(env, "search", "F-35", "--json").stdout)["hits"]
    assert hits[0]["title"] == "Turkish top diplomat to go to US for key strategic talks"
    assert "<mark>" in hits[0]["snippet"]
    # And every task logged one JSON event with the tracing fields
    events = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    done = [e for e in events if e.get("event") in {"parse_done", "tag_done", "index_done"}]
    assert len(done) == 15
    for event in done:
        assert {"trace_id", "doc_id", "task_id", "stage", "duration_ms"} <= event.keys()


def test_the_seed_exports_as_the_gold_article(private_redis, data_dir, start_worker, gold) -> None:
    # Given a worker and the seed run through the pipeline
    env = docflow_env(data_dir, private_redis.url)
    worker = start_worker(env)
    ran = docflow(env, "run", str(SEED), "--no-workers", timeout=180)
    assert ran.returncode == 0, ran.stdout + ran.stderr + worker.log()[-2000:]
    # When the store is exported
    (line,) = docflow(env, "export").stdout.splitlines()
    record = json.loads(line)
    # Then the article matches the gold parse and entity offsets point into `text`
    expected = gold["article"]
    assert (record["title"], record["published"], record["dateline"]) == (
        expected["title"],
        expected["published"],
        expected["dateline"],
    )
    assert record["headings"] == expected["headings"]
    assert len(record["paragraphs"]) == expected["paragraphs"]
    assert record["source"] == SEED.name
    for entity in record["entities"]:
        assert record["text"][entity["start"] : entity["end"]] == entity["text"]


def test_running_the_same_files_twice_adds_no_documents(
    private_redis, data_dir, inbox, start_worker
) -> None:
    env = docflow_env(data_dir, private_redis.url)
    start_worker(env, concurrency=2)
    docflow(env, "run", str(inbox), "--no-workers", timeout=180)
    first = json.loads(docflow(env, "status", "--json").stdout)["documents"]
    docflow(env, "run", str(inbox), "--no-workers", timeout=180)
    assert json.loads(docflow(env, "status", "--json").stdout)["documents"] == first


def test_read_only_commands_work_with_no_broker_running(data_dir) -> None:
    env = docflow_env(data_dir)
    assert docflow(env, "migrate").returncode == 0  # a store (read-only commands need one)
    status = json.loads(docflow(env, "status", "--json").stdout)
    assert status["documents"]["indexed"] == 0 and "not configured" in status["broker"]
    assert json.loads(docflow(env, "search", "anything", "--json").stdout)["total"] == 0
    assert docflow(env, "export").stdout == ""
    assert docflow(env, "entities", "--json").returncode == 0


def test_a_bad_setting_fails_at_start_naming_the_setting(data_dir) -> None:
    env = docflow_env(data_dir, DOCFLOW_MAX_FILE_MB="lots")
    result = docflow(env, "status")
    assert result.returncode == 2
    assert "DOCFLOW_MAX_FILE_MB" in result.stderr and "Traceback" not in result.stderr
