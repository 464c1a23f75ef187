import pytest
from rest_framework.test import APIClient

from shared.testing.clients import bearer_client
from shared.testing.tokens import access_token


@pytest.fixture
def anonymous() -> APIClient:
    return bearer_client()


@pytest.fixture
def as_customer() -> APIClient:
    return bearer_client(access_token())


@pytest.fixture
def as_staff() -> APIClient:
    return bearer_client(access_token(role="staff"))
