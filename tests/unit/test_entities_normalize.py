"""Name normalisation: accent folding for matching, alias keys, slugs and stable ids."""

from __future__ import annotations

from tasks.entities import entity_id, fold, match_key
from tasks.entities.normalize import slug


def test_folding_removes_accents_and_case_so_erdogan_matches_erdogan_with_breve() -> None:
    assert fold("Erdoğan") == fold("Erdogan") == "erdogan"


def test_folding_handles_letters_unicode_does_not_decompose() -> None:
    assert fold("Kırıkkale") == "kirikkale"
    assert fold("Łódź") == "lodz"


def test_folding_treats_curly_and_straight_apostrophes_alike() -> None:
    assert fold("Côte d’Ivoire") == fold("Cote d'Ivoire")


def test_match_key_ignores_dots_and_a_leading_article() -> None:
    assert match_key("U.S.") == match_key("US") == match_key("the U.S.") == "us"
    assert match_key("the United States") == "united states"


def test_match_key_ignores_the_comma_in_washington_dc() -> None:
    assert match_key("Washington, D.C.") == match_key("Washington DC")


def test_slugs_are_ascii_and_hyphenated() -> None:
    assert slug("Recep Tayyip Erdoğan") == "recep-tayyip-erdogan"
    assert slug("$100 billion") == "100-billion"


def test_the_same_thing_spelled_with_or_without_accents_gets_the_same_id() -> None:
    assert entity_id("PERSON", "Recep Tayyip Erdoğan") == entity_id(
        "PERSON", "Recep Tayyip Erdogan"
    )
    assert entity_id("GPE", "Türkiye") == "GPE:turkiye"
