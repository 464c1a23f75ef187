"""The service's OpenAPI schema is valid and complete (what the gateway merges into /api/docs)."""

from django.core.management import call_command


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/v1/orders/{order_id}/history" in (tmp_path / "schema.yaml").read_text()
