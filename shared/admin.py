"""The event machinery in every service's admin: outbox, inbox and dead letters, read-only.

``shared`` is an installed app of all six services, so these pages appear in each admin
and show that service's own tables. Rows are written only by the machinery (``publish()``,
the consumer); staff read them here, and the one thing they can do is replay a dead letter,
which calls :func:`shared.dead_letters.dead_letter_replay` like ``manage.py dlq replay --id``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from shared.dead_letters import ReplayFailed, dead_letter_discard, dead_letter_replay
from shared.models import DeadLetter, OutboxEvent, ProcessedEvent

M = TypeVar("M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[M]):
    """Lists and shows rows; no add, change or delete (the change page is a read-only view)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PublishedFilter(admin.SimpleListFilter):
    title = "published"
    parameter_name = "published"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Published"), ("no", "Pending")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(sent_at__isnull=self.value() == "no")
        return queryset


class ReplayedFilter(admin.SimpleListFilter):
    title = "replayed"
    parameter_name = "replayed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Not yet"), ("yes", "Replayed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(replayed_at__isnull=self.value() == "no")
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin[OutboxEvent]):
    """Events this service wrote; pending ones are waiting for ``relay_outbox``."""

    list_display = ["event_type", "key", "event_id", "published", "attempts", "last_error", "created_at", "sent_at"]
    list_filter = ["event_type", PublishedFilter]
    search_fields = ["event_id", "key"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    fields = [
        "event_type",
        "key",
        "event_id",
        "topic",
        "lane",
        "created_at",
        "sent_at",
        "attempts",
        "last_error",
        "envelope",
    ]

    @admin.display(boolean=True, ordering="sent_at")
    def published(self, event: OutboxEvent) -> bool:
        return event.sent_at is not None


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(ReadOnlyAdmin[ProcessedEvent]):
    """Events this service's consumer applied, with where it read them."""

    list_display = ["event_type", "key", "event_id", "topic", "partition", "offset", "processed_at"]
    list_filter = ["event_type"]
    search_fields = ["event_id", "key"]
    date_hierarchy = "processed_at"
    ordering = ["-processed_at"]
    fields = ["event_type", "key", "event_id", "topic", "partition", "offset", "processed_at"]


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin[DeadLetter]):
    """Messages the consumer gave up on; "Replay" applies them again once the cause is fixed."""

    list_display = [
        "id",
        "event_type",
        "key",
        "kind",
        "short_reason",
        "attempts",
        "dead_lettered_at",
        "replayed_at",
        "replay_outcome",
    ]
    list_filter = [ReplayedFilter, "kind", "replay_outcome", "event_type"]
    search_fields = ["key", "event_id", "event_type"]
    date_hierarchy = "dead_lettered_at"
    ordering = ["dead_lettered_at", "id"]
    fields = [
        "event_type",
        "key",
        "event_id",
        "kind",
        "reason",
        "attempts",
        "dead_lettered_at",
        "replayed_at",
        "replay_outcome",
        "group",
        "original_topic",
        "original_partition",
        "original_offset",
        "dlq_topic",
        "dlq_partition",
        "dlq_offset",
        "value",
    ]
    actions = ["replay", "discard"]

    @admin.display(description="reason")
    def short_reason(self, letter: DeadLetter) -> str:
        return letter.reason if len(letter.reason) <= 120 else f"{letter.reason[:119]}…"

    @admin.action(description="Replay (apply again through the handler)")
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        """Each letter on its own, oldest first, one message each; a letter that still fails stays pending."""
        for letter in queryset.order_by("dead_lettered_at", "id"):
            try:
                replayed = dead_letter_replay(letter=letter)
            except ReplayFailed as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, str(replayed), messages.SUCCESS)

    @admin.action(description="Discard (never apply; for messages that can never be applied)")
    def discard(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        for letter in queryset.order_by("dead_lettered_at", "id"):
            discarded = dead_letter_discard(letter=letter, by=f"{request.user.get_username()} in the admin")
            self.message_user(request, str(discarded), messages.WARNING)
