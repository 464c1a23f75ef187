import uuid

import pytest
from rest_framework.test import APIClient

from shared.testing.clients import bearer_client
from shared.testing.tokens import access_token


@pytest.fixture
def staff_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def as_staff(staff_id) -> APIClient:
    return bearer_client(access_token(staff_id, "staff"))


@pytest.fixture
def as_customer() -> APIClient:
    return bearer_client(access_token())


@pytest.fixture
def anonymous() -> APIClient:
    return bearer_client()
