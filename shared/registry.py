"""A table of named things the apps register at start-up, one owner per name.

Event handlers (:func:`shared.events.handles`), saga story parts (:func:`shared.saga.story_part`),
consistency facts (:func:`shared.consistency.facts_part`) and periodic tasks
(:func:`shared.periodic.periodic`) are each a :class:`Registry`: registering the same function
twice is harmless (a module imported twice), a second function under a taken name is a bug that
fails at import, never a handler that silently does not run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str) -> None:
        self.what = what  # e.g. "event handler", for the error message
        self._entries: dict[str, tuple[T, Callable[..., Any]]] = {}

    def add(self, name: str, entry: T, *, owner: Callable[..., Any]) -> None:
        """Registers ``entry`` under ``name``; ``owner`` is the function that makes it (the same one may repeat)."""
        existing = self._entries.get(name)
        if existing is not None and existing[1] is not owner:
            raise RuntimeError(f"{self.what} {name!r} is already registered by {existing[1].__qualname__}")
        self._entries[name] = (entry, owner)

    def get(self, name: str) -> T | None:
        found = self._entries.get(name)
        return found[0] if found else None

    def items(self) -> list[tuple[str, T]]:
        """Every entry by name, in name order."""
        return [(name, entry) for name, (entry, _) in sorted(self._entries.items())]

    def names(self) -> list[str]:
        return sorted(self._entries)
