"""Logs are JSON lines carrying the service and the request id."""

import json
import logging

from django.test import Client

from shared.logs import accept_request_id


def test_request_id_is_echoed_when_valid_and_replaced_when_not(db):
    client = Client()
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert replaced != "bad id\nwith newline"
    assert len(replaced) == 32
    assert len(client.get("/healthz")["X-Request-ID"]) == 32


def test_accept_request_id_rejects_overlong_ids():
    assert accept_request_id("a" * 129) != "a" * 129
    assert accept_request_id("a" * 128) == "a" * 128


def test_log_lines_are_json_with_request_id(capsys, settings):
    from shared.logs import request_id_var

    handler = next(h for h in logging.getLogger().handlers if type(h.formatter).__name__ == "JsonFormatter")
    token = request_id_var.set("req-77")
    try:
        record = logging.LogRecord("shop.test", logging.INFO, __file__, 1, "order %s placed", ("o-1",), None)
        for log_filter in handler.filters:
            log_filter.filter(record)
        line = handler.format(record)
    finally:
        request_id_var.reset(token)
    data = json.loads(line)
    assert data["message"] == "order o-1 placed"
    assert data["request_id"] == "req-77"
    assert data["service"] == "order"
    assert data["level"] == "INFO"
