"""Probing the running stack: HTTP readiness and the standard gRPC health check."""

from __future__ import annotations

import time

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc


def http_status(url: str, timeout: float = 5.0) -> int | None:
    try:
        return httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError:
        return None


def grpc_serving(target: str, timeout: float = 3.0) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.RpcError:
            return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def wait_for(check: str, probe: object, timeout: float) -> bool:
    """Polls ``probe()`` (a callable returning truthy when done) until ``timeout``."""
    assert callable(probe), check
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.3)
    return False
