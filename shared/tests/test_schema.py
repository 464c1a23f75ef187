"""The OpenAPI document a service serves is as strict as the service: error answers, JSON types, methods."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from shared.serializers import StrictInput
from shared.testing.tokens import access_token

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def error_answers(document: dict, path: str, method: str) -> dict[str, dict]:
    responses = document["paths"][path][method]["responses"]
    return {code: answer for code, answer in responses.items() if code >= "400"}


@pytest.mark.django_db
def test_every_operation_documents_its_error_answers_as_problems(document):
    operations = [(path, method) for path, item in document["paths"].items() for method in item]

    assert len(operations) >= 6
    for path, method in operations:
        answers = error_answers(document, path, method)
        assert {"400", "414", "429", "431", "503"} <= set(answers), (path, method)
        for code, answer in answers.items():
            assert answer["content"] == {"application/problem+json": {"schema": PROBLEM_REF}}, (path, method, code)
            assert answer["description"], (path, method, code)
    assert document["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "request_id",
    ]


@pytest.mark.django_db
def test_error_answers_follow_access_path_parameters_and_bodies(document):
    # The order project: every route needs a user, /status needs staff.
    every = {"400", "414", "429", "431", "503"}  # the web server's own 414/431 included
    assert set(error_answers(document, "/api/v1/orders/{order_id}", "get")) == every | {"401", "404"}
    assert set(error_answers(document, "/api/v1/orders/{order_id}/status", "post")) == every | {
        "401", "403", "404", "409", "413", "415",
    }  # fmt: skip
    # A list: a page past the end is a 404.
    assert set(error_answers(document, "/api/v1/orders", "get")) == every | {"401", "404"}
    answer = error_answers(document, "/api/v1/orders", "post")["409"]
    assert answer["description"] == "This Idempotency-Key came with a different order."


@pytest.mark.django_db
def test_inputs_refuse_unknown_fields_and_blank_text_in_the_schema(document):
    schemas = document["components"]["schemas"]
    cancel = schemas["CancelInput"]
    assert cancel["additionalProperties"] is False
    assert cancel["description"] == "Why the order is cancelled (optional)."
    line = schemas["LineInput"]
    assert line["additionalProperties"] is False
    assert line["properties"]["quantity"] == {"type": "integer", "maximum": 1000, "minimum": 1}


@pytest.mark.django_db
def test_page_size_is_a_whole_number_from_1_to_100_and_filters_may_be_empty(document):
    parameters = {
        parameter["name"]: parameter for parameter in document["paths"]["/api/v1/orders"]["get"]["parameters"]
    }
    assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert parameters["page_size"]["allowEmptyValue"] is True
    assert parameters["customer"]["allowEmptyValue"] is True
    assert parameters["customer"]["schema"]["format"] == "uuid"


class Sample(StrictInput):
    text = serializers.CharField()
    flag = serializers.BooleanField(required=False)
    count = serializers.IntegerField(required=False)
    price = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    ref = serializers.UUIDField(required=False)
    note = serializers.CharField(required=False, allow_null=True)
    name = serializers.CharField(required=False, max_length=5)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", 0),
        ("text", True),
        ("flag", 1),
        ("flag", "true"),
        ("count", "3"),
        ("count", 3.5),
        ("count", False),
        ("price", 7),
        ("ref", 5),
    ],
)
def test_strict_input_refuses_a_value_of_another_json_type(field, value):
    data = Sample(data={"text": "x", field: value})

    assert not data.is_valid()
    assert list(data.errors) == [field]


def test_strict_input_takes_values_of_the_field_type_and_null_where_allowed():
    data = Sample(
        data={
            "text": "x",
            "flag": True,
            "count": 3,
            "price": "7.50",
            "ref": "8f1c7a56-3c1e-4d5b-9a57-0b8e3d7c1f00",
            "note": None,
        }
    )

    assert data.is_valid(), data.errors


def test_strict_input_measures_max_length_as_sent_not_after_trimming_whitespace():
    """Schemathesis found it: DRF measured "\\t" + 150 characters after trimming, past the schema's maxLength."""
    too_long = Sample(data={"text": "x", "name": "\tabcde"})
    fits = Sample(data={"text": "x", "name": " abc "})

    assert not too_long.is_valid()
    assert too_long.errors["name"] == ["Ensure this field has no more than 5 characters."]
    assert fits.is_valid(), fits.errors
    assert fits.validated_data["name"] == "abc"


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
def test_a_method_the_route_does_not_have_is_405_with_allow_before_auth(client, signed_in):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {access_token(role='customer')}"} if signed_in else {}

    trace = client.generic("TRACE", "/api/v1/orders", **headers)
    put = client.put("/api/v1/orders/3f1c/history", **headers)

    assert (trace.status_code, trace["Allow"]) == (405, "GET, HEAD, POST, OPTIONS")
    assert (put.status_code, put["Allow"]) == (405, "GET, HEAD, OPTIONS")
    assert put["Content-Type"] == "application/problem+json"
