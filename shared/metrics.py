"""Prometheus metrics shared by every service: the event backbone (outbox relay and consumers) and gRPC.

Where each process's metrics are read:

- web (gunicorn): ``/metrics`` (:func:`metrics_view`). gunicorn runs several workers, so
  ``PROMETHEUS_MULTIPROC_DIR`` is set for it (``ops/stack.py``): every worker writes its values
  to files there and the view adds them up, whichever worker answers the scrape.
- gRPC server, consumer, relay: one process each, serving its own registry on ``METRICS_PORT``
  (:func:`serve_metrics`).

Labels are bounded: event types, consumer groups, registered gRPC methods, status codes; never ids.

Both answer only clients in ``METRICS_ALLOWED_NETWORKS`` (comma-separated CIDRs, loopback by
default); anyone else gets 403 problem+json. Metrics name internals (routes, event types, backlog
sizes) an outsider has no business reading, and scraping them costs work. The address checked is
the socket's peer, never X-Forwarded-For: Prometheus scrapes each process directly, and a header
is the client's to write.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_wsgi_app,
)
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from shared.env import env_int, env_str
from shared.errors import PROBLEM_CONTENT_TYPE, problem_body, problem_response

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

# Event backbone. The gauges are set only by the relay and consumer processes; in a web process
# (multiprocess mode) "livemax" keeps a worker's unused zero from being listed per pid, and a dead
# worker's value from being kept.
EVENTS_PUBLISHED = Counter("shop_events_published", "Events the broker acknowledged, by type.", ["type"])
EVENTS_PUBLISH_FAILED = Counter(
    "shop_events_publish_failed", "Publish attempts the broker did not acknowledge, by type.", ["type"]
)
OUTBOX_BACKLOG = Gauge("shop_outbox_backlog", "Outbox rows not yet acknowledged by Kafka.", multiprocess_mode="livemax")
OUTBOX_OLDEST_AGE = Gauge(
    "shop_outbox_oldest_pending_seconds",
    "Age of the oldest pending outbox row (0 if none).",
    multiprocess_mode="livemax",
)
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
    "Time to apply one event (inbox row and handler; the commit of a batch of events is shared, not in it).",
    ["type", "group"],
    buckets=LATENCY_BUCKETS,
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
    multiprocess_mode="livemax",
)

# Revoked access tokens (shared.revocations), in every process that verifies tokens.
TOKENS_REFUSED_REVOKED = Counter(
    "shop_access_tokens_refused_revoked", "Access tokens refused because they were revoked (logout, password, ...)."
)
TOKEN_REVOCATION_READS_FAILED = Counter(
    "shop_token_revocation_reads_failed",
    "Reads of new token revocations that failed on the database (the last known ones stayed in force).",
)

# gRPC, recorded by the interceptors of shared.grpc_server and shared.grpc_client. ``method`` is the
# full name, e.g. /shop.product.v1.ProductService/GetProducts; ``code`` the status, e.g. OK, NOT_FOUND.
GRPC_SERVER_HANDLED = Counter(
    "shop_grpc_server_handled", "gRPC calls this server answered, by method and status code.", ["method", "code"]
)
GRPC_SERVER_SECONDS = Histogram(
    "shop_grpc_server_handling_seconds", "Time to answer one gRPC call, by method.", ["method"], buckets=LATENCY_BUCKETS
)
GRPC_CLIENT_HANDLED = Counter(
    "shop_grpc_client_handled",
    "gRPC calls this process made, by method and status code (the deadline and retries included).",
    ["method", "code"],
)
GRPC_CLIENT_SECONDS = Histogram(
    "shop_grpc_client_handling_seconds",
    "Time from making a gRPC call to its answer or failure, by method.",
    ["method"],
    buckets=LATENCY_BUCKETS,
)

_scrape_collectors: list[Collector] = []


def collect_at_scrape(collector: Collector) -> None:
    """Adds ``collector`` to what the web process's ``/metrics`` computes each time it is scraped.

    For values read from the database (a count per scrape). They are not registered with the
    default registry, so the gRPC, consumer and relay processes do not report them a second time,
    and in multiprocess mode exactly the one worker answering the scrape computes them.
    """
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORBIDDEN_DETAIL = "Metrics are served only to the networks in METRICS_ALLOWED_NETWORKS."


def metrics_allowed_networks() -> list[Network]:
    """``METRICS_ALLOWED_NETWORKS`` parsed; raises ValueError for an entry that is not a CIDR or address."""
    return [ipaddress.ip_network(entry, strict=False) for entry in settings.METRICS_ALLOWED_NETWORKS]


def metrics_client_allowed(*, address: str) -> bool:
    """Whether a scrape from ``address`` (the socket's peer) is answered; an unparseable one is not."""
    try:
        client = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    return any(client in network for network in metrics_allowed_networks())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``/metrics`` of a web process: all its workers' metrics, then the scrape-time collectors."""
    if not metrics_client_allowed(address=str(request.META.get("REMOTE_ADDR", ""))):
        return problem_response(403, detail=FORBIDDEN_DETAIL)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    for collector in _scrape_collectors:
        registry.register(collector)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def serve_metrics() -> int | None:
    """Serves this process's metrics on ``METRICS_PORT`` (unset or 0: not served); returns the port."""
    port = env_int("METRICS_PORT", 0)
    if not port:
        return None
    server = metrics_server(host=env_str("METRICS_HOST", "127.0.0.1"), port=port)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("metrics on :%s/metrics", server.server_port)
    return int(server.server_port)


def metrics_server(*, host: str, port: int) -> WSGIServer:
    """prometheus_client's metrics server (not started), with the allowed networks checked in front of it."""
    return make_server(
        host, port, only_allowed_networks(make_wsgi_app(REGISTRY)), ThreadingWSGIServer, handler_class=_SilentHandler
    )


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def only_allowed_networks(app: WSGIApp) -> WSGIApp:
    """``app`` for clients in ``METRICS_ALLOWED_NETWORKS``; 403 problem+json for anyone else."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if metrics_client_allowed(address=str(environ.get("REMOTE_ADDR", ""))):
            return app(environ, start_response)
        body = json.dumps(problem_body(403, detail=FORBIDDEN_DETAIL)).encode()
        start_response("403 Forbidden", [("Content-Type", PROBLEM_CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    return guarded
