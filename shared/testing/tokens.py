"""Minting access tokens in tests, signed with the development key (``var/keys``), plus forged variants."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.jwt_auth import key_id, load_public_key
from shared.topology import REPO_ROOT

KEY_DIR = REPO_ROOT / "var" / "keys"


def private_key_pem(path: Path = KEY_DIR / "jwt_private.pem") -> bytes:
    return path.read_bytes()


def public_key_pem(path: Path = KEY_DIR / "jwt_public.pem") -> bytes:
    return path.read_bytes()


def claims(subject: str | uuid.UUID | None = None, role: str = "customer", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": str(subject or uuid.uuid4()),
        "role": role,
        "iss": "shop-user-svc",
        "aud": "shop",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "token_type": "access",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def access_token(subject: str | uuid.UUID | None = None, role: str = "customer", **overrides: Any) -> str:
    """A valid access token (unless ``overrides`` say otherwise), as the user service would sign it."""
    kid = key_id(load_public_key(KEY_DIR / "jwt_public.pem"))
    return jwt.encode(claims(subject, role, **overrides), private_key_pem(), algorithm="RS256", headers={"kid": kid})


def forged_tokens(subject: str | uuid.UUID | None = None) -> dict[str, str]:
    """Tokens an attacker could make; every one must be refused (401)."""
    kid = key_id(load_public_key(KEY_DIR / "jwt_public.pem"))
    good = claims(subject, "customer")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    header, _, signature = access_token(subject).split(".")
    staff_payload = jwt.utils.base64url_encode(
        json.dumps(claims(good["sub"], "staff", jti=good["jti"])).encode()
    ).decode()
    return {
        "alg_none": jwt.encode(good, key="", algorithm="none"),
        "hs256_with_public_key": _hs256(good, public_key_pem(), kid),
        "other_rsa_key": jwt.encode(good, other_key, algorithm="RS256", headers={"kid": kid}),
        "expired": access_token(subject, exp=int(time.time()) - 60, iat=int(time.time()) - 400),
        "wrong_audience": access_token(subject, aud="someone-else"),
        "wrong_issuer": access_token(subject, iss="https://evil.example"),
        "tampered_payload": f"{header}.{staff_payload}.{signature}",
        "refresh_as_access": access_token(subject, token_type="refresh"),  # noqa: S106
        "not_yet_valid": access_token(subject, nbf=int(time.time()) + 3600),
        "garbage": "not.a.token",
    }


def _hs256(payload: dict[str, Any], secret: bytes, kid: str) -> str:
    """HS256 with the public key as the HMAC secret (PyJWT refuses PEM secrets, so sign by hand)."""
    segments = [
        jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()),
        jwt.utils.base64url_encode(json.dumps(payload).encode()),
    ]
    signing_input = b".".join(segments)
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return b".".join([*segments, jwt.utils.base64url_encode(signature)]).decode()


def refused(raw: str) -> bool:
    """Whether this service's token check (:func:`shared.jwt_auth.verify_access_token`) refuses ``raw``."""
    from shared.jwt_auth import InvalidToken, verify_access_token

    try:
        verify_access_token(raw)
    except InvalidToken:
        return True
    return False
