"""Fixtures of every app of the order service: signed-in clients and a real in-process product service."""

from __future__ import annotations

import uuid

import pytest
from orders.tests.fake_catalog import catalog  # noqa: F401 (a fixture)

from shared.testing.fixtures import anonymous, as_customer, as_other_customer, as_staff  # noqa: F401 (fixtures)


@pytest.fixture
def customer_id() -> uuid.UUID:
    return uuid.UUID("11111111-1111-4111-8111-111111111111")


@pytest.fixture
def staff_id() -> uuid.UUID:
    return uuid.UUID("22222222-2222-4222-8222-222222222222")
