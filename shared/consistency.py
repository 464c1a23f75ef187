"""This service's facts for the cross-service consistency check (``manage.py consistency_facts``).

No service reads another's database, so ``manage_all.py check_consistency`` (:mod:`ops.consistency`)
asks each domain service for the facts it owns and joins them. Every service reports its outbox
backlog and its pending dead letters; its apps add what only they know (the orders, the
reservations and stock levels, the catalog's projection of them) with :func:`facts_part`, filled
at app ready like :func:`shared.saga.story_part`.

The facts are read in one read-only REPEATABLE READ transaction: one snapshot of this service's
database, so a rule that holds inside one service (``reserved`` equals the reservations' lines)
is never broken by a write landing between two reads. Across services there is no common
snapshot; the join allows for that with the times the facts carry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shared.registry import Registry
from shared.saga import moment


class FactsReader(Protocol):
    def __call__(self) -> Any: ...


LOCAL_KEYS = ("service", "read_at", "outbox", "dead_letters")
_parts: Registry[FactsReader] = Registry("facts part")


def facts_part(name: str) -> Callable[[FactsReader], FactsReader]:
    """Registers the decorated function as this service's ``name`` facts (JSON-able); one owner per name."""
    if name in LOCAL_KEYS:
        raise ValueError(f"{name!r} is part of every service's facts; choose another name")

    def register(reader: FactsReader) -> FactsReader:
        _parts.add(name, reader, owner=reader)
        return reader

    return register


def local_facts() -> dict[str, Any]:
    """This service's facts, read from one snapshot of its database; never writes."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Min

    from shared.dead_letters import dead_letter_list_pending
    from shared.models import OutboxEvent

    outermost = not connection.in_atomic_block  # inside a caller's transaction (a test), its snapshot rules
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT now()")
            (read_at,) = cursor.fetchone()
        pending = OutboxEvent.objects.filter(sent_at__isnull=True)
        oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
        letters = dead_letter_list_pending()
        facts: dict[str, Any] = {
            "service": settings.SERVICE_NAME,
            "read_at": moment(read_at),
            "outbox": {
                "pending": pending.count(),
                "oldest_pending_age_seconds": round((read_at - oldest).total_seconds(), 3) if oldest else 0.0,
            },
            "dead_letters": {
                "pending": letters.count(),
                "oldest": moment(letters.values_list("dead_lettered_at", flat=True).first()),
            },
        }
        for name, reader in _parts.items():
            facts[name] = reader()
    return facts
