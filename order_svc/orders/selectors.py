"""Reads of orders. A customer sees only their own orders; staff see every order."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from orders.models import Customer, Order, OrderStatus, StatusHistory


def order_get(*, order_id: uuid.UUID) -> Order | None:
    """Any order by id, with its lines (the gRPC service and staff tools)."""
    return Order.objects.prefetch_related("lines").filter(pk=order_id).first()


def order_list_with_customer_email() -> QuerySet[Order]:
    """Every order, each annotated with ``customer_email`` from the customer projection (None if unknown).

    One correlated subquery, so a page of orders costs one query however many customers it shows.
    """
    email = Customer.objects.filter(pk=OuterRef("customer_id")).values("email")[:1]
    return Order.objects.annotate(customer_email=Subquery(email))


def order_get_for(*, order_id: uuid.UUID, viewer_id: uuid.UUID, viewer_is_staff: bool) -> Order | None:
    """The order if the viewer may see it: its customer, or staff. Another customer's order is None,
    exactly like a missing one, so its existence is never revealed."""
    order = order_get(order_id=order_id)
    if order is None or (not viewer_is_staff and order.customer_id != viewer_id):
        return None
    return order


def order_list_for(
    *,
    viewer_id: uuid.UUID,
    viewer_is_staff: bool,
    customer_id: uuid.UUID | None = None,
    status: str | None = None,
) -> QuerySet[Order]:
    """Newest first. A customer gets their own orders whatever ``customer_id`` says; staff get all,
    or one customer's with ``customer_id``. ``status`` narrows either."""
    orders = Order.objects.prefetch_related("lines").order_by("-created_at", "-id")
    if not viewer_is_staff:
        orders = orders.filter(customer_id=viewer_id)
    elif customer_id is not None:
        orders = orders.filter(customer_id=customer_id)
    if status:
        orders = orders.filter(status=status)
    return orders


def order_history(*, order: Order) -> QuerySet[StatusHistory]:
    """Every status the order entered, oldest first."""
    return StatusHistory.objects.filter(order=order).order_by("at", "id")


def order_list_pending(*, created_before: datetime) -> QuerySet[Order]:
    """Orders still pending that were placed before ``created_before``, oldest first (stuck sagas)."""
    return Order.objects.filter(status=OrderStatus.PENDING, created_at__lt=created_before).order_by("created_at", "id")


def customer_email(*, customer_id: uuid.UUID) -> str:
    """The customer's email as the projection has it; "" when the user service has not told us yet."""
    return Customer.objects.filter(pk=customer_id).values_list("email", flat=True).first() or ""
