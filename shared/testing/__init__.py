"""Test helpers for every suite; this module needs no Django (the cross-service tests use it too)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | Literal[False] | None], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """Polls ``probe`` until it returns something truthy; fails the test after ``timeout`` seconds.

    ``condition and value`` is the usual probe, hence ``Literal[False]``.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)


class FailingFirst:
    """Stands in for ``real``: raises each of ``failures`` in turn, then calls ``real``; ``calls`` counts every call.

    For tests of outages: ``mock.patch.object(module, "name", FailingFirst(module.name, [error] * 3))``.
    """

    def __init__(self, real: Callable[..., T], failures: list[BaseException]) -> None:
        self.real = real
        self.failures = list(failures)
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.real(*args, **kwargs)
