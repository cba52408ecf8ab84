"""The fast paths of the entity rules give what the slow, general ones would."""

from __future__ import annotations

import random
import re

import pytest

from tasks.entities import builtin_aliases
from tasks.entities.clean import clean_span, fix_title_fragment, is_clean, may_be_title_fragment
from tasks.entities.collection import candidates
from tasks.entities.compounds import compounds
from tasks.entities.config import EntityConfig
from tasks.entities.segment import is_one_name, segment
from tasks.entities.spans import NAME_LABELS, Span
from tasks.models import Mention

#: the compound pattern searched from every position, as `compounds` must find it
_COMPOUND = re.compile(r"(?<![\w\-/–.])[^\W\d_][\w.]*+(?:[\-/–][^\W\d_][\w.]*+)+")
_PIECES = ["Fidan", "Rubio", "-", "/", "–", ".", "U.S.", "F-35", "a", "1", " ", "_", "é", "\n"]


def _random_texts(count: int, pieces: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(count)]


@pytest.mark.parametrize(
    "text",
    [
        "Fidan-Rubio talks",
        "the Ukraine–Russia/Belarus border",
        "Ab-Cd-1-Ef-Gh and x-Y",
        "U.S.-China trade; A.A.A.-B",
        "no compounds at all",
        "-Ab-Cd, Ab.-Cd, A/-B, a-",
    ],
)
def test_compounds_are_the_matches_of_the_pattern_searched_everywhere(text: str) -> None:
    found = [(m.span(), m.group()) for m in compounds(text)]
    assert found == [(m.span(), m.group()) for m in _COMPOUND.finditer(text)]


def test_compounds_agree_with_the_pattern_on_random_text() -> None:
    for text in _random_texts(3000, _PIECES, seed=1):
        found = [m.span() for m in compounds(text)]
        assert found == [m.span() for m in _COMPOUND.finditer(text)], text


def test_a_surface_the_clean_up_keeps_is_kept_wherever_it_stands() -> None:
    aliases = builtin_aliases()
    words = ["the", "The", "Paris", "State", "of", "Secretary", "Mr", "Inc.", "U.S.", "’s"]
    words += ["2", "(", ")", ";", "-", "said", "party", "Ministry", "for", ",", ".", "\n"]
    labels = ["PERSON", "ORG", "GPE", "FAC", "DATE", "WORK_OF_ART", "LAW", "CARDINAL"]
    rng = random.Random(2)
    kept = 0
    for _ in range(5000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 8)))
        start = rng.randrange(len(text))
        span = Span(start, rng.randint(start + 1, len(text)), rng.choice(labels))
        surface = text[span.start : span.end]
        if not is_clean(surface):
            continue
        assert clean_span(text, span, aliases) is span
        if span.label in NAME_LABELS and is_one_name(surface, span.label):
            kept += 1
            assert segment(text, span) == [span]
            if not may_be_title_fragment(surface, span.label):
                assert fix_title_fragment(text, span) is span
    assert kept > 100


def test_a_portfolio_after_a_title_is_a_fragment_and_a_name_is_not() -> None:
    text = "Secretary of State Marco Rubio"
    assert may_be_title_fragment("State", "ORG")
    assert fix_title_fragment(text, Span(13, 18, "ORG")) is None
    assert not may_be_title_fragment("Marco Rubio", "ORG")
    assert not may_be_title_fragment("State", "PERSON")


def test_the_models_own_labels_are_read_from_overlapping_raw_spans_only() -> None:
    text = "Marseille won. Marseille said. Lyon lost and Paris wept."
    mentions = [
        Mention(text="Marseille", label="ORG", start=0, end=9),
        Mention(text="Lyon", label="ORG", start=31, end=35),
        Mention(text="Paris", label="PERSON", start=45, end=50),
    ]
    raw = [(45, 50, "PERSON"), (31, 35, "GPE"), (0, 9, "ORG"), (40, 60, "ORG")]
    weak = candidates(text, mentions, EntityConfig(), None, raw)
    assert list(weak) == [("marseille", "ORG")]  # Lyon: GPE raw; Paris: ORG overlaps too
