"""gunicorn's gthread worker, answering gunicorn's own errors as problem+json instead of HTML.

gunicorn refuses some requests before Django sees them: a request line longer
than ``limit_request_line`` (414), header fields beyond ``limit_request_fields``
or ``limit_request_field_size`` (431), a malformed request line or header (400).
Its worker writes those answers with ``gunicorn.util.write_error``, an HTML page;
gunicorn offers no hook for the body, so the worker replaces that one function
in its own process with one that writes the same status as problem+json.

It also tells the application how long each request waited for a thread
(``shared.middleware.QUEUE_SECONDS`` in the WSGI environ): the gthread worker accepts
connections in its main loop and queues them for its thread pool, so under
overload requests pile up there, unseen by Django. With the wait known,
:class:`shared.middleware.LoadSheddingMiddleware` answers a request that already
waited too long at once (503), before any view runs, instead of serving it
late and making every request behind it later still.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from gunicorn import glogging, util
from gunicorn.workers.gthread import TConn, ThreadWorker

# Our words for what gunicorn refuses; its own message (``mesg``) can quote the request back.
DETAILS = {
    400: "The request could not be understood.",
    403: "The request was refused.",
    414: "The request line is too long.",
    417: "The expectation in the Expect header cannot be met.",
    431: "The request's header fields are too large or too many.",
    500: "The server failed to handle this request; it has been logged.",
    501: "The request uses a transfer coding the server does not support.",
}


def write_problem(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """What ``gunicorn.util.write_error`` writes, as ``application/problem+json`` (RFC 9457)."""
    from shared.errors import PROBLEM_CONTENT_TYPE, problem_body

    detail = DETAILS.get(status_int) or HTTPStatus(status_int).phrase
    body = json.dumps(problem_body(status_int, detail=detail)).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class ProblemJsonWorker(ThreadWorker):
    def init_process(self) -> None:
        util.write_error = write_problem  # this worker process only; see the module docstring
        # What each pool thread is handling: the wait of its current request, for the environ.
        self.current = threading.local()
        super().init_process()

    def enqueue_req(self, conn: TConn) -> None:
        """Stamps when the request (a new connection, or the next request on a kept-alive one) was queued."""
        conn.queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: TConn) -> Any:
        """Runs in a pool thread: the wait ends now (reading and parsing the request are not waiting)."""
        self.current.queue_seconds = time.monotonic() - getattr(conn, "queued_at", time.monotonic())
        return super().handle(conn)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        from shared.middleware import QUEUE_SECONDS  # once the application (Django) is loaded

        application: Callable[..., Iterable[bytes]] = getattr(self, "wsgi")  # noqa: B009 - set by gunicorn, untyped
        current = self.current

        def with_queue_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            environ[QUEUE_SECONDS] = getattr(current, "queue_seconds", 0.0)
            return application(environ, start_response)

        self.wsgi = with_queue_time


class AccessLogger(glogging.Logger):
    """gunicorn's logger, writing each access line as one JSON object from the handful of fields it has.

    gunicorn's own ``access()`` first builds a dict of every atom of every request, all request and
    response headers included, then %-formats ``access_log_format`` with it: several times the work
    of these seven fields, on every request of every service. JSON-escaped, too, so a quote in a
    request line cannot break the line.
    """

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        from shared.middleware import QUEUE_SECONDS  # loaded with the application, before any request

        request_id = next((value for name, value in resp.headers if name.lower() == "x-request-id"), "-")
        line = {
            "remote": environ.get("REMOTE_ADDR", "-"),
            "request": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "status": resp.status_code,
            "bytes": str(resp.sent),
            "ms": request_time.seconds * 1000 + request_time.microseconds // 1000,
            # Waited for a worker thread before that (not in "ms"): what a shed request waited.
            "queue_ms": round(environ.get(QUEUE_SECONDS, 0.0) * 1000),
            "request_id": request_id,
        }
        self.access_log.info(json.dumps(line, ensure_ascii=False))
