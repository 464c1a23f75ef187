"""Bodies the gateway refuses before forwarding: too big (413), not JSON (415), broken JSON (400)."""

import pytest

from gateway.tests.tokens import bearer
from shared.testing.tokens import access_token

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def nothing_forwarded(upstreams) -> bool:
    return all(not upstream.requests for upstream in upstreams.values())


def test_body_over_the_default_limit_is_413(client, upstreams):
    body = b'{"name": "' + b"x" * MIB + b'"}'
    response = client.post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == f"The request body is larger than {MIB} bytes."
    assert nothing_forwarded(upstreams)


def test_body_at_the_limit_is_forwarded(client, upstreams, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 20
    body = b'{"a": "' + b"x" * 11 + b'"}'
    assert len(body) == 20
    response = client.post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == 200
    assert upstreams["user"].requests[0]["body"] == body


def test_declared_content_length_over_the_limit_is_413_before_reading(client, upstreams, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 100
    response = client.post(
        "/api/v1/auth/register", data=b"{}", content_type="application/json", CONTENT_LENGTH=str(10 * MIB)
    )
    assert response.status_code == 413
    assert nothing_forwarded(upstreams)


def test_content_length_that_is_not_a_number_is_400(client, upstreams):
    response = client.post("/api/v1/auth/register", data=b"{}", content_type="application/json", CONTENT_LENGTH="-1")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"Content-Length": ["'-1' is not a number of bytes."]}
    assert nothing_forwarded(upstreams)


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/xml", ""],
)
def test_non_json_body_is_415(client, upstreams, content_type):
    response = client.generic(
        "POST", "/api/v1/orders", data=b"items=1", content_type=content_type, **bearer(access_token())
    )
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"].startswith("Send the body as application/json (it came ")
    assert nothing_forwarded(upstreams)


def test_put_and_patch_bodies_must_be_json_too(client, upstreams):
    staff = bearer(access_token(role="staff"))
    for method in ("PUT", "PATCH"):
        response = client.generic(method, "/api/v1/products/5d0c", data=b"name=Mug", content_type="text/plain", **staff)
        assert response.status_code == 415
    assert nothing_forwarded(upstreams)


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json"]
)
def test_json_media_types_are_forwarded(client, upstreams, content_type):
    response = client.generic(
        "PATCH",
        "/api/v1/products/5d0c",
        data=b'{"name": "Mug"}',
        content_type=content_type,
        **bearer(access_token(role="staff")),
    )
    assert response.status_code == 200
    assert upstreams["product"].requests[0]["body"] == b'{"name": "Mug"}'


def test_post_without_a_body_needs_no_content_type(client, upstreams):
    response = client.generic("POST", "/api/v1/orders/5d0c/cancel", data=b"", content_type="", **bearer(access_token()))
    assert response.status_code == 200
    assert upstreams["order"].requests[0]["body"] == b""


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"items": [}',
        b"\xff\xfe\x00",
        b'{"price": NaN}',
        b"[" * 100_000,
        # What the services refuse (shared.parsers) stops at the edge already.
        b'{"shipping_address": {"l": "a\\u0000b"}}',
        b'{"shipping_address": {"l": "\\ud800"}}',
        b"[" * 33 + b"]" * 33,
        b'{"quantity": 1e400}',
    ],
)
def test_json_body_that_does_not_parse_is_400(client, upstreams, body):
    response = client.post("/api/v1/orders", data=body, content_type="application/json", **bearer(access_token()))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == "The body is not valid JSON."
    assert list(problem["errors"]) == ["body"]
    assert nothing_forwarded(upstreams)
