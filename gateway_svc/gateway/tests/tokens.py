"""The forgeries the gateway must refuse, and the test client's Authorization keyword; valid tokens come
from :func:`shared.testing.tokens.access_token` like in every other service's tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from shared.jwt_auth import key_id, load_public_key
from shared.testing.tokens import claims


def bearer(token: str) -> dict[str, str]:
    """Test-client keyword arguments sending ``token`` as the Authorization header."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# Forgeries.
def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def unsigned(**overrides: Any) -> str:
    """``alg: none``: claims with no signature at all."""
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims(**overrides))}."


def hs256_with_public_key(**overrides: Any) -> str:
    """The classic confusion attack: HMAC-signed with the (public) RSA key as the shared secret."""
    public_pem = Path(settings.JWT_PUBLIC_KEY_PATH).read_bytes()
    kid = key_id(load_public_key(settings.JWT_PUBLIC_KEY_PATH))
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_segment(claims(**overrides))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


def signed_by_another_key(**overrides: Any) -> str:
    """RS256 by a key the user service never had, even claiming the real key's kid."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = key_id(load_public_key(settings.JWT_PUBLIC_KEY_PATH))
    return jwt.encode(claims(**overrides), stranger, algorithm="RS256", headers={"kid": kid})


def tampered(token: str, **changes: Any) -> str:
    """``token`` with its payload changed and its original signature kept."""
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    return f"{header}.{_segment(data)}.{signature}"
