"""One gRPC server bootstrap: health service, server reflection, metrics and request-id interceptors,
the service's servicers.

Server reflection lets ``grpcurl`` list and call every service without the .proto files, e.g.
``grpcurl -plaintext 127.0.0.1:50052 list``.

``GRPC_SERVICERS`` in settings lists dotted paths of ``register(server) -> [service names]``
functions; each adds its servicer and names the services the health check reports. Every domain
service also serves :data:`SHARED_SERVICERS` (the same machinery everywhere, configured once here).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import Any, NoReturn, TypeVar

import grpc
from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from shared import metrics
from shared.ids import parse_uuid
from shared.logs import accept_request_id, request_id_var

logger = logging.getLogger(__name__)

REQUEST_ID_METADATA = "x-request-id"
# Servicers every service's run_grpc adds to its own GRPC_SERVICERS: the saga story's local part.
SHARED_SERVICERS: tuple[str, ...] = ("shared.saga_grpc.register",)
Register = Callable[[grpc.Server], list[str]]
T = TypeVar("T")


def registration(add: Callable[[Any, grpc.Server], None], servicer: Callable[[], Any], service: Any) -> Register:
    """The ``register(server)`` a service's ``GRPC_SERVICERS`` names: ``add`` (the generated
    ``add_XServicer_to_server``) adds a ``servicer()``, and the service's full name (``service`` is its
    descriptor) is what the health service reports as serving."""

    def register(server: grpc.Server) -> list[str]:
        add(servicer(), server)
        return [service.full_name]

    return register


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, detail: str) -> NoReturn:
    context.abort(code, detail)
    raise AssertionError("context.abort returns only by raising")  # pragma: no cover


def requested_ids(context: grpc.ServicerContext, raw_ids: Sequence[str], *, noun: str, most: int) -> list[uuid.UUID]:
    """The ids a call asked for, parsed; the call ends INVALID_ARGUMENT naming the first that is not a UUID
    (``noun`` names what it should be, "a product"), or when there are more than ``most``."""
    if len(raw_ids) > most:
        abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"At most {most} ids per call, not {len(raw_ids)}.")
    parsed: list[uuid.UUID] = []
    for raw in raw_ids:
        value = parse_uuid(raw)
        if value is None:
            abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"{raw!r} is not {noun} id (a UUID).")
        parsed.append(value)
    return parsed


def requested_id(context: grpc.ServicerContext, raw_id: str, *, noun: str) -> uuid.UUID:
    return requested_ids(context, [raw_id], noun=noun, most=1)[0]


def found(context: grpc.ServicerContext, value: T | None, missing: str) -> T:
    """``value``, or the call ended NOT_FOUND with ``missing`` when there is none."""
    if value is None:
        abort(context, grpc.StatusCode.NOT_FOUND, missing)
    return value


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts every unary call by method and status code, and times it (``shop_grpc_server_*``).

    The code is the one the servicer left on the context (``context.abort`` or ``set_code``); a
    call that returned without one is OK, one that raised without one is UNKNOWN, as gRPC answers.
    """

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], handler_call_details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        # Only methods a servicer registered get here (others are UNIMPLEMENTED): a bounded label.
        method = handler_call_details.method
        inner = handler.unary_unary

        def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                response = inner(request, context)
            except Exception:
                _record_handled(method, context, grpc.StatusCode.UNKNOWN, started)
                raise
            _record_handled(method, context, grpc.StatusCode.OK, started)
            return response

        return grpc.unary_unary_rpc_method_handler(
            unary_unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _record_handled(method: str, context: grpc.ServicerContext, default: grpc.StatusCode, started: float) -> None:
    code: grpc.StatusCode | None = context.code()  # type: ignore[attr-defined]  # grpcio has it; the stubs lack it
    metrics.GRPC_SERVER_HANDLED.labels(method, (code or default).name).inc()
    metrics.GRPC_SERVER_SECONDS.labels(method).observe(time.perf_counter() - started)


class RequestContextInterceptor(grpc.ServerInterceptor):
    """Puts the caller's request id in the log context and returns DB connections after each call."""

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Any], handler_call_details: grpc.HandlerCallDetails
    ) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        metadata = dict(handler_call_details.invocation_metadata or ())
        raw_id = metadata.get(REQUEST_ID_METADATA)
        request_id = accept_request_id(raw_id if isinstance(raw_id, str) else None)
        inner = handler.unary_unary

        method = handler_call_details.method
        quiet = method.startswith("/grpc.health.")  # probes would drown the log

        def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
            token = request_id_var.set(request_id)
            close_old_connections()
            started = time.perf_counter()
            failed = True
            try:
                response = inner(request, context)
                failed = False
                return response
            finally:
                close_old_connections()
                if not quiet:
                    code = context.code() or (grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK)  # type: ignore[attr-defined]
                    logger.info("grpc %s %s %.1f ms", method, code.name, (time.perf_counter() - started) * 1000)
                request_id_var.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def create_server(
    *, host: str = "127.0.0.1", port: int = 0, registers: list[Register] | None = None, max_workers: int = 16
) -> tuple[grpc.Server, int, health.HealthServicer]:
    """Builds and binds (not starts) the server; ``port=0`` picks a free port, returned as the second item."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=[MetricsInterceptor(), RequestContextInterceptor()],
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names: list[str] = []
    for register in registers if registers is not None else configured_registers():
        names.extend(register(server))
    bound_port = server.add_insecure_port(f"{host}:{port}")
    if bound_port == 0:
        raise OSError(f"could not bind gRPC to {host}:{port} (port in use?)")
    for name in ["", *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server
    )
    return server, bound_port, health_servicer


def configured_registers() -> list[Register]:
    return [import_string(path) for path in (*SHARED_SERVICERS, *settings.GRPC_SERVICERS)]


def mark_not_serving(health_servicer: health.HealthServicer) -> None:
    """Tells health checkers to stop routing here before the server drains."""
    health_servicer.enter_graceful_shutdown()
