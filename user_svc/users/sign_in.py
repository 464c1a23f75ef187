"""Signing in and out: issuing, rotating and revoking token pairs, throttling failed sign-ins, and
checking staff credentials for the back office (every service's admin, over gRPC).

Failed sign-ins are throttled by :func:`shared.ratelimit.sign_in_wait` (buckets in this service's
database, per email and client address first, per email only much later, with growing delays; see
there). While it refuses, sign-in is refused (429 here, RESOURCE_EXHAUSTED over gRPC), even with
the right password, so an attacker cannot tell a hit from a block. A success spends nothing, and
makes the address a known one for the account (no per-account delays from there).
"""

from __future__ import annotations

import logging
import uuid

from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings

from shared.errors import InvalidInput
from shared.ratelimit import sign_in_failed, sign_in_succeeded, sign_in_wait
from users.errors import AuthenticationRefused, NotStaff, SignInBlocked
from users.models import Role, User, normalize_email
from users.tokens import (
    RefreshToken,
    TokenPair,
    access_tokens_revoke,
    refresh_token_family,
    refresh_token_family_if_revoked,
    refresh_token_family_revoke,
    refresh_token_revoke,
    token_pair_for,
)

logger = logging.getLogger(__name__)


def auth_check_credentials(*, email: str, password: str, client_address: str) -> User:
    """The active account with these credentials, with failed sign-ins throttled.

    The one owner of "may these credentials sign in": the token endpoint (:func:`auth_sign_in`),
    this service's admin (:class:`users.backends.ThrottledModelBackend`) and the back office
    of every other service (:func:`auth_authenticate_staff`, over gRPC) all call it, so failures at
    any of them spend the same buckets. Raises :class:`~users.errors.SignInBlocked` while a bucket
    refuses (see the module docstring), and :class:`~users.errors.AuthenticationRefused` for a wrong
    email or password or a deactivated account (one answer for all three: nothing to enumerate).
    """
    email = normalize_email(email)
    wait = sign_in_wait(account=email, client_address=client_address)
    if wait:
        logger.warning("sign-in blocked for %s from %s: too many failures", email, client_address)
        raise SignInBlocked("Too many failed sign-ins; try again later.", retry_after=wait)
    # Django's backend hashes the password even for an unknown email, so timing does not reveal accounts.
    # Called directly, not through django.contrib.auth.authenticate(): the configured backend
    # (users.backends.ThrottledModelBackend) is this function.
    user = ModelBackend().authenticate(None, email=email, password=password)
    if not isinstance(user, User):
        sign_in_failed(account=email, client_address=client_address)
        logger.warning("failed sign-in for %s from %s", email, client_address)
        raise AuthenticationRefused("The email or password is wrong.")
    sign_in_succeeded(account=email, client_address=client_address)
    return user


def auth_sign_in(*, email: str, password: str, client_address: str) -> TokenPair:
    """A new token pair for the account with these credentials (errors: :func:`auth_check_credentials`)."""
    return token_pair_for(auth_check_credentials(email=email, password=password, client_address=client_address))


def auth_authenticate_staff(*, email: str, password: str, client_address: str) -> User:
    """The staff account with these credentials: a back-office (Django admin) sign-in of any service.

    Raises what :func:`auth_check_credentials` raises, then :class:`~users.errors.NotStaff` for the
    right credentials of an account whose role is not staff. The role is checked after the password,
    so a refusal says nothing about an account to someone who does not know its password.
    """
    user = auth_check_credentials(email=email, password=password, client_address=client_address)
    if user.role != Role.STAFF:
        logger.warning("back-office sign-in refused for %s: role %s is not staff", user.email, user.role)
        raise NotStaff("Only staff may sign into the back office.")
    return user


def auth_refresh(*, refresh: str) -> TokenPair:
    """Redeems a refresh token for a new pair of the same family; the old refresh token is revoked (rotation).

    Raises :class:`~users.errors.AuthenticationRefused` for a token that is invalid, expired,
    already redeemed or revoked, or whose user is deactivated or gone. A token that was already
    redeemed or revoked also revokes its whole family (:mod:`users.tokens`), so the holder of the
    current one must sign in again too. Of two concurrent redemptions of one token, one wins, and
    the loser counts as a reuse.
    """
    token = _refresh_token(refresh)
    if token is None:
        family = refresh_token_family_if_revoked(refresh)
        if family is not None:
            revoked = refresh_token_family_revoke(family=family)
            logger.warning("revoked refresh token reused: family %s revoked (%d live)", family, revoked)
        raise AuthenticationRefused("The refresh token is invalid, expired or revoked; sign in again.")
    subject = _subject(token)
    if subject is None:
        raise AuthenticationRefused("The refresh token is invalid, expired or revoked; sign in again.")
    with transaction.atomic():
        # The user's row lock orders this against a password change or deactivation revoking all tokens.
        user = User.objects.select_for_update().filter(pk=subject, is_active=True).first()
        if user is None:
            raise AuthenticationRefused("The account of this refresh token is deactivated.")
        if refresh_token_revoke(token):
            return token_pair_for(user, family=refresh_token_family(token))
    # Redeemed concurrently a moment ago: a reuse as well.
    family = refresh_token_family(token)
    if family is not None:
        refresh_token_family_revoke(family=family)
        logger.warning("refresh token redeemed twice at once: family %s revoked", family)
    raise AuthenticationRefused("The refresh token is invalid, expired or revoked; sign in again.")


def auth_sign_out(*, user: User, refresh: str) -> None:
    """Ends the session of ``refresh``, which must be a live refresh token of ``user``.

    The session is the token's family (every token rotated from one sign-in): its refresh tokens
    are revoked and its access tokens refused everywhere within seconds; the user's other sessions
    go on. A token from before families existed names no session, so then every access token of
    the user is refused (their other refresh tokens still work).

    Raises :class:`~shared.errors.InvalidInput` naming ``refresh`` otherwise, with one message for
    "invalid" and "someone else's", so the answer says nothing about other users' tokens.
    """
    token = _refresh_token(refresh)
    if token is None or _subject(token) != user.id:
        raise InvalidInput(
            "This is not a live refresh token of yours.", errors={"refresh": ["Not a live refresh token of yours."]}
        )
    family = refresh_token_family(token)
    with transaction.atomic():
        refresh_token_revoke(token)
        if family is not None:
            refresh_token_family_revoke(family=family)
        else:
            access_tokens_revoke(user_id=user.id)


def _refresh_token(raw: str) -> RefreshToken | None:
    """The verified refresh token (signature, kid, expiry, type, not blacklisted), None when it is not one."""
    try:
        return RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt annotates the raw token as a Token
    except TokenError:
        return None


def _subject(token: RefreshToken) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(token.get(api_settings.USER_ID_CLAIM)))
    except ValueError:
        return None
