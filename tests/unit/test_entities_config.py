"""The user's entities.toml: reading, clear errors, and safe editing that keeps comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.entities import (
    EntityConfig,
    add_alias,
    add_block,
    add_merge,
    add_relabel,
    load_config,
    refine,
)
from tasks.errors import ConfigError
from tasks.models import Mention

EXAMPLE = """\
# my rules
[alias]
"Tayyip Erdogan" = "Recep Tayyip Erdoğan"  # short form used by some agencies

[merge]
"Islamic State" = "ISIL"

[block]
names = ["Reuters"]
"""


def test_a_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(tmp_path / "entities.toml")
    assert config == EntityConfig()
    assert load_config(None) == EntityConfig()


def test_aliases_merges_and_blocks_are_read_and_matched_loosely(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    config = load_config(path)
    assert config.alias_for("TAYYIP ERDOĞAN") == "Recep Tayyip Erdoğan"
    assert config.merged("islamic state") == "ISIL"
    assert config.is_blocked("REUTERS")
    assert not config.is_blocked("Anadolu")


def test_merges_are_followed_through_chains_and_stop_on_cycles() -> None:
    config = EntityConfig(merges={"a": "B", "b": "C", "c": "A"})
    assert config.merged("A") in {"A", "B", "C"}
    chain = EntityConfig(merges={"a": "B", "b": "C"})
    assert chain.merged("A") == "C"


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    path.write_text('[alias]\n"ok" = "fine"\n"broken = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}:3" in str(caught.value)


def test_a_non_string_alias_names_the_file_and_the_line_of_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    path.write_text('[alias]\n"ok" = "fine"\n"bad" = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"entities\.toml:3: \[alias\] 'bad'"):
        load_config(path)


def test_an_unknown_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    path.write_text("[aliases]\nx = 'y'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown section 'aliases'"):
        load_config(path)


def test_block_names_must_be_a_list_of_strings(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    path.write_text("[block]\nnames = 'Reuters'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="names must be a list"):
        load_config(path)


def test_editing_creates_the_file_with_a_header(tmp_path: Path) -> None:
    path = tmp_path / "data" / "entities.toml"
    add_alias(path, "Recep Tayyip Erdoğan", "Erdogan")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# docflow entity rules")
    assert load_config(path).alias_for("erdogan") == "Recep Tayyip Erdoğan"


def test_editing_keeps_the_users_comments_and_existing_entries(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    add_alias(path, "Donald Trump", "POTUS")
    add_merge(path, "Daesh", "ISIL")
    add_block(path, "AP")
    text = path.read_text(encoding="utf-8")
    assert "# my rules" in text and "# short form used by some agencies" in text
    config = load_config(path)
    assert config.alias_for("POTUS") == "Donald Trump"
    assert config.alias_for("Tayyip Erdogan") == "Recep Tayyip Erdoğan"
    assert config.merged("Daesh") == "ISIL"
    assert config.is_blocked("AP") and config.is_blocked("Reuters")


def test_adding_an_alias_again_replaces_the_old_target(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    add_alias(path, "Hakan Fidan", "Fidan")
    add_alias(path, "Hakan Fidan Jr", "FIDAN")
    assert load_config(path).alias_for("Fidan") == "Hakan Fidan Jr"
    assert load_config(path).aliases == {"fidan": "Hakan Fidan Jr"}


def test_blocking_a_name_twice_stores_it_once(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    add_block(path, "Reuters")
    add_block(path, "reuters")
    assert path.read_text(encoding="utf-8").lower().count("reuters") == 1


def test_a_merge_cycle_and_self_references_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    add_merge(path, "A", "B")
    with pytest.raises(ConfigError, match="cycle"):
        add_merge(path, "B", "A")
    with pytest.raises(ConfigError, match="itself"):
        add_merge(path, "C", "c")
    with pytest.raises(ConfigError, match="same name"):
        add_alias(path, "U.S.", "US")
    with pytest.raises(ConfigError, match="empty"):
        add_block(path, "  ")


def test_editing_a_malformed_file_fails_without_touching_it(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    path.write_text("[alias\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"entities\.toml:1"):
        add_block(path, "Reuters")
    assert path.read_text(encoding="utf-8") == "[alias\n"
    assert not list(tmp_path.glob(".entities.toml.*"))


def test_a_relabel_rule_gives_a_name_its_label_and_the_entity_id_follows(tmp_path: Path) -> None:
    path = tmp_path / "entities.toml"
    add_relabel(path, "Kyiv", "gpe")
    config = load_config(path)
    assert config.label_for("kyiv") == "GPE" and config.label_for("Lviv") is None
    text = "Officials in Kyiv said the talks would go on."
    start = text.index("Kyiv")
    model = [Mention(text="Kyiv", label="ORG", start=start, end=start + 4)]
    (mention,) = refine(text, model, config)
    assert (mention.label, mention.entity_id) == ("GPE", "GPE:kyiv")


def test_a_relabel_to_something_that_is_not_a_name_label_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a name label"):
        add_relabel(tmp_path / "entities.toml", "Kyiv", "CITY")
    (tmp_path / "entities.toml").write_text('[relabel]\n"Kyiv" = "CITY"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"entities.toml:2: \[relabel\] 'CITY'"):
        load_config(tmp_path / "entities.toml")
