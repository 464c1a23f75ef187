"""Calling another service over gRPC: one channel per target, a deadline on every call, the request id
in metadata, and UNAVAILABLE retried with backoff by the channel itself (gRPC's retry policy)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from django.conf import settings

from shared.grpc_server import REQUEST_ID_METADATA
from shared.logs import request_id_var

DEFAULT_DEADLINE_SECONDS = 2.0
_RETRY_POLICY = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],  # every method of every service on the channel
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)
_channels: dict[str, grpc.Channel] = {}
_lock = threading.Lock()

Response = TypeVar("Response")


def channel(service: str) -> grpc.Channel:
    """The process's one channel to ``service`` (a name in ``SERVICE_GRPC_TARGETS``), created on first use."""
    target = settings.SERVICE_GRPC_TARGETS[service]
    with _lock:
        if target not in _channels:
            _channels[target] = grpc.insecure_channel(
                target, options=[("grpc.enable_retries", 1), ("grpc.service_config", _RETRY_POLICY)]
            )
        return _channels[target]


def call(method: Callable[..., Response], request: Any, *, deadline: float = DEFAULT_DEADLINE_SECONDS) -> Response:
    """Calls a stub method with a deadline and the current request id; raises ``grpc.RpcError`` on failure."""
    metadata = ((REQUEST_ID_METADATA, request_id_var.get()),) if request_id_var.get() else ()
    return method(request, timeout=deadline, metadata=metadata)


def reset() -> None:
    """Closes every channel (tests that move a target; a forked worker)."""
    with _lock:
        for open_channel in _channels.values():
            open_channel.close()
        _channels.clear()
