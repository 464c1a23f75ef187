import uuid

import pytest
from rest_framework.test import APIClient

from shared.testing.tokens import access_token


def client_with_token(role: str, subject: uuid.UUID | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(subject or uuid.uuid4(), role=role)}")
    return client


@pytest.fixture
def staff_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def as_staff(staff_id) -> APIClient:
    return client_with_token("staff", staff_id)


@pytest.fixture
def as_customer() -> APIClient:
    return client_with_token("customer")


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()
