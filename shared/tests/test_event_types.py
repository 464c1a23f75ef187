"""The payload check of every event type: jsonschema-rs (the fast path) is never laxer than jsonschema.

``validate_payload`` accepts what jsonschema-rs accepts and asks jsonschema about the rest, so the two
must agree on every payload jsonschema refuses. The corpus: a valid payload per event type, built from its
schema, and that payload broken one field at a time (missing, extra, each of a bank of wrong values).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from shared.event_types import (
    EVENT_TYPES,
    EventType,
    InvalidPayload,
    Schema,
    _fast_validator,
    _validator,
    validate_payload,
)

SAMPLE_UUID = "6f1c2b9e-8d4a-4f3e-9a5b-1c2d3e4f5a6b"
WRONG_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    1.0,
    1.5,
    1001,
    10**20,
    "",
    "x",
    " ",
    "USD\n",
    "usd",
    "US",
    "19.99\n",
    " 19.99",
    "19.999",
    "-0.00",
    "1,00",
    "١٢.٣٤",  # Arabic-Indic digits: \d matches them in Python
    "12345678123456781234567812345678",
    "{" + SAMPLE_UUID + "}",
    "urn:uuid:" + SAMPLE_UUID,
    SAMPLE_UUID.upper(),
    SAMPLE_UUID + "\n",
    SAMPLE_UUID[:-1] + "g",
    "pm_",
    "pm_card visa",
    "pm_" + "a" * 65,
    "card_4242",
    "2026-12-02T10:00:00Z",
    [],
    [{}],
    {},
    {"unexpected": 1},
]


def sample(schema: Schema) -> Any:
    """A valid instance of ``schema`` (the subset of JSON Schema shared/event_types.py uses)."""
    if "anyOf" in schema:
        return sample(schema["anyOf"][0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: sample(sub) for name, sub in schema["properties"].items()}
    if kind == "array":
        return [sample(schema["items"])]
    if kind == "integer":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    return next(text for text in STRINGS if Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(text))


STRINGS = ["text", SAMPLE_UUID, "USD", "19.99", "pm_card_visa", "2026-12-02T10:00:00Z", "someone@example.com"]


def broken(payload: Any, schema: Schema) -> Iterator[Any]:
    """``payload`` with one thing wrong, for every place something can be."""
    yield from WRONG_VALUES
    if isinstance(payload, dict):
        yield {**payload, "unexpected": 1}
        for name in payload:
            yield {key: value for key, value in payload.items() if key != name}
            for wrong in broken(payload[name], schema["properties"][name]):
                changed = copy.deepcopy(payload)
                changed[name] = wrong
                yield changed
    if isinstance(payload, list) and payload:
        yield [*payload, 1]
        for wrong in broken(payload[0], schema["items"]):
            yield [wrong]


def jsonschema_accepts(event: EventType, payload: Any) -> bool:
    return not any(_validator(event.name, event.version).iter_errors(payload))


def fast_accepts(event: EventType, payload: Any) -> bool:
    try:
        return bool(_fast_validator(event.name, event.version).is_valid(payload))
    except ValueError:
        return False


@pytest.mark.parametrize("event", EVENT_TYPES, ids=lambda event: f"{event.name}-v{event.version}")
def test_the_fast_check_accepts_nothing_jsonschema_refuses(event):
    valid = sample(event.schema)
    assert jsonschema_accepts(event, valid) and fast_accepts(event, valid), valid

    laxer = [
        payload
        for payload in broken(valid, event.schema)
        if fast_accepts(event, payload) and not jsonschema_accepts(event, payload)
    ]

    assert laxer == []


def test_a_payload_the_fast_check_refuses_is_judged_by_jsonschema():
    """Python's ``$`` matches before a final newline, jsonschema-rs's does not: jsonschema's answer stands."""
    payload = {"order_id": str(uuid.uuid4()), "amount": "19.99", "currency": "USD\n", "provider": "sandbox"}
    event = next(event for event in EVENT_TYPES if event.name == "payment.authorized")
    assert not fast_accepts(event, payload) and jsonschema_accepts(event, payload)

    validate_payload("payment.authorized", 1, payload)  # accepted, as before the fast check


def test_a_refused_payload_is_worded_by_jsonschema():
    with pytest.raises(InvalidPayload, match=r"payment.voided v1: order_id: 'nope' is not a 'uuid'"):
        validate_payload("payment.voided", 1, {"order_id": "nope"})
    with pytest.raises(InvalidPayload, match=r"payment.voided v1: order_id: UUID\('.*'\) is not of type 'string'"):
        validate_payload("payment.voided", 1, {"order_id": uuid.uuid4()})
