"""Publishing a burst of new documents as batch messages (for the watcher and intake).

`start_batches` takes the documents one publisher recorded together (one file of many
articles, one watcher tick, one `docflow ingest`), groups them with
`workers.batching.plan_batches` by a fair share of the processes that parse, and sends
each group with `workers.publish.send_batch`: a group of one is today's single
`docflow.parse` message, so a trickle goes through alone at once.

Not wired into the publishers yet (workers/intake.py, the watcher's dispatcher in
workers/watch_config.py): see the module docstring of workers/batch_delivery.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from workers.batching import DEFAULT_MAX_DOCS, DEFAULT_MAX_WORDS, plan_batches
from workers.nodes import ALL_QUEUES_TAG
from workers.publish import send_batch


def parse_consumers(nodes: Iterable[str], concurrency: int | None = None) -> int:
    """How many processes take parse messages: live parse workers times their pool size.

    `nodes` are the live workers' node names (`workers.recovery.alive_workers`). A
    default name tells its queues (`docflow-<queues>-<pid>@host`); a name given by hand
    does not, and counts as a parse worker. The pool size is not in the heartbeat yet:
    `concurrency` (DOCFLOW_CONCURRENCY) or this machine's cores stand in for it.
    """
    count = 0
    for node in nodes:
        name = node.partition("@")[0]
        if name.startswith("docflow-"):
            tag = name.removeprefix("docflow-").rpartition("-")[0]
            if tag != ALL_QUEUES_TAG and "parse" not in tag.split("."):
                continue
        count += 1
    return max(1, count * (concurrency or os.cpu_count() or 1))


def start_batches(
    doc_ids: Sequence[str],
    traces: dict[str, str],
    words: Sequence[int],
    *,
    consumers: int,
    max_docs: int = DEFAULT_MAX_DOCS,
    max_words: int = DEFAULT_MAX_WORDS,
    connection: Any = None,
) -> list[list[str]]:
    """Send the new documents of one burst in batches; the groups sent, in order."""
    groups = [
        [doc_ids[i] for i in group] for group in plan_batches(words, consumers, max_docs, max_words)
    ]
    for group in groups:
        send_batch(group, traces, connection=connection)
    return groups
