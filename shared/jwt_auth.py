"""Verifying access tokens, the same code in the gateway and in every service (defence in depth).

Only RS256 is accepted, against the user service's public key(s): from PEM files
(``JWT_PUBLIC_KEY_PATH``, plus ``JWT_PREVIOUS_PUBLIC_KEY_PATH`` during a key
rotation) or, when ``JWT_JWKS_URL`` is set, from its JWKS (cached). The ``kid``
header picks the key. ``iss``, ``aud``, ``exp``, ``iat``, ``sub`` and ``jti`` are
required; the token type must be ``access``. A token issued before its user's (or its session's)
tokens were revoked is refused too (:mod:`shared.revocations`). A token's verified claims are
kept while the keys stay the same and it has not expired (:class:`VerifiedTokens`); revocations are asked every time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from shared import metrics

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
# The sign-in session a token belongs to: the id shared by every refresh token rotated from one
# sign-in, copied into the access tokens made from them (user_svc's users.tokens).
FAMILY_CLAIM = "family"
JWKS_CACHE_SECONDS = 300
JWKS_MIN_REFRESH_SECONDS = 30


class InvalidToken(Exception):
    """Why a token was refused (logged; the client only learns it is invalid)."""


@dataclass(frozen=True)
class Principal:
    """The caller, as the token says: enough to authorise without a user table."""

    id: uuid.UUID
    role: str
    token_id: str
    claims: dict[str, Any] = field(repr=False, default_factory=dict)

    is_authenticated = True
    is_anonymous = False

    @property
    def is_staff_role(self) -> bool:
        return self.role == "staff"

    @property
    def pk(self) -> uuid.UUID:
        return self.id


CallerT = TypeVar("CallerT")


def caller(request: Request, kind: type[CallerT]) -> CallerT:
    """The signed-in caller of a route the route table has already restricted to signed-in users:
    a :class:`Principal`, or in the user service its live ``User`` row. Anyone else is a 401."""
    user: object = request.user
    if not isinstance(user, kind):
        raise exceptions.NotAuthenticated()
    return user


def key_id(public_key: RSAPublicKey) -> str:
    """The RFC 7638 thumbprint of the key: stable, derived, so nothing needs configuring for rotation."""
    numbers = public_key.public_numbers()
    members = {"e": _b64_uint(numbers.e), "kty": "RSA", "n": _b64_uint(numbers.n)}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def public_jwk(public_key: RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": ALGORITHM,
        "kid": key_id(public_key),
        "n": _b64_uint(numbers.n),
        "e": _b64_uint(numbers.e),
    }


def _b64_uint(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode().rstrip("=")


def load_public_key(path: str | Path) -> RSAPublicKey:
    key = load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, RSAPublicKey):
        raise ValueError(f"{path} is not an RSA public key")
    return key


class KeySet:
    """The verification keys by kid; reloaded from the JWKS URL when a token names an unknown kid."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, RSAPublicKey] = {}
        self._loaded_at = 0.0
        # Bumped whenever the keys are (re)loaded or cleared: a token verified under another generation
        # is verified again (:class:`VerifiedTokens`), so a key dropped by a rotation stops working at once.
        self._generation = 0

    def generation(self) -> int:
        """The current keys' generation, reloading a JWKS first when its cache time is up (as the key lookup does).

        Keys not loaded yet are left to :meth:`get_with_generation`: nothing can have been verified with them.
        """
        with self._lock:
            if self._keys and self._expired():
                self._load()
            return self._generation

    def get_with_generation(self, kid: str | None) -> tuple[int, list[RSAPublicKey]]:
        """The keys for ``kid`` (every key for None) and the generation they belong to."""
        with self._lock:
            if not self._keys or self._expired():
                self._load()
            if (
                kid is not None
                and kid not in self._keys
                and time.monotonic() - self._loaded_at > JWKS_MIN_REFRESH_SECONDS
            ):
                self._load()  # a rotation may have published a new key since
            if kid is None:
                return self._generation, list(self._keys.values())
            return self._generation, [self._keys[kid]] if kid in self._keys else []

    def _expired(self) -> bool:
        return bool(settings.JWT_JWKS_URL) and time.monotonic() - self._loaded_at > JWKS_CACHE_SECONDS

    def _load(self) -> None:
        self._loaded_at = time.monotonic()
        self._generation += 1
        try:
            keys = self._from_jwks() if settings.JWT_JWKS_URL else self._from_files()
        except (OSError, ValueError, httpx.HTTPError) as exc:
            logger.error("could not load the JWT verification keys: %s", exc)
            return
        self._keys = {key_id(key): key for key in keys}

    def _from_files(self) -> list[RSAPublicKey]:
        paths = [settings.JWT_PUBLIC_KEY_PATH, settings.JWT_PREVIOUS_PUBLIC_KEY_PATH]
        return [load_public_key(path) for path in paths if path]

    def _from_jwks(self) -> list[RSAPublicKey]:
        document = httpx.get(settings.JWT_JWKS_URL, timeout=5).raise_for_status().json()
        keys = []
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("alg", ALGORITHM) == ALGORITHM:
                key = jwt.PyJWK(jwk, ALGORITHM).key
                if isinstance(key, RSAPublicKey):
                    keys.append(key)
        return keys

    def clear(self) -> None:
        with self._lock:
            self._keys = {}
            self._loaded_at = 0.0
            self._generation += 1


KEYS = KeySet()

VERIFIED_TOKENS_KEPT = 2048


class VerifiedTokens:
    """The claims of tokens whose signature and claims were verified, by token: a client sends the same
    access token with every request for its lifetime, and verifying it again (PyJWT's checks of every
    character in Python, the RSA signature) cost ~0.3 ms of CPU per request, in the gateway and in each service.

    An entry is used only while the keys have not changed since (:meth:`KeySet.generation`), for the same
    audience and issuer, and until the token expires (checked with the current leeway on every use).
    Revocations are not cached: :func:`verify_access_token` asks them every time. Bounded: the oldest
    entries go first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, str], tuple[int, float, dict[str, Any]]] = {}

    def get(self, token: str, *, generation: int) -> dict[str, Any] | None:
        """A copy of the verified claims of ``token``, None when it must be verified (again)."""
        entry = self._entries.get(self._key(token))
        if entry is None:
            return None
        verified_in, expires_at, claims = entry
        if verified_in != generation or expires_at <= time.time() - settings.JWT_LEEWAY_SECONDS:
            return None  # verified again: refused, with the same reason as without this cache
        return dict(claims)

    def put(self, token: str, claims: dict[str, Any], *, generation: int) -> None:
        entry = (generation, float(claims["exp"]), dict(claims))
        with self._lock:
            if len(self._entries) >= VERIFIED_TOKENS_KEPT:
                del self._entries[next(iter(self._entries))]
            self._entries[self._key(token)] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @staticmethod
    def _key(token: str) -> tuple[str, str, str]:
        return (token, str(settings.JWT_AUDIENCE), str(settings.JWT_ISSUER))


VERIFIED = VerifiedTokens()


def verify_access_token(token: str) -> Principal:
    """The principal of a valid access token; raises :class:`InvalidToken` otherwise."""
    claims = VERIFIED.get(token, generation=KEYS.generation())
    if claims is None:
        generation, claims = _verified_claims(token)
        VERIFIED.put(token, claims, generation=generation)
    if claims.get("token_type") != "access":
        raise InvalidToken("not an access token")
    try:
        subject = uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise InvalidToken("the subject is not a user id") from exc
    try:
        issued_at = float(claims["iat"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken("iat is not a number") from exc
    # Imported here, not at the top: it needs the app registry (a model), and this module's key
    # helpers are used without Django too (the cross-service tests, ops).
    from shared.revocations import REVOCATIONS

    if REVOCATIONS.refuses(user_id=subject, session_id=_session(claims), issued_at=issued_at):
        metrics.TOKENS_REFUSED_REVOKED.inc()
        raise InvalidToken(f"revoked: user {subject} signed out, changed password or lost access since it was issued")
    return Principal(id=subject, role=str(claims.get("role", "")), token_id=str(claims["jti"]), claims=claims)


def _verified_claims(token: str) -> tuple[int, dict[str, Any]]:
    """The claims of a token with an accepted header and signature, audience, issuer and times, and the
    generation of the keys that verified it."""
    header = _unverified_header(token)
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
    generation, keys = KEYS.get_with_generation(header.get("kid"))
    if not keys:
        raise InvalidToken(f"unknown signing key {header.get('kid')!r}")
    last_error: Exception | None = None
    for key in keys:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=settings.JWT_AUDIENCE,
                issuer=settings.JWT_ISSUER,
                leeway=settings.JWT_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
            )
            return generation, claims
        except jwt.PyJWTError as exc:
            last_error = exc
    raise InvalidToken(str(last_error))


_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _unverified_header(token: str) -> dict[str, Any]:
    """The token's header, read only to choose the key; ``jwt.decode`` then checks it with the signature.

    Not ``jwt.get_unverified_header``: that decodes (and checks character by character, in Python)
    the whole token, which ``jwt.decode`` does again: half the cost of a verification, saved.
    """
    encoded, dot, _ = token.partition(".")
    if not dot or not _BASE64URL.fullmatch(encoded):
        raise InvalidToken("malformed token: no header segment")
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise InvalidToken(f"malformed token header: {exc}") from exc
    if not isinstance(header, dict):
        raise InvalidToken("malformed token header: not an object")
    return header


def _session(claims: dict[str, Any]) -> uuid.UUID | None:
    """The sign-in session (refresh-token family) the token was issued for; None for a token without one."""
    try:
        return uuid.UUID(str(claims[FAMILY_CLAIM]))
    except (KeyError, ValueError):
        return None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, None when there is no such header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


WWW_AUTHENTICATE = 'Bearer realm="api"'


class JWTAuthentication(authentication.BaseAuthentication):
    """DRF authentication: a valid bearer access token -> a :class:`Principal`; a bad one -> 401."""

    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        header = request.headers.get("Authorization")
        token = bearer_token(header)
        if token is None:
            if header:
                raise exceptions.AuthenticationFailed("Use the Authorization: Bearer <access token> scheme.")
            return None
        try:
            principal = verify_access_token(token)
        except InvalidToken as exc:
            logger.info("refused a token: %s", exc)
            raise exceptions.AuthenticationFailed("The access token is invalid or expired.") from exc
        return self.authenticated(principal), token

    def authenticated(self, principal: Principal) -> Any:
        """What becomes ``request.user``; the user service swaps in its live user row."""
        return principal

    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE
