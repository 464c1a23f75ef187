"""Long-running loops (consumer, relay, gRPC server) share one way to stop: SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

logger = logging.getLogger(__name__)


class StopSignal:
    """Set by SIGTERM/SIGINT; loops check ``is_set()`` between units of work and ``wait()`` instead of sleeping."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> StopSignal:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        return self

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, finishing the current unit of work", signal.Signals(signum).name)
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleeps up to ``seconds``; True as soon as a stop was asked for."""
        return self._event.wait(seconds)
