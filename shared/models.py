"""The transactional outbox and the consumer inbox, one pair of tables in every service's database;
and the link from a local admin user to the user_svc staff member it stands for (:mod:`shared.admin_auth`)."""

from __future__ import annotations

from django.conf import settings
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
        verbose_name = "outbox event"
        verbose_name_plural = "outbox"
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
    # The aggregate the event is about (the message key, e.g. an order id): lets an operator see
    # where one order's events were applied (``manage_all.py saga``).
    key = models.CharField(max_length=200, blank=True, default="", db_index=True)
    topic = models.CharField(max_length=200)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    processed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "inbox event"
        verbose_name_plural = "inbox"

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class DeadLetter(models.Model):
    """A message this service's consumer gave up on, as copied to ``<group>.dlq``, and whether it was replayed.

    The copy in Kafka is for tools outside the service; this row is what ``dlq list|replay``, the
    admin and ``saga`` read. Written by the consumer once the dead-letter topic acknowledged the copy.
    """

    group = models.CharField(max_length=200)
    # Where the copy sits in the dead-letter topic.
    dlq_topic = models.CharField(max_length=200)
    dlq_partition = models.IntegerField()
    dlq_offset = models.BigIntegerField()
    # Where the message came from.
    original_topic = models.CharField(max_length=200)
    original_partition = models.IntegerField()
    original_offset = models.BigIntegerField()
    # Null when the message was not even an envelope.
    event_id = models.UUIDField(null=True, blank=True, db_index=True)
    event_type = models.CharField(max_length=100, blank=True, default="")
    key = models.CharField(max_length=200, blank=True, default="", db_index=True)
    kind = models.CharField(max_length=20)  # "invalid" or "handler_failed" (shared.consumer.DEAD_LETTER_KINDS)
    reason = models.TextField()
    attempts = models.PositiveIntegerField()
    value = models.TextField(help_text="The message as received (UTF-8; undecodable bytes replaced).")
    dead_lettered_at = models.DateTimeField()
    replayed_at = models.DateTimeField(null=True, blank=True)
    replay_outcome = models.CharField(max_length=20, blank=True, default="")  # applied | duplicate | skipped

    class Meta:
        ordering = ["dead_lettered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dlq_topic", "dlq_partition", "dlq_offset"], name="dead_letter_once_per_position"
            )
        ]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(replayed_at__isnull=True), name="dead_letter_pending_idx")
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'invalid message'} from {self.original_topic}@{self.original_offset}"


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


class KnownSignInClient(models.Model):
    """An account signed in successfully from this client address (both hashed into ``key``), and when last.

    The failed sign-in throttle (:mod:`shared.ratelimit`) spares such an address the per-account
    delays: however many addresses guess at an account, its owner still signs in from their own.
    """

    key = models.CharField(max_length=100, primary_key=True)
    last_success = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key} at {self.last_success:%Y-%m-%d %H:%M}"


class StaffAccount(models.Model):
    """The local Django user a user_svc staff member signs into this service's admin as.

    Made and kept up to date by :mod:`shared.admin_auth` at each sign-in; ``checked_at`` is when
    user_svc last confirmed the account is active and staff, which decides when an open session
    is checked again (``ADMIN_STAFF_RECHECK_SECONDS``).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_account")
    remote_id = models.UUIDField(unique=True, help_text="The user's id in user_svc.")
    email = models.EmailField(max_length=254)
    checked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.email} ({self.remote_id})"


class AccessTokenRevocation(models.Model):
    """The access tokens of a user (or of one of their sessions) issued up to ``not_before`` are refused.

    user_svc writes a row in the transaction that revokes (and publishes ``user.tokens_revoked``);
    every other service writes its copy when it consumes that event. Each process that verifies
    tokens keeps the live rows in memory (:mod:`shared.revocations`), reading new ones by ``id``.
    Once ``expires_at`` has passed every token the row refuses has expired too, so it is pruned.
    """

    user_id = models.UUIDField()
    # The refresh-token family (the ``family`` claim) of the one session revoked; null: every session.
    session_id = models.UUIDField(null=True, blank=True)
    not_before = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "access token revocation"

    def __str__(self) -> str:
        which = f"session {self.session_id}" if self.session_id else "every session"
        return f"user {self.user_id}, {which}: tokens up to {self.not_before.isoformat()}"
