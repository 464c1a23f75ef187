"""Writes to stock. Event handlers, the API and the admin call these; each is safe to run twice.

Locking: a function that changes levels first locks the stock rows it needs with
``SELECT ... FOR UPDATE ORDER BY product_id`` (:func:`_lock_stock`), then reads the
levels it decides on. Every transaction takes its row locks in that one order, so two
orders sharing products queue behind each other instead of deadlocking, and no decision
is taken on levels another transaction is changing. Each change writes its
:class:`~inventory.models.Movement` and its events (outbox) in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from inventory.errors import InvalidAdjustment, StockBelowReserved, StockItemNotFound
from inventory.metrics import count_reservation_failed_on_commit, count_shipment_anomaly_on_commit
from inventory.models import Movement, MovementKind, Reservation, ReservationLine, ReservationState, StockItem
from shared.events import Envelope, handler_transaction, publish

logger = logging.getLogger(__name__)

MAX_LEVEL = 2_147_483_647  # the largest value of the level columns (PostgreSQL integer)


@dataclass(frozen=True)
class StockLine:
    """A quantity of one product wanted by an order."""

    product_id: UUID
    quantity: int


@dataclass(frozen=True)
class ShortLine:
    """A line that could not be reserved: ``available`` is what there was (0 for unknown or inactive products)."""

    product_id: UUID
    wanted: int
    available: int


# Stock rows of products (from product events)


def stock_item_create_for_product(*, product_id: UUID, sku: str) -> StockItem:
    """The stock row of a new product, at zero; an existing row is returned unchanged."""
    stock_item, _ = StockItem.objects.get_or_create(product_id=product_id, defaults={"sku": sku})
    return stock_item


def stock_item_sync_product(*, product_id: UUID, sku: str, is_active: bool) -> StockItem:
    """Copies the product's SKU and status onto its stock row (created at zero when absent); levels are untouched."""
    with transaction.atomic():
        stock_item, created = StockItem.objects.select_for_update().get_or_create(
            product_id=product_id, defaults={"sku": sku, "is_active": is_active}
        )
        if not created and (stock_item.sku, stock_item.is_active) != (sku, is_active):
            stock_item.sku, stock_item.is_active = sku, is_active
            stock_item.save(update_fields=["sku", "is_active", "updated_at"])
    return stock_item


def stock_item_deactivate(*, product_id: UUID, sku: str) -> StockItem:
    """Marks the product's stock row inactive (creating it inactive when absent); its levels are kept."""
    with transaction.atomic():
        stock_item, created = StockItem.objects.select_for_update().get_or_create(
            product_id=product_id, defaults={"sku": sku, "is_active": False}
        )
        if not created and stock_item.is_active:
            stock_item.is_active = False
            stock_item.save(update_fields=["is_active", "updated_at"])
    return stock_item


def stock_item_set_low_stock_threshold(*, stock_item: StockItem, threshold: int) -> None:
    """Writes only the threshold, so a stale ``stock_item`` never overwrites levels changed meanwhile."""
    stock_item.low_stock_threshold = threshold
    stock_item.save(update_fields=["low_stock_threshold", "updated_at"])


# Reservations (the order saga)


def stock_reserve(*, order_id: UUID, lines: Sequence[StockLine]) -> Reservation:
    """Reserves every line of the order or none; returns the order's reservation (state ``failed`` when short).

    A line is short when its product has less available than wanted; a product without a
    stock row, or inactive, has 0 available. Short: nothing changes, the reservation is
    recorded as ``failed`` and ``inventory.reservation_failed`` names every short line.
    Otherwise each product's ``reserved`` grows, with a ``reservation`` movement, and
    ``inventory.reserved`` plus one ``inventory.changed`` per product are published.

    One decision per order: when the order already has a reservation, in any state, it is
    returned as it is and nothing is changed or published (a redelivered ``order.placed``,
    even under a new event id, never reserves twice nor revives a rejected order).
    Lines of the same product are added together. Locks the lines' stock rows, by product id.
    """
    wanted = _combine(lines)
    with handler_transaction():
        existing = Reservation.objects.filter(order_id=order_id).first()
        if existing is not None:
            logger.info("order %s already has a reservation (%s); nothing to do", order_id, existing.state)
            return existing
        # Two deliveries of one order racing past the check above both queue on these locks; the
        # second then fails on the unique order_id and is retried, finding the first's reservation.
        stock = _lock_stock(product_ids=wanted)
        short = [
            ShortLine(product_id=product_id, wanted=quantity, available=_reservable(stock.get(product_id)))
            for product_id, quantity in wanted.items()
            if _reservable(stock.get(product_id)) < quantity
        ]
        if short:
            reservation = Reservation.objects.create(order_id=order_id, state=ReservationState.FAILED)
            _publish_order_event(
                "inventory.reservation_failed",
                order_id,
                short_lines=[
                    {"product_id": str(line.product_id), "wanted": line.wanted, "available": line.available}
                    for line in short
                ],
            )
            count_reservation_failed_on_commit()
            logger.info("order %s is short of %d line(s); nothing reserved", order_id, len(short))
            return reservation

        reservation = Reservation.objects.create(order_id=order_id, state=ReservationState.RESERVED)
        ReservationLine.objects.bulk_create(
            ReservationLine(reservation=reservation, product_id=product_id, quantity=quantity)
            for product_id, quantity in wanted.items()
        )
        _change_levels(stock, reserved=wanted)
        Movement.objects.bulk_create(
            Movement(
                stock_item=stock[product_id],
                kind=MovementKind.RESERVATION,
                reserved_delta=quantity,
                order_id=order_id,
                reason="order placed",
            )
            for product_id, quantity in wanted.items()
        )
        _publish_order_event("inventory.reserved", order_id, lines=_stock_lines(wanted))
        for product_id in sorted(wanted):
            _publish_changed(stock[product_id])
    return reservation


def stock_release(*, order_id: UUID, reason: str) -> Reservation | None:
    """Gives back what the order reserved: ``reserved`` shrinks, the reservation becomes ``released``.

    Writes a ``release`` movement per product and publishes ``inventory.released`` plus one
    ``inventory.changed`` per product. A reservation that is not ``reserved`` (already
    released, consumed, or failed) is returned unchanged; an order with no reservation is
    logged and None returned. Locks the reservation, then its stock rows by product id.
    """
    with handler_transaction():
        reservation = Reservation.objects.select_for_update().filter(order_id=order_id).first()
        if reservation is None:
            logger.warning("order %s has no reservation; nothing to release", order_id)
            return None
        if reservation.state != ReservationState.RESERVED:
            logger.info("order %s's reservation is %s; nothing to release", order_id, reservation.state)
            return reservation
        released = {line.product_id: line.quantity for line in reservation.lines.order_by("product_id")}
        stock = _lock_stock(product_ids=released)
        _change_levels(stock, reserved={product_id: -quantity for product_id, quantity in released.items()})
        reservation.state = ReservationState.RELEASED
        reservation.save(update_fields=["state", "updated_at"])
        Movement.objects.bulk_create(
            Movement(
                stock_item=stock[product_id],
                kind=MovementKind.RELEASE,
                reserved_delta=-quantity,
                order_id=order_id,
                reason=reason,
            )
            for product_id, quantity in released.items()
        )
        _publish_order_event("inventory.released", order_id, lines=_stock_lines(released))
        for product_id in released:
            _publish_changed(stock[product_id])
    return reservation


def stock_ship(*, order_id: UUID) -> Reservation | None:
    """Turns the order's reservation into a shipment: its units leave the shelf (``order.shipped``).

    For a ``reserved`` reservation, each line's ``on_hand`` and ``reserved`` shrink by its
    quantity (``available`` is unchanged), with a ``shipment`` movement per product; the
    reservation becomes ``consumed`` and one ``inventory.changed`` per product is published.
    The quantities are the reservation's, which are what the order held on the shelf.

    A ``consumed`` reservation (the shipment redelivered under a new event id) is returned
    unchanged. A shipped order with no reservation, or a ``released`` or ``failed`` one, is an
    anomaly, not an error: nothing reserved can be taken off, so levels stay as they are, and
    it is logged and counted (``shop_shipment_anomalies_total``) for staff to count the shelf.
    Raising would only dead-letter an event that no retry can mend. Returns the reservation,
    None when there is none. Locks the reservation, then its stock rows by product id.
    """
    with handler_transaction():
        reservation = Reservation.objects.select_for_update().filter(order_id=order_id).first()
        if reservation is None:
            _shipment_anomaly(order_id, reason="no_reservation")
            return None
        if reservation.state == ReservationState.CONSUMED:
            logger.info("order %s's reservation is already consumed by its shipment; nothing to do", order_id)
            return reservation
        if reservation.state != ReservationState.RESERVED:
            _shipment_anomaly(order_id, reason=reservation.state)
            return reservation
        shipped = {line.product_id: line.quantity for line in reservation.lines.order_by("product_id")}
        stock = _lock_stock(product_ids=shipped)
        leaving = {product_id: -quantity for product_id, quantity in shipped.items()}
        _change_levels(stock, on_hand=leaving, reserved=leaving)
        reservation.state = ReservationState.CONSUMED
        reservation.save(update_fields=["state", "updated_at"])
        Movement.objects.bulk_create(
            Movement(
                stock_item=stock[product_id],
                kind=MovementKind.SHIPMENT,
                on_hand_delta=-quantity,
                reserved_delta=-quantity,
                order_id=order_id,
                reason="order shipped",
            )
            for product_id, quantity in shipped.items()
        )
        for product_id in shipped:
            _publish_changed(stock[product_id])
    return reservation


# Adjustments (staff)

MAX_ADJUSTMENT = 1_000_000  # units one adjustment may add or remove
MAX_REASON_LENGTH = 500  # characters of the reason kept in the ledger (the admin's appended username included)


def validate_adjustment_delta(delta: int) -> None:
    """The rule of an adjustment's delta: it changes the stock. The API's serializer and the admin's
    form run it as their field's validator, so they refuse with the same words as :func:`stock_adjust`."""
    if delta == 0:
        raise ValidationError("Send a non-zero delta.", code="zero")


def stock_adjust(*, product_id: UUID, delta: int, reason: str, actor: UUID | None) -> StockItem:
    """Adds ``delta`` (negative: removes) to the product's stock on hand; returns the row with its new levels.

    Raises :class:`StockBelowReserved` (409) when less would remain on hand than is reserved,
    :class:`StockItemNotFound` for an unknown product and :class:`InvalidAdjustment` for a zero
    delta (:func:`validate_adjustment_delta`), a blank reason or one over ``MAX_REASON_LENGTH``.
    Writes an ``adjustment`` movement with ``reason`` and ``actor`` (the staff user; None for the
    system) and publishes ``inventory.changed``. Locks the stock row.
    """
    reason = reason.strip()
    try:
        validate_adjustment_delta(delta)
    except ValidationError as exc:
        raise InvalidAdjustment("An adjustment must change the stock.", errors={"delta": exc.messages}) from None
    if not reason:
        raise InvalidAdjustment("Say why the stock changes.", errors={"reason": ["This field may not be blank."]})
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidAdjustment(
            f"A reason has at most {MAX_REASON_LENGTH} characters.",
            errors={"reason": [f"Ensure this field has no more than {MAX_REASON_LENGTH} characters."]},
        )
    with transaction.atomic():
        stock_item = _lock_stock(product_ids=[product_id]).get(product_id)
        if stock_item is None:
            raise StockItemNotFound(f"No stock is kept for product {product_id}.")
        on_hand = stock_item.on_hand + delta
        if on_hand < stock_item.reserved:
            raise StockBelowReserved(
                f"Removing {-delta} would leave {on_hand} on hand for {stock_item.reserved} reserved by orders; "
                f"at most {stock_item.available} can be removed now."
            )
        if on_hand > MAX_LEVEL:
            raise InvalidAdjustment(
                f"Stock on hand cannot exceed {MAX_LEVEL}.",
                errors={"delta": [f"At most {MAX_LEVEL - stock_item.on_hand}."]},
            )
        _change_levels({product_id: stock_item}, on_hand={product_id: delta})
        Movement.objects.create(
            stock_item=stock_item, kind=MovementKind.ADJUSTMENT, on_hand_delta=delta, reason=reason, actor=actor
        )
        _publish_changed(stock_item)
    return stock_item


# Helpers: call them inside the caller's transaction.atomic()


def _lock_stock(*, product_ids: Iterable[UUID]) -> dict[UUID, StockItem]:
    """Locks the existing stock rows of ``product_ids``, in product id order (the one order every writer uses)."""
    rows = StockItem.objects.select_for_update().filter(product_id__in=set(product_ids)).order_by("product_id")
    return {stock_item.product_id: stock_item for stock_item in rows}


def _change_levels(
    stock: Mapping[UUID, StockItem],
    *,
    on_hand: Mapping[UUID, int] | None = None,
    reserved: Mapping[UUID, int] | None = None,
) -> None:
    """Moves the levels of rows the caller has locked (``stock``, by product id) by the deltas given per
    product, and each moved row's ``stock_version`` by one.

    The UPDATE is relative (``F()``), so it never writes back stale numbers; under the lock, the
    in-memory copies then equal the rows, and the events are built from them. It is one UPDATE for
    all the rows, each taking its own delta (``CASE`` on its id): an order of n products costs one
    statement, not n. It takes no lock the caller does not hold already, so the lock order stays
    :func:`_lock_stock`'s.
    """
    deltas = {"on_hand": on_hand or {}, "reserved": reserved or {}}
    moved = [stock[product_id] for product_id in dict.fromkeys([*deltas["on_hand"], *deltas["reserved"]])]
    now = timezone.now()
    StockItem.objects.filter(pk__in=[stock_item.pk for stock_item in moved]).update(
        **{level: F(level) + _per_row(moved, by_product) for level, by_product in deltas.items() if by_product},
        stock_version=F("stock_version") + 1,
        updated_at=now,
    )
    for stock_item in moved:
        stock_item.on_hand += deltas["on_hand"].get(stock_item.product_id, 0)
        stock_item.reserved += deltas["reserved"].get(stock_item.product_id, 0)
        stock_item.stock_version += 1
        stock_item.updated_at = now


def _per_row(rows: Sequence[StockItem], by_product: Mapping[UUID, int]) -> Value | Case:
    """The delta of each of ``rows`` in one UPDATE: a constant when they share it, else a ``CASE`` on the row's id."""
    values = {by_product.get(stock_item.product_id, 0) for stock_item in rows}
    if len(values) == 1:
        return Value(values.pop())
    return Case(
        *(When(pk=stock_item.pk, then=Value(by_product.get(stock_item.product_id, 0))) for stock_item in rows),
        default=Value(0),
    )


def _reservable(stock_item: StockItem | None) -> int:
    if stock_item is None or not stock_item.is_active:
        return 0
    return stock_item.available


def _combine(lines: Sequence[StockLine]) -> dict[UUID, int]:
    """Quantities per product, in the order products first appear (the events list them so)."""
    if not lines:
        raise ValueError("An order to reserve has at least one line.")
    wanted: dict[UUID, int] = {}
    for line in lines:
        if line.quantity < 1:
            raise ValueError(f"Quantities are positive; got {line.quantity} of {line.product_id}.")
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    return wanted


def _stock_lines(quantities: dict[UUID, int]) -> list[dict[str, Any]]:
    return [{"product_id": str(product_id), "quantity": quantity} for product_id, quantity in quantities.items()]


def _shipment_anomaly(order_id: UUID, *, reason: str) -> None:
    logger.warning(
        "order %s was shipped but has no reserved stock to take off the shelf (%s); levels left unchanged, "
        "count the shelf",
        order_id,
        reason,
    )
    count_shipment_anomaly_on_commit(reason=reason)


def _publish_order_event(event_type: str, order_id: UUID, **payload: Any) -> None:
    publish(Envelope(type=event_type, key=str(order_id), payload={"order_id": str(order_id), **payload}))


def _publish_changed(stock_item: StockItem) -> None:
    publish(
        Envelope(
            type="inventory.changed",
            key=str(stock_item.product_id),
            payload={
                "product_id": str(stock_item.product_id),
                "sku": stock_item.sku,
                "on_hand": stock_item.on_hand,
                "reserved": stock_item.reserved,
                "available": stock_item.available,
                "stock_version": stock_item.stock_version,
            },
        )
    )
