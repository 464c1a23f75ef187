"""The one gRPC bootstrap: standard health service, request id from metadata."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.grpc_server import create_server, mark_not_serving


@pytest.fixture
def server():
    grpc_server, port, health = create_server(port=0, registers=[])
    grpc_server.start()
    yield port, health
    grpc_server.stop(0)


def check(port: int, service: str = "") -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_health_service_reports_serving(server):
    port, _ = server
    assert check(port) == health_pb2.HealthCheckResponse.SERVING


def test_unknown_service_is_not_found(server):
    port, _ = server
    with pytest.raises(grpc.RpcError) as error:
        check(port, "shop.nothing.v1.Nothing")
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_shutdown_reports_not_serving_first(server):
    port, health = server
    mark_not_serving(health)
    assert check(port) == health_pb2.HealthCheckResponse.NOT_SERVING


def test_registered_servicers_are_reported_healthy():
    def register(grpc_server):
        return ["shop.example.v1.Example"]

    grpc_server, port, _ = create_server(port=0, registers=[register])
    grpc_server.start()
    try:
        assert check(port, "shop.example.v1.Example") == health_pb2.HealthCheckResponse.SERVING
    finally:
        grpc_server.stop(0)


def test_the_configured_server_also_serves_the_saga_story_of_every_service():
    grpc_server, port, _ = create_server(port=0)
    grpc_server.start()
    try:
        assert check(port, "shop.saga.v1.SagaService") == health_pb2.HealthCheckResponse.SERVING
        assert check(port, "shop.order.v1.OrderService") == health_pb2.HealthCheckResponse.SERVING
    finally:
        grpc_server.stop(0)


def test_server_reflection_lists_every_service_so_grpcurl_needs_no_protos():
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    grpc_server, port, _ = create_server(port=0)
    grpc_server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            (answer,) = stub.ServerReflectionInfo(iter([request]), timeout=5)
            names = {service.name for service in answer.list_services_response.service}
            file_request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="shop.order.v1.OrderService")
            (described,) = stub.ServerReflectionInfo(iter([file_request]), timeout=5)
    finally:
        grpc_server.stop(0)

    assert {
        "shop.order.v1.OrderService",
        "shop.saga.v1.SagaService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    assert described.file_descriptor_response.file_descriptor_proto  # the descriptors grpcurl needs
