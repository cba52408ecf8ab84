"""`docflow entities review` ranks a real store's suspects and turns one key into one rule."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tasks.entities.normalize import entity_id
from tasks.models import Article, Mention, RawArticle, Stage
from tasks.store import open_store
from tests.conftest import docflow_in as docflow
from tests.unit.test_store import run


def mention(text: str, label: str, body: str) -> Mention:
    start = body.index(text)
    return Mention(
        text=text,
        label=label,
        start=start,
        end=start + len(text),
        canonical=text,
        entity_id=entity_id(label, text),
    )


def put(store, title: str, body: str, names: list[tuple[str, str]]) -> None:
    """A document indexed through the store API, mentioning `names` ((text, label) pairs)."""
    raw = RawArticle(source=f"{title}.txt", format="text", content=body)
    digest = hashlib.sha256(f"{title}{body}".encode()).hexdigest()
    doc_id, _ = store.add_document(raw, digest, "trace", run(Stage.ingest))
    article = Article(title=title, paragraphs=[body])
    store.save_parsed(doc_id, article, run(Stage.parse))
    mentions = [mention(text, label, article.text) for text, label in names]
    store.save_tags(doc_id, mentions, "v1", run(Stage.tag))
    store.index_document(doc_id, run(Stage.index))


@pytest.fixture
def collection(data_dir: Path) -> Path:
    """Three clean reports, one with a variant spelling, a place as a person and a pronoun."""
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    for n in range(3):
        body = f"Volodymyr Zelensky spoke in Kyiv on day {n}."
        put(store, f"clean{n}", body, [("Volodymyr Zelensky", "PERSON"), ("Kyiv", "GPE")])
    body = "Volodymyr Zelenskiy met Kyiv officials, and he said so."
    put(
        store,
        "noisy",
        body,
        [("Volodymyr Zelenskiy", "PERSON"), ("Kyiv", "PERSON"), ("he", "PERSON")],
    )
    store.close()
    return data_dir


def test_review_json_lists_the_suspects_ranked_with_reasons_and_suggestions(
    collection: Path,
) -> None:
    result = docflow(collection, "entities", "review", "--json")
    assert result.returncode == 0, result.stderr
    suspects = json.loads(result.stdout)
    assert [(s["entity"]["name"], s["entity"]["label"]) for s in suspects] == [
        ("Kyiv", "PERSON"),
        ("he", "PERSON"),
        ("Volodymyr Zelenskiy", "PERSON"),
    ]
    assert "a place tagged as a person" in suspects[0]["reasons"]
    assert (suspects[1]["action"], suspects[1]["target"]) == ("block", None)
    assert (suspects[2]["action"], suspects[2]["target"]) == ("merge", "Volodymyr Zelensky")
    assert suspects[0]["score"] > suspects[1]["score"] > suspects[2]["score"]
    limited = docflow(collection, "entities", "review", "--json", "--limit", "1", "--label", "gpe")
    assert json.loads(limited.stdout) == []


def test_review_with_piped_keys_writes_the_rules_and_logs_each_decision(
    collection: Path,
) -> None:
    # Kyiv: an unknown key asks again, then accept; he: block; Zelenskiy: merge as suggested
    result = docflow(collection, "entities", "review", stdin="x\na\nb\nm\n")
    assert result.returncode == 0, result.stderr
    assert "2 rules written" in result.stdout
    assert "docflow reprocess --stage tag" in result.stdout
    from tasks.entities.config import load_config

    config = load_config(collection / "entities.toml")
    assert config.is_blocked("he")
    assert not config.is_blocked("Kyiv")
    assert config.merged("Volodymyr Zelenskiy") == "Volodymyr Zelensky"
    lines = (collection / "entities-reviewed.jsonl").read_text().splitlines()
    decisions = [json.loads(line) for line in lines]
    assert [(d["name"], d["decision"], d["target"]) for d in decisions] == [
        ("Kyiv", "accept", None),
        ("he", "block", None),
        ("Volodymyr Zelenskiy", "merge", "Volodymyr Zelensky"),
    ]
    assert decisions[0]["id"] == "PERSON:kyiv" and decisions[0]["label"] == "PERSON"
    assert all(d["at"] for d in decisions)


def test_review_asks_for_an_alias_target_and_stops_at_quit(collection: Path) -> None:
    result = docflow(collection, "entities", "review", stdin="s\nl\nHe Who Must\nq\n")
    assert result.returncode == 0, result.stderr
    assert "1 rule written" in result.stdout
    from tasks.entities.config import load_config

    assert load_config(collection / "entities.toml").alias_for("he") == "He Who Must"
    lines = (collection / "entities-reviewed.jsonl").read_text().splitlines()
    assert [json.loads(line)["decision"] for line in lines] == ["alias"]


def test_review_relabels_a_place_tagged_person_as_suggested(collection: Path) -> None:
    result = docflow(collection, "entities", "review", stdin="r\nq\n")
    assert result.returncode == 0, result.stderr
    assert "'Kyiv' is now GPE" in result.stdout and "1 rule written" in result.stdout
    from tasks.entities.config import load_config

    assert load_config(collection / "entities.toml").label_for("Kyiv") == "GPE"
    (decision,) = [json.loads(x) for x in (collection / "entities-reviewed.jsonl").open()]
    assert (decision["name"], decision["decision"], decision["target"]) == (
        "Kyiv",
        "relabel",
        "GPE",
    )
