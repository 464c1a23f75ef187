"""The admin site reads orders and changes their status only through the state machine.

Orders, lines and history are read-only here; the actions call :func:`orders.services.order_transition`,
so an admin's change is checked, recorded in the history and announced like the API's. Orders show
their customer's email from the customer projection, and can be found by it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from orders.errors import IllegalTransition
from orders.models import Customer, Order, OrderLine, OrderStatus, StatusHistory
from orders.selectors import order_list_with_customer_email
from orders.services import order_transition
from shared.admin import ReadOnlyAdmin
from shared.admin_auth import staff_remote_id
from shared.saga import story_text


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = ("product_id", "sku", "name", "unit_price", "quantity", "line_total")


class StatusHistoryInline(ReadOnlyInline):
    model = StatusHistory
    fields = readonly_fields = ("status", "at", "by", "reason")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = ["id", "customer_email", "status", "payment_status", "total", "currency", "created_at"]
    list_filter = ["status", "payment_status", "created_at"]
    # ``customer_email`` is the annotation of get_queryset: part of an email finds the customer's orders.
    search_fields = ["id", "customer_id", "customer_email"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    # The order's page: these fields, then the saga story across services (what ``manage_all.py saga``
    # prints), then its lines and its status history (the inlines).
    fields = readonly_fields = (
        "id",
        "customer_email",
        "customer_id",
        "status",
        "total",
        "currency",
        "rejection_reason",
        "payment_method",
        "payment_status",
        "stock_reserved_at",
        "shipping_address",
        "created_at",
        "updated_at",
        "saga_story",
    )
    inlines = [OrderLineInline, StatusHistoryInline]
    actions = ["mark_shipped", "mark_delivered", "cancel_orders"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return order_list_with_customer_email()

    @admin.display(description="Customer email", ordering="customer_email")
    def customer_email(self, order: Order) -> str | None:
        """From the customer projection; empty until the user service's events about the customer arrive."""
        return getattr(order, "customer_email", None)

    @admin.display(description="Saga story")
    def saga_story(self, order: Order) -> str:
        """Oldest first, from every domain service (over gRPC, 2 s each); a silent service is named, not fatal."""
        story = story_text(order_id=order.id)
        return format_html('<pre class="saga-story" style="white-space: pre-wrap">{}</pre>', story)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through the API, which prices them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders are kept; cancel instead

    @admin.action(description="Mark shipped")
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, OrderStatus.SHIPPED)

    @admin.action(description="Mark delivered")
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, OrderStatus.DELIVERED)

    @admin.action(description="Cancel")
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._transition(request, queryset, OrderStatus.CANCELLED)

    def _transition(self, request: HttpRequest, queryset: QuerySet[Order], to: OrderStatus) -> None:
        """Each order on its own: the allowed ones change, the others are listed, none fails the page."""
        # ``by`` is the staff member's user_svc id; None for a local (createsuperuser) account, which
        # the reason still names.
        by = staff_remote_id(user=request.user)
        reason = f"{to.label} in the admin by {request.user.get_username()}."
        changed = 0
        refused: list[str] = []
        for order in queryset.order_by("pk"):
            try:
                order_transition(order=order, to=to, by=by, reason=reason)
            except IllegalTransition as exc:
                refused.append(f"{order.id}: {exc.detail}")
            else:
                changed += 1
        if changed:
            self.message_user(request, f"{changed} order(s) now {to.value}.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin[Customer]):
    """The projection of user events: read-only, the user service owns these facts."""

    list_display = ["email", "id", "role", "is_active", "updated_at"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "id"]
    readonly_fields = ["id", "email", "role", "is_active", "updated_at"]
