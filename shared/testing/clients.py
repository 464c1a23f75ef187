"""The signed-in test client of every service's unit tests (Django and DRF needed, unlike its siblings)."""

from __future__ import annotations

from rest_framework.test import APIClient


def bearer_client(token: str | None = None) -> APIClient:
    """A DRF test client sending ``Authorization: Bearer <token>``; anonymous when ``token`` is None.

    Mint the token with :func:`shared.testing.tokens.access_token` (or, in the user service, its own
    ``token_pair_for``): one way to sign a client in, whatever service is under test.
    """
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
