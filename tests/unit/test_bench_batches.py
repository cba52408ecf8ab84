"""How the bench reads the batches a burst ran in, and reports them."""

from __future__ import annotations

from workers.tools.bench.batches import batch_figures, model_calls


def test_each_batch_id_is_one_model_call_and_a_run_alone_is_a_call_of_one() -> None:
    runs = [("a", "b1"), ("b", "b1"), ("c", "b1"), ("d", None), ("e", "b2"), ("warm", "b2")]
    assert model_calls(runs, {"a", "b", "c", "d", "e"}) == [3, 1, 1]


def test_the_report_counts_documents_per_batch_size_bin() -> None:
    figures = batch_figures([32, 32, 5, 1, 1])
    assert figures["model_calls"] == 5
    assert figures["docs_per_model_call"] == 14.2
    assert figures["batch_size_max"] == 32
    assert figures["batch_size_p50_by_doc"] == 32  # most documents ran in a batch of 32
    assert figures["batched_docs_pct"] == 97.2
    assert figures["docs_by_batch_size"] == {
        "1": 2,
        "2-3": 0,
        "4-7": 5,
        "8-15": 0,
        "16-31": 0,
        "32+": 64,
    }


def test_no_calls_make_no_report() -> None:
    assert batch_figures([]) == {}


def test_a_batch_tasks_own_log_lines_count_as_the_bursts_task_time(tmp_path) -> None:
    import json

    from workers.tools.bench.accounting import log_figures

    lines = [
        {"event": "task_finished", "stage": "parse_batch", "batch_id": "b1", "duration_ms": 90},
        {"event": "task_finished", "stage": "parse_batch", "batch_id": "other", "duration_ms": 5},
        {"event": "parse_done", "doc_id": "a", "batch_id": "b1", "duration_ms": 1},
        {"event": "tag_done", "doc_id": "b", "batch_id": "b1", "duration_ms": 1},
    ]
    log = tmp_path / "worker.log"
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    figures = log_figures(log, {"a", "b"}, {"b1"})
    assert figures["task_busy_ms_per_doc"] == 45.0  # one 90 ms batch task for 2 documents
    assert figures["task_ms"] == {"parse_batch": {"p50": 90.0, "p95": 90.0}}
    assert figures["worker_log_lines_per_doc"] == 1.0
