"""The file-stability tracker: when a file seen only by rescans or polling counts as complete."""

from __future__ import annotations

import pytest

from tasks.stability import StabilityTracker, Verdict


def test_a_new_file_is_never_stable_on_its_first_observation() -> None:
    tracker = StabilityTracker(settle_s=0.3)
    assert tracker.observe("a.txt", 10, 1, now=100.0) is Verdict.changed


def test_a_file_unchanged_for_the_settle_interval_is_stable() -> None:
    tracker = StabilityTracker(settle_s=0.3)
    tracker.observe("a.txt", 10, 1, now=100.0)
    assert tracker.observe("a.txt", 10, 1, now=100.1) is Verdict.settling
    assert tracker.observe("a.txt", 10, 1, now=100.3) is Verdict.stable


def test_a_growing_file_restarts_the_settle_clock() -> None:
    tracker = StabilityTracker(settle_s=0.3)
    tracker.observe("a.txt", 10, 1, now=100.0)
    assert tracker.observe("a.txt", 20, 2, now=100.29) is Verdict.changed
    assert tracker.observe("a.txt", 20, 2, now=100.4) is Verdict.settling
    assert tracker.observe("a.txt", 20, 2, now=100.59) is Verdict.stable


def test_a_changed_mtime_alone_counts_as_a_change() -> None:
    tracker = StabilityTracker(settle_s=0.3)
    tracker.observe("a.txt", 10, 1, now=100.0)
    assert tracker.observe("a.txt", 10, 2, now=101.0) is Verdict.changed


def test_a_file_a_writer_holds_open_waits_for_the_stall_interval() -> None:
    tracker = StabilityTracker(settle_s=0.3, stall_s=5.0)
    tracker.observe("slow.txt", 10, 1, now=100.0)
    tracker.writing("slow.txt", now=100.0)
    assert tracker.observe("slow.txt", 10, 1, now=101.0) is Verdict.settling
    assert tracker.observe("slow.txt", 10, 1, now=105.0) is Verdict.stable


def test_an_empty_file_waits_for_the_stall_interval_because_its_writer_may_not_have_started() -> (
    None
):
    tracker = StabilityTracker(settle_s=0.3, stall_s=5.0)
    tracker.observe("empty.txt", 0, 1, now=100.0)
    assert tracker.observe("empty.txt", 0, 1, now=101.0) is Verdict.settling
    assert tracker.observe("empty.txt", 0, 1, now=105.0) is Verdict.stable


def test_the_stall_interval_defaults_to_at_least_thirty_seconds_and_never_below_settle() -> None:
    assert StabilityTracker(settle_s=0.3).stall_s == 30.0
    assert StabilityTracker(settle_s=10.0).stall_s == 100.0
    assert StabilityTracker(settle_s=2.0, stall_s=1.0).stall_s == 2.0


def test_due_lists_only_files_whose_settle_interval_has_passed() -> None:
    tracker = StabilityTracker(settle_s=0.3)
    tracker.observe("early.txt", 1, 1, now=100.0)
    tracker.observe("late.txt", 1, 1, now=100.2)
    assert tracker.due(100.1) == []
    assert tracker.due(100.3) == ["early.txt"]
    assert sorted(tracker.due(100.5)) == ["early.txt", "late.txt"]
    assert tracker.next_due() == pytest.approx(100.3)


def test_a_settling_observation_moves_the_next_check_to_when_it_can_be_stable() -> None:
    tracker = StabilityTracker(settle_s=0.3)
    tracker.observe("a.txt", 1, 1, now=100.0)
    tracker.observe("a.txt", 1, 1, now=100.1)
    assert tracker.next_due() == pytest.approx(100.3)


def test_forgotten_and_unretained_files_are_no_longer_tracked() -> None:
    tracker = StabilityTracker(settle_s=0.3)
    for name in ("a", "b", "c"):
        tracker.observe(name, 1, 1, now=100.0)
    tracker.forget("a")
    tracker.retain({"b"})
    assert "a" not in tracker and "c" not in tracker and "b" in tracker
    assert len(tracker) == 1
    assert StabilityTracker(settle_s=0.3).next_due() is None


def test_a_zero_settle_interval_takes_an_unchanged_file_on_its_second_look() -> None:
    tracker = StabilityTracker(settle_s=0.0, stall_s=0.0)
    assert tracker.observe("a.txt", 5, 1, now=1.0) is Verdict.changed
    assert tracker.observe("a.txt", 5, 1, now=1.0) is Verdict.stable


def test_a_negative_settle_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="settle_s"):
        StabilityTracker(settle_s=-1)
