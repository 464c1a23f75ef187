"""The cart's operations in the service's OpenAPI schema (what the gateway merges into /api/docs)."""

import json

from django.core.management import call_command


def test_the_schema_documents_every_cart_operation_and_its_errors(tmp_path):
    schema = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(schema))
    paths = json.loads(schema.read_text())["paths"]

    assert set(paths["/api/v1/cart"]) == {"get", "delete"}
    assert set(paths["/api/v1/cart/items/{product_id}"]) == {"put", "delete"}
    assert set(paths["/api/v1/cart/merge"]) == {"post"}
    checkout = paths["/api/v1/cart/checkout"]["post"]
    assert set(checkout["responses"]) == {
        "200",
        "201",
        "400",
        "401",
        "403",
        "409",
        "413",
        "414",
        "415",
        "429",
        "431",
        "503",
    }
    assert checkout["responses"]["409"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert {"404", "409", "414", "431"} <= set(paths["/api/v1/cart/items/{product_id}"]["put"]["responses"])
