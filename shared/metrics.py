"""Prometheus metrics of the event backbone (outbox relay and consumers).

gunicorn serves each service's ``/metrics``; the relay and consumer processes
serve theirs on ``METRICS_PORT`` when it is set (:func:`serve_metrics`).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from shared.env import env_int, env_str

logger = logging.getLogger(__name__)

EVENTS_PUBLISHED = Counter("shop_events_published", "Events the broker acknowledged, by type.", ["type"])
EVENTS_PUBLISH_FAILED = Counter(
    "shop_events_publish_failed", "Publish attempts the broker did not acknowledge, by type.", ["type"]
)
OUTBOX_BACKLOG = Gauge("shop_outbox_backlog", "Outbox rows not yet acknowledged by Kafka.")
OUTBOX_OLDEST_AGE = Gauge("shop_outbox_oldest_pending_seconds", "Age of the oldest pending outbox row (0 if none).")
EVENTS_CONSUMED = Counter(
    "shop_events_consumed",
    "Events handled, by type, group and outcome (applied|duplicate).",
    ["type", "group", "outcome"],
)
EVENTS_SKIPPED = Counter("shop_events_skipped", "Events of a type this group has no handler for.", ["type", "group"])
EVENTS_RETRIED = Counter("shop_events_retried", "Handler attempts that failed and were retried.", ["type", "group"])
EVENTS_DEAD_LETTERED = Counter(
    "shop_events_dead_lettered",
    "Events sent to the dead-letter topic, by kind (invalid|handler_failed).",
    ["type", "group", "kind"],
)
HANDLER_SECONDS = Histogram(
    "shop_event_handler_seconds",
    "Time to apply one event (handler and inbox commit).",
    ["type", "group"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENT_DELIVERY_SECONDS = Histogram(
    "shop_event_delivery_seconds",
    "From occurred_at to applied, by type and group.",
    ["type", "group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
CONSUMER_LAG = Gauge(
    "shop_consumer_lag",
    "Messages behind the partition's end, by group, topic and partition.",
    ["group", "topic", "partition"],
)


def serve_metrics() -> int | None:
    """Serves this process's metrics on ``METRICS_PORT`` (unset or 0: not served); returns the port."""
    port = env_int("METRICS_PORT", 0)
    if not port:
        return None
    start_http_server(port, addr=env_str("METRICS_HOST", "127.0.0.1"))
    logger.info("metrics on :%s/metrics", port)
    return port
