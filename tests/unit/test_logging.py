"""One logging configuration: structlog and stdlib records, JSON or console, nothing secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import structlog

from workers import logging as dflog
from workers import signals
from workers.settings import get_settings


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    dflog.set_node(None)
    dflog._configured = False
    get_settings.cache_clear()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def configured(
    fmt: str = "json", level: str = "INFO", stream: io.StringIO | None = None
) -> io.StringIO:
    out = stream if stream is not None else io.StringIO()
    dflog.configure_logging(fmt, level, force=True, stream=out)
    return out


def test_structlog_events_come_out_as_json_lines_with_level_logger_and_time() -> None:
    out = configured("json")
    structlog.get_logger("docflow.test").info("stage_parse_done", duration_ms=12.5)
    (record,) = lines(out)
    assert record["event"] == "stage_parse_done"
    assert record["duration_ms"] == 12.5
    assert record["level"] == "info"
    assert record["logger"] == "docflow.test"
    assert record["timestamp"].endswith("Z")


def test_celerys_own_stdlib_records_go_through_the_same_json_renderer() -> None:
    out = configured("json")
    logging.getLogger("celery.apps.worker").info("%s ready.", "celery@x")
    (record,) = lines(out)
    assert record == {
        **record,
        "event": "celery@x ready.",
        "level": "info",
        "logger": "celery.apps.worker",
    }


def test_stdlib_records_carry_the_bound_trace_context() -> None:
    out = configured("json")
    structlog.contextvars.bind_contextvars(trace_id="t-1", doc_id="d-1", stage="parse")
    logging.getLogger("celery.app.trace").info("Task docflow.parse[abc] succeeded")
    (record,) = lines(out)
    assert (record["trace_id"], record["doc_id"], record["stage"]) == ("t-1", "d-1", "parse")


def test_celery_task_records_get_task_id_and_stage_from_celerys_extra_data() -> None:
    out = configured("json")
    data = {"id": "abc", "name": "docflow.tag", "args": "['d1']"}
    logging.getLogger("celery.worker.strategy").info(
        "Task %(name)s[%(id)s] received", data, extra={"data": data}
    )
    (record,) = lines(out)
    assert record["event"] == "Task docflow.tag[abc] received"
    assert (record["task_id"], record["stage"]) == ("abc", "tag")
    assert "args" not in record


def test_every_record_names_the_worker_node_once_it_is_known() -> None:
    out = configured("json")
    dflog.set_node("docflow@host1")
    logging.getLogger("celery").warning("something")
    structlog.get_logger().info("sweep_done")
    assert [r["worker"] for r in lines(out)] == ["docflow@host1", "docflow@host1"]


def test_console_format_is_readable_text_not_json() -> None:
    out = configured("console")
    structlog.get_logger("docflow.test").info("file_ingested", articles=3)
    text = out.getvalue()
    assert "file_ingested" in text and "articles=3" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_auto_format_is_json_off_a_terminal_and_console_on_one() -> None:
    assert dflog.use_json("auto", io.StringIO()) is True
    assert dflog.use_json("auto", Terminal()) is False
    assert dflog.use_json("json", Terminal()) is True
    assert dflog.use_json("console", io.StringIO()) is False
    out = configured("auto", stream=Terminal())
    structlog.get_logger().info("hello_there")
    assert not out.getvalue().lstrip().startswith("{")


def test_the_level_filters_both_kinds_of_record() -> None:
    out = configured("json", "WARNING")
    structlog.get_logger().info("not_shown")
    logging.getLogger("celery").info("not shown either")
    structlog.get_logger().warning("shown")
    assert [r["event"] for r in lines(out)] == ["shown"]


def test_loggers_that_dump_message_bodies_never_log_at_debug() -> None:
    out = configured("json", "DEBUG")
    logging.getLogger("celery.pool").debug("TaskPool: Apply (args:('a.txt', 'QmFzZTY0'))")
    logging.getLogger("docflow.other").debug("kept")
    assert [r["event"] for r in lines(out)] == ["kept"]


def test_settings_choose_format_and_level_for_celerys_setup_logging_signal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCFLOW_LOG_FORMAT", "json")
    monkeypatch.setenv("DOCFLOW_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    signals._setup_logging(loglevel="DEBUG")
    logging.getLogger("celery").info("hidden")
    logging.getLogger("celery").error("visible")
    err = capsys.readouterr().err.strip().splitlines()
    assert [json.loads(line)["event"] for line in err] == ["visible"]


def test_passwords_in_urls_are_masked_in_messages_values_and_tracebacks() -> None:
    out = configured("json")
    log = structlog.get_logger()
    log.info("connected", broker="redis://:hunter2@redis:6379/0")
    logging.getLogger("kombu.x").error("Cannot connect to redis://user:hunter2@host:6379//")
    try:
        raise ConnectionError("postgresql://docflow:hunter2@db/docflow refused")
    except ConnectionError:
        log.exception("store_down")
    text = out.getvalue()
    assert "hunter2" not in text
    records = lines(out)
    assert records[0]["broker"] == "redis://:***@redis:6379/0"
    assert records[1]["event"] == "Cannot connect to redis://user:***@host:6379//"
    assert "postgresql://docflow:***@db/docflow" in records[2]["exception"]


def test_password_pairs_and_secret_keys_are_masked() -> None:
    out = configured("json")
    structlog.get_logger().info(
        "config", dsn="host=db password=hunter2 user=x", password="p", token="abc"
    )
    (record,) = lines(out)
    assert record["dsn"] == "host=db password=*** user=x"
    assert record["password"] == record["token"] == "***"


def test_article_text_under_content_keys_is_logged_as_its_length_only() -> None:
    out = configured("json")
    article = "The minister said on Monday that talks would resume. " * 20
    structlog.get_logger().info("odd", text=article, raw=article, paragraphs=[article])
    (record,) = lines(out)
    assert "minister" not in out.getvalue()
    assert record["text"] == f"<{len(article)} chars>"
    assert record["paragraphs"] == "<1 items>"


def test_very_long_values_are_cut() -> None:
    out = configured("json")
    structlog.get_logger().info("odd", error="x" * 10_000)
    (record,) = lines(out)
    assert len(record["error"]) < dflog.MAX_VALUE_CHARS + 50


def test_publishing_copies_the_bound_trace_id_into_the_headers() -> None:
    structlog.contextvars.bind_contextvars(trace_id="trace-9")
    headers: dict[str, Any] = {"task": "docflow.tag"}
    signals._carry_trace(sender="docflow.tag", body=(["d1"], {}, {}), headers=headers)
    assert headers["trace_id"] == "trace-9"
    explicit: dict[str, Any] = {"trace_id": "mine"}
    signals._carry_trace(sender="docflow.tag", body=(["d1"], {}, {}), headers=explicit)
    assert explicit["trace_id"] == "mine"


@pytest.mark.parametrize(
    "request_",
    [
        SimpleNamespace(trace_id="t-42", hostname="w@h", retries=2, headers=None),
        SimpleNamespace(hostname="w@h", retries=2, headers={"trace_id": "t-42"}),
    ],
    ids=["header as attribute", "header under .headers"],
)
def test_task_start_binds_trace_task_stage_document_and_worker(request_: Any) -> None:
    out = configured("json")
    task = SimpleNamespace(name="docflow.parse", request=request_)
    signals._bind_trace(task=task, task_id="tid", args=("doc-1",))
    logging.getLogger("celery.app.trace").info("inside the task")
    signals._unbind(task_id="tid", state="SUCCESS")
    logging.getLogger("celery").info("after the task")
    started, inside, finished, after = lines(out)
    assert started["event"] == "task_started" and started["attempt"] == 3
    for record in (started, inside, finished):
        assert (
            record["trace_id"],
            record["task_id"],
            record["stage"],
            record["doc_id"],
            record["worker"],
        ) == ("t-42", "tid", "parse", "doc-1", "w@h")
    assert finished["event"] == "task_finished" and finished["state"] == "success"
    assert finished["duration_ms"] >= 0
    assert "trace_id" not in after
