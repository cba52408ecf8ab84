"""Common given names (Faker's lists) as evidence for PERSON, and the shared cache of data
lists. No spaCy: hand-made model output, as in test_entities_refine; real Faker data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.entities import refine
from tasks.entities.data_cache import cached_names
from tasks.entities.given_names import given_names, given_names_version, is_given_name
from tests.unit.test_entities_refine import at, exact, pairs


def build_two_names() -> set[str]:
    """A builder for the cache test (the child process imports it by name)."""
    return {"Alpha", "Beta"}


def test_common_given_names_are_known_as_written() -> None:
    assert {"Maria", "Mohammed", "Marcus", "Akira", "Olena", "Hakan"} <= given_names()
    assert not is_given_name("maria") and not is_given_name("MARIA")


def test_given_names_that_are_common_english_words_or_rare_names_are_left_out() -> None:
    assert not {"Will", "May", "Hope", "Major", "Summer"} & given_names()
    assert "Alabama" not in given_names()  # only in Faker's list of every US name


def test_a_name_starting_with_a_given_name_that_the_model_called_a_place_is_a_person() -> None:
    text = "Marcus Rashford scored twice, and Dominic Solanke added a third."
    model = [at(text, "Marcus Rashford", "GPE"), at(text, "Dominic Solanke", "NORP")]
    assert pairs(exact(text, refine(text, model))) == [
        ("Marcus Rashford", "PERSON"),
        ("Dominic Solanke", "PERSON"),
    ]


def test_an_organisation_named_like_a_person_stays_one_unless_the_model_wavered() -> None:
    text = "Morgan Stanley raised its target. Sean Dyche said Sean Dyche had no complaints."
    model = [
        at(text, "Morgan Stanley", "ORG"),
        at(text, "Sean Dyche", "ORG"),
        at(text, "Sean Dyche", "PERSON", 1),
    ]
    assert pairs(exact(text, refine(text, model))) == [
        ("Morgan Stanley", "ORG"),
        ("Sean Dyche", "PERSON"),
        ("Sean Dyche", "PERSON"),
    ]


def test_names_that_start_with_a_given_name_but_are_not_people_keep_their_label() -> None:
    text = (
        "The Christian Democrats won in Jordan Valley towns. Georgia Tech and Maria Island "
        "were closed; the island reopens in May. Simon Holdings Ltd said so."
    )
    model = [
        at(text, "Christian Democrats", "NORP"),  # a people's name in the plural
        at(text, "Jordan Valley", "LOC"),  # a place's name in it
        at(text, "Georgia Tech", "ORG"),
        at(text, "Maria Island", "LOC"),  # `island` is a word of the text
        at(text, "Simon Holdings Ltd", "GPE"),  # a legal form
    ]
    assert [label for _, label in pairs(exact(text, refine(text, model)))] == [
        "NORP",
        "LOC",
        "ORG",
        "LOC",
        "ORG",
    ]


def test_a_city_name_the_model_calls_a_person_stays_a_place_unless_used_as_a_first_name() -> None:
    alone = "Troops left Austin on Monday."
    assert pairs(refine(alone, [at(alone, "Austin", "PERSON")])) == [("Austin", "GPE")]
    named = "Austin Reaves scored 30. Austin said the team played well."
    model = [at(named, "Austin Reaves", "PERSON"), at(named, "Austin", "PERSON", 1)]
    assert [label for _, label in pairs(refine(named, model))] == ["PERSON", "PERSON"]


def test_the_given_names_are_built_once_into_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    given_names.cache_clear()
    try:
        built = given_names()
        kept = tmp_path / "docflow" / f"{given_names_version()}.txt"
        assert set(kept.read_text(encoding="utf-8").splitlines()) == built
        assert given_names_version().startswith("given-names-faker-")
    finally:
        given_names.cache_clear()


def test_the_shared_cache_builds_a_list_in_a_child_and_reads_the_file_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cached_names("two-names-1", build_two_names) == {"Alpha", "Beta"}
    kept = tmp_path / "docflow" / "two-names-1.txt"
    kept.write_text("Gamma\n", encoding="utf-8")
    assert cached_names("two-names-1", build_two_names) == {"Gamma"}
    assert [p.name for p in kept.parent.iterdir()] == [kept.name]  # no temporary left


def test_without_a_writable_cache_folder_a_list_is_built_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert cached_names("two-names-1", build_two_names) == {"Alpha", "Beta"}
