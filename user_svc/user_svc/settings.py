"""Settings of the user service: the shared base (read from the environment) plus its own parts.

The user service's own variables:

``JWT_PRIVATE_KEY_PATH``        the RS256 key tokens are signed with (default ``var/keys/jwt_private.pem``,
                                made by ``make up``); its public half is ``JWT_PUBLIC_KEY_PATH``
``JWT_ACCESS_MINUTES``          access token lifetime (5)
``JWT_REFRESH_DAYS``            refresh token lifetime (7); every refresh rotates the token
``LOGIN_FAILURES_PER_*``       the failed sign-in throttle, in the shared settings (``shared.settings``)
``TRUSTED_PROXY_COUNT``         in the shared settings: set it to 1 behind the gateway (see below)
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from shared.env import env_int, env_str
from shared.settings import service_settings
from shared.topology import REPO_ROOT

_base = service_settings(
    "user",
    apps=["users", "rest_framework_simplejwt.token_blacklist"],
    base_dir=str(Path(__file__).resolve().parent.parent),
)
# This service owns the users, so a token's subject is loaded (and must be active), not just trusted.
_base["REST_FRAMEWORK"]["DEFAULT_AUTHENTICATION_CLASSES"] = ["users.backends.UserJWTAuthentication"]
globals().update(_base)

AUTH_USER_MODEL = "users.User"

# Dotted paths of register(server) functions for run_grpc.
GRPC_SERVICERS: list[str] = ["users.grpc.register"]


def _read_key(path: str, variable: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Cannot read the JWT key {path} ({exc.strerror}). Run `make up` to create the development key pair, "
            f"or set {variable} to the path of the key."
        ) from None


JWT_PRIVATE_KEY_PATH = env_str("JWT_PRIVATE_KEY_PATH", str(REPO_ROOT / "var" / "keys" / "jwt_private.pem"))

# Signing with djangorestframework-simplejwt; users.tokens adds the kid header and the role claim.
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": _read_key(JWT_PRIVATE_KEY_PATH, "JWT_PRIVATE_KEY_PATH"),
    "VERIFYING_KEY": _read_key(_base["JWT_PUBLIC_KEY_PATH"], "JWT_PUBLIC_KEY_PATH"),
    "AUDIENCE": _base["JWT_AUDIENCE"],
    "ISSUER": _base["JWT_ISSUER"],
    "LEEWAY": _base["JWT_LEEWAY_SECONDS"],
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

# TRUSTED_PROXY_COUNT (shared settings, shared.client_ip): behind the gateway REMOTE_ADDR is the gateway
# itself, so without it every client would share one failed-sign-in bucket, which any attacker could
# empty to lock everyone out; set it to 1 there.
