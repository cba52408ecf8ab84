"""The recovery sweep, leases, the stall detector and lost-run detection, without services."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from tasks.models import DocumentRecord, StageRun, Status
from workers import delivery, recovery
from workers.app import celery_config
from workers.settings import Settings
from workers.sweeper import Lease, StallDetector, sweep

NOW = 1_000_000.0


@dataclass
class FakeStore:
    """Just what `sweep` reads: stuck documents, their runs, the documents themselves."""

    docs: dict[str, Status] = field(default_factory=dict)
    runs: dict[str, list[StageRun]] = field(default_factory=dict)
    moved: dict[str, Status] = field(default_factory=dict)  # status changes after listing

    def stuck_documents(self, older_than_s: float) -> list[tuple[str, Status]]:
        return list(self.docs.items())

    def stage_runs(self, doc_id: str) -> list[StageRun]:
        return self.runs.get(doc_id, [])

    def get_document(self, doc_id: str) -> DocumentRecord:
        status = self.moved.get(doc_id, self.docs[doc_id])
        return DocumentRecord(
            id=doc_id,
            content_hash="h",
            source="s",
            format="text",
            status=status,
            trace_id=f"t-{doc_id}",
            created_at=0,
            updated_at=0,
        )


class Sent(list):
    def __call__(self, doc_id: str, trace_id: str, status: Status) -> bool:
        self.append((doc_id, status))
        return True


def running(stage: str, worker: str = "w1@h", started: float = NOW - 5) -> StageRun:
    return StageRun(stage=stage, worker=worker, task_id="t", started=started, attempts=1)


def test_stuck_documents_are_resent_from_their_next_stage() -> None:
    store = FakeStore({"a": Status.received, "b": Status.tagged})
    sent = Sent()
    assert sweep(store, sent, 60, {"parse": 0, "index": 0}, now=NOW) == ["a", "b"]
    assert sent == [("a", Status.received), ("b", Status.tagged)]


def test_a_document_waiting_behind_a_backlog_is_left_alone() -> None:
    store = FakeStore({"a": Status.parsed})
    assert sweep(store, Sent(), 60, {"tag": 12}, now=NOW) == []


def test_a_run_on_a_live_worker_holds_its_lease() -> None:
    store = FakeStore({"a": Status.parsed}, {"a": [running("tag", "w1@h")]})
    lease = Lease(lease_s=210, alive={"w1@h"})
    assert sweep(store, Sent(), 60, {}, lease=lease, now=NOW) == []


def test_a_run_on_a_worker_whose_heartbeat_lapsed_is_resent_at_once() -> None:
    store = FakeStore({"a": Status.parsed}, {"a": [running("tag", "killed@h")]})
    lease = Lease(lease_s=210, alive={"w1@h"})
    assert sweep(store, Sent(), 60, {}, lease=lease, now=NOW) == ["a"]


def test_a_run_older_than_the_hard_time_limit_holds_no_lease_even_on_a_live_worker() -> None:
    store = FakeStore({"a": Status.parsed}, {"a": [running("tag", started=NOW - 300)]})
    lease = Lease(lease_s=210, alive={"w1@h"})
    assert sweep(store, Sent(), 60, {}, lease=lease, now=NOW) == ["a"]


def test_a_run_of_another_stage_does_not_hold_the_next_one() -> None:
    store = FakeStore({"a": Status.parsed}, {"a": [running("parse")]})
    assert sweep(store, Sent(), 60, {}, lease=Lease(210, {"w1@h"}), now=NOW) == ["a"]


def test_a_failed_attempt_waiting_for_its_retry_holds_the_lease_for_the_grace_period() -> None:
    retrying = StageRun(
        stage="parse",
        worker="w1@h",
        task_id="t",
        started=NOW - 30,
        duration_ms=1000,
        attempts=2,
        error="store busy",
    )
    store = FakeStore({"a": Status.received}, {"a": [retrying]})
    assert sweep(store, Sent(), 10, {}, lease=Lease(210, set(), retry_grace_s=70), now=NOW) == []
    assert sweep(store, Sent(), 10, {}, lease=Lease(210, set(), retry_grace_s=20), now=NOW) == ["a"]


def test_a_claimed_document_is_not_sent_twice() -> None:
    store = FakeStore({"a": Status.received, "b": Status.received})
    claimed: set[str] = set()

    def claim(doc_id: str) -> bool:
        if doc_id in claimed:
            return False
        claimed.add(doc_id)
        return True

    assert sweep(store, Sent(), 60, {}, claim=claim, now=NOW) == ["a", "b"]
    assert sweep(store, Sent(), 60, {}, claim=claim, now=NOW) == []


def test_a_document_that_moved_on_since_the_listing_is_skipped() -> None:
    store = FakeStore({"a": Status.received}, moved={"a": Status.indexed})
    assert sweep(store, Sent(), 60, {}, now=NOW) == []


def test_force_ignores_queues_and_leases() -> None:
    store = FakeStore({"a": Status.parsed}, {"a": [running("tag")]})
    got = sweep(store, Sent(), 60, {"tag": 5}, force=True, lease=Lease(210, {"w1@h"}), now=NOW)
    assert got == ["a"]


def test_one_sweep_resends_at_most_its_limit() -> None:
    store = FakeStore({str(i): Status.received for i in range(10)})
    assert len(sweep(store, Sent(), 60, {}, now=NOW, limit=3)) == 3


def test_a_worker_with_work_waiting_that_takes_none_for_long_is_stalled() -> None:
    detector = StallDetector(stall_s=120)
    assert not detector.observe(0, waiting=5, busy=0, received=10)
    assert not detector.observe(60, waiting=5, busy=0, received=10)
    assert detector.observe(121, waiting=5, busy=0, received=10)


@pytest.mark.parametrize(
    ("waiting", "busy", "received"),
    [(0, 0, 10), (5, 1, 10), (5, 0, 11)],
    ids=["nothing waiting", "busy", "took a task"],
)
def test_an_idle_busy_or_progressing_worker_is_not_stalled(
    waiting: int, busy: int, received: int
) -> None:
    detector = StallDetector(stall_s=120)
    detector.observe(0, waiting=5, busy=0, received=10)
    assert not detector.observe(100, waiting=waiting, busy=busy, received=received)
    assert not detector.observe(200, waiting=5, busy=0, received=received)


def request(task_id: str = "t1", redelivered: bool = True) -> SimpleNamespace:
    return SimpleNamespace(id=task_id, delivery_info={"redelivered": redelivered})


def unfinished(task_id: str = "t1", started: float | None = None) -> StageRun:
    return StageRun(
        stage="parse",
        worker="w@h",
        task_id=task_id,
        started=time.time() - 2 if started is None else started,
        attempts=1,
    )


@pytest.fixture
def no_timeout_notes(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    notes: dict[str, float] = {}
    monkeypatch.setattr(recovery, "hard_timeout_of", notes.get)
    return notes


def test_a_redelivered_message_whose_run_never_finished_is_a_lost_run(no_timeout_notes) -> None:
    why = delivery.lost_run(unfinished(), request(), hard_limit_s=180)
    assert why is not None and "worker process running it died" in why


def test_a_run_killed_at_the_hard_time_limit_says_so(no_timeout_notes) -> None:
    no_timeout_notes["t1"] = 180.0
    assert "hard time limit of 180 s" in (delivery.lost_run(unfinished(), request(), 180) or "")


@pytest.mark.parametrize(
    ("run", "req"),
    [
        (unfinished(), request(redelivered=False)),
        (unfinished("other"), request()),
        (StageRun(stage="parse", task_id="t1", started=1, duration_ms=5, attempts=1), request()),
        (None, request()),
    ],
    ids=["a retry, not a redelivery", "another message", "it finished", "never started"],
)
def test_anything_else_is_not_a_lost_run(no_timeout_notes, run, req) -> None:
    assert delivery.lost_run(run, req, hard_limit_s=180) is None


def test_the_defaults_resend_a_killed_workers_documents_well_within_two_minutes() -> None:
    s = Settings.model_construct()
    # a killed worker's run loses its lease once its heartbeat lapses; the document is
    # stuck once idle; the next sweep sends it; leave 30 s for its remaining stages
    worst = max(s.stuck_after_s, recovery.HEARTBEAT_TTL_S) + s.sweep_interval_s
    assert worst + 30 <= 120, worst
    # and a live run is never taken for a lost one: heartbeats come 4x per TTL
    assert recovery.HEARTBEAT_EVERY_S * 4 <= recovery.HEARTBEAT_TTL_S
    # while the broker's own redelivery stays the last resort, after any legitimate run
    assert s.visibility_timeout_s > s.task_time_limit_s + s.retry_backoff_max_s


def test_the_broker_takes_json_only_and_keeps_messages_of_crashed_or_timed_out_tasks() -> None:
    config = celery_config(Settings.model_construct())
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["task_acks_on_timeout"] is False
    transport = config["broker_transport_options"]
    assert isinstance(transport, dict)
    assert transport["health_check_interval"] > 0 and transport["socket_timeout"] > 0
