"""Periodic tasks run in the consumer loop when due; a database failure waits for the next interval."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError

from shared.consumer import EventConsumer
from shared.loops import StopSignal
from shared.periodic import PeriodicRunner, PeriodicTask, periodic, registered_tasks
from shared.registry import Registry
from shared.testing import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def runner_of(*tasks: PeriodicTask) -> tuple[PeriodicRunner, Clock]:
    clock = Clock()
    return PeriodicRunner(list(tasks), clock=clock), clock


def counting(name: str = "count", every_seconds: float = 10) -> tuple[PeriodicTask, list[None]]:
    runs: list[None] = []
    return PeriodicTask(name=name, run=lambda: runs.append(None), every_seconds=every_seconds), runs


def test_a_task_runs_at_once_then_once_per_interval():
    task, runs = counting(every_seconds=10)
    runner, clock = runner_of(task)

    runner.run_due()
    runner.run_due()
    assert len(runs) == 1

    clock.now += 9.9
    runner.run_due()
    assert len(runs) == 1

    clock.now += 0.1
    runner.run_due()
    assert len(runs) == 2


def test_seconds_until_due_names_the_nearest_task():
    fast, _ = counting("fast", every_seconds=5)
    slow, _ = counting("slow", every_seconds=60)
    runner, clock = runner_of(fast, slow)
    assert runner.seconds_until_due() == 0

    runner.run_due()
    clock.now += 2

    assert runner.seconds_until_due() == 3


def test_without_tasks_nothing_is_ever_due():
    runner, _ = runner_of()

    runner.run_due()

    assert runner.seconds_until_due() is None


def test_a_database_failure_is_retried_at_the_next_interval_not_raised(caplog):
    attempts: list[None] = []

    def flaky() -> None:
        attempts.append(None)
        if len(attempts) == 1:
            raise OperationalError("server closed the connection unexpectedly")

    runner, clock = runner_of(PeriodicTask(name="flaky", run=flaky, every_seconds=15))

    runner.run_due()
    assert "periodic task flaky failed on the database, retrying in 15s" in caplog.text
    runner.run_due()
    assert len(attempts) == 1

    clock.now += 15
    runner.run_due()
    assert len(attempts) == 2


def test_any_other_failure_is_a_bug_and_propagates():
    def broken() -> None:
        raise KeyError("status")

    runner, _ = runner_of(PeriodicTask(name="broken", run=broken, every_seconds=15))

    with pytest.raises(KeyError):
        runner.run_due()


def test_registering_needs_a_positive_interval_and_one_function_per_name(monkeypatch):
    monkeypatch.setattr(
        "shared.periodic._tasks", Registry("periodic task")
    )  # the process's real registry stays as the apps made it
    with pytest.raises(ValueError, match="positive interval"):
        periodic("test.never", every_seconds=0)

    @periodic("test.once", every_seconds=30)
    def once() -> None: ...

    assert registered_tasks() == [PeriodicTask(name="test.once", run=once, every_seconds=30)]
    with pytest.raises(RuntimeError, match="already registered"):
        periodic("test.once", every_seconds=30)(lambda: None)


@pytest.mark.django_db(transaction=True)
def test_the_consumer_loop_runs_a_due_task_while_no_events_arrive(isolated_topics):
    ran = threading.Event()
    task = PeriodicTask(name="test.idle", run=ran.set, every_seconds=60)
    stop = StopSignal()
    consumer = EventConsumer(["inventory"], stop, periodic=PeriodicRunner([task]))
    thread = threading.Thread(target=consumer.run)
    thread.start()
    try:
        wait_until(ran.is_set, timeout=30, what="the periodic task to run")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()


def test_one_registry_rule_for_every_kind_of_registration():
    """The four registries (handlers, story parts, facts, periodic tasks) share it: same function again is fine."""
    registry: Registry[str] = Registry("thing")

    def first() -> None: ...

    def second() -> None: ...

    registry.add("a", "entry", owner=first)
    registry.add("a", "entry again", owner=first)
    with pytest.raises(RuntimeError, match=r"thing 'a' is already registered by .*first"):
        registry.add("a", "other", owner=second)
    assert registry.items() == [("a", "entry again")]
    assert registry.get("missing") is None
