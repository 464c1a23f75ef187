"""An open-loop load generator: requests sent at a steady rate whatever the answers, as independent clients do.

The bench's first version started a thread per request, each with httpx. Under overload that
measured the client: with hundreds of threads contending for one GIL on a machine whose cores the
stack saturates, a request the gateway answered in 0.4 s (its access log) was recorded 4-8 s after
it was due (httpx's trace showed the waits before the connection was taken and after the answer
was read). httpx's async client did no better: its connection pool falls behind with many requests
in flight (encode/httpx#3215), and a POST waited up to 16 s for a connection the stack was not
holding. Here one aiohttp session on one event loop sends every request, each timed from when it
was due, so any lag of the client counts against the stack, never for it; the lag is also reported
on its own (``late_ms``): a large figure there means the client, not the stack, fell behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import aiohttp

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    number: int
    due: float  # epoch seconds (the machine's clock, as the stack's timestamps are)
    late_ms: float  # how long after ``due`` the client sent the request: its own lag
    ms: float  # from ``due`` to the answer
    result: T | str  # what ``send`` returned, or "timeout" or "connection error"


def offer(
    send: Callable[[aiohttp.ClientSession, int], Awaitable[T]], *, rate: float, count: int, timeout: float
) -> list[Outcome[T]]:
    """Runs ``send(session, number)`` for numbers 0 .. count-1, the n-th due n / ``rate`` seconds after the start.

    ``timeout`` bounds each request from sending it to reading its answer. A request that times out
    or loses its connection has the result "timeout" or "connection error"; any other error of
    ``send`` is raised, so no figure rests on a broken phase.
    """
    return asyncio.run(_offer(send, rate=rate, count=count, timeout=timeout))


async def _offer(
    send: Callable[[aiohttp.ClientSession, int], Awaitable[T]], *, rate: float, count: int, timeout: float
) -> list[Outcome[T]]:
    loop = asyncio.get_running_loop()
    # Loopback and a throwaway stack: no cap on connections, so a request never waits for one of ours.
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        start, wall = loop.time(), time.time()

        async def one(number: int) -> Outcome[T]:
            due = start + number / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            late = loop.time() - due
            result: T | str
            try:
                result = await send(session, number)
            except TimeoutError:
                result = "timeout"
            except aiohttp.ClientConnectionError:
                result = "connection error"
            return Outcome(number, wall + number / rate, late * 1000, (loop.time() - due) * 1000, result)

        return list(await asyncio.gather(*(one(number) for number in range(count))))
