"""How documents are grouped into batch tasks: pure rules, no broker, no store.

A publisher (the watcher's dispatcher, `docflow ingest`) that has several new documents
at once groups them with `plan_batches`: bounded by DOCFLOW_BATCH_MAX_DOCS and
DOCFLOW_BATCH_MAX_WORDS, and by a fair share of the workers taking them: a burst of 64
with 2 worker processes gives batches of 8 (4 each, so both start at once and results
come in as the burst goes) rather than 2 of 32; a burst of 1,000 gives batches of 32. A
small burst or a lone document goes as single messages: today's single path, no waiting.

The batches shrink toward the end of a burst (guided self-scheduling): none holds more
than 1/consumers of the documents and words still to send, so the last ones are small
and the processes finish together instead of one idling while another runs a last full
batch (with 2 processes and batches of 32, that tail was 5-10 % of a burst's time).

A batch whose worker died is never run again as a whole: it goes on as single-document
messages (`workers.batch_delivery`), so a poison document costs each batch-mate one
retry at most and then meets its own crash budget alone (halving instead would rerun
the poison's mates up to log2(n) times).

Time limits scale with the batch (`batch_time_limits`), but never past what the broker
allows: a message still running when the visibility timeout ends is delivered again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tasks.tag import split_batches

#: seconds kept between a batch's hard time limit and the broker's visibility timeout
VISIBILITY_MARGIN_S = 30
#: batches each consuming process gets of one burst, until batches are full
BATCHES_PER_CONSUMER = 4


def fair_share(count: int, consumers: int, max_docs: int) -> int:
    """Most documents per batch so that `count` documents keep `consumers` processes busy.

    Each process gets BATCHES_PER_CONSUMER batches of a burst (until batches reach
    `max_docs`): results come in while the burst goes on, a worker that joins meanwhile
    takes a share, and a fault (a crash, an outage) catches part of a burst, not all of it.

    >>> fair_share(64, 2, 32), fair_share(1000, 2, 32), fair_share(8, 2, 32)
    (8, 32, 1)
    """
    if count < 1:
        return 1
    batches = max(1, consumers) * BATCHES_PER_CONSUMER
    return max(1, min(max_docs, math.ceil(count / batches)))


def plan_batches(
    words: Sequence[int], consumers: int, max_docs: int, max_words: int
) -> list[list[int]]:
    """Indexes of documents grouped in order, for one burst of `len(words)` documents.

    `words` holds each document's (estimated) word count. Each group has at most the fair
    share of documents (see `fair_share`), at most `max_words` words, and at most
    1/`consumers` of the documents not yet grouped; it closes once it holds 1/`consumers`
    of the words not yet grouped. So the groups shrink toward the end. A document longer
    than `max_words` goes alone.

    >>> [len(g) for g in plan_batches([10] * 100, 2, 32, 20000)]
    [13, 13, 13, 13, 13, 13, 11, 6, 3, 1, 1]
    """
    if max_docs < 1 or max_words < 1:
        raise ValueError("max_docs and max_words must be at least 1")
    share = fair_share(len(words), consumers, max_docs)
    consumers = max(1, consumers)
    left_docs, left_words = len(words), sum(words)
    groups: list[list[int]] = []
    current: list[int] = []
    total = docs_cap = words_guide = 0
    for i, n in enumerate(words):
        if current and (len(current) >= docs_cap or total >= words_guide or total + n > max_words):
            groups.append(current)
            current, total = [], 0
        if not current:  # a new group: its share of what is left
            docs_cap = min(share, math.ceil(left_docs / consumers))
            words_guide = math.ceil(left_words / consumers)
        current.append(i)
        total += n
        left_docs -= 1
        left_words -= n
    if current:
        groups.append(current)
    return groups


def full_batches(words: Sequence[int], max_docs: int, max_words: int) -> list[list[int]]:
    """Groups of `max_docs` documents (or `max_words` words) for a publisher with more of
    the burst still to take (`docflow ingest` of a large folder, a watcher behind a
    burst): a last group that is not full is left out to go with the next documents, and
    the burst's shrinking tail (`plan_batches`) is planned only at its end.

    >>> [len(g) for g in full_batches([10] * 70, 32, 20000)]
    [32, 32]
    """
    groups = split_batches(words, max_docs, max_words)
    if groups and len(groups[-1]) < max_docs:
        groups.pop()
    return groups


@dataclass(frozen=True)
class TimeLimits:
    soft_s: float
    hard_s: float


def batch_time_limits(
    docs: int, soft_s: float, hard_s: float, visibility_timeout_s: float
) -> TimeLimits:
    """A batch of `docs` documents: the single-document limits plus a quarter per extra one.

    Capped so the hard limit stays VISIBILITY_MARGIN_S under the visibility timeout (and
    the soft limit under the hard one); a batch of one keeps the single limits exactly.
    """
    scale = 1 + max(0, docs - 1) / 4
    cap = max(hard_s, visibility_timeout_s - VISIBILITY_MARGIN_S)
    hard = min(hard_s * scale, cap)
    soft = min(soft_s * scale, hard - (hard_s - soft_s))
    return TimeLimits(soft_s=max(soft_s, soft), hard_s=max(hard_s, hard))
