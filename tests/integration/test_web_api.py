"""The HTTP API on a real store (SQLite and PostgreSQL, the same cases) holding articles put
through the real pipeline functions, with a private Redis for what it sends on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tasks.store import Store
from tests.integration.web_support import (
    BRASILIA,
    SCRIPT,
    Corpus,
    filled_backend,
)
from workers.broker import EmbeddedRedis, queue_depths
from workers.settings import Settings
from workers.web.app import create_app

pytestmark = pytest.mark.integration


@dataclass
class Web:
    client: TestClient
    store: Store
    corpus: Corpus
    redis: EmbeddedRedis
    data: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    tmp = tmp_path_factory.mktemp(f"web-{request.param}")
    with filled_backend(request.param, tmp) as b:
        app = create_app(Settings(data_dir=b.data, broker_url=b.redis.url), store=b.store)
        with TestClient(app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 5000)) as c:
            yield Web(c, b.store, b.corpus, b.redis, b.data)


def test_a_document_answers_with_its_article_entity_offsets_and_stage_runs(web: Web) -> None:
    # When the seed document is asked for
    doc = web.client.get(f"/api/documents/{web.corpus.seed}").json()
    # Then it is indexed, every mention's offsets point at its text, and each stage ran
    assert doc["status"] == "indexed"
    assert doc["article"]["title"].startswith("Turkish top diplomat")
    assert all(doc["text"][m["start"] : m["end"]] == m["text"] for m in doc["entities"])
    assert {"PERSON:hakan-fidan"} <= {m["entity_id"] for m in doc["entities"]}
    assert {"ingest", "parse", "tag", "index"} <= {r["stage"] for r in doc["stage_runs"]}


def test_a_document_is_found_by_a_unique_id_prefix_and_an_unknown_id_is_a_404(web: Web) -> None:
    prefix = web.corpus.uk[:8]
    assert web.client.get(f"/api/documents/{prefix}").json()["id"] == web.corpus.uk
    missing = web.client.get("/api/documents/ffffffffffffffff0")
    assert missing.status_code == 404
    assert "no document" in missing.json()["error"] and missing.json()["hint"]


def test_entities_are_listed_most_documents_first_and_by_label(web: Web) -> None:
    people = web.client.get("/api/entities", params={"label": "PERSON", "limit": 50}).json()
    assert people and {e["label"] for e in people} == {"PERSON"}
    assert "Hakan Fidan" in {e["name"] for e in people}
    counts = [e["documents"] for e in web.client.get("/api/entities").json()]
    assert counts == sorted(counts, reverse=True)


def test_status_is_what_docflow_status_json_prints(web: Web) -> None:
    status = web.client.get("/api/status").json()
    assert status["documents"]["indexed"] == 5 and status["documents"]["failed"] >= 1
    assert {"rejected_files", "throughput_per_min", "backlog", "eta_s", "queues"} <= set(status)
    assert status["broker_up"] is True and status["broker"].startswith("up at")


def test_failed_lists_the_failed_document_with_its_stage_and_reason(web: Web) -> None:
    rows = web.client.get("/api/failed").json()
    (row,) = [r for r in rows if r["id"] == web.corpus.failed]
    assert row["stage"] == "parse" and SCRIPT in row["error"] and row["kind"] == "document"


def test_an_uploaded_file_is_recorded_then_queued_and_its_status_url_answers(web: Web) -> None:
    before = queue_depths(web.redis.url, ("parse",))["parse"]
    # When a new story is uploaded as a file
    story = b"Lisbon tram strike\n\nLISBON\n\nTram drivers in Lisbon walked out on Monday.\n"
    taken = web.client.post("/api/documents", files={"file": ("tram.txt", story)})
    # Then it is taken (202), recorded as received, and its batch waits in Redis
    assert taken.status_code == 202, taken.text
    body = taken.json()
    assert body["duplicate"] is False and body["queued"] is True
    follow = web.client.get(body["status_url"]).json()
    assert follow["id"] == body["id"] and follow["status"] == "received"
    assert follow["source"] == "tram.txt"
    assert queue_depths(web.redis.url, ("parse",))["parse"] == before + 1
    # And the same content again answers with the existing document
    again = web.client.post("/api/documents", files={"file": ("other-name.txt", story)})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert again.json()["duplicate"] is True
    assert not any((web.data / "uploads").rglob("*.txt"))  # nothing left behind


def test_a_json_article_is_taken_through_the_same_intake(web: Web) -> None:
    article = {**BRASILIA, "id": "br-2025-0301", "title": "Coffee prices climb in Brazil"}
    taken = web.client.post("/api/documents", json=article)
    assert taken.status_code == 202, taken.text
    assert taken.json()["source"] == "br-2025-0301.json"
    doc = web.client.get(taken.json()["status_url"]).json()
    assert doc["format"] == "json"


def test_a_file_the_intake_cannot_read_is_refused_with_its_reason_and_listed(web: Web) -> None:
    refused = web.client.post("/api/documents", files={"file": ("scan.pdf", b"%PDF-1.4 ...")})
    assert refused.status_code == 422, refused.text
    assert "scan.pdf" in refused.json()["error"]
    files = [r for r in web.client.get("/api/failed").json() if r["kind"] == "file"]
    assert "scan.pdf" in {r["source"] for r in files}


def test_a_failed_document_is_retried_from_the_stage_that_failed(web: Web) -> None:
    sent = web.client.post(f"/api/documents/{web.corpus.failed}/retry")
    assert sent.status_code == 202, sent.text
    assert sent.json()["from_stage"] == "parse"
    assert web.client.get(sent.json()["status_url"]).json()["status"] == "received"
    # And a document that is not failed is left alone, saying why
    again = web.client.post(f"/api/documents/{web.corpus.seed}/retry")
    assert again.status_code == 422 and "not failed" in again.json()["error"]


def test_an_entity_rule_goes_to_the_entities_file_as_the_cli_writes_it(web: Web) -> None:
    said = web.client.post(
        "/api/entities/rules",
        json={"kind": "alias", "name": "Recep Tayyip Erdoğan", "other": "Tayyip Erdogan"},
    )
    assert said.status_code == 200, said.text
    assert "reprocess" in said.json()["message"]
    text = (web.data / "entities.toml").read_text()
    assert '"Tayyip Erdogan" = "Recep Tayyip Erdoğan"' in text
    cycle = web.client.post(
        "/api/entities/rules", json={"kind": "merge", "name": "A", "other": "A"}
    )
    assert cycle.status_code == 422 and "itself" in cycle.json()["error"]
    relabel = web.client.post(
        "/api/entities/rules", json={"kind": "relabel", "name": "Kyiv", "other": "gpe"}
    )
    assert relabel.status_code == 200 and "'Kyiv' is now GPE" in relabel.json()["message"]
    assert 'Kyiv = "GPE"' in (web.data / "entities.toml").read_text()
    no_label = web.client.post("/api/entities/rules", json={"kind": "relabel", "name": "Kyiv"})
    assert no_label.status_code == 422 and "needs the label" in no_label.json()["error"]


def test_an_entity_page_offers_a_relabel_to_every_other_name_label(web: Web) -> None:
    html = web.client.get("/entities/PERSON:hakan-fidan").text
    assert 'name="kind" value="relabel"' in html
    assert '<option value="GPE">GPE</option>' in html and '<option value="PERSON">' not in html


def test_search_finds_by_words_with_facets_and_pages(web: Web) -> None:
    page = web.client.get("/api/search", params={"q": "Fidan", "per_page": 1}).json()
    assert page["total"] >= 1 and page["hits"][0]["id"] == web.corpus.seed
    assert "<mark>" in page["hits"][0]["snippet"]
    assert {"entities", "months", "datelines"} <= set(page["facets"])
    every = web.client.get("/api/search", params={"per_page": 2, "page": 2}).json()
    assert every["total"] >= 5 and len(every["hits"]) == 2


def test_search_filters_by_unaccented_entity_dateline_and_date_range(web: Web) -> None:
    by_entity = web.client.get("/api/search", params={"entity": "Carlos Favaro"}).json()
    assert [h["id"] for h in by_entity["hits"]] == [web.corpus.brasilia]
    in_range = web.client.get(
        "/api/search", params={"date_from": "2025-02-01", "date_to": "2025-02-28"}
    ).json()
    assert web.corpus.brasilia in {h["id"] for h in in_range["hits"]}
    assert web.corpus.seed not in {h["id"] for h in in_range["hits"]}


def test_a_query_the_parser_cannot_read_is_a_400_that_says_how_to_write_it(web: Web) -> None:
    bad = web.client.get("/api/search", params={"q": '"unclosed'})
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]


def test_an_entity_answers_with_its_documents_months_and_co_mentioned_entities(web: Web) -> None:
    found = web.client.get("/api/entities/Hakan Fidan")
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["entity"]["id"] == "PERSON:hakan-fidan"
    assert web.corpus.seed in {d["id"] for d in body["documents"]}
    assert body["per_month"] and "PERSON:hakan-fidan" not in {
        c["value"] for c in body["co_mentioned"]
    }
    assert web.client.get("/api/entities/Nobody Atall").status_code == 404


def test_the_document_page_links_each_mention_to_its_entity_and_escapes_a_script(web: Web) -> None:
    page = web.client.get(f"/documents/{web.corpus.seed}").text
    assert 'class="ent ent-PERSON" href="/entities/PERSON%3Ahakan-fidan"' in page
    hostile = web.client.get(f"/documents/{web.corpus.hostile}").text
    assert "<script" not in hostile and "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile
