"""Hostile input against every operation of the merged OpenAPI: never a 5xx, every 4xx a problem+json.

For each operation the gateway's ``/api/schema`` documents, as staff and as a
customer, the suite sends: NUL characters and lone surrogates in every string field
of the body and in every query parameter, nesting far past the parser's limit,
numbers no column holds, every field in the wrong type, path ids that are not ids.
The body each variant starts from is valid (built from the schema, ids of objects the
test created itself), so a refusal comes from the hostile part, not from a missing field.

Nothing here touches the demo data other tests rely on: path ids name the test's own
product, order and users (a DELETE only ever names a random id), the staff caller is a
user the test promoted itself, and every request leaves from its own loopback address
(:data:`SOURCE_ADDRESS`), so the gateway's per-client buckets and the user service's
sign-in lockout for the test's guesses stay apart from everyone else's.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest

from ops.isolated import Stack
from shared.errors import PROBLEM_CONTENT_TYPE
from tests.shop import PASSWORD, customer, new_product, place, sign_in

SOURCE_ADDRESS = "127.0.0.2"
# The gateway allows 600 requests a minute per user: a caller is replaced by a fresh one of the same role
# well before, so no answer is the gateway's 429 instead of the service's own.
REQUESTS_PER_CALLER = 400
TIME_LIMIT_SECONDS = 45
PARALLEL_REQUESTS = 4

# Placeholders json.dumps cannot write; swapped into the text after serialising.
HUGE_FLOAT = "\u2063huge-float\u2063"
RAW = {json.dumps(HUGE_FLOAT): "1e400"}
DEEP = json.loads("[" * 40 + "]" * 40)

TEXT_VARIANTS: dict[str, Any] = {
    "NUL": "a\u0000b",
    "lone surrogate": "\ud800",
    "10,000 characters": "x" * 10_000,
    "a number": 12345,
    "null": None,
    "a list": ["x"],
    "an object": {"x": 1},
}
NUMBER_VARIANTS: dict[str, Any] = {
    "2**31": 2**31,
    "-2**31 - 1": -(2**31) - 1,
    "2**63 - 1": 2**63 - 1,
    "10**30": 10**30,
    "1e400": HUGE_FLOAT,
    "a fraction": 1.5,
    "NUL text": "\u0000",
    "null": None,
    "a list": [1],
}
BOOLEAN_VARIANTS: dict[str, Any] = {"NUL text": "\u0000", "2": 2, "null": None, "a list": [True]}
CONTAINER_VARIANTS: dict[str, Any] = {"NUL text": "a\u0000b", "40 levels deep": DEEP, "a number": 5, "null": None}
WHOLE_BODY_VARIANTS: dict[str, str] = {
    "arrays nested 1,000 deep": "[" * 1000 + "]" * 1000,
    "objects nested 100 deep": '{"a":' * 100 + "1" + "}" * 100,
    "a NUL key": '{"\\u0000": 1}',
    "a lone surrogate key": '{"\\udfff": 1}',
    "a bare 1e400": "1e400",
    "a bare string": '"\\u0000"',
    "null": "null",
    "a list": "[]",
    "broken JSON": '{"a": ',
}
# Query values go into the URL as written here (already percent-encoded).
QUERY_VARIANTS: dict[str, str] = {
    "NUL": "%00",
    "an encoded lone surrogate": "%ED%A0%80",
    "bytes that are not UTF-8": "%FF%FE",
    "3,000 characters": "x" * 3000,  # under gunicorn's 4,094-byte request line (its 414 is not ours to test)
    "-1": "-1",
    "a 23-digit number": "9" * 23,
    "1e400": "1e400",
    "text": "abc",
}
PATH_VARIANTS: dict[str, str] = {
    "a random id": "",  # filled per attempt
    "NUL": "%00",
    "an encoded lone surrogate": "%ED%A0%80",
    "not an id": "not-an-id",
    "3,000 characters": "x" * 3000,
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    parameters: list[dict[str, Any]]
    body: dict[str, Any] | None  # the JSON body's schema, $refs resolved

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Attempt:
    operation: Operation
    path: str
    query: str
    body: str | None
    what: str


@dataclass
class Caller:
    """Headers of a signed-in user of one role, replaced by a fresh user before the gateway would throttle."""

    role: str
    sign_up: Callable[[], dict[str, str]]
    headers: dict[str, str] = field(default_factory=dict)
    spent: int = 0

    def for_requests(self, count: int) -> dict[str, str]:
        """Headers to send ``count`` more requests with (a fresh user when these would pass the budget)."""
        if not self.headers or self.spent + count > REQUESTS_PER_CALLER:
            self.headers, self.spent = self.sign_up(), 0
        self.spent += count
        return self.headers


@dataclass(frozen=True)
class World:
    """Objects the test made itself, named by the path parameters that take their ids."""

    ids: dict[str, str]
    product_id: str


# ---------------------------------------------------------------------------------------------
# The schema


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:
        return resolve(schema["allOf"][0], document)
    if "oneOf" in schema:
        return resolve(schema["oneOf"][0], document)
    resolved = dict(schema)
    if "properties" in resolved:
        resolved["properties"] = {name: resolve(value, document) for name, value in schema["properties"].items()}
    if "items" in resolved:
        resolved["items"] = resolve(schema["items"], document)
    return resolved


def operations_of(document: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            content = spec.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            parameters = [*item.get("parameters", []), *spec.get("parameters", [])]
            found.append(
                Operation(method.upper(), path, parameters, resolve(body, document) if body is not None else None)
            )
    return found


def example(schema: dict[str, Any], name: str, world: World) -> Any:
    """A valid value for ``schema``: what every variant starts from."""
    if "enum" in schema:
        return schema["enum"][0]
    if name == "category":
        return None  # a slug must name an existing category; none is always valid
    kind = schema.get("type", "object")
    if kind == "object" and "properties" not in schema:
        return {"line": "hostile"}  # a free-form object (a shipping address): its text gets the variants too
    if kind == "object":
        return {key: example(value, key, world) for key, value in schema["properties"].items()}
    if kind == "array":
        return [example(schema.get("items", {}), name, world)] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    return example_text(schema, name, world)


def example_text(schema: dict[str, Any], name: str, world: World) -> str:
    pattern, text_format = schema.get("pattern", ""), schema.get("format", "")
    if text_format == "uuid":
        return world.ids.get(name, world.product_id if name == "product_id" else str(uuid.uuid4()))
    if text_format == "email" or name == "email":
        return f"hostile-{uuid.uuid4().hex[:10]}@example.com"
    if text_format == "decimal":
        return "1.00"
    if "password" in name:
        return PASSWORD + "-x"
    if pattern == "^[A-Z]{3}$":
        return "USD"
    if pattern:
        return f"hostile-{uuid.uuid4().hex[:8]}"
    return "hostile"


# ---------------------------------------------------------------------------------------------
# The attempts


def dumps(value: Any) -> str:
    text = json.dumps(value)
    for placeholder, raw in RAW.items():
        text = text.replace(placeholder, raw)
    return text


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every place in the body a variant can go: each node, containers included."""
    if path:
        yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        yield from leaves(value[0], (*path, 0))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    return [replaced(value[0], rest, new), *value[1:]]


def variants_for(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return BOOLEAN_VARIANTS
    if isinstance(value, int | float):
        return NUMBER_VARIANTS
    if isinstance(value, str):
        return TEXT_VARIANTS
    if value is None:
        return TEXT_VARIANTS | CONTAINER_VARIANTS
    return CONTAINER_VARIANTS


def filled_path(operation: Operation, world: World, override: tuple[str, str] | None = None) -> str:
    path = operation.path
    for parameter in operation.parameters:
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        # A DELETE names a random id: the test's own objects stay for the other operations.
        value = str(uuid.uuid4()) if operation.method == "DELETE" else world.ids.get(name, str(uuid.uuid4()))
        if override and override[0] == name:
            value = override[1] or str(uuid.uuid4())
        path = path.replace("{" + name + "}", value)
    return path


def attempts(operation: Operation, world: World) -> Iterator[Attempt]:
    path = filled_path(operation, world)
    base = example(operation.body, "", world) if operation.body is not None else None
    base_text = dumps(base) if base is not None else None
    for parameter in operation.parameters:
        if parameter["in"] == "path":
            for what, value in PATH_VARIANTS.items():
                hostile_path = filled_path(operation, world, (parameter["name"], value))
                yield Attempt(operation, hostile_path, "", base_text, f"path {parameter['name']}: {what}")
        elif parameter["in"] == "query":
            for what, value in QUERY_VARIANTS.items():
                yield Attempt(
                    operation, path, f"{parameter['name']}={value}", None, f"query {parameter['name']}: {what}"
                )
    yield Attempt(operation, path, "%00=x", base_text, "a NUL as a query parameter's name")
    if base is None:
        return
    for what, raw in WHOLE_BODY_VARIANTS.items():
        yield Attempt(operation, path, "", raw, f"body: {what}")
    for place_in_body, value in leaves(base):
        named = ".".join(map(str, place_in_body))
        for what, new in variants_for(value).items():
            yield Attempt(operation, path, "", dumps(replaced(base, place_in_body, new)), f"body {named}: {what}")


# ---------------------------------------------------------------------------------------------
# Fixtures


def promoted_staff(stack: Stack, staff: dict[str, str]) -> dict[str, str]:
    """A new user made staff by the demo staff user: the suite spends its own gateway bucket, not theirs."""
    email = f"hostile-staff-{uuid.uuid4().hex[:10]}@example.com"
    registered = httpx.post(
        stack.url("gateway", "/api/v1/auth/register"), json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert registered.status_code == 201, registered.text
    user_id = registered.json()["id"]
    promoted = httpx.patch(
        stack.url("gateway", f"/api/v1/users/{user_id}"), json={"role": "staff"}, headers=staff, timeout=10
    )
    assert promoted.status_code == 200, promoted.text
    return sign_in(stack, email, PASSWORD)


def user_id_of(stack: Stack, headers: dict[str, str]) -> str:
    answer = httpx.get(stack.url("gateway", "/api/v1/users/me"), headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


@pytest.fixture(scope="module")
def schema(stack: Stack) -> dict[str, Any]:
    answer = httpx.get(stack.url("gateway", "/api/schema"), params={"format": "json"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture(scope="module")
def world(stack: Stack, staff: dict[str, str]) -> World:
    product = new_product(stack, staff, available=10_000)
    buyer = customer(stack)
    placed = place(stack, buyer, [{"product_id": product["id"], "quantity": 1}])
    assert placed.status_code == 201, placed.text
    # The staff access changes (PATCH /users/{user_id}) land on a bystander of the test's own.
    bystander = user_id_of(stack, customer(stack))
    return World(
        ids={"product_id": product["id"], "order_id": placed.json()["id"], "user_id": bystander},
        product_id=product["id"],
    )


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=SOURCE_ADDRESS), timeout=15) as client:
        yield client


# ---------------------------------------------------------------------------------------------
# The suite


def verdict(answer: httpx.Response) -> str | None:
    """What is wrong with this answer to hostile input, or None."""
    content_type = answer.headers.get("Content-Type", "")
    if answer.status_code >= 500:
        return f"{answer.status_code}: {answer.text[:200]}"
    if answer.status_code == 429 and "X-RateLimit-Limit" in answer.headers:
        return "the gateway's rate limit answered, not the service (the suite spends too fast)"
    if answer.status_code >= 400 and not content_type.startswith(PROBLEM_CONTENT_TYPE):
        return f"{answer.status_code} as {content_type or 'no Content-Type'}: {answer.text[:200]}"
    return None


def refuses_the_caller(
    client: httpx.Client, stack: Stack, operation: Operation, world: World, headers: dict[str, str]
) -> bool:
    """True when the role may not use ``operation`` at all (401/403 to a plain request): the access check
    comes before the body or the filters are read, so the variants would meet the same refusal."""
    plain = Attempt(operation, filled_path(operation, world), "", None, "plain")
    if operation.body is not None:
        plain = Attempt(operation, plain.path, "", "{}", "plain")
    status, problem = send(client, stack, plain, headers)
    return problem is None and status in {401, 403}


def send(client: httpx.Client, stack: Stack, attempt: Attempt, headers: dict[str, str]) -> tuple[int, str | None]:
    """The answer's status and what is wrong with it (None: nothing)."""
    url = stack.url("gateway", attempt.path) + (f"?{attempt.query}" if attempt.query else "")
    request_headers = dict(headers)
    if attempt.body is not None:
        request_headers["Content-Type"] = "application/json"
    for parameter in attempt.operation.parameters:
        if parameter["in"] == "header":
            request_headers[parameter["name"]] = uuid.uuid4().hex
    try:
        answer = client.request(attempt.operation.method, url, content=attempt.body, headers=request_headers)
    except httpx.TimeoutException:
        return 0, "no answer within 15 s"
    return answer.status_code, verdict(answer)


@pytest.mark.parametrize("role", ["customer", "staff"])
def test_no_operation_answers_hostile_input_with_a_5xx_or_a_non_problem_4xx(
    stack: Stack, staff: dict[str, str], schema: dict[str, Any], world: World, client: httpx.Client, role: str
) -> None:
    operations = operations_of(schema)
    assert len(operations) >= 25, f"the merged schema lists only {len(operations)} operations"
    caller = Caller(role, (lambda: customer(stack)) if role == "customer" else (lambda: promoted_staff(stack, staff)))
    started = time.monotonic()
    failures, sent = [], 0
    with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
        for operation in operations:
            planned = list(attempts(operation, world))
            headers = caller.for_requests(len(planned))
            if refuses_the_caller(client, stack, operation, world, headers):
                continue
            answers = pool.map(partial(send, client, stack, headers=headers), planned)
            for attempt, (_, problem) in zip(planned, answers, strict=True):
                sent += 1
                if problem:
                    failures.append(f"{operation} ({attempt.what}): {problem}")
    took = time.monotonic() - started

    assert not failures, f"{len(failures)} of {sent} hostile requests as {role} went wrong:\n" + "\n".join(
        failures[:40]
    )
    assert took < TIME_LIMIT_SECONDS, f"{sent} requests took {took:.0f} s"
