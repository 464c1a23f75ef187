"""Settings of the gateway service: the shared base (read from the environment) plus its own parts.

The gateway's own variables:

``GATEWAY_UPSTREAM_TIMEOUT``  seconds from the gateway's receiving a request (its wait for a thread included)
                              until it answers 504 if the upstream has not answered (10)
``GATEWAY_MAX_BODY_BYTES``    largest request body forwarded; bigger is 413 (1 MiB)
``RATE_LIMIT_LOGIN``          ``count/seconds`` per client IP on register, token and token refresh (20/60)
``RATE_LIMIT_DEFAULT``        ``count/seconds`` per user (or per client IP when anonymous) on every
                              other forwarded request (600/60)
``TRUSTED_PROXY_COUNT``       how many reverse proxies stand in front of the gateway (0), in the shared
                              settings; ``GATEWAY_TRUSTED_PROXIES`` is its deprecated name, still read
``CORS_ALLOWED_ORIGINS``      comma-separated storefront origins (``https://shop.example``); empty:
                              no CORS headers at all
``GATEWAY_SCHEMA_CACHE_SECONDS`` how long the merged OpenAPI document is reused (60)
``STOREFRONT_DIR``            the storefront's files (``gateway_svc/storefront``), served at ``/`` and ``/assets/``
"""

from pathlib import Path

from shared.env import env_float, env_int, env_list, env_str
from shared.settings import service_settings

_base = service_settings(
    "gateway", apps=["gateway", "corsheaders"], base_dir=str(Path(__file__).resolve().parent.parent)
)
# CORS for browser storefronts. The middleware goes right under RequestIdMiddleware: above everything
# that can answer (so its headers reach every answer, problems included), and below the request id (so
# preflight answers carry X-Request-ID too).
_base["MIDDLEWARE"].insert(
    _base["MIDDLEWARE"].index("shared.middleware.RequestIdMiddleware") + 1, "corsheaders.middleware.CorsMiddleware"
)
# The forwarded API takes a short way (gateway.middleware.ForwardMiddleware): right under the security
# headers, with X-Frame-Options and Prometheus' second half moved up above it so forwarded answers keep them.
for _moved in (
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
):
    _base["MIDDLEWARE"].remove(_moved)
_base["MIDDLEWARE"][_base["MIDDLEWARE"].index("django.middleware.security.SecurityMiddleware") + 1 : 0] = [
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "gateway.middleware.ForwardMiddleware",
]
globals().update(_base)

# Dotted paths of register(server) functions for run_grpc.
GRPC_SERVICERS: list[str] = []
# Topics this service's consumer group reads.

# Seconds an upstream service gets to answer a forwarded request before the gateway answers 504.
GATEWAY_UPSTREAM_TIMEOUT = env_float("GATEWAY_UPSTREAM_TIMEOUT", 10.0)

# Bodies over this size are refused with 413 before anything is forwarded. Django's own limit is the
# same, so its parser never answers a bare 400 first (the gateway checks Content-Length before reading).
GATEWAY_MAX_BODY_BYTES = env_int("GATEWAY_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = GATEWAY_MAX_BODY_BYTES

# Token buckets per route class, as ``count/seconds`` (shared.ratelimit.Limit.parse). Kept as text here
# because shared.ratelimit imports a model, which settings cannot; gateway.ratelimits parses them, and
# the app's ready() parses them once at start-up so a typo stops the process instead of a request.
GATEWAY_RATE_LIMITS: dict[str, str] = {
    "login": env_str("RATE_LIMIT_LOGIN", "20/60"),
    "default": env_str("RATE_LIMIT_DEFAULT", "600/60"),
}

# The merged OpenAPI document of all services (/api/schema) is rebuilt at most this often.
GATEWAY_SCHEMA_CACHE_SECONDS = env_int("GATEWAY_SCHEMA_CACHE_SECONDS", 60)

# CORS on the public API only (not admin, probes or metrics), for the configured origins only.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/(api/|\.well-known/)"
CORS_ALLOW_HEADERS = ("authorization", "content-type", "idempotency-key", "x-request-id")
CORS_EXPOSE_HEADERS = (
    "X-Request-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)
CORS_PREFLIGHT_MAX_AGE = 600

# The storefront's HTML, CSS and ES modules (gateway.storefront), fingerprinted once at start-up.
STOREFRONT_DIR = env_str("STOREFRONT_DIR", str(Path(__file__).resolve().parent.parent / "storefront"))
