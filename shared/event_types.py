"""Every event the platform publishes: its topic, version and payload schema, defined once.

Producers validate before writing to the outbox (an invalid payload is a bug
in the producer and raises at once); consumers validate before applying (an
invalid payload goes to the dead-letter topic with the reason). The catalog
in ``docs/events.md`` is generated from this module (``python -m shared.event_catalog``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

Schema = dict[str, Any]

UUID: Schema = {"type": "string", "format": "uuid"}
MONEY: Schema = {"type": "string", "pattern": r"^-?\d{1,10}\.\d{2}$", "description": 'decimal string, e.g. "19.99"'}
CURRENCY: Schema = {"type": "string", "pattern": "^[A-Z]{3}$"}
TIMESTAMP: Schema = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}
TEXT: Schema = {"type": "string"}
COUNT: Schema = {"type": "integer", "minimum": 0}
QUANTITY: Schema = {"type": "integer", "minimum": 1, "maximum": 1000}
ROLE: Schema = {"enum": ["customer", "staff"]}
ORDER_STATUS: Schema = {"enum": ["pending", "confirmed", "rejected", "shipped", "delivered", "cancelled", "refunded"]}
PAYMENT_METHOD: Schema = {
    "type": "string",
    "pattern": r"^pm_[A-Za-z0-9_]{1,64}$",
    "description": "a payment provider's token, e.g. pm_card_visa; never card details",
}


def record(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with exactly these fields (extra fields are refused: they would be silently lost)."""
    return {
        "type": "object",
        "properties": required | (optional or {}),
        "required": sorted(required),
        "additionalProperties": False,
    }


def array_of(item: Schema, *, min_items: int = 0) -> Schema:
    return {"type": "array", "items": item, "minItems": min_items}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


USER = {
    "user_id": UUID,
    "email": TEXT,
    "first_name": TEXT,
    "last_name": TEXT,
    "role": ROLE,
    "is_active": {"type": "boolean"},
}
PRODUCT = {
    "product_id": UUID,
    "sku": TEXT,
    "name": TEXT,
    "price": MONEY,
    "currency": CURRENCY,
    "category": nullable(TEXT),
    "is_active": {"type": "boolean"},
}
ORDER_LINE = record({"product_id": UUID, "sku": TEXT, "quantity": QUANTITY, "unit_price": MONEY})
STOCK_LINE = record({"product_id": UUID, "quantity": QUANTITY})
SHORT_LINE = record({"product_id": UUID, "wanted": QUANTITY, "available": COUNT})


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    topic: str
    schema: Schema
    description: str


class UnknownEventType(LookupError):
    pass


class InvalidPayload(ValueError):
    """The payload does not match its event type's schema; the message says where."""


EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "system.ping",
        1,
        "*",
        record({}),
        "Proves the outbox -> Kafka -> consumer path (manage.py event_ping).",
    ),
    EventType(
        "user.registered",
        1,
        "users",
        record(USER | {"date_joined": TIMESTAMP}),
        "A new user account exists.",
    ),
    EventType("user.updated", 1, "users", record(USER), "A user's profile, role or status changed."),
    EventType("user.deactivated", 1, "users", record({"user_id": UUID}), "A user may no longer sign in."),
    EventType(
        "user.tokens_revoked",
        1,
        "users",
        record({"user_id": UUID, "not_before": TIMESTAMP, "expires_at": TIMESTAMP}, {"session_id": UUID}),
        "The user's access tokens issued at or before not_before must be refused (logout, password change, "
        "deactivation, staff role taken away); with session_id, only those of that session (the tokens' family "
        "claim). After expires_at every such token has expired anyway.",
    ),
    EventType("product.created", 1, "products", record(PRODUCT), "A product was added to the catalog."),
    EventType(
        "product.updated",
        1,
        "products",
        record(PRODUCT),
        "A product's details, price or status changed.",
    ),
    EventType(
        "product.deleted",
        1,
        "products",
        record({"product_id": UUID, "sku": TEXT}),
        "A product was soft-deleted (kept for order history, no longer sold).",
    ),
    EventType(
        "order.placed",
        1,
        "orders",
        record(
            {
                "order_id": UUID,
                "customer_id": UUID,
                "lines": array_of(ORDER_LINE, min_items=1),
                "total": MONEY,
                "currency": CURRENCY,
                "payment_method": PAYMENT_METHOD,
            }
        ),
        "A customer placed an order; inventory reserves every line or none, and payment keeps the total, "
        "currency and payment method to authorize once the stock is reserved.",
    ),
    EventType(
        "order.cancelled",
        1,
        "orders",
        record({"order_id": UUID, "customer_id": UUID}, {"reason": TEXT}),
        "An order was cancelled; inventory releases what it reserved; payment voids its authorization (or never "
        "authorizes).",
    ),
    EventType(
        "order.confirmed",
        1,
        "orders",
        record({"order_id": UUID, "customer_id": UUID}),
        "Stock was reserved for every line and the payment authorized.",
    ),
    EventType(
        "order.rejected",
        1,
        "orders",
        record({"order_id": UUID, "customer_id": UUID, "reason": TEXT}, {"short_lines": array_of(SHORT_LINE)}),
        "The order could not be fulfilled (short of stock, payment declined, or timed out while pending); "
        "inventory releases whatever it reserved for it (nothing when it was short).",
    ),
    EventType(
        "order.shipped",
        1,
        "orders",
        record({"order_id": UUID, "customer_id": UUID, "lines": array_of(STOCK_LINE, min_items=1)}),
        "Staff shipped a confirmed order; inventory turns its reservation into a shipment (stock leaves the shelf); "
        "payment captures the authorized amount.",
    ),
    EventType(
        "order.status_changed",
        1,
        "orders",
        record(
            {"order_id": UUID, "from_status": ORDER_STATUS, "to_status": ORDER_STATUS},
            {"by": nullable(UUID), "reason": TEXT},
        ),
        "Any order status transition, with who made it.",
    ),
    EventType(
        "order.refund_requested",
        1,
        "orders",
        record({"order_id": UUID}),
        "Staff refunded a delivered order; payment refunds the captured amount.",
    ),
    EventType(
        "payment.authorized",
        1,
        "payments",
        record({"order_id": UUID, "amount": MONEY, "currency": CURRENCY, "provider": TEXT}),
        "The order total is held on the customer's payment method (after inventory reserved the stock); "
        "the order is confirmed.",
    ),
    EventType(
        "payment.failed",
        1,
        "payments",
        record({"order_id": UUID, "reason": TEXT}),
        "The payment could not be authorized: the provider declined it (reason: its code, e.g. card_declined) "
        'or did not answer after the retries ("provider unavailable"); the order is rejected.',
    ),
    EventType(
        "payment.captured",
        1,
        "payments",
        record({"order_id": UUID, "amount": MONEY, "currency": CURRENCY}),
        "The authorized amount was taken (the order shipped).",
    ),
    EventType(
        "payment.voided",
        1,
        "payments",
        record({"order_id": UUID}),
        "The authorization was released (the order was cancelled); nothing was taken.",
    ),
    EventType(
        "payment.refunded",
        1,
        "payments",
        record({"order_id": UUID, "amount": MONEY, "currency": CURRENCY}),
        "The captured amount was given back (staff refunded the order).",
    ),
    EventType(
        "inventory.reserved",
        1,
        "inventory",
        record({"order_id": UUID, "lines": array_of(STOCK_LINE, min_items=1)}),
        "Every line of an order is reserved.",
    ),
    EventType(
        "inventory.reservation_failed",
        1,
        "inventory",
        record({"order_id": UUID, "short_lines": array_of(SHORT_LINE, min_items=1)}),
        "At least one line was short; nothing was reserved.",
    ),
    EventType(
        "inventory.released",
        1,
        "inventory",
        record({"order_id": UUID, "lines": array_of(STOCK_LINE)}),
        "A cancelled order's reservation was released.",
    ),
    EventType(
        "inventory.changed",
        1,
        "inventory",
        record(
            {
                "product_id": UUID,
                "sku": TEXT,
                "on_hand": COUNT,
                "reserved": COUNT,
                "available": COUNT,
                "stock_version": COUNT,
            }
        ),
        "A product's stock levels changed; stock_version orders the updates of one product.",
    ),
)

_BY_KEY: dict[tuple[str, int], EventType] = {(event.name, event.version): event for event in EVENT_TYPES}


def event_type(name: str, version: int) -> EventType:
    try:
        return _BY_KEY[(name, version)]
    except KeyError:
        raise UnknownEventType(f"no schema for {name} version {version}") from None


def event_types_named(name: str) -> list[EventType]:
    """Every version of the event type ``name``; raises :class:`UnknownEventType` when there is none."""
    found = [event for event in EVENT_TYPES if event.name == name]
    if not found:
        raise UnknownEventType(f"no event type {name!r} (shared/event_types.py lists them)")
    return found


@cache
def _validator(name: str, version: int) -> Draft202012Validator:
    return Draft202012Validator(event_type(name, version).schema, format_checker=FormatChecker())


@cache
def _fast_validator(name: str, version: int) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(event_type(name, version).schema, validate_formats=True)


def validate_payload(name: str, version: int, payload: Any) -> None:
    """Raises :class:`InvalidPayload` (or :class:`UnknownEventType`) unless ``payload`` fits the schema.

    Every event is validated where it is published and again by each consumer that reads it, about 20
    times per order. jsonschema (pure Python) took 35-70 us per payload, jsonschema-rs (compiled) 0.6 us:
    a payload it accepts is accepted. One it refuses is judged again by jsonschema, which has the last word
    and words the reason, so the answer is jsonschema's either way unless jsonschema-rs were laxer, which
    shared/tests/test_event_types.py checks for every event type against a corpus of broken payloads.
    """
    try:
        if _fast_validator(name, version).is_valid(payload):
            return
    except ValueError:
        pass  # a value JSON has no type for (a UUID object, a bytes): jsonschema names it below
    error = best_match(_validator(name, version).iter_errors(payload))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "payload"
        raise InvalidPayload(f"{name} v{version}: {where}: {error.message}")
