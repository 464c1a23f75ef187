"""An order's saga story across the services: each service's local part, merged, the step it waits on, one text.

An order's saga is spread over five databases: the events about it in each outbox, where each
consumer applied them (inbox), the messages a consumer gave up on (dead letters), the order and its
history, the reservation and its ledger, the payment and its history. An operator needs it in one
place, oldest first.

- A domain service answers for its own tables with :func:`local_story` (``manage.py saga_story``,
  the gRPC ``SagaService``); its apps add what only they know with :func:`story_part`, and the
  owner of orders answers "which orders are stuck" with :func:`pending_orders_reader`. Both
  registries are filled at app ready, like ``@handles``.
- :func:`merge` joins the services' parts of one order; :func:`next_step` names the step a pending
  order waits on and the event that re-drives it; :func:`render` is the one text, used by
  ``manage_all.py saga`` and by the order admin (:func:`story_text`).

A library: it never imports a service. Merging and rendering need no Django (``ops/`` uses them
outside any service), so the reads of the tables import the models when they run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.registry import Registry

# What every service's local part has; the registered parts add keys of their own.
LOCAL_KEYS = ("service", "order_id", "events", "applied", "dead_letters")
# The keys a merged story always has (the apps' parts default to "nothing known").
STORY_DEFAULTS: Mapping[str, Any] = {
    "order": None,
    "history": [],
    "reservation": None,
    "movements": [],
    "payment": None,
}
ORDER_PLACED = "order.placed"
INVENTORY_ANSWERS = ("inventory.reserved", "inventory.reservation_failed")
PAYMENT_ANSWERS = ("payment.authorized", "payment.failed")
# How waiting_on names a consumer.
CONSUMER_NAMES: Mapping[str, str] = {"order": "order service", "inventory": "inventory", "payment": "payment"}
DEADLINE_SECONDS = 2.0


class PartReader(Protocol):
    def __call__(self, *, order_id: uuid.UUID) -> Any: ...


class PendingReader(Protocol):
    def __call__(self, *, older_than: timedelta) -> list[dict[str, Any]]: ...


_parts: Registry[PartReader] = Registry("story part")
_pending_readers: list[PendingReader] = []


def story_part(name: str) -> Callable[[PartReader], PartReader]:
    """Registers the decorated function as this service's ``name`` part of a story (JSON-able, None: nothing).

    One owner per name across the shop (``order`` is the order service's, ``reservation`` inventory's):
    :func:`merge` takes the first answer that is not empty.
    """
    if name in LOCAL_KEYS:
        raise ValueError(f"{name!r} is part of every local story; choose another name")

    def register(reader: PartReader) -> PartReader:
        _parts.add(name, reader, owner=reader)
        return reader

    return register


def pending_orders_reader(reader: PendingReader) -> PendingReader:
    """Registers the function that lists pending orders older than a threshold (the owner of orders has one).

    It returns ``[{"order_id": str, "created_at": str, "age_seconds": float}]``, oldest first.
    """
    if _pending_readers and _pending_readers[0] is not reader:
        raise RuntimeError(f"pending orders already listed by {_pending_readers[0]!r}")
    _pending_readers[:] = [reader]
    return reader


def moment(value: datetime | None) -> str | None:
    """The one text form of times in a story: UTC with microseconds, so strings sort in time order."""
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value else None


# A service's local part (runs inside a service: reads its tables)


def local_story(*, order_id: uuid.UUID) -> dict[str, Any]:
    """This service's part of one order's story: its outbox, inbox and dead letters keyed by the order,
    plus the parts its apps registered. Read-only."""
    from django.conf import settings

    from shared.models import DeadLetter, OutboxEvent, ProcessedEvent

    key = str(order_id)
    story: dict[str, Any] = {
        "service": settings.SERVICE_NAME,
        "order_id": key,
        "events": [
            {
                "service": settings.SERVICE_NAME,
                "type": row.event_type,
                "event_id": str(row.event_id),
                "state": "published" if row.sent_at else "pending",
                "attempts": row.attempts,
                "created_at": moment(row.created_at),
                "sent_at": moment(row.sent_at),
                "last_error": row.last_error,
            }
            for row in OutboxEvent.objects.filter(key=key).order_by("id")
        ],
        "applied": [
            {
                "service": settings.SERVICE_NAME,
                "type": row.event_type,
                "event_id": str(row.event_id),
                "processed_at": moment(row.processed_at),
            }
            for row in ProcessedEvent.objects.filter(key=key).order_by("processed_at", "event_id")
        ],
        "dead_letters": [
            {
                "service": settings.SERVICE_NAME,
                "type": row.event_type,
                "event_id": str(row.event_id) if row.event_id else None,
                "reason": row.reason,
                "kind": row.kind,
                "attempts": row.attempts,
                "dead_lettered_at": moment(row.dead_lettered_at),
                "replayed": row.replayed_at is not None,
                "replayed_at": moment(row.replayed_at),
                "replay_outcome": row.replay_outcome,
            }
            for row in DeadLetter.objects.filter(key=key).order_by("dead_lettered_at", "id")
        ],
    }
    for name, reader in _parts.items():
        story[name] = reader(order_id=order_id)
    return story


def local_stories(*, order_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    """This service's parts of several orders: ``{"service": ..., "stories": {order_id: part}}``."""
    from django.conf import settings

    return {
        "service": settings.SERVICE_NAME,
        "stories": {str(order_id): local_story(order_id=order_id) for order_id in order_ids},
    }


def pending_orders(*, older_than: timedelta) -> list[dict[str, Any]] | None:
    """Pending orders older than ``older_than``, oldest first; None in a service that does not own orders."""
    if not _pending_readers:
        return None
    return _pending_readers[0](older_than=older_than)


# The whole story (pure: no Django)


def merge(parts: Iterable[Mapping[str, Any]], *, unreachable: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One order's story from the services' local parts: lists joined in time order, each app's part taken
    from the service that had it. ``unreachable`` names the services that did not answer, and why."""
    parts = list(parts)
    story: dict[str, Any] = {
        "order_id": next((part["order_id"] for part in parts), None),
        "services": sorted(part["service"] for part in parts),
        **{name: (list(value) if isinstance(value, list) else value) for name, value in STORY_DEFAULTS.items()},
        "events": sorted(
            (event for part in parts for event in part["events"]), key=lambda e: (e["created_at"], e["service"])
        ),
        "applied": sorted(
            (row for part in parts for row in part["applied"]), key=lambda r: (r["processed_at"], r["service"])
        ),
        "dead_letters": sorted(
            (letter for part in parts for letter in part["dead_letters"]), key=lambda d: d["dead_lettered_at"] or ""
        ),
        "unreachable": dict(sorted((unreachable or {}).items())),
    }
    for part in parts:
        for name, value in part.items():
            if name not in LOCAL_KEYS and value not in (None, []) and story.get(name) in (None, []):
                story[name] = value
    step = next_step(story)
    story["waiting_on"] = step.waiting_on if step else None
    return story


@dataclass(frozen=True)
class Step:
    """What a pending order waits on, and the event whose re-publication moves it (None: nothing to resend)."""

    waiting_on: str
    resend: ResendTarget | None = None


@dataclass(frozen=True)
class ResendTarget:
    service: str  # whose outbox holds the event
    event_id: str
    event_type: str


def next_step(story: Mapping[str, Any]) -> Step | None:
    """The step a pending order waits on; None when the order is unknown here or no longer pending.

    The saga: the order service publishes ``order.placed``; inventory applies it and publishes
    ``inventory.reserved`` or ``inventory.reservation_failed``; after ``inventory.reserved``, payment
    applies it and publishes ``payment.authorized`` or ``payment.failed``; the order service applies
    the last answer. The first of those steps that has not happened is the step.
    """
    order = story.get("order")
    if not order or order.get("status") != "pending":
        return None
    placed = _last_event(story, service="order", types=(ORDER_PLACED,))
    if placed is None:
        return Step(f"{ORDER_PLACED} is not in the order outbox (never written, or pruned)")
    if placed["state"] == "pending":
        return Step(_pending_in_outbox(placed))
    if not _applied(story, service="inventory", event_id=placed["event_id"]):
        return _awaiting(story, placed, consumer="inventory")
    answer = _last_event(story, service="inventory", types=INVENTORY_ANSWERS)
    if answer is None:
        return Step(f"inventory to answer {ORDER_PLACED} (applied, but no reply in the inventory outbox)")
    if answer["state"] == "pending":
        return Step(_pending_in_outbox(answer))
    if answer["type"] == "inventory.reserved":
        if not _applied(story, service="payment", event_id=answer["event_id"]):
            return _awaiting(story, answer, consumer="payment")
        paid = _last_event(story, service="payment", types=PAYMENT_ANSWERS)
        if paid is None:
            return Step(f"payment to answer inventory.reserved{_payment_progress(story)}")
        answer = paid
        if answer["state"] == "pending":
            return Step(_pending_in_outbox(answer))
    if not _applied(story, service="order", event_id=answer["event_id"]):
        return _awaiting(story, answer, consumer="order")
    return Step(f"order service applied {answer['type']}, yet the order is still pending (see its log)")


def _payment_progress(story: Mapping[str, Any]) -> str:
    payment = story.get("payment")
    if not payment:
        return " (applied, but payment has no record of the order)"
    if payment.get("pending_step"):
        return f" (provider call {payment['pending_step']} pending after {payment['attempts']} calls)"
    if payment.get("amount") is None:
        return " (applied; waiting for order.placed, which carries the amount)"
    return f" (applied; payment is {payment['status']}, no reply in the payment outbox)"


def waiting_on(story: Mapping[str, Any]) -> str | None:
    step = next_step(story)
    return step.waiting_on if step else None


def _last_event(story: Mapping[str, Any], *, service: str, types: Sequence[str]) -> dict[str, Any] | None:
    found = [event for event in story["events"] if event["service"] == service and event["type"] in types]
    return found[-1] if found else None


def _applied(story: Mapping[str, Any], *, service: str, event_id: str) -> bool:
    return any(row["service"] == service and row["event_id"] == event_id for row in story["applied"])


def _pending_in_outbox(event: Mapping[str, Any]) -> str:
    failing = f"; {event['attempts']} attempts, last error: {event['last_error']}" if event["last_error"] else ""
    return f"{event['type']} pending in the {event['service']} outbox (relay{failing})"


def _awaiting(story: Mapping[str, Any], event: Mapping[str, Any], *, consumer: str) -> Step:
    who = CONSUMER_NAMES.get(consumer, f"{consumer} service")
    if consumer in story["unreachable"]:
        return Step(f"{who} to apply {event['type']}? ({consumer} did not answer: {story['unreachable'][consumer]})")
    target = ResendTarget(service=event["service"], event_id=event["event_id"], event_type=event["type"])
    letters = [
        letter
        for letter in story["dead_letters"]
        if letter["service"] == consumer and letter["event_id"] == event["event_id"] and not letter["replayed"]
    ]
    if letters:
        return Step(f"{who} to apply {event['type']} (dead-lettered: {letters[-1]['reason']})", target)
    return Step(f"{who} to apply {event['type']} (published {event['sent_at']}, not applied yet)", target)


def render(story: Mapping[str, Any]) -> str:
    """The story as text, oldest first, one line per thing that happened; ends with what it waits on."""
    order = story.get("order")
    lines = [f"Order {story['order_id']}"]
    if order:
        customer = order.get("customer_email") or order.get("customer_id")
        lines[0] += (
            f": {order['status']}, customer {customer}, total {order['total']} {order['currency']}, "
            f"created {order['created_at']}"
        )
    else:
        lines[0] += ": not known to the order service"
    timeline = sorted(_timeline(story), key=lambda entry: entry[0] or "")
    lines.extend(f"  {at or '?':<32} {service:<10} {what}" for at, service, what in timeline)
    for service, why in story["unreachable"].items():
        lines.append(f"  {service} service did not answer ({why}): its part is missing")
    if order:
        waiting = story.get("waiting_on")
        lines.append(f"Waiting on: {waiting}" if waiting else f"Waiting on: nothing (the order is {order['status']})")
    return "\n".join(lines)


def _timeline(story: Mapping[str, Any]) -> Iterable[tuple[str | None, str, str]]:
    for step in story["history"]:
        reason = f" ({step['reason']})" if step.get("reason") else ""
        yield step["at"], "order", f"status {step['status']}{reason}"
    for event in story["events"]:
        sent = f" at {event['sent_at']}" if event["sent_at"] else ""
        error = f", last error: {event['last_error']}" if event["last_error"] else ""
        yield (
            event["created_at"],
            event["service"],
            f"outbox {event['type']} {event['event_id']} {event['state']}{sent} "
            f"(failed publish attempts {event['attempts']}{error})",
        )
    for row in story["applied"]:
        yield row["processed_at"], row["service"], f"applied {row['type']} {row['event_id']}"
    applied = {(row["service"], row["event_id"]) for row in story["applied"]}
    for letter in story["dead_letters"]:
        replayed = f", replayed {letter['replayed_at']} ({letter['replay_outcome']})" if letter["replayed"] else ""
        if not letter["replayed"] and (letter["service"], letter["event_id"]) in applied:
            replayed = ", its event applied since (re-driven)"
        yield (
            letter["dead_lettered_at"],
            letter["service"],
            f"dead letter {letter['type'] or '?'} {letter['event_id']} ({letter['kind']}, "
            f"{letter['attempts']} attempts{replayed}): {letter['reason']}",
        )
    reservation = story.get("reservation")
    if reservation:
        held = ", ".join(f"{line['quantity']} x {line['sku'] or line['product_id']}" for line in reservation["lines"])
        held = f"{held or 'no lines'} (now {reservation['state']})"
        yield reservation["created_at"], "inventory", f"reservation of {held}"
    payment = story.get("payment")
    for step in payment["history"] if payment else []:
        note = f" ({step['note']})" if step.get("note") else ""
        yield step["at"], "payment", f"payment {step['status']}{note}"
    for movement in story["movements"]:
        yield (
            movement["created_at"],
            "inventory",
            f"movement {movement['kind']} {movement['sku']}: on_hand {movement['on_hand_delta']:+d}, "
            f"reserved {movement['reserved_delta']:+d} ({movement['reason']})",
        )


# The whole story from inside a service (the order admin)


def story_text(*, order_id: uuid.UUID) -> str:
    """One order's whole story as text: this service's part plus the other domain services' over gRPC.

    Each call has a :data:`DEADLINE_SECONDS` deadline and all run at once; a service that does not
    answer is named in the text, never raised, so an admin page shows what it can.
    """
    import grpc
    from django.conf import settings

    from protos.saga.v1 import saga_pb2, saga_pb2_grpc
    from shared.grpc_client import call, channel
    from shared.topology import DOMAIN_SERVICES

    request = saga_pb2.GetLocalStoryRequest(order_ids=[str(order_id)])
    calls = {
        spec.name: call(
            saga_pb2_grpc.SagaServiceStub(channel(spec.name)).GetLocalStory.future,
            request,
            deadline=DEADLINE_SECONDS,
        )
        for spec in DOMAIN_SERVICES
        if spec.name != settings.SERVICE_NAME
    }
    parts = [local_story(order_id=order_id)]
    unreachable: dict[str, str] = {}
    for name, pending in calls.items():
        try:
            answer = pending.result()
        except grpc.RpcError as exc:
            unreachable[name] = f"{exc.code().name}: {exc.details()}" if isinstance(exc, grpc.Call) else repr(exc)
            continue
        parts.append(json.loads(answer.stories_json)["stories"][str(order_id)])
    return render(merge(parts, unreachable=unreachable))
