"""gunicorn's gthread worker, answering gunicorn's own errors as problem+json instead of HTML.

gunicorn refuses some requests before Django sees them: a request line longer
than ``limit_request_line`` (414), header fields beyond ``limit_request_fields``
or ``limit_request_field_size`` (431), a malformed request line or header (400).
Its worker writes those answers with ``gunicorn.util.write_error``, an HTML page;
gunicorn offers no hook for the body, so the worker replaces that one function
in its own process with one that writes the same status as problem+json.
"""

from __future__ import annotations

import json
import socket
from http import HTTPStatus

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

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
        super().init_process()
