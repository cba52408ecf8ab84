"""Security: JSON-only messages, authenticated and encrypted brokers, secrets never shown,
search input that cannot reach the store's query language."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from kombu import Connection, Exchange, Producer

from tasks.ingest import content_hash
from tasks.models import RawArticle, Stage
from tasks.parse import parse_article
from tasks.search.request import SearchRequest
from tasks.store import StageResult, Store, open_store
from tests.conftest import POSTGRES_URL, docflow, docflow_env, wait_until
from tests.fixtures.cluster import (
    SystemRedis,
    sqlite_store,
    start_workers,
    write_articles,
)

pytestmark = pytest.mark.integration


class Explosive:
    """Unpickling this creates a file: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


def test_a_pickle_message_on_the_parse_queue_is_refused_without_being_run(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given a worker on a private Redis
    env = docflow_env(data_dir, private_redis.url)
    (worker,) = start_workers(start_worker, env, private_redis.url, "alpha")
    marker = tmp_path / "pickle-was-executed"
    # When a pickled task message, whose unpickling would create a file, is published
    # on the parse queue as if it came from a docflow client
    task_id = str(uuid.uuid4())
    with Connection(private_redis.url) as conn:
        producer = Producer(
            conn.channel(),
            exchange=Exchange("docflow", type="direct"),
            routing_key="parse",
            serializer="pickle",
        )
        producer.publish(
            ((Explosive(marker),), {}, {"callbacks": None, "errbacks": None, "chain": None}),
            headers={
                "lang": "py",
                "task": "docflow.parse",
                "id": task_id,
                "root_id": task_id,
                "retries": 0,
                "argsrepr": "()",
                "kwargsrepr": "{}",
            },
            declare=[],
        )
    # Then the worker refuses it without deserialising it
    assert wait_until(
        lambda: (
            "pickle" in worker.log()
            and ("untrusted content" in worker.log() or "ContentDisallowed" in worker.log())
        ),
        timeout=30,
    ), worker.log()[-3000:]
    time.sleep(1)
    assert not marker.exists()
    # And it is still alive and processing: an article sent afterwards is indexed
    folder = tmp_path / "after"
    write_articles(folder, 1, "after")
    result = docflow(env, "run", str(folder), "--no-workers", "--json", timeout=90)
    assert json.loads(result.stdout)["indexed"] == 1, result.stderr
    assert worker.proc.poll() is None and not marker.exists()


# ---- brokers with a password, an ACL user and TLS; secrets never shown ----------------

PASSWORD = "Br0ker-" + secrets.token_hex(8)
PG_PASSWORD = "Pg-" + secrets.token_hex(8)


@pytest.fixture
def throwaway_database() -> Iterator[str]:
    """A database of our own on the shared PostgreSQL, dropped afterwards."""
    name = f"docflow_sec_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not available: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_password(url: str, password: str) -> str:
    """postgresql://user@host/db -> postgresql://user:password@host/db"""
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.split("@", 1)
    return f"{scheme}://{userinfo}:{password}@{host}"


@pytest.fixture
def acl_redis(tmp_path: Path) -> Iterator[SystemRedis]:
    try:
        server = SystemRedis(tmp_path / "acl-redis", users={"docflow": PASSWORD})
        server.start()
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.skip(f"no system redis-server with ACLs: {exc}")
    yield server
    server.stop()


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[SystemRedis]:
    try:
        server = SystemRedis(tmp_path / "tls-redis", users={"docflow": PASSWORD}, tls=True)
        server.start()
    except FileNotFoundError as exc:
        pytest.skip(f"no system redis-server or openssl: {exc}")
    except RuntimeError as exc:
        pytest.skip(f"this redis-server was built without TLS: {exc}")
    yield server
    server.stop()


def test_an_acl_user_with_a_password_works_and_no_secret_is_ever_printed(
    acl_redis, throwaway_database, data_dir, start_worker, tmp_path
) -> None:
    # Given a Redis that only lets in the ACL user `docflow` with a password, and a
    # PostgreSQL store whose URL carries a password too
    url = acl_redis.url("docflow", PASSWORD)
    store_url = with_password(throwaway_database, PG_PASSWORD)
    env = docflow_env(data_dir, url, DOCFLOW_STORE_URL=store_url)
    # (the worker logs at DEBUG, where a leak would most likely show)
    (worker,) = start_workers(start_worker, {**env, "DOCFLOW_LOG_LEVEL": "DEBUG"}, url, "alpha")
    # When articles go through the pipeline and the operator looks at the status
    folder = tmp_path / "batch"
    write_articles(folder, 3)
    result = docflow(env, "run", str(folder), "--no-workers", "--json", timeout=120)
    status = docflow(env, "status")
    status_json = docflow(env, "status", "--json")
    # Then it all works through the ACL user
    assert json.loads(result.stdout)["indexed"] == 3, result.stderr + worker.log()[-2000:]
    assert "up at redis://docflow:***@" in json.loads(status_json.stdout)["broker"]
    # And neither password appears in the worker's log, the status, or the run's output
    for text in (
        worker.log(),
        status.stdout,
        status.stderr,
        status_json.stdout,
        result.stdout,
        result.stderr,
    ):
        assert PASSWORD not in text and PG_PASSWORD not in text
    # And errors name the endpoint with the password masked: a wrong broker password,
    # an anonymous client refused, a store that does not answer
    wrong = docflow(
        docflow_env(
            data_dir, acl_redis.url("docflow", PASSWORD + "x"), DOCFLOW_STORE_URL=store_url
        ),
        "ingest",
        str(folder),
    )
    anonymous = docflow(
        docflow_env(data_dir, acl_redis.url(), DOCFLOW_STORE_URL=store_url), "ingest", str(folder)
    )
    no_store = docflow(
        docflow_env(
            data_dir,
            url,
            DOCFLOW_STORE_URL=with_password(
                "postgresql://postgres@127.0.0.1:1/nothing", PG_PASSWORD
            ),
        ),
        "status",
    )
    for failed in (wrong, anonymous, no_store):
        assert failed.returncode != 0, failed.stdout
        text = failed.stdout + failed.stderr
        assert PASSWORD not in text and PG_PASSWORD not in text, text
        assert "Traceback" not in text, text
    assert "redis://docflow:***@" in wrong.stderr
    assert "***" in no_store.stdout + no_store.stderr


def test_a_tls_broker_url_with_an_acl_user_carries_the_whole_pipeline(
    tls_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given a Redis that listens only on TLS, with a certificate from a private CA
    url = tls_redis.url("docflow", PASSWORD)
    assert url.startswith("rediss://")
    env = docflow_env(data_dir, url)
    # When a worker and `docflow run` use the rediss:// URL (CA given in the URL)
    (worker,) = start_workers(start_worker, env, url, "alpha")
    folder = tmp_path / "batch"
    write_articles(folder, 3)
    result = docflow(env, "run", str(folder), "--no-workers", "--json", timeout=120)
    # Then the articles are indexed over TLS, and the password is never printed
    assert json.loads(result.stdout)["indexed"] == 3, result.stderr + worker.log()[-2000:]
    assert PASSWORD not in worker.log() + result.stdout + result.stderr
    status = json.loads(docflow(env, "status", "--json").stdout)
    assert status["broker"].startswith("up at rediss://docflow:***@")


# ---- search input never reaches the query language -------------------------------------

ARTICLES = {
    "lisbon.txt": "Lisbon port reopens after the storm\n\nLISBON\n\nThe port of Lisbon reopened "
    "on Thursday after a storm closed it, the Portuguese port authority said.\n",
    "oslo.txt": "Oslo ferry fares cut\n\nOSLO\n\nNorway cut ferry fares on the Oslo fjord "
    "on Monday, the transport ministry said.\n",
}
#: refused with a message and a hint (exit 2), never an engine error or a silent nothing
REFUSED = "refused"
#: hostile query -> the sources it must find (None: any result, as long as nothing breaks)
QUERIES: dict[str, set[str] | str | None] = {
    '"Lisbon port': REFUSED,  # an unclosed quote
    "Lisbon)": {"lisbon.txt"},
    "((Lisbon": REFUSED,  # parentheses are no syntax
    "Lisbon NEAR/3 port": None,
    "Lisbon OR 1=1": {"lisbon.txt"},
    "'; DROP TABLE documents; --": set(),
    "title:Lisbon": None,
    "Lis*": None,
    "-Lisbon": REFUSED,  # nothing to look for
    "NOT Oslo AND port": None,
    "^Oslo": {"oslo.txt"},
    "Oslo & !ferry | port <-> (fjord:*) <2> fares": REFUSED,
    "\\' \\\" \\\\ ; {title body}:": set(),
    "": {"lisbon.txt", "oslo.txt"},  # an empty query lists every document
    "Oslo " * 6000: REFUSED,  # too long to read
}


def seed(store: Store) -> None:
    """Index the two articles in-process: no worker needed to test search."""
    for source, text in ARTICLES.items():
        raw = RawArticle(source=source, format="text", content=text)

        def run(stage: Stage) -> StageResult:
            return StageResult(
                stage=stage, worker="test", task_id=None, started=time.time(), duration_ms=1.0
            )

        doc_id, _ = store.add_document(raw, content_hash(text), uuid.uuid4().hex, run(Stage.ingest))
        store.save_parsed(doc_id, parse_article(raw), run(Stage.parse))
        store.save_tags(doc_id, [], "none", run(Stage.tag))
        store.index_document(doc_id, run(Stage.index))


def search_all(env: dict[str, str]) -> dict[str, tuple[int, str, str]]:
    """Each query through the CLI, one after the other (in parallel they only contend)."""
    out = {}
    for query in QUERIES:
        done = docflow(env, "search", "--json", "--", query, timeout=60)
        out[query] = (done.returncode, done.stdout, done.stderr)
    return out


def check_search(env: dict[str, str], store: Store) -> None:
    before = store.counts()
    for query, (code, out, err) in search_all(env).items():
        wanted = QUERIES[query]
        assert "Traceback" not in err, (query[:60], err[-500:])
        if wanted == REFUSED:
            assert code == 2 and "docflow: error:" in err, (query[:60], code, out, err[-500:])
            continue
        assert code == 0, (query[:60], err[-500:])
        hits = json.loads(out)["hits"]
        if wanted is not None:
            assert {h["source"] for h in hits} == wanted, (query[:60], hits)
    assert store.counts() == before and before["indexed"] == 2
    found = store.search_page(SearchRequest(q="Lisbon")).hits
    assert [h.source for h in found] == ["lisbon.txt"]


def test_hostile_search_queries_never_break_or_inject_into_sqlite_fts5(data_dir) -> None:
    # Given a SQLite store with two indexed articles
    store = sqlite_store(data_dir)
    seed(store)
    env = docflow_env(data_dir)
    # When `docflow search` is given quotes, operators, NEAR, column filters,
    # unbalanced parentheses, SQL and a 36,000-character query
    # Then every search exits cleanly with a JSON list, plain words still match,
    # and the store is unchanged
    check_search(env, store)


def test_hostile_search_queries_never_break_or_inject_into_postgresql_tsquery(
    throwaway_database, data_dir
) -> None:
    # Given a PostgreSQL store (a throwaway database) with two indexed articles
    store = open_store(throwaway_database)
    seed(store)
    env = docflow_env(data_dir, DOCFLOW_STORE_URL=throwaway_database)
    # When and Then: as for SQLite, with tsquery syntax in the mix
    check_search(env, store)
    store.close()


def test_a_title_with_console_markup_is_printed_as_text_by_docflow_search(data_dir) -> None:
    # Given an indexed article whose title holds rich console markup
    store = sqlite_store(data_dir)
    raw = RawArticle(
        source="markup.txt",
        format="text",
        content="Vote results [/] and [link=file:///etc/passwd]links[/link]\n\n"
        "The vote in Riga ended on Sunday, officials said.\n",
    )
    run = StageResult(
        stage=Stage.ingest, worker="t", task_id=None, started=time.time(), duration_ms=1.0
    )
    doc_id, _ = store.add_document(raw, content_hash(raw.content), "t", run)
    store.save_parsed(doc_id, parse_article(raw), run)
    store.save_tags(doc_id, [], "none", run)
    store.index_document(doc_id, run)
    # When it is found by a human-readable search
    result = docflow(docflow_env(data_dir), "search", "Riga")
    # Then it prints, literally
    assert result.returncode == 0, result.stderr
    assert "[/]" in result.stdout and "Traceback" not in result.stderr
