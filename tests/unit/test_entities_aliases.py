"""The built-in alias table: pycountry countries plus the curated aliases.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.entities import builtin_aliases, load_alias_table
from tasks.errors import ConfigError


@pytest.mark.parametrize(
    "name", ["U.S.", "US", "USA", "the United States", "United States of America", "America"]
)
def test_every_common_name_of_the_united_states_resolves_to_one_country(name: str) -> None:
    known = builtin_aliases().get(name)
    assert known is not None
    assert (known.canonical, known.label, known.country) == ("United States", "GPE", True)


@pytest.mark.parametrize("name", ["Turkey", "Türkiye", "Turkiye", "TUR", "Republic of Türkiye"])
def test_turkey_and_turkiye_are_the_same_country(name: str) -> None:
    known = builtin_aliases().get(name)
    assert known is not None and known.canonical == "Türkiye"


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("UK", "United Kingdom"),
        ("Britain", "United Kingdom"),
        ("Great Britain", "United Kingdom"),
        ("Russian Federation", "Russia"),
        ("Syrian Arab Republic", "Syria"),
        ("Ivory Coast", "Côte d'Ivoire"),
        ("Korea, Republic of", "South Korea"),
    ],
)
def test_countries_get_their_everyday_name(name: str, canonical: str) -> None:
    known = builtin_aliases().get(name)
    assert known is not None and known.canonical == canonical


@pytest.mark.parametrize(
    ("name", "canonical", "label"),
    [
        ("EU", "European Union", "ORG"),
        ("U.N.", "United Nations", "ORG"),
        ("ISIS", "ISIL", "ORG"),
        ("Islamic State", "ISIL", "ORG"),
        ("Washington, D.C.", "Washington", "GPE"),
        ("the White House", "White House", "FAC"),
    ],
)
def test_curated_entities_resolve_with_their_label(name: str, canonical: str, label: str) -> None:
    known = builtin_aliases().get(name)
    assert known is not None and (known.canonical, known.label) == (canonical, label)


def test_alpha3_codes_that_are_english_words_are_not_aliases() -> None:
    assert builtin_aliases().get("CAN") is None
    assert builtin_aliases().get("PER") is None
    assert builtin_aliases().get("DEU") is not None


def test_the_gazetteer_leaves_out_names_that_are_often_people_or_states() -> None:
    gazetteer = builtin_aliases().gazetteer
    assert "Syria" in gazetteer and "United States" in gazetteer
    assert "Jordan" not in gazetteer and "Georgia" not in gazetteer and "Chad" not in gazetteer
    assert "USA" not in gazetteer  # codes are matched only on tagged mentions


def test_the_table_version_changes_with_the_curated_file(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[2] / "tasks" / "entities" / "aliases.toml"
    edited = tmp_path / "aliases.toml"
    edited.write_text(data.read_text(encoding="utf-8") + '\n[[entity]]\nname = "X"\n')
    assert load_alias_table(edited).version != builtin_aliases().version


def test_a_broken_curated_file_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "aliases.toml"
    broken.write_text("[entity\n")
    with pytest.raises(ConfigError, match=r"aliases\.toml"):
        load_alias_table(broken)
