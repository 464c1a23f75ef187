"""The whole stack as real processes: readiness, forwarding, events across services, gRPC health, supervision,
and the OpenAPI documents each service and the gateway serve."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import grpc
import httpx
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from openapi_spec_validator import validate as validate_openapi
from prometheus_client.parser import text_string_to_metric_families

from protos.product.v1 import product_pb2, product_pb2_grpc
from shared.testing import wait_until
from shared.topology import ALL_SERVICES, DOMAIN_SERVICES
from tests.shop import metric_value

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("service", [spec.name for spec in ALL_SERVICES])
def test_every_service_is_ready_on_its_own_port(stack, service):
    response = httpx.get(stack.url(service, "/readyz"), timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_gateway_readyz_reports_every_upstream_ready(stack):
    response = httpx.get(stack.url("gateway", "/readyz"), timeout=10)
    assert response.status_code == 200
    assert response.json()["checks"] == {spec.name: "ok" for spec in DOMAIN_SERVICES}


def test_gateway_forwards_to_the_product_service_with_the_request_id(stack):
    request_id = f"e2e-{uuid.uuid4().hex}"
    response = httpx.get(stack.url("gateway", "/api/v1/categories"), headers={"X-Request-ID": request_id}, timeout=10)
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == request_id
    results = response.json()["results"]
    assert {"books", "electronics", "home-kitchen", "outdoors", "toys"} <= {item["slug"] for item in results}
    assert [item["name"] for item in results] == sorted(item["name"] for item in results)
    # The product service logged the same request id: one id follows the request across processes.
    wait_until(lambda: request_id in stack.log("product-web"), timeout=10, what="the id in product-web's log")


@pytest.mark.parametrize("service", [spec.name for spec in ALL_SERVICES])
def test_every_services_openapi_schema_validates_without_warnings(stack, service, tmp_path):
    schema = tmp_path / f"{service}.yaml"
    stack.manage(service, "spectacular", "--validate", "--fail-on-warn", "--file", str(schema))  # raises on exit != 0
    assert schema.read_text().startswith("openapi: 3")


def test_the_gateways_merged_openapi_document_is_valid(stack):
    answer = httpx.get(stack.url("gateway", "/api/schema"), params={"format": "json"}, timeout=30)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    validate_openapi(document)  # raises OpenAPIValidationError, naming the first fault
    prefixes = {path.split("/")[3] for path in document["paths"] if path.startswith("/api/v1/")}
    assert {"auth", "products", "orders", "inventory", "payments"} <= prefixes, sorted(prefixes)


def test_gateway_answers_problem_json_for_unknown_paths(stack):
    response = httpx.get(stack.url("gateway", "/api/v1/nothing-here"), timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("service", [spec.name for spec in DOMAIN_SERVICES])
def test_grpc_health_check_of_every_server(stack, service):
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports.grpc[service]}") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_event_travels_from_the_user_service_to_the_order_consumer(stack):
    """user_svc writes an event to its outbox; its relay publishes it; order_svc's consumer applies it."""
    event_id = stack.manage("user", "event_ping", "--topic", "users").strip()

    def applied_in_order_db() -> bool:
        with psycopg.connect(stack.database_url("order")) as conn:
            row = conn.execute("SELECT event_type FROM shared_processedevent WHERE event_id = %s", [event_id])
            return row.fetchone() == ("system.ping",)

    wait_until(applied_in_order_db, timeout=60, interval=0.2, what="order_svc to apply the ping")
    with psycopg.connect(stack.database_url("user")) as conn:
        sent_at = conn.execute("SELECT sent_at FROM shared_outboxevent WHERE event_id = %s", [event_id]).fetchone()
    assert sent_at is not None and sent_at[0] is not None
    # The user service subscribes to nothing (every other service reads `users`, for revoked tokens).
    with psycopg.connect(stack.database_url("user")) as conn:
        seen = conn.execute("SELECT count(*) FROM shared_processedevent WHERE event_id = %s", [event_id]).fetchone()
    assert seen == (0,)


def test_supervisor_restarts_a_process_that_dies(stack, provoked):
    old_pid = stack.pid("inventory-relay")
    assert old_pid
    provoked.restart("inventory-relay")
    os.kill(old_pid, signal.SIGKILL)
    new_pid = wait_until(
        lambda: (pid := stack.pid("inventory-relay")) != old_pid and pid, timeout=30, what="a new inventory-relay"
    )
    assert new_pid != old_pid
    wait_until(
        lambda: stack.log("inventory-relay").count("relaying the outbox") >= 2, timeout=30, what="the relay's restart"
    )


def test_products_created_in_the_catalog_get_stock_rows_through_kafka(stack):
    """The demo seed creates products in product_svc; inventory_svc's consumer creates their stock rows."""
    with psycopg.connect(stack.database_url("product")) as conn:
        product_ids = {row[0] for row in conn.execute("SELECT id FROM catalog_product")}
    assert len(product_ids) >= 50  # the 50 demo products, and any an earlier test created

    def stock_rows() -> set:
        with psycopg.connect(stack.database_url("inventory")) as conn:
            return {row[0] for row in conn.execute("SELECT product_id FROM inventory_stockitem")}

    wait_until(lambda: stock_rows() == product_ids, timeout=60, interval=0.2, what="a stock row per product")
    with psycopg.connect(stack.database_url("inventory")) as conn:
        rows = conn.execute("SELECT on_hand, reserved FROM inventory_stockitem").fetchall()
    assert len(rows) == len(product_ids)
    assert all(on_hand >= reserved >= 0 for on_hand, reserved in rows)


@pytest.mark.parametrize("kind", ["consumer", "relay"])
def test_consumer_and_relay_processes_serve_their_metrics(stack, kind):
    port = stack.ports.metrics[f"order-{kind}"]
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    expected = "shop_events_consumed_total" if kind == "consumer" else "shop_outbox_backlog"
    assert expected in body


def test_web_metrics_add_up_every_gunicorn_worker(stack):
    """Both workers write their metrics to the stack's folder; /metrics, whichever worker answers, sums them."""
    metrics_url = stack.url("product", "/metrics")
    requests = "django_http_requests_total_by_method_total"
    before = metric_value(httpx.get(metrics_url, timeout=10).text, requests, method="GET")

    for _ in range(20):
        assert httpx.get(stack.url("product", "/healthz"), timeout=10).status_code == 200

    after = metric_value(httpx.get(metrics_url, timeout=10).text, requests, method="GET")
    assert after - before >= 20
    web = next(process for process in stack.processes if process.name == "product-web")
    folder = Path(web.env["PROMETHEUS_MULTIPROC_DIR"])
    assert folder.is_relative_to(stack.state_file.parent)  # the stack's own, not a running `make up`'s
    workers = {path.stem.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}
    assert len(workers) >= 2


def test_the_grpc_process_serves_its_call_metrics(stack):
    target = f"127.0.0.1:{stack.ports.grpc['product']}"
    with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as error:
        product_pb2_grpc.ProductServiceStub(channel).GetProduct(
            product_pb2.GetProductRequest(id=str(uuid.uuid4())), timeout=5
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    port = stack.ports.metrics["product-grpc"]
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    method = "/shop.product.v1.ProductService/GetProduct"
    assert metric_value(body, "shop_grpc_server_handled_total", method=method, code="NOT_FOUND") >= 1
    assert metric_value(body, "shop_grpc_server_handling_seconds_count", method=method) >= 1
    # The stack's readiness checks went through the health service.
    assert metric_value(body, "shop_grpc_server_handled_total", method="/grpc.health.v1.Health/Check", code="OK") >= 1


def test_web_metrics_show_the_business_series_from_the_start(stack):
    orders = httpx.get(stack.url("order", "/metrics"), timeout=10).text
    events = {
        sample.labels["event"]
        for family in text_string_to_metric_families(orders)
        for sample in family.samples
        if sample.name == "shop_orders_total"
    }
    assert events == {"placed", "confirmed", "rejected", "cancelled", "shipped", "delivered", "refunded", "expired"}
    inventory = httpx.get(stack.url("inventory", "/metrics"), timeout=10).text
    assert "# TYPE shop_low_stock_items gauge" in inventory
    assert "shop_reservations_failed_total" in inventory
