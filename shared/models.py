"""The transactional outbox and the consumer inbox, one pair of tables in every service's database."""

from __future__ import annotations

from django.db import models


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes; the relay publishes it."""

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=100)
    topic = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    # Rows of one key share a lane; a relay publishes a lane only while holding its advisory lock,
    # so several relays never reorder the events of one key.
    lane = models.PositiveSmallIntegerField(default=0)
    envelope = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The relay's queries: pending rows in insertion order, and which lanes have any.
            models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_pending_idx"),
            models.Index(
                fields=["lane", "id"], condition=models.Q(sent_at__isnull=True), name="outbox_pending_lane_idx"
            ),
            # Pruning: sent rows by age.
            models.Index(fields=["sent_at"], condition=models.Q(sent_at__isnull=False), name="outbox_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({'sent' if self.sent_at else 'pending'})"


class ProcessedEvent(models.Model):
    """An event this service has applied; stored with the effect, so a redelivery is recognised."""

    event_id = models.UUIDField(primary_key=True)
    event_type = models.CharField(max_length=100)
    topic = models.CharField(max_length=200)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    processed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class RateBucket(models.Model):
    """A token bucket (rate limits, failed-login throttling), updated by one atomic SQL statement.

    Living in the service's own database, a bucket is shared by every worker and
    replica of that service without any extra server.
    """

    key = models.CharField(max_length=255, primary_key=True)
    tokens = models.FloatField()
    allowed = models.BooleanField(default=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.2f}"
