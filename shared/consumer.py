"""The one consumer loop: poll, apply each event once in effect, then commit the offset.

The handler's changes and the inbox row (:class:`~shared.models.ProcessedEvent`)
commit in one database transaction; the Kafka offset is committed only after
that, so a crash between the two redelivers an event the inbox recognises.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from confluent_kafka import Consumer, KafkaError, Message
from django.db import close_old_connections, transaction

from shared.events import Envelope, InvalidEnvelope, handler_for
from shared.kafka import make_consumer, topic_name
from shared.logs import request_id_var
from shared.loops import StopSignal
from shared.models import ProcessedEvent

logger = logging.getLogger(__name__)


class EventConsumer:
    def __init__(self, topics: Sequence[str], stop: StopSignal, consumer: Consumer | None = None) -> None:
        self.topics = [topic_name(topic) for topic in topics]
        self.stop = stop
        self.consumer = consumer or make_consumer()

    def run(self) -> None:
        if not self.topics:
            logger.info("no subscriptions configured; idling until stopped")
            while not self.stop.wait(3600):
                pass
            return
        self.consumer.subscribe(self.topics)
        logger.info("consuming %s", ", ".join(self.topics))
        try:
            while not self.stop.is_set():
                message = self.consumer.poll(0.5)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    self._on_error(error)
                    continue
                self.handle(message)
                self.consumer.commit(message=message, asynchronous=False)
        finally:
            # Leaves the group at once, so partitions move to other members without waiting for a timeout.
            self.consumer.close()
            logger.info("consumer closed")

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            raise RuntimeError(f"fatal Kafka error: {error}")
        logger.warning("Kafka: %s", error)

    def handle(self, message: Message) -> None:
        close_old_connections()
        try:
            envelope = Envelope.from_json(message.value())
        except InvalidEnvelope as exc:
            # Dead-lettering arrives with the event backbone; until then the message is logged and skipped.
            logger.error("skipping %s[%s]@%s: %s", message.topic(), message.partition(), message.offset(), exc)
            return
        token = request_id_var.set(envelope.request_id)
        try:
            handler = handler_for(envelope.type)
            if handler is None:
                logger.info("no handler for %s; skipped", envelope.type)
                return
            with transaction.atomic():
                if ProcessedEvent.objects.filter(event_id=envelope.id).exists():
                    logger.info("%s %s already applied; skipped", envelope.type, envelope.id)
                    return
                handler(envelope)
                ProcessedEvent.objects.create(
                    event_id=envelope.id,
                    event_type=envelope.type,
                    topic=message.topic() or "",
                    partition=message.partition() or 0,
                    offset=message.offset() or 0,
                )
            logger.info("applied %s %s", envelope.type, envelope.id)
        finally:
            request_id_var.reset(token)
