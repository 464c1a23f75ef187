"""Calling another service over gRPC: one channel per target, a deadline on every call, the request id
in metadata, UNAVAILABLE retried with backoff by the channel itself (gRPC's retry policy), and every
call counted and timed by method and status code (``shop_grpc_client_*``, by the channel's interceptor).

A call waits for the channel to be ready (``wait_for_ready``) until its deadline, and the channel
tries to reconnect every 100 ms to 1 s (gRPC's default starts at 1 s and grows to 120 s): a server
that was killed and restarts within the deadline costs its callers a slower answer, not an error.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from django.conf import settings

from shared import metrics
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
_CHANNEL_OPTIONS = [
    ("grpc.enable_retries", 1),
    ("grpc.service_config", _RETRY_POLICY),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]
_channels: dict[str, grpc.Channel] = {}
_lock = threading.Lock()

Response = TypeVar("Response")


class MetricsInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Counts each call by method and status code once it completes, and times it (retries included)."""

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        method = client_call_details.method
        name = method.decode() if isinstance(method, bytes) else str(method)
        started = time.perf_counter()
        outcome = continuation(client_call_details, request)

        def record(done: grpc.Future) -> None:
            metrics.GRPC_CLIENT_HANDLED.labels(name, _status(done).name).inc()
            metrics.GRPC_CLIENT_SECONDS.labels(name).observe(time.perf_counter() - started)

        # A blocking call's outcome is already complete: the callback runs at once.
        outcome.add_done_callback(record)
        return outcome


def _status(done: grpc.Future) -> grpc.StatusCode:
    """The call's status: the error's own code (the outcome of a failed call reports INTERNAL itself)."""
    if done.cancelled():
        return grpc.StatusCode.CANCELLED
    error = done.exception()
    if error is None:
        return grpc.StatusCode.OK
    return error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN


def channel(service: str) -> grpc.Channel:
    """The process's one channel to ``service`` (a name in ``SERVICE_GRPC_TARGETS``), created on first use."""
    target = settings.SERVICE_GRPC_TARGETS[service]
    with _lock:
        if target not in _channels:
            _channels[target] = grpc.intercept_channel(
                grpc.insecure_channel(target, options=_CHANNEL_OPTIONS),
                MetricsInterceptor(),
            )
        return _channels[target]


def call(method: Callable[..., Response], request: Any, *, deadline: float = DEFAULT_DEADLINE_SECONDS) -> Response:
    """Calls a stub method with a deadline and the current request id; raises ``grpc.RpcError`` on failure.

    Made on a stub of :func:`channel`, the call is counted in ``shop_grpc_client_handled_total``.
    """
    metadata = ((REQUEST_ID_METADATA, request_id_var.get()),) if request_id_var.get() else ()
    return method(request, timeout=deadline, metadata=metadata, wait_for_ready=True)


def reset() -> None:
    """Closes every channel (tests that move a target; a forked worker)."""
    with _lock:
        for open_channel in _channels.values():
            open_channel.close()
        _channels.clear()
