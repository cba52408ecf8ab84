"""The entity commands edit the user's rules file and score the tagger from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO
from tests.conftest import docflow_in as docflow

CONLL = REPO / "tests" / "data" / "conll" / "wire_sample.conll"


def test_alias_merge_relabel_and_block_commands_write_the_entities_file(data_dir: Path) -> None:
    assert docflow(data_dir, "entities", "alias", "Recep Tayyip Erdoğan", "Tayyip").returncode == 0
    assert docflow(data_dir, "entities", "merge", "Islamic State", "ISIL").returncode == 0
    assert docflow(data_dir, "entities", "block", "Reuters").returncode == 0
    assert docflow(data_dir, "entities", "relabel", "Kyiv", "gpe").returncode == 0
    refused = docflow(data_dir, "entities", "relabel", "Kyiv", "city")
    assert refused.returncode != 0 and "not a name label" in refused.stderr + refused.stdout
    from tasks.entities.config import load_config

    config = load_config(data_dir / "entities.toml")
    assert config.alias_for("tayyip") == "Recep Tayyip Erdoğan"
    assert config.merged("Islamic State") == "ISIL"
    assert config.is_blocked("Reuters")
    assert config.label_for("Kyiv") == "GPE"


def test_the_rules_apply_when_a_document_is_tagged(data_dir: Path) -> None:
    from tasks.entities.config import add_alias, add_block
    from tasks.tag import Tagger

    rules = data_dir / "entities.toml"
    add_block(rules, "Reuters")
    add_alias(rules, "Hakan Fidan", "H. Fidan")
    mentions = Tagger(config_path=rules).tag(
        "ANKARA (Reuters) - H. Fidan met Marco Rubio in Washington on Tuesday."
    )
    assert "Reuters" not in {m.text for m in mentions}
    assert {m.canonical for m in mentions if m.label == "PERSON"} >= {"Hakan Fidan", "Marco Rubio"}


def test_eval_prints_raw_and_full_scores_per_label(data_dir: Path) -> None:
    result = docflow(data_dir, "eval", "--conll", str(CONLL), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    text = json.dumps(report)
    for label in ("PER", "LOC", "ORG", "MISC"):
        assert label in text
    table = docflow(data_dir, "eval", "--conll", str(CONLL)).stdout
    assert "micro" in table and "raw" in table and "full" in table
