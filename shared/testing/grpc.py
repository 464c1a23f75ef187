"""A real gRPC server of this service on a free port, for its tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest
from django.db import connection

from shared.grpc_server import Register, create_server


@contextmanager
def serving(register: Register, monkeypatch: pytest.MonkeyPatch) -> Iterator[grpc.Channel]:
    """Starts a server with ``register``'s servicer and yields a channel to it.

    The server's worker threads use connections of their own, so the test must commit
    its data (``django_db(transaction=True)``); they close them after each call, so none
    outlives the test database.
    """
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    server, port, _ = create_server(port=0, registers=[register])
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        server.stop(0).wait()
