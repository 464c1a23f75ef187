"""What inventory tells the consistency check (:mod:`shared.consistency`): each order's reservation state,
and per product its levels beside the two things they must agree with, the reserved lines of active
reservations and the sums of its ledger. Imported at startup (``InventoryConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from inventory.models import Movement, Reservation, ReservationLine, ReservationState, StockItem
from shared.consistency import facts_part
from shared.saga import moment


@facts_part("reservations")
def reservations_facts() -> dict[str, list[Any]]:
    """``{order_id: [state, updated_at]}`` for every order inventory decided on."""
    rows = Reservation.objects.order_by().values_list("order_id", "state", "updated_at")
    return {str(order_id): [state, moment(updated_at)] for order_id, state, updated_at in rows.iterator()}


@facts_part("stock")
def stock_facts() -> list[dict[str, Any]]:
    """Per product: levels, ``stock_version``, the lines of ``reserved`` reservations, the ledger's sums."""
    held = dict(
        ReservationLine.objects.filter(reservation__state=ReservationState.RESERVED)
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity"))
        .values_list("product_id", "total")
    )
    ledger = {
        row["stock_item_id"]: row
        for row in Movement.objects.order_by()
        .values("stock_item_id")
        .annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
    }
    facts = []
    for item in StockItem.objects.order_by("product_id").iterator():
        sums = ledger.get(item.pk, {})
        facts.append(
            {
                "product_id": str(item.product_id),
                "sku": item.sku,
                "on_hand": item.on_hand,
                "reserved": item.reserved,
                "stock_version": item.stock_version,
                "updated_at": moment(item.updated_at),
                "reserved_by_reservations": held.get(item.product_id, 0),
                "ledger_on_hand": sums.get("on_hand") or 0,
                "ledger_reserved": sums.get("reserved") or 0,
            }
        )
    return facts
