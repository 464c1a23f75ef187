import pytest
from rest_framework.test import APIClient

from shared.testing.clients import bearer_client
from users.models import Role
from users.tests.factories import UserFactory
from users.tokens import token_pair_for


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The production hasher is slow on purpose; these tests hash hundreds of passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def revocations_read_at_once(settings):
    """Every token check reads new revocations, so a test sees its own at once (0.5 s apart in production)."""
    settings.TOKEN_REVOCATIONS_REFRESH_SECONDS = 0


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def customer():
    return UserFactory(email="casey@example.com", first_name="Casey", last_name="Customer")


@pytest.fixture
def staff():
    return UserFactory(email="sam@example.com", first_name="Sam", last_name="Staff", role=Role.STAFF)


@pytest.fixture
def as_customer(customer) -> APIClient:
    return bearer_client(token_pair_for(customer).access)


@pytest.fixture
def as_staff(staff) -> APIClient:
    return bearer_client(token_pair_for(staff).access)
