"""The synthetic corpus: distinct, realistic wire articles of the asked length, reproducibly."""

from __future__ import annotations

import pytest

from tasks.ingest import content_hash
from tasks.models import RawArticle
from tasks.parse import parse_article
from workers.tools.corpus import (
    CITIES,
    COMPANIES,
    FIRST_NAMES,
    LENGTHS,
    SURNAMES,
    generate_article,
    generate_corpus,
    parse_words,
    word_count,
)


def test_no_two_generated_articles_share_content() -> None:
    corpus = generate_corpus(500, seed=3)
    hashes = {content_hash(a.text) for a in corpus}
    assert len(hashes) == 500
    assert len({a.name for a in corpus}) == 500


@pytest.mark.parametrize("length", ["short", "seed"])
def test_every_article_has_a_word_count_within_the_asked_range(length: str) -> None:
    low, high = LENGTHS[length]
    corpus = generate_corpus(300, seed=11, min_words=low, max_words=high)
    counts = [word_count(a.text) for a in corpus]
    assert all(low <= n <= high for n in counts)
    assert all(a.words == word_count(a.text) for a in corpus)
    mean = sum(counts) / len(counts)
    assert (low + high) / 2 - 40 <= mean <= (low + high) / 2 + 40


def test_short_stories_average_about_230_words_and_seed_length_about_600() -> None:
    short = generate_corpus(
        200, seed=1, min_words=LENGTHS["short"][0], max_words=LENGTHS["short"][1]
    )
    seed = generate_corpus(200, seed=1)
    assert 200 <= sum(a.words for a in short) / 200 <= 260
    assert 550 <= sum(a.words for a in seed) / 200 <= 650


def test_a_custom_word_range_is_honoured_even_when_narrow() -> None:
    corpus = generate_corpus(50, seed=5, min_words=400, max_words=420)
    assert all(400 <= a.words <= 420 for a in corpus)


def test_the_same_seed_gives_the_same_articles_and_another_seed_different_ones() -> None:
    first = [a.text for a in generate_corpus(20, seed=42)]
    again = [a.text for a in generate_corpus(20, seed=42)]
    other = [a.text for a in generate_corpus(20, seed=43)]
    assert first == again
    assert not set(first) & set(other)


def test_an_article_does_not_depend_on_the_size_of_the_corpus() -> None:
    small = generate_corpus(5, seed=9)
    large = generate_corpus(50, seed=9)
    assert [a.text for a in small] == [a.text for a in large[:5]]
    assert generate_article(9, 3, *LENGTHS["seed"]).text == small[3].text


def test_articles_name_realistic_people_places_and_organisations() -> None:
    for article in generate_corpus(100, seed=2):
        names = [p for p in article.people if p in article.text]
        assert names, article.name
        first, last = names[0].split(" ", 1)
        assert first in FIRST_NAMES and last in SURNAMES
        assert any(city in article.text for city, _, _ in CITIES)
        assert any(org in article.text for org in article.organisations)
    companies = {c for a in generate_corpus(100, seed=2) for c in COMPANIES if c in a.text}
    assert len(companies) > 5  # varied, not one name everywhere


def test_articles_parse_as_wire_stories_with_title_dateline_and_8_to_20_paragraphs() -> None:
    for article in generate_corpus(60, seed=4):
        parsed = parse_article(RawArticle(source=article.name, format="text", content=article.text))
        assert parsed.title == article.title
        assert parsed.dateline and parsed.dateline.split(",")[0] == article.dateline.split(",")[0]
        assert parsed.published is not None
        assert 8 <= len(parsed.paragraphs) + len(parsed.headings) <= 21


def test_word_ranges_are_read_from_presets_and_min_max_specs() -> None:
    assert parse_words("short") == LENGTHS["short"]
    assert parse_words("seed") == LENGTHS["seed"]
    assert parse_words("200-400") == (200, 400)
    assert parse_words("500") == (500, 500)
    for bad in ("long", "400-200", "10-20", "a-b"):
        with pytest.raises(ValueError):
            parse_words(bad)
