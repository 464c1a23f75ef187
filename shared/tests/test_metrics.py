"""Metrics of gRPC calls (server and client interceptors), series created at zero, and the web /metrics view."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from unittest import mock

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from shared import grpc_client, metrics
from shared.consumer import EventConsumer
from shared.event_types import EVENT_TYPES
from shared.grpc_server import create_server
from shared.loops import StopSignal
from shared.relay import initialise_metrics

CHECK = "/grpc.health.v1.Health/Check"
TEST_SERVICE = "shop.test.v1.Probe"
FAIL = f"/{TEST_SERVICE}/Fail"
CRASH = f"/{TEST_SERVICE}/Crash"


def sample(name: str, **labels: str) -> float:
    """The current value of one series, 0 when it does not exist yet (counters are process-wide)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def server_handled(method: str, code: str) -> float:
    return sample("shop_grpc_server_handled_total", method=method, code=code)


def client_handled(method: str, code: str) -> float:
    return sample("shop_grpc_client_handled_total", method=method, code=code)


def register_probe(server: grpc.Server) -> list[str]:
    """A servicer of raw bytes: Fail aborts with INVALID_ARGUMENT, Crash raises."""

    def fail(request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no")

    def crash(request: bytes, context: grpc.ServicerContext) -> bytes:
        raise RuntimeError("servicer bug")

    handlers = {
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Crash": grpc.unary_unary_rpc_method_handler(crash),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(TEST_SERVICE, handlers),))
    return [TEST_SERVICE]


@pytest.fixture
def port() -> Iterator[int]:
    server, bound, _ = create_server(port=0, registers=[register_probe])
    server.start()
    yield bound
    server.stop(0).wait()


def check(port: int, service: str = "") -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)


def invoke(port: int, method: str) -> grpc.StatusCode:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            channel.unary_unary(method)(b"", timeout=5)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            return error.code()
    return grpc.StatusCode.OK


# Server


def test_server_counts_a_successful_call_as_ok_by_method(port):
    before = server_handled(CHECK, "OK")

    check(port)

    assert server_handled(CHECK, "OK") == before + 1


def test_server_counts_the_code_a_servicer_set(port):
    before_ok, before_not_found = server_handled(CHECK, "OK"), server_handled(CHECK, "NOT_FOUND")

    with pytest.raises(grpc.RpcError):
        check(port, "shop.nothing.v1.Nothing")  # the health servicer answers NOT_FOUND with set_code

    assert server_handled(CHECK, "NOT_FOUND") == before_not_found + 1
    assert server_handled(CHECK, "OK") == before_ok


def test_server_counts_an_abort_by_its_code(port):
    before = server_handled(FAIL, "INVALID_ARGUMENT")

    assert invoke(port, FAIL) == grpc.StatusCode.INVALID_ARGUMENT

    assert server_handled(FAIL, "INVALID_ARGUMENT") == before + 1
    assert server_handled(FAIL, "OK") == 0


def test_server_counts_an_unhandled_exception_as_unknown(port):
    before = server_handled(CRASH, "UNKNOWN")

    assert invoke(port, CRASH) == grpc.StatusCode.UNKNOWN

    assert server_handled(CRASH, "UNKNOWN") == before + 1


def test_server_times_every_call_by_method(port):
    before = sample("shop_grpc_server_handling_seconds_count", method=FAIL)

    invoke(port, FAIL)
    invoke(port, FAIL)

    assert sample("shop_grpc_server_handling_seconds_count", method=FAIL) == before + 2


def test_server_does_not_count_methods_nobody_registered(port):
    assert invoke(port, f"/{TEST_SERVICE}/Missing") == grpc.StatusCode.UNIMPLEMENTED

    assert (
        REGISTRY.get_sample_value(
            "shop_grpc_server_handled_total", {"method": f"/{TEST_SERVICE}/Missing", "code": "UNIMPLEMENTED"}
        )
        is None
    )


# Client


@pytest.fixture
def health_stub(settings, port) -> Iterator[health_pb2_grpc.HealthStub]:
    """A stub on the process's channel (shared.grpc_client.channel) to the test server."""
    settings.SERVICE_GRPC_TARGETS = {**settings.SERVICE_GRPC_TARGETS, "probe": f"127.0.0.1:{port}"}
    grpc_client.reset()
    yield health_pb2_grpc.HealthStub(grpc_client.channel("probe"))
    grpc_client.reset()


def test_client_counts_a_successful_call_as_ok(health_stub):
    before = client_handled(CHECK, "OK")
    timed = sample("shop_grpc_client_handling_seconds_count", method=CHECK)

    answer = grpc_client.call(health_stub.Check, health_pb2.HealthCheckRequest())

    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert client_handled(CHECK, "OK") == before + 1
    assert sample("shop_grpc_client_handling_seconds_count", method=CHECK) == timed + 1


def test_client_counts_a_failed_call_by_its_code_and_still_raises_it(health_stub):
    before_ok, before_not_found = client_handled(CHECK, "OK"), client_handled(CHECK, "NOT_FOUND")

    with pytest.raises(grpc.RpcError) as error:
        grpc_client.call(health_stub.Check, health_pb2.HealthCheckRequest(service="shop.nothing.v1.Nothing"))

    assert isinstance(error.value, grpc.Call)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert client_handled(CHECK, "NOT_FOUND") == before_not_found + 1
    assert client_handled(CHECK, "OK") == before_ok


# Series that exist at zero from the start


def test_consumer_creates_the_series_of_every_handled_type_at_zero():
    consumer = EventConsumer([], StopSignal(), consumer=mock.Mock(), dead_letters=mock.Mock())
    consumer.group = "metrics-zero-test"

    consumer._initialise_metrics()

    group = {"type": "system.ping", "group": "metrics-zero-test"}
    assert REGISTRY.get_sample_value("shop_events_consumed_total", group | {"outcome": "applied"}) == 0
    assert REGISTRY.get_sample_value("shop_events_consumed_total", group | {"outcome": "duplicate"}) == 0
    assert REGISTRY.get_sample_value("shop_events_retried_total", group) == 0
    for kind in ("invalid", "handler_failed"):
        assert REGISTRY.get_sample_value("shop_events_dead_lettered_total", group | {"kind": kind}) == 0
    assert REGISTRY.get_sample_value("shop_event_handler_seconds_count", group) == 0


def test_consumer_creates_no_series_for_types_it_does_not_handle():
    consumer = EventConsumer([], StopSignal(), consumer=mock.Mock(), dead_letters=mock.Mock())
    consumer.group = "metrics-zero-test-unhandled"

    consumer._initialise_metrics()

    labels = {"type": "product.created", "group": "metrics-zero-test-unhandled", "outcome": "applied"}
    assert REGISTRY.get_sample_value("shop_events_consumed_total", labels) is None


def test_relay_creates_the_series_of_every_registered_type():
    initialise_metrics()

    for event in EVENT_TYPES:
        assert REGISTRY.get_sample_value("shop_events_published_total", {"type": event.name}) is not None
        assert REGISTRY.get_sample_value("shop_events_publish_failed_total", {"type": event.name}) is not None


# The web process's /metrics


class StaticCollector:
    def __init__(self) -> None:
        self.scrapes = 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        self.scrapes += 1
        yield GaugeMetricFamily("shop_test_scraped", "A value computed at scrape time.", value=7)


def test_metrics_view_serves_the_process_metrics_and_the_scrape_time_collectors(client, monkeypatch):
    collector = StaticCollector()
    monkeypatch.setattr(metrics, "_scrape_collectors", [])
    metrics.collect_at_scrape(collector)
    metrics.collect_at_scrape(collector)  # registering twice changes nothing

    body = client.get("/metrics").content.decode()

    assert "shop_test_scraped 7.0" in body
    assert "# TYPE shop_grpc_server_handled_total counter" in body
    assert "django_http_requests_total_by_method_total" in body
    assert collector.scrapes == 1


# Who may read metrics (METRICS_ALLOWED_NETWORKS, loopback by default)


def test_metrics_view_refuses_a_client_outside_the_allowed_networks_with_403_problem_json(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "METRICS_ALLOWED_NETWORKS" in response.json()["detail"]
    assert b"shop_" not in response.content


@pytest.mark.django_db
def test_metrics_view_serves_a_client_in_a_configured_network(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_metrics_are_served_to_loopback_by_default(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


@pytest.fixture
def metrics_url() -> Iterator[str]:
    server = metrics.metrics_server(host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()
    thread.join(timeout=5)


def test_the_metrics_server_of_grpc_consumer_and_relay_serves_loopback(metrics_url):
    answer = httpx.get(metrics_url, timeout=5)

    assert answer.status_code == 200
    assert "shop_grpc_server_handled" in answer.text


def test_the_metrics_server_refuses_a_client_outside_the_allowed_networks(metrics_url, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    answer = httpx.get(metrics_url, timeout=5)

    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 403
