"""The tokens this service signs (RS256 with simplejwt) and the revocation of refresh tokens.

Every token carries a ``kid`` header, the RFC 7638 thumbprint of the public key
(:func:`shared.jwt_auth.key_id`): verifiers pick the key by it, which is what lets the key
rotate. simplejwt has no setting for headers, so its backend is subclassed. Tokens carry the
user's ``role`` at the time they were minted; a refresh always mints from the live user, so a
role change reaches the next access token.

Refresh tokens are recorded as outstanding (simplejwt's blacklist app) so that logout, a
password change and deactivation can revoke them. The token text itself is not stored: a copy
of every live credential in the database would turn a leaked backup into stolen sessions.

Access tokens are revoked too (:func:`access_tokens_revoke`): a revocation row here and the
``user.tokens_revoked`` event make the gateway and every service refuse them within seconds
(:mod:`shared.revocations`); their ``iat`` has microseconds so that the cut is exact.

Every refresh token carries a ``family`` claim: the id shared by all tokens rotated from one
sign-in (recorded per token in :class:`~users.models.RefreshTokenFamilyMember`). Presenting a token
that was already redeemed revokes its whole family, the live one too, as the OAuth 2.0 security
best current practice asks of refresh-token rotation: one of the two holders is a thief.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from shared.events import Envelope, publish
from shared.jwt_auth import FAMILY_CLAIM, key_id, load_public_key
from shared.revocations import TOKENS_REVOKED, numeric_date, revocation_payload, revocation_record
from users.models import RefreshTokenFamilyMember, User


class SigningBackend(TokenBackend):
    """simplejwt's backend with a ``kid`` header on what it signs, and key selection by ``kid`` on what it reads.

    Reading accepts the current and the previous public key (``JWT_PREVIOUS_PUBLIC_KEY_PATH``), so a
    key rotation does not invalidate the refresh tokens signed just before it.
    """

    def __init__(self) -> None:
        super().__init__(
            api_settings.ALGORITHM,
            api_settings.SIGNING_KEY,
            api_settings.VERIFYING_KEY,
            api_settings.AUDIENCE,
            api_settings.ISSUER,
            None,
            api_settings.LEEWAY,
            api_settings.JSON_ENCODER,
        )
        current = load_pem_public_key(api_settings.VERIFYING_KEY.encode())
        if not isinstance(current, RSAPublicKey):
            raise ImproperlyConfigured("JWT_PUBLIC_KEY_PATH must hold an RSA public key.")
        self.kid = key_id(current)
        self.verifying_keys: dict[str, RSAPublicKey] = {self.kid: current}
        if settings.JWT_PREVIOUS_PUBLIC_KEY_PATH:
            try:
                previous = load_public_key(settings.JWT_PREVIOUS_PUBLIC_KEY_PATH)
            except (OSError, ValueError) as exc:
                raise ImproperlyConfigured(f"JWT_PREVIOUS_PUBLIC_KEY_PATH: {exc}") from exc
            self.verifying_keys.setdefault(key_id(previous), previous)

    def encode(self, payload: dict[str, Any]) -> str:
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(
            claims,
            self.prepared_signing_key,
            algorithm=self.algorithm,
            headers={"kid": self.kid},
            json_encoder=self.json_encoder,
        )

    def get_verifying_key(self, token: Any) -> Any:
        try:
            kid = jwt.get_unverified_header(str(token)).get("kid")
        except jwt.PyJWTError as exc:
            raise TokenBackendError("Token is invalid") from exc
        key = self.verifying_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenBackendError("Token is signed with an unknown key")
        return key


BACKEND = SigningBackend()


class AccessToken(tokens.AccessToken):
    _token_backend = BACKEND

    def set_iat(self, claim: str = "iat", at_time: datetime | None = None) -> None:
        """``iat`` to the microsecond (RFC 7519's NumericDate may be fractional), as revocations compare it.

        With whole seconds, a token signed in the same second as a password change would be either
        refused though signed after it or accepted though signed before it.
        """
        self.payload[claim] = numeric_date(at_time or self.current_time)


class RefreshToken(tokens.RefreshToken):
    _token_backend = BACKEND
    access_token_class = AccessToken


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def token_pair_for(user: User, *, family: uuid.UUID | None = None) -> TokenPair:
    """A new refresh token for ``user`` (recorded as outstanding) and an access token from it, with the current role.

    ``family``: the family of the refresh token this one rotates; None for a sign-in, which starts one.
    """
    family = family or uuid.uuid4()
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(user.id)
    refresh["role"] = str(user.role)
    refresh[FAMILY_CLAIM] = str(family)
    outstanding = OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token="",
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    RefreshTokenFamilyMember.objects.create(token=outstanding, family=family)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def refresh_token_family(token: RefreshToken) -> uuid.UUID | None:
    """The family of ``token``; None for a token minted before families existed (or a malformed claim)."""
    try:
        return uuid.UUID(str(token[FAMILY_CLAIM]))
    except (KeyError, ValueError):
        return None


def refresh_token_revoke(token: RefreshToken) -> bool:
    """Blacklists ``token``; False when it already was (a concurrent refresh or logout revoked it first).

    The unique index on the blacklist decides between concurrent callers, so a refresh token
    is redeemed at most once.
    """
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=token[api_settings.JTI_CLAIM],
        defaults={
            "user_id": token.get(api_settings.USER_ID_CLAIM),
            "token": "",
            "created_at": datetime_from_epoch(token["iat"]) if "iat" in token else None,
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    return created


def refresh_token_family_if_revoked(raw: str) -> uuid.UUID | None:
    """The family of ``raw`` when it is a genuine, unexpired refresh token that was revoked; else None.

    simplejwt refuses a blacklisted token before its claims can be read, so they are read here,
    with the signature, expiry and type checked all the same: only a token this service issued can
    revoke a family.
    """
    try:
        BACKEND.decode(raw, verify=True)  # type: ignore[arg-type]  # as below
        token = RefreshToken(raw, verify=False)  # type: ignore[arg-type]  # simplejwt annotates it as a Token
        token.verify_token_type()
    except (TokenBackendError, TokenError):
        return None
    if not BlacklistedToken.objects.filter(token__jti=token.get(api_settings.JTI_CLAIM)).exists():
        return None
    return refresh_token_family(token)


def refresh_token_family_revoke(*, family: uuid.UUID) -> int:
    """Ends the session ``family``: blacklists every refresh token of it not yet revoked (how many that
    were) and revokes the access tokens made from them (:func:`access_tokens_revoke`)."""
    with transaction.atomic():
        members = OutstandingToken.objects.filter(family_member__family=family)
        user_id = members.values_list("user_id", flat=True).first()
        if user_id is not None:
            # The lock a refresh holds while it mints (users.sign_in.auth_refresh): a token it rotates in
            # is committed before the live ones are read here, and issued before the revocation.
            User.objects.select_for_update().filter(pk=user_id).first()
        live = members.filter(blacklistedtoken__isnull=True)
        revoked = BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=outstanding) for outstanding in live], ignore_conflicts=True
        )
        if user_id is not None:
            access_tokens_revoke(user_id=user_id, session=family)
    return len(revoked)


def refresh_tokens_revoke_all(*, user: User) -> int:
    """Blacklists every unexpired refresh token of ``user``; how many were still live."""
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=outstanding) for outstanding in live], ignore_conflicts=True
    )
    return len(revoked)


def access_tokens_revoke(*, user_id: uuid.UUID, session: uuid.UUID | None = None) -> None:
    """Has the user's access tokens issued until now refused everywhere, within a second or two (only
    those of the sign-in ``session``, a refresh-token family, when given).

    The one owner of "these access tokens must stop working": records the revocation here and
    publishes ``user.tokens_revoked`` for the gateway and the other services (:mod:`shared.revocations`).
    Call it inside the transaction of the change that calls for it, so both commit with the change.
    """
    not_before = timezone.now()
    revocation = {
        "user_id": user_id,
        "session_id": session,
        "not_before": not_before,
        # Every token it refuses was issued by now, so it has expired one lifetime later.
        "expires_at": not_before + api_settings.ACCESS_TOKEN_LIFETIME,
    }
    revocation_record(**revocation)
    publish(Envelope(type=TOKENS_REVOKED, key=str(user_id), payload=revocation_payload(**revocation)))
