"""The bench reports what the entity rules' data costs a process, measured in a fresh one."""

from __future__ import annotations

from workers.tools.bench.entity_data import entity_data_figures


def test_the_entity_data_probe_reports_the_tables_their_memory_and_load_time() -> None:
    figures = entity_data_figures()
    assert "entity_data_error" not in figures, figures
    entries = figures["entity_data_entries"]
    assert entries["places"] > 10_000 and entries["given_names"] > 10_000
    assert entries["legal_forms"] > 100
    # a few MB per worker process, not the tens of MB the raw packages take
    assert 0 <= figures["entity_data_rss_mb"] < 30
    assert figures["entity_data_load_ms"] >= 0
