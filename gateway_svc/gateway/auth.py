"""Who is calling, and may they: the gateway applies the shared access table before forwarding.

Services verify the token and apply the same table again (defence in depth); the
gateway's check keeps anonymous and under-privileged calls away from them. The
``Authorization`` header itself is forwarded unchanged.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest

from gateway.refusals import Refused
from shared.access import NO_ROUTE, SIGN_IN_NEEDED, STAFF_NEEDED, Access, access_for
from shared.jwt_auth import WWW_AUTHENTICATE, InvalidToken, Principal, bearer_token, verify_access_token

logger = logging.getLogger(__name__)

# RFC 6750 section 3.1: a token was presented and is not acceptable.
INVALID_TOKEN_CHALLENGE = f'{WWW_AUTHENTICATE}, error="invalid_token"'


def check_access(request: HttpRequest) -> Principal | None:
    """The caller as its access token says, or None for an anonymous call to a public route.

    Raises :class:`Refused`: 401 when the route needs a user and there is no valid
    token, 403 when it needs staff and the caller is not, or when no route opens it to anyone. On a public route a token
    is optional: a valid one names the caller (for per-user rate limits), an invalid
    one is left for the service to judge, as the request is forwarded as it came.
    """
    method = request.method or "GET"
    required = access_for(request.path, method)
    header = request.headers.get("Authorization")
    token = bearer_token(header)
    if required is Access.PUBLIC:
        return _principal_or_none(token)
    if required is Access.NOBODY:
        logger.error("refused %s %s: no route in shared.access.ROUTES opens it", method, request.path)
        raise Refused(403, NO_ROUTE)
    if token is None:
        reason = "not a bearer token" if header else "no token"
        logger.info("refused %s %s: %s", method, request.path, reason)
        detail = "Use the Authorization: Bearer <access token> scheme." if header else SIGN_IN_NEEDED
        raise Refused(401, detail, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
    try:
        principal = verify_access_token(token)
    except InvalidToken as exc:
        logger.info("refused %s %s: %s", method, request.path, exc)
        raise Refused(
            401, "The access token is invalid or expired.", headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE}
        ) from exc
    if required is Access.STAFF and not principal.is_staff_role:
        logger.info(
            "refused %s %s: user %s has role %r, staff needed", method, request.path, principal.id, principal.role
        )
        raise Refused(403, STAFF_NEEDED)
    return principal


def _principal_or_none(token: str | None) -> Principal | None:
    if token is None:
        return None
    try:
        return verify_access_token(token)
    except InvalidToken:
        return None
