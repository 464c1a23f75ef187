"""Query parameters PostgreSQL cannot compare (issue 11: staff ``?search=%00`` was a 500): a 400 naming them."""

import pytest

from shared.errors import PROBLEM_CONTENT_TYPE
from users.models import Role
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_nul_in_the_user_search_is_a_400_problem_naming_the_parameter(as_staff):
    response = as_staff.get("/api/v1/users?search=%00")

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert "The query parameter search has a NUL character" in body["detail"]
    assert list(body["errors"]) == ["search"]


def test_a_nul_in_a_parameter_name_is_refused_with_the_name_escaped(as_staff):
    response = as_staff.get("/api/v1/users?sea%00rch=x")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["sea\\u0000rch"]


def test_an_encoded_surrogate_in_the_search_is_searched_as_replacement_text(as_staff):
    # UTF-8 cannot carry a lone surrogate; its CESU bytes decode to U+FFFD, an ordinary (unmatched) term.
    response = as_staff.get("/api/v1/users?search=%ED%A0%80")

    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


def test_a_nul_in_the_admin_search_is_a_400_not_a_database_error(client):
    admin = UserFactory(role=Role.STAFF, is_staff=True, is_superuser=True)
    client.force_login(admin)

    response = client.get("/admin/users/user/?q=%00")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
