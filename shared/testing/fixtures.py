"""The API clients a service's unit tests sign in with: pytest fixtures each service's ``conftest.py``
imports (``from shared.testing.fixtures import ...``). Tokens are signed with the dev key, as the
gateway's would be; ``customer_id`` and ``staff_id`` are fresh for each test (override them to pin one)."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from shared.testing.clients import bearer_client
from shared.testing.tokens import access_token


@pytest.fixture
def customer_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def staff_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def as_customer(customer_id: uuid.UUID) -> APIClient:
    return bearer_client(access_token(customer_id))


@pytest.fixture
def as_other_customer() -> APIClient:
    return bearer_client(access_token(uuid.uuid4()))


@pytest.fixture
def as_staff(staff_id: uuid.UUID) -> APIClient:
    return bearer_client(access_token(staff_id, "staff"))


@pytest.fixture
def anonymous() -> APIClient:
    return bearer_client()
