"""The transition check every state machine uses: which status may follow which, and the 409 that says so.

Each app keeps its own table (``orders/state.py``, ``payments/state.py``) and its own error class; this is
the one copy of the rule that reads the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class Transitions:
    """``table``: status -> the statuses it may become (empty for a final one). ``noun``: how a message names
    the thing ("An order"); ``error``: what :meth:`check` raises."""

    def __init__(self, table: Mapping[str, frozenset[str]], *, noun: str, error: Callable[[str], Exception]):
        self.table = table
        self.noun = noun
        self.error = error

    def allowed_next(self, status: str) -> frozenset[str]:
        """The statuses that may follow ``status`` (none for a final status)."""
        return self.table.get(status, frozenset())

    def can(self, *, current: str, to: str) -> bool:
        return to in self.allowed_next(current)

    def check(self, *, current: str, to: str) -> None:
        """Raises ``error`` unless ``current -> to`` is allowed, naming what ``current`` may become."""
        if self.can(current=current, to=to):
            return
        options = sorted(self.allowed_next(current))
        then = f"from {current} it can only become {' or '.join(options)}" if options else f"{current} is final"
        raise self.error(f"{self.noun} that is {current} cannot become {to}; {then}.")
