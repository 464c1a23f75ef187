import pytest
from rest_framework.test import APIClient

from shared.testing.tokens import access_token


def client_with(role: str | None) -> APIClient:
    """A client carrying an access token of ``role``, or none when ``role`` is None."""
    client = APIClient()
    if role is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(role=role)}")
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return client_with(None)


@pytest.fixture
def as_customer() -> APIClient:
    return client_with("customer")


@pytest.fixture
def as_staff() -> APIClient:
    return client_with("staff")
