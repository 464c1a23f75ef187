"""The relay and the consumer wait out outages instead of exiting (real Postgres, real Kafka)."""

import threading
import uuid
from unittest import mock

import psycopg
import pytest
from confluent_kafka import KafkaError, KafkaException
from django.db import connection, transaction

from shared import consumer
from shared.events import Envelope, publish
from shared.loops import StopSignal
from shared.models import OutboxEvent, ProcessedEvent
from shared.relay import OutboxRelay
from shared.testing import FailingFirst, wait_until
from shared.tests.conftest import database_url
from shared.tests.effects import released
from shared.tests.test_backbone import produce_raw, running_consumer


def sent(envelope: Envelope) -> bool:
    return OutboxEvent.objects.filter(event_id=envelope.id, sent_at__isnull=False).exists()


def publish_ping(key: str) -> Envelope:
    envelope = Envelope(type="system.ping", key=key, payload={})
    with transaction.atomic():
        publish(envelope, topic="users")
    return envelope


@pytest.mark.django_db(transaction=True)
def test_relay_survives_its_database_connections_being_dropped_and_relays_what_comes_after():
    stop = StopSignal()
    relay = OutboxRelay(stop, flush_timeout=5.0)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        before = publish_ping("before")
        wait_until(lambda: sent(before), timeout=30, what="the first event relayed")

        # What a Postgres restart does to the relay: every connection of the database is cut.
        with psycopg.connect(database_url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [connection.settings_dict["NAME"]],
            )
        connection.close()  # this test's own connection was cut too

        after = publish_ping("after")
        wait_until(lambda: sent(after), timeout=30, what="an event written after the outage relayed")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_consumer_started_while_kafka_is_unreachable_waits_for_it_and_then_consumes(isolated_topics):
    ensure_after_the_outage = FailingFirst(
        consumer.ensure_topics, [KafkaException(KafkaError(KafkaError._TRANSPORT, "Broker transport failure"))] * 2
    )
    event = released(str(uuid.uuid4()))
    produce_raw("inventory", event.to_json())
    with (
        mock.patch.object(consumer, "ensure_topics", ensure_after_the_outage),
        running_consumer(["inventory"]),
    ):
        wait_until(lambda: ProcessedEvent.objects.filter(event_id=event.id).exists(), timeout=30, what="the event")
    assert ensure_after_the_outage.calls == 3  # two refused while Kafka was away, then the one that worked
