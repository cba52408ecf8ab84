"""`docflow eval --reviewed`: the review decisions are gold, and the rules as they are now,
re-applied to the model's kept spans, are scored against them. Real SQLite store, real
rules, the real CLI; the pure reading and judging below them."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tasks.models import Article, Mention, RawArticle, Stage
from tasks.store import Store, open_store
from tasks.tag import Tagger
from tests.conftest import docflow_in as docflow
from tests.unit.test_store import run
from workers.tools.reviewed import DocumentOutput, score_reviewed
from workers.tools.reviewed_gold import Decision, ReviewedFormatError, parse_decisions


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    """The real tagger, for its model version and its rules (no user rules)."""
    return Tagger()


def put(
    store: Store,
    tagger: Tagger,
    body: str,
    names: list[tuple[str, str]],
    keep_spans: bool = True,
) -> str:
    """An indexed document whose model spans are every occurrence of `names` ((text, label)
    pairs), tagged by the current model and rules."""
    raw = RawArticle(
        source=f"{hashlib.sha1(body.encode()).hexdigest()}.txt", format="text", content=body
    )
    doc_id, _ = store.add_document(
        raw, hashlib.sha256(body.encode()).hexdigest(), "t", run(Stage.ingest)
    )
    article = Article(title="Report", paragraphs=[body])
    store.save_parsed(doc_id, article, run(Stage.parse))
    text = article.text
    spans = sorted(
        (m.start(), m.end(), label)
        for name, label in names
        for m in re.finditer(rf"\b{re.escape(name)}\b", text)
    )
    mentions = tagger.retag(text, spans)
    store.save_tags(doc_id, mentions, tagger.version, run(Stage.tag), spans if keep_spans else None)
    store.index_document(doc_id, run(Stage.index))
    return doc_id


def log(data_dir: Path, *decisions: dict[str, object]) -> Path:
    """Decisions as `docflow entities review` appends them."""
    path = data_dir / "entities-reviewed.jsonl"
    with path.open("a", encoding="utf-8") as f:
        for d in decisions:
            record = {"id": "x", "label": None, "target": None, "at": "2026-01-01T00:00:00+00:00"}
            f.write(json.dumps({**record, **d}, ensure_ascii=False) + "\n")
    return path


def evaluate(data_dir: Path, *args: str) -> dict:
    result = docflow(data_dir, "eval", "--reviewed", *args, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture
def kyiv(data_dir: Path, tagger: Tagger) -> Path:
    """Two reports call Kyiv a place; one says `Kyiv` three times as an organisation."""
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    for day in range(2):
        body = f"Volodymyr Zelensky spoke in Kyiv on day {day}."
        put(store, tagger, body, [("Volodymyr Zelensky", "PERSON"), ("Kyiv", "GPE")])
    body = "Kyiv said on Monday that Kyiv would answer, and Kyiv did."
    put(store, tagger, body, [("Kyiv", "ORG")])
    store.close()
    return data_dir


def test_after_a_review_relabels_kyiv_the_rules_agree_and_without_the_rule_they_do_not(
    kyiv: Path,
) -> None:
    review = docflow(kyiv, "entities", "review", stdin="r\n")  # relabel as suggested, then quit
    assert review.returncode == 0 and "'Kyiv' is now GPE" in review.stdout, review.stderr
    agreed = evaluate(kyiv)
    assert agreed["kinds"]["relabel"] == {
        "decisions": 1,
        "agree": 1,
        "disagree": 0,
        "unseen": 0,
        "agreement": 1.0,
    }
    assert agreed["overall"]["agree"] == 1 and agreed["disagreements"] == []
    assert agreed["documents"] == 3 and agreed["not_scored"] == 0

    (kyiv / "entities.toml").write_text("# the relabel is gone\n", encoding="utf-8")
    disagreed = evaluate(kyiv)
    assert (disagreed["overall"]["agree"], disagreed["overall"]["disagree"]) == (0, 1)
    (kyiv_now,) = disagreed["disagreements"]
    assert (kyiv_now["name"], kyiv_now["decision"], kyiv_now["target"]) == (
        "Kyiv",
        "relabel",
        "GPE",
    )
    assert {"canonical": "Kyiv", "label": "ORG", "count": 3} in kyiv_now["now"]["mentions"]
    table = docflow(kyiv, "eval", "--reviewed")
    assert "agrees with 0/1 decisions" in table.stdout
    assert "Kyiv  relabel ORG -> GPE  now: 'Kyiv' ORG x3, 'Kyiv' GPE x2" in table.stdout


def test_each_kind_of_decision_is_gold_and_the_last_decision_about_a_name_counts(
    data_dir: Path, tagger: Tagger
) -> None:
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    first = put(
        store,
        tagger,
        "Olena Marchenko of Acme told Reuters that he would resign.",
        [("Olena Marchenko", "PERSON"), ("Acme", "ORG"), ("Reuters", "ORG"), ("he", "PERSON")],
    )
    second = put(
        store,
        tagger,
        "Volodymyr Zelenskiy met Volodymyr Zelensky.",
        [("Volodymyr Zelenskiy", "PERSON"), ("Volodymyr Zelensky", "PERSON")],
    )
    put(
        store,
        tagger,
        "Olena Marchenko spoke again.",
        [("Olena Marchenko", "PERSON")],
        keep_spans=False,
    )
    store.close()
    for rule in (
        ("block", "he"),
        ("merge", "Volodymyr Zelenskiy", "Volodymyr Zelensky"),
        ("alias", "Acme Widgets", "Acme"),
    ):
        assert docflow(data_dir, "entities", *rule).returncode == 0
    path = log(
        data_dir,
        {"name": "he", "label": "PERSON", "decision": "accept"},  # replaced by the block below
        {"name": "Olena Marchenko", "label": "PERSON", "decision": "accept"},
        {"name": "he", "label": "PERSON", "decision": "block"},
        {
            "name": "Volodymyr Zelenskiy",
            "label": "PERSON",
            "decision": "merge",
            "target": "Volodymyr Zelensky",
        },
        {"name": "Acme", "label": "ORG", "decision": "alias", "target": "Acme Widgets"},
        {"name": "Reuters", "label": "ORG", "decision": "block"},  # no rule was written
        {"name": "Atlantis", "label": "GPE", "decision": "accept"},  # in no document
        {"name": "Kyiv", "label": "PERSON", "decision": "skip"},
    )
    report = evaluate(data_dir, str(path))
    assert (report["decisions"], report["superseded"], report["ignored"]) == (6, 1, 1)
    assert (report["documents"], report["not_scored"]) == (2, 1)
    outcomes = {r["name"]: r["outcome"] for r in report["results"]}
    assert outcomes == {
        "Olena Marchenko": "agree",
        "he": "agree",
        "Volodymyr Zelenskiy": "agree",
        "Acme": "agree",
        "Reuters": "disagree",
        "Atlantis": "unseen",
    }
    assert report["kinds"]["block"] == {
        "decisions": 2,
        "agree": 1,
        "disagree": 1,
        "unseen": 0,
        "agreement": 0.5,
    }
    assert report["overall"]["agreement"] == 0.8
    (reuters,) = report["disagreements"]
    assert reuters["now"] == {
        "documents": 1,
        "mentions": [{"canonical": "Reuters", "label": "ORG", "count": 1}],
    }
    # once the rules are applied to the store, the blocked name is still judged (the model's
    # kept spans still hold it), and the verdicts are the same
    redone = docflow(data_dir, "reprocess", "--stage", "tag", first, second, "--json")
    assert json.loads(redone.stdout)["changed"] == [first, second], redone.stderr[-2000:]
    again = evaluate(data_dir, str(path))
    assert {r["name"]: r["outcome"] for r in again["results"]} == outcomes


def test_a_malformed_decision_line_is_reported_with_its_file_and_line_not_a_traceback(
    data_dir: Path,
) -> None:
    path = log(data_dir, {"name": "Kyiv", "label": "ORG", "decision": "relabel", "target": "GPE"})
    with path.open("a", encoding="utf-8") as f:
        f.write('{"name": "Kyiv", "decision": \n')
    result = docflow(data_dir, "eval", "--reviewed")
    assert result.returncode == 2
    assert f"{path}:2: not JSON" in result.stderr
    assert "fix or delete line 2" in result.stderr and "Traceback" not in result.stderr


def test_without_a_decisions_file_eval_says_where_it_looked_and_what_writes_one(
    data_dir: Path,
) -> None:
    result = docflow(data_dir, "eval", "--reviewed")
    assert result.returncode == 2
    assert f"no review decisions at {data_dir / 'entities-reviewed.jsonl'}" in result.stderr
    assert "docflow entities review" in result.stderr
    both = docflow(data_dir, "eval", "--reviewed", "--conll", __file__)
    assert both.returncode == 2 and "not both" in both.stderr


# --- the pure reading and judging --------------------------------------------------------


def test_decisions_are_keyed_by_name_as_the_rules_match_it_and_skips_are_no_gold() -> None:
    gold = parse_decisions(
        "\n".join(
            [
                '{"name": "Kyiv", "label": "ORG", "decision": "accept"}',
                "",
                '{"name": "KYIV", "label": "ORG", "decision": "relabel", "target": "gpe"}',
                '{"name": "he", "label": "PERSON", "decision": "skip"}',
            ]
        )
    )
    assert gold.decisions == (Decision("KYIV", "relabel", "ORG", "GPE", line=3),)
    assert (gold.superseded, gold.ignored) == (1, 1)


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("[1, 2]", "not a JSON object"),
        ('{"name": "Kyiv", "decision": "approve"}', "unknown decision 'approve'"),
        ('{"decision": "block"}', "needs the entity's 'name'"),
        ('{"name": "Kyiv", "decision": "accept"}', "needs the 'label' it accepts"),
        ('{"name": "Kyiv", "decision": "merge"}', "needs a 'target' (the canonical name)"),
        ('{"name": 7, "decision": "block"}', "'name' must be text, got 7"),
    ],
)
def test_a_line_that_is_no_decision_names_its_line_and_what_is_wrong(line: str, said: str) -> None:
    with pytest.raises(ReviewedFormatError) as caught:
        parse_decisions('{"name": "he", "decision": "block"}\n' + line, "r.jsonl")
    assert caught.value.message.startswith("r.jsonl:2: ") and said in caught.value.message
    assert "fix or delete line 2" in caught.value.hint


def mention(text: str, label: str, canonical: str = "") -> Mention:
    return Mention(text=text, label=label, start=0, end=len(text), canonical=canonical or text)


def test_a_merge_agrees_when_its_name_resolves_where_its_target_resolves_now() -> None:
    gold = parse_decisions(
        '{"name": "Zelenskiy", "label": "PERSON", "decision": "merge", "target": "Zelensky"}\n'
        '{"name": "Zelensky", "label": "PERSON", "decision": "merge", '
        '"target": "Volodymyr Zelensky"}\n'
    )
    both_to_full = DocumentOutput(
        frozenset({"zelenskiy", "zelensky"}),
        [
            mention("Zelenskiy", "PERSON", "Volodymyr Zelensky"),
            mention("Zelensky", "PERSON", "Volodymyr Zelensky"),
        ],
    )
    report = score_reviewed(gold, [both_to_full])
    assert [r.outcome for r in report.results] == ["agree", "agree"]
    apart = DocumentOutput(frozenset({"zelenskiy"}), [mention("Zelenskiy", "PERSON")])
    first = score_reviewed(gold, [apart]).results[0]
    assert (first.outcome, first.reading.describe()) == (
        "disagree",
        "'Zelenskiy' PERSON x1 (1 document)",
    )


def test_a_block_or_relabel_is_judged_only_where_the_model_saw_the_name() -> None:
    gold = parse_decisions(
        '{"name": "Reuters", "label": "ORG", "decision": "block"}\n'
        '{"name": "Kyiv", "label": "ORG", "decision": "relabel", "target": "GPE"}\n'
    )
    nowhere = score_reviewed(gold, [DocumentOutput(frozenset(), [])])
    assert [r.outcome for r in nowhere.results] == ["unseen", "unseen"]
    blocked_everywhere = DocumentOutput(frozenset({"reuters", "kyiv"}), [])
    outcomes = [r.outcome for r in score_reviewed(gold, [blocked_everywhere]).results]
    assert outcomes == ["agree", "disagree"]  # Kyiv is no entity at all: not a GPE
