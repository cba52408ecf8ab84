"""One structlog configuration for structlog and stdlib records (Celery's included).

Every record, whether it comes from `structlog.get_logger()` or from a stdlib logger
(Celery, kombu, Flower, tornado), goes through the same processors and one handler on
stderr: JSON lines when stderr is not a terminal (or DOCFLOW_LOG_FORMAT=json), a readable
console format on a terminal (or DOCFLOW_LOG_FORMAT=console).

Nothing secret or bulky reaches the output: passwords in URLs and `password=` pairs are
masked in every string (the message and tracebacks included) by `tasks.masking`, values
under content keys (`raw`, `content`, `text`, `body`, ...) are replaced by their length,
and any other very long value is cut.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

from tasks.masking import mask_secrets

#: keys whose values are document content: logged as their length only
CONTENT_KEYS = frozenset(
    {
        "raw",
        "content",
        "text",
        "body",
        "article",
        "paragraphs",
        "data",
        "data_b64",
        "html",
    }
)
#: keys whose values are secrets: never logged
SECRET_KEYS = frozenset({"password", "passwd", "secret", "token", "api_key", "basic_auth"})
#: keys that may be long and are never content
_LONG_OK = frozenset({"exception", "stack"})
MAX_VALUE_CHARS = 2000
#: loggers that log message bodies (and so article text) at DEBUG level: INFO at least
_NEVER_DEBUG = ("celery.pool", "celery.worker.request", "celery.worker.strategy")
#: chatty loggers: WARNING at least
_QUIET = ("celery.redirected", "kombu", "amqp", "tornado.access")

_configured = False
_node: str | None = None


def redact(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """Mask secrets in every string value; drop content and secret values; cut huge ones."""
    for key, value in list(event_dict.items()):
        if key in SECRET_KEYS and value is not None:
            event_dict[key] = "***"
        elif key in CONTENT_KEYS and isinstance(value, str | bytes | list):
            event_dict[key] = f"<{len(value)} {'items' if isinstance(value, list) else 'chars'}>"
        elif isinstance(value, str):
            value = mask_secrets(value)
            if len(value) > MAX_VALUE_CHARS and key not in _LONG_OK:
                value = value[:MAX_VALUE_CHARS] + f"... <{len(value) - MAX_VALUE_CHARS} more chars>"
            event_dict[key] = value
    return event_dict


def set_node(name: str | None) -> None:
    """The worker node name (e.g. docflow-all-4242@host) added to every record of this process."""
    global _node
    _node = name


def add_node(_: Any, __: str, event_dict: EventDict) -> EventDict:
    if _node and "worker" not in event_dict:
        event_dict["worker"] = _node
    return event_dict


def add_celery_task(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """Celery's own task records ("Task docflow.parse[id] received") get task_id and stage.

    Celery passes the task's id and name as `extra={"data": ...}`; arguments are not copied.
    """
    record = event_dict.get("_record")
    data = getattr(record, "data", None) if record is not None else None
    if isinstance(data, dict):
        if data.get("id") and "task_id" not in event_dict:
            event_dict["task_id"] = data["id"]
        name = data.get("name")
        if isinstance(name, str) and name.startswith("docflow.") and "stage" not in event_dict:
            event_dict["stage"] = name.removeprefix("docflow.")
    return event_dict


def shared_processors() -> list[Processor]:
    """What every record gets first, from structlog and stdlib alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_celery_task,
        add_node,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def use_json(fmt: str, stream: Any = None) -> bool:
    """JSON when asked, or when `auto` and the stream is not a terminal."""
    if fmt in ("json", "console"):
        return fmt == "json"
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def build_formatter(fmt: str = "auto", stream: Any = None) -> structlog.stdlib.ProcessorFormatter:
    """The one formatter: shared processors, then masking, then the renderer."""
    as_json = use_json(fmt, stream)
    stream = sys.stderr if stream is None else stream
    renderer: Processor = (
        structlog.processors.JSONRenderer(default=str)
        if as_json
        else structlog.dev.ConsoleRenderer(
            colors=bool(getattr(stream, "isatty", lambda: False)()),
            exception_formatter=structlog.dev.plain_traceback,
        )
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    )


def configure_logging(
    fmt: str = "auto", level: str = "INFO", *, force: bool = False, stream: Any = None
) -> None:
    """Route structlog and every stdlib logger through one handler on `stream` (stderr)."""
    global _configured
    if _configured and not force:
        return
    structlog.configure(
        processors=[*shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(build_formatter(fmt, stream))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    numeric = logging.getLevelName(level.upper())
    for name in _NEVER_DEBUG:
        logging.getLogger(name).setLevel(max(logging.INFO, numeric))
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, numeric))
    for name in ("celery", "celery.app.trace", "celery.worker", "flower", "tornado"):
        # Celery and tornado may have attached handlers of their own: ours is the only one
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    _configured = True


def get_logger(name: str = "docflow") -> Any:
    return structlog.get_logger(name)
