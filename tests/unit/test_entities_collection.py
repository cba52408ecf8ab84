"""The collection's label evidence, as pure rules: a document's weak names follow a strong
consensus of the other documents; strong, user-fixed and value mentions never do."""

from __future__ import annotations

from pathlib import Path

from tasks.entities import EntityConfig, builtin_aliases
from tasks.entities.collection import (
    MIN_DOCUMENTS,
    Evidence,
    candidates,
    consensus,
    evidence_ids,
    learn,
)
from tasks.entities.config import parse_config
from tasks.entities.normalize import entity_id
from tasks.models import Mention

ALIASES = builtin_aliases()


def mentions_of(text: str, name: str, label: str) -> list[Mention]:
    """Every occurrence of `name` in `text`, labelled `label`."""
    out, start = [], text.find(name)
    while start >= 0:
        out.append(
            Mention(
                text=name,
                label=label,
                start=start,
                end=start + len(name),
                canonical=name,
                entity_id=entity_id(label, name),
            )
        )
        start = text.find(name, start + 1)
    return out


def learned(text: str, mentions: list[Mention], counts: dict[str, dict[str, int]], **kw) -> list:
    config = kw.get("config", EntityConfig())
    return [(m.label, m.entity_id) for m in learn(text, mentions, counts, config, ALIASES)]


def test_a_strong_consensus_wins_over_a_weak_single_mention() -> None:
    text = "He flew from Paris to Marseille."
    weak = mentions_of(text, "Marseille", "ORG")
    assert learned(text, weak, {"marseille": {"GPE": 5}}) == [("GPE", "GPE:marseille")]
    # the offsets, the text and the canonical name stay the document's own
    (moved,) = learn(text, weak, {"marseille": {"GPE": 5}}, EntityConfig(), ALIASES)
    assert (moved.start, moved.end, moved.text, moved.canonical) == (
        22,
        31,
        "Marseille",
        "Marseille",
    )


def test_too_few_documents_or_too_small_a_share_is_no_consensus() -> None:
    text = "He flew to Marseille."
    weak = mentions_of(text, "Marseille", "ORG")
    assert learned(text, weak, {"marseille": {"GPE": MIN_DOCUMENTS - 1}}) == [
        ("ORG", "ORG:marseille")
    ]
    # 4 of 6 other documents is 67 %: the collection is split, the document keeps its label
    assert learned(text, weak, {"marseille": {"GPE": 4, "ORG": 2}}) == [("ORG", "ORG:marseille")]
    assert learned(text, weak, {"marseille": {"GPE": 8, "ORG": 2}}) == [("GPE", "GPE:marseille")]


def test_a_strong_in_document_label_with_a_title_is_kept() -> None:
    text = "Mr. Marseille said the plan would work."
    titled = mentions_of(text, "Marseille", "PERSON")
    assert learned(text, titled, {"marseille": {"GPE": 50}}) == [("PERSON", "PERSON:marseille")]


def test_a_name_the_document_repeats_is_strong_and_kept() -> None:
    text = "Marseille signed. Marseille paid. Marseille won."
    repeated = mentions_of(text, "Marseille", "ORG")
    assert {label for label, _ in learned(text, repeated, {"marseille": {"GPE": 50}})} == {"ORG"}


def test_a_user_rule_wins_over_the_collection(tmp_path: Path) -> None:
    text = "He flew from Paris to Marseille."
    weak = mentions_of(text, "Marseille", "ORG")
    counts = {"marseille": {"GPE": 50}}
    for rules in (
        '[relabel]\n"Marseille" = "ORG"\n',
        '[alias]\n"Marseille" = "Marseille"\n',
        '[merge]\n"OM" = "Marseille"\n',
    ):
        config = parse_config(rules, tmp_path / "entities.toml")
        assert learned(text, weak, counts, config=config) == [("ORG", "ORG:marseille")], rules


def test_a_place_the_gazetteer_knows_stays_a_place() -> None:
    text = "Rain fell on Marseille."
    place = mentions_of(text, "Marseille", "GPE")
    assert learned(text, place, {"marseille": {"ORG": 50}}) == [("GPE", "GPE:marseille")]


def test_values_are_never_touched() -> None:
    text = "They met on Monday."
    date = mentions_of(text, "Monday", "DATE")
    assert learned(text, date, {"monday": {"PERSON": 50}}) == [("DATE", "DATE:monday")]
    assert candidates(text, date, EntityConfig(), ALIASES) == {}


def test_the_document_itself_is_not_counted() -> None:
    # the store counts 3 documents calling Marseille a place; one of them is this one
    evidence = Evidence(
        {"GPE:marseille": 3, "ORG:marseille": 1}, {"me": frozenset({"GPE:marseille"})}
    )
    assert evidence.for_document("me") == {"marseille": {"GPE": 2, "ORG": 1}}
    assert evidence.for_document("other") == {"marseille": {"GPE": 3, "ORG": 1}}
    assert evidence.for_document(None) == {"marseille": {"GPE": 3, "ORG": 1}}
    # re-tagged, this document's weak mention sees only 2 other places: no consensus
    text = "He flew to Marseille."
    weak = mentions_of(text, "Marseille", "ORG")
    assert learned(text, weak, evidence.for_document("me")) == [("ORG", "ORG:marseille")]


def test_the_consensus_is_deterministic_and_never_the_documents_own_label() -> None:
    assert consensus({"GPE": 4}, "GPE") is None
    assert consensus({"GPE": 4, "DATE": 40}, "ORG") == "GPE"  # values do not vote
    assert consensus({}, "ORG") is None
    ids = evidence_ids([("marseille", "ORG"), ("marseille", "PERSON")])
    assert ids == sorted(ids) and "GPE:marseille" in ids and len(ids) == len(set(ids))


def test_a_label_a_rule_of_the_document_decided_is_kept() -> None:
    # the model said GPE, a rule of the document made it PERSON: not the model's own label
    text = "Yilmaz said Greece was ready."
    ruled = mentions_of(text, "Yilmaz", "PERSON")
    counts = {"yilmaz": {"GPE": 50}}
    config = EntityConfig()
    kept = learn(text, ruled, counts, config, ALIASES, spans=[(0, 6, "GPE")])
    assert [m.label for m in kept] == ["PERSON"]
    # a mention a rule added where the model found nothing is not the model's either
    assert [m.label for m in learn(text, ruled, counts, config, ALIASES, spans=[])] == ["PERSON"]
    # the model's own label gives way
    moved = learn(text, ruled, counts, config, ALIASES, spans=[(0, 6, "PERSON")])
    assert [m.label for m in moved] == ["GPE"]
