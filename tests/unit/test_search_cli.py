"""`docflow search` from a shell: filters, pages, JSON, and a query it cannot read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.store import open_store
from tests.conftest import REPO, docflow_env
from tests.unit.test_search_store import put


def docflow(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", "search", *args],
        cwd=REPO,
        env=docflow_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def indexed(data_dir: Path) -> dict[str, str]:
    """Three indexed articles in the data dir's SQLite store: name -> id."""
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    store.migrate()
    docs = {
        "lisbon": put(
            store,
            "Lisbon port reopens",
            "The port of Lisbon reopened after the storm.",
            published="2025-01-10",
            dateline="LISBON",
            language="pt",
        ),
        "oslo": put(
            store,
            "Oslo port fees",
            "Oslo cut its port fees on Monday.",
            published="2025-02-03",
            dateline="OSLO (Reuters)",
        ),
        "riga": put(
            store,
            "Riga port strike",
            "Dockers in Riga went on strike at the port.",
            published="2025-03-15",
            dateline="RIGA",
            fmt="markdown",
        ),
    }
    store.close()
    return docs


def test_filters_narrow_a_search_and_json_prints_the_page(
    data_dir: Path, indexed: dict[str, str]
) -> None:
    done = docflow(
        data_dir, "port", "--from", "2025-01-01", "--to", "2025-02-28", "--lang", "en", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["total"] == 1 and [h["id"] for h in result["hits"]] == [indexed["oslo"]]
    assert result["facets"]["datelines"][0]["value"] == "oslo"
    by_place = json.loads(docflow(data_dir, "--dateline", "Lisbon", "--json").stdout)
    assert [h["id"] for h in by_place["hits"]] == [indexed["lisbon"]]
    by_format = json.loads(docflow(data_dir, "port", "--format", "markdown", "--json").stdout)
    assert [h["id"] for h in by_format["hits"]] == [indexed["riga"]]


def test_pages_show_which_hits_of_how_many_with_scores_and_snippets(
    data_dir: Path, indexed: dict[str, str]
) -> None:
    done = docflow(data_dir, "port", "--per-page", "2", "--page", "2")
    assert done.returncode == 0, done.stderr
    assert "hits 3-3 of 3" in done.stdout and "score" in done.stdout
    assert "port" in done.stdout and "<mark>" not in done.stdout
    limited = json.loads(docflow(data_dir, "port", "-n", "1", "--json").stdout)
    assert limited["request"]["per_page"] == 1 and len(limited["hits"]) == 1


def test_a_query_it_cannot_read_exits_2_with_the_reason_and_a_hint(
    data_dir: Path, indexed: dict[str, str]
) -> None:
    done = docflow(data_dir, '"port strike')
    assert done.returncode == 2
    assert "not closed" in done.stderr and "close the phrase" in done.stderr
    assert "Traceback" not in done.stderr
    swapped = docflow(data_dir, "port", "--from", "2025-03-01", "--to", "2025-01-01")
    assert swapped.returncode == 2 and "swap them" in swapped.stderr
