"""Periodic tasks, run by the one consumer loop between polls: no extra process and no cron to set up.

An app registers its tasks when it is ready (like event handlers with :func:`shared.events.handles`)::

    @periodic("orders.expire_pending", every_seconds=settings.ORDER_EXPIRY_INTERVAL_SECONDS)
    def expire_pending_orders() -> None: ...

Every ``consume_events`` process of the service then runs each task at most once per interval, the
first time as soon as it starts. Several instances run the same task, so a task must be safe to run
concurrently (row locks with SKIP LOCKED, conditional updates). A database failure in a task is
logged and the task runs again at its next interval: an outage must not kill the consumer. Any other
exception is a bug and propagates, so the process exits and the supervisor shows it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import DatabaseError, InterfaceError, close_old_connections

from shared.registry import Registry

logger = logging.getLogger(__name__)

Task = Callable[[], None]


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    run: Task
    every_seconds: float


_tasks: Registry[PeriodicTask] = Registry("periodic task")


def periodic(name: str, *, every_seconds: float) -> Callable[[Task], Task]:
    """Registers the decorated function to run every ``every_seconds`` in this service's consumer processes."""
    if every_seconds <= 0:
        raise ValueError(f"periodic task {name} needs a positive interval, not {every_seconds}")

    def register(task: Task) -> Task:
        _tasks.add(name, PeriodicTask(name=name, run=task, every_seconds=every_seconds), owner=task)
        return task

    return register


def registered_tasks() -> list[PeriodicTask]:
    return [task for _, task in _tasks.items()]


class PeriodicRunner:
    """Runs the tasks that are due; the consumer loop calls :meth:`run_due` between polls."""

    def __init__(self, tasks: Sequence[PeriodicTask] | None = None, clock: Callable[[], float] = time.monotonic):
        self.tasks = list(registered_tasks() if tasks is None else tasks)
        self.clock = clock
        started = clock()
        self._due = {task.name: started for task in self.tasks}

    def seconds_until_due(self) -> float | None:
        """How long until the next task is due (0 when one is), None without tasks."""
        if not self.tasks:
            return None
        return max(0.0, min(self._due.values()) - self.clock())

    def run_due(self) -> None:
        for task in self.tasks:
            if self.clock() < self._due[task.name]:
                continue
            self._run(task)
            # The interval counts from the end of a run, so a slow run never makes runs pile up.
            self._due[task.name] = self.clock() + task.every_seconds

    def _run(self, task: PeriodicTask) -> None:
        close_old_connections()  # a connection broken since the last event is replaced, not reused
        try:
            task.run()
        except (DatabaseError, InterfaceError) as exc:
            logger.warning(
                "periodic task %s failed on the database, retrying in %ss: %s", task.name, task.every_seconds, exc
            )
            close_old_connections()
