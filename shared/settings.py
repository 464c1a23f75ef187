"""One settings base for all six Django projects, read from the environment.

Each project's ``settings.py`` calls :func:`service_settings` and adds only what
is its own (apps, gRPC servicers, Kafka subscriptions). Variables:

``DJANGO_ENV``            ``development`` (default), ``test`` or ``production``
``DJANGO_DEBUG``          off unless set to true
``DJANGO_SECRET_KEY``     required in production
``DJANGO_ALLOWED_HOSTS``  comma-separated; required in production
``DATABASE_URL``          this service's database; else ``POSTGRES_URL`` + ``/shop_<service>``
``POSTGRES_URL``          the server, default ``postgresql://shop:shop@127.0.0.1:5432``
``KAFKA_BOOTSTRAP_SERVERS`` default ``127.0.0.1:9092``; ``KAFKA_TOPIC_PREFIX`` (isolation)
``GRPC_PORT``             this process's gRPC port (default from :mod:`shared.topology`); ``HTTP_PORT`` is
                          gunicorn's (ops/gunicorn_conf.py), never a Django setting
``<NAME>_SVC_URL`` / ``<NAME>_SVC_GRPC`` where the other services answer
``PUBLIC_BASE_URL``       where clients reach the shop, for links in answers (pagination); default the gateway's URL
``JWT_PUBLIC_KEY_PATH``   the RS256 public key services verify tokens with
``LOG_LEVEL``             default ``INFO``; logs are JSON lines on stderr
``TEST_DATABASE_SUFFIX``  appended to test database names, so concurrent test runs can share a server
``ADMIN_STAFF_RECHECK_SECONDS`` how stale an admin session's check with user_svc may get (5); see shared.admin_auth
``ADMIN_STAFF_UNREACHABLE_GRACE_SECONDS`` how long an admin session outlives its last check while user_svc
                          cannot answer (30)
``LOGIN_FAILURES_PER_EMAIL_AND_CLIENT`` ``count/seconds`` failed sign-ins per account from one address (5/900)
``LOGIN_FAILURES_PER_EMAIL``  ``count/seconds`` failed sign-ins per account from anywhere (40/3600); past half
                          of it, growing delays. ``LOGIN_FAILURES_PER_CLIENT``: per client address (100/3600).
``LOGIN_KNOWN_CLIENT_DAYS``  an address the account signed in from within this many days skips the per-account
                          delays (30)
                          user_svc applies them to every sign-in, the other services to their admin's local
                          accounts (shared.ratelimit)
``TRUSTED_PROXY_COUNT``    reverse proxies in front of this process, each appending to X-Forwarded-For (0): the
                          client's address is then the N-th entry from the right (shared.client_ip). The
                          services behind the gateway: 1; the gateway: its load balancers, if any.
                          ``GATEWAY_TRUSTED_PROXIES`` is its deprecated name, still read by the gateway.
``METRICS_ALLOWED_NETWORKS`` comma-separated CIDRs allowed to read /metrics (loopback: ``127.0.0.0/8,::1/128``)
``WEB_QUEUE_BUDGET_SECONDS`` how long a request may wait for a gunicorn worker thread before it is
                          refused at once with 503 and ``Retry-After`` instead of being served late
                          (0.3; 0 turns shedding off; shared.middleware.LoadSheddingMiddleware)
``TOKEN_REVOCATIONS_REFRESH_SECONDS`` how often a process reads new revocations of access tokens (0.5; see
                          shared.revocations): with the event's delivery, how long a revoked token still works
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from shared.env import env_bool, env_float, env_int, env_list, env_str
from shared.topology import ALL_SERVICES, BY_NAME, REPO_ROOT

# Lets model admins, serializers and querysets be subscripted at run time, as the type stubs want.
django_stubs_ext.monkeypatch()

DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production-0123456789abcdef"  # noqa: S105
DEFAULT_POSTGRES_URL = "postgresql://shop:shop@127.0.0.1:5432"
COMMON_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "drf_spectacular",
    "shared",
]
# Probes and scrapers speak plain HTTP inside the network even when the site forces HTTPS.
PROBE_PATHS = [r"^healthz$", r"^readyz$", r"^metrics$"]


def database_url(service: str) -> str:
    explicit = env_str("DATABASE_URL", "")
    if explicit:
        return explicit
    server = env_str("POSTGRES_URL", DEFAULT_POSTGRES_URL).rstrip("/")
    return f"{server}/{BY_NAME[service].database}"


def test_database_suffix() -> str:
    """Appended to test database names (``test_shop_order<suffix>``, ``e2e<suffix>_order``); empty by default."""
    return env_str("TEST_DATABASE_SUFFIX", "")


def public_base_url(*, default: str) -> str:
    """``PUBLIC_BASE_URL``: where clients reach the shop (links in answers point there), checked at start-up."""
    url = env_str("PUBLIC_BASE_URL", default)
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"PUBLIC_BASE_URL must be an http(s) URL such as https://shop.example (got {url!r})."
        )
    return url


def admin_backends(service: str) -> list[str]:
    """Who may sign into ``service``'s admin: user_svc staff (shared.admin_auth), then local accounts.

    The local accounts' backend (a throttled ``ModelBackend``) stays last so ``createsuperuser``
    accounts work in an emergency (user_svc down).
    user_svc's admin has only local users (its staff are its own rows, ``is_staff`` following the
    role), checked behind the sign-in throttle (users.backends.ThrottledModelBackend).
    """
    if service == "user":
        return ["users.backends.ThrottledModelBackend"]
    return ["shared.admin_auth.StaffBackend", "shared.admin_auth.ThrottledLocalBackend"]


def service_settings(service: str, *, apps: list[str], base_dir: str) -> dict[str, Any]:
    """All settings of ``service`` ("user", "gateway", ...) as a dict for ``globals().update``."""
    spec = BY_NAME[service]
    environment = env_str("DJANGO_ENV", "development")
    if environment not in {"development", "test", "production"}:
        raise ImproperlyConfigured("DJANGO_ENV must be development, test or production.")
    production = environment == "production"
    debug = env_bool("DJANGO_DEBUG", False)
    secret_key = env_str("DJANGO_SECRET_KEY", None if production else DEV_SECRET_KEY)
    if production and secret_key == DEV_SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a real secret in production.")
    allowed_hosts = env_list("DJANGO_ALLOWED_HOSTS", [] if production else ["localhost", "127.0.0.1", "[::1]"])
    if production and not allowed_hosts:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name this service's hosts in production.")

    database = dj_database_url.parse(database_url(service), conn_max_age=60, conn_health_checks=True)
    database["ENGINE"] = "django_prometheus.db.backends.postgresql"
    database.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
    # TEST_DATABASE_SUFFIX lets two test runs share one Postgres server without sharing databases.
    database["TEST"] = {"NAME": f"test_{database['NAME']}{test_database_suffix()}"}

    service_urls = {
        other.name: env_str(f"{other.env_prefix}URL", f"http://127.0.0.1:{other.http_port}") for other in ALL_SERVICES
    }

    settings: dict[str, Any] = {
        "SERVICE_NAME": service,
        "DJANGO_ENV": environment,
        "BASE_DIR": base_dir,
        "DEBUG": debug,
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": allowed_hosts,
        "INSTALLED_APPS": COMMON_APPS + apps,
        "MIDDLEWARE": [
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "shared.middleware.RequestIdMiddleware",
            "shared.middleware.LoadSheddingMiddleware",
            "shared.middleware.ProblemJsonMiddleware",
            "shared.middleware.MethodNotAllowedMiddleware",
            "shared.query.QueryCleaningMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "django_prometheus.middleware.PrometheusAfterMiddleware",
        ],
        "ROOT_URLCONF": f"{spec.project}.urls",
        "WSGI_APPLICATION": f"{spec.project}.wsgi.application",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        "DATABASES": {"default": database},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "AUTHENTICATION_BACKENDS": admin_backends(service),
        "ADMIN_STAFF_RECHECK_SECONDS": env_int("ADMIN_STAFF_RECHECK_SECONDS", 5),
        "ADMIN_STAFF_UNREACHABLE_GRACE_SECONDS": env_int("ADMIN_STAFF_UNREACHABLE_GRACE_SECONDS", 30),
        # Text, parsed by shared.ratelimit.login_limits (settings cannot import it: it imports a model);
        # the shared app's ready() parses them once, so a typo stops the process instead of a sign-in.
        "LOGIN_FAILURES_PER_EMAIL_AND_CLIENT": env_str("LOGIN_FAILURES_PER_EMAIL_AND_CLIENT", "5/900"),
        "LOGIN_FAILURES_PER_EMAIL": env_str("LOGIN_FAILURES_PER_EMAIL", "40/3600"),
        "LOGIN_FAILURES_PER_CLIENT": env_str("LOGIN_FAILURES_PER_CLIENT", "100/3600"),
        "LOGIN_KNOWN_CLIENT_DAYS": env_int("LOGIN_KNOWN_CLIENT_DAYS", 30),
        # Set it to exactly the number of proxies, or clients can pick their address (see shared.client_ip).
        "TRUSTED_PROXY_COUNT": env_int(
            "TRUSTED_PROXY_COUNT", env_int("GATEWAY_TRUSTED_PROXIES", 0) if service == "gateway" else 0
        ),
        # Load shedding: a request that waited longer for a worker thread is refused, not served late.
        "WEB_QUEUE_BUDGET_SECONDS": env_float("WEB_QUEUE_BUDGET_SECONDS", 0.3),
        "METRICS_ALLOWED_NETWORKS": env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"]),
        "AUTH_PASSWORD_VALIDATORS": [
            {"NAME": f"django.contrib.auth.password_validation.{name}"}
            for name in (
                "UserAttributeSimilarityValidator",
                "MinimumLengthValidator",
                "CommonPasswordValidator",
                "NumericPasswordValidator",
            )
        ],
        "LANGUAGE_CODE": "en-us",
        "TIME_ZONE": "UTC",
        "USE_I18N": True,
        "USE_TZ": True,
        "STATIC_URL": "static/",
        # Production serves collected files (the image runs collectstatic); elsewhere the admin's
        # assets come straight from the apps, with no collectstatic step.
        "STATIC_ROOT": str(REPO_ROOT / "var" / "static" / spec.project) if production else None,
        "WHITENOISE_USE_FINDERS": not production,
        "CSRF_FAILURE_VIEW": "shared.errors.csrf_failure",
        "REST_FRAMEWORK": {
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
            + (["rest_framework.renderers.BrowsableAPIRenderer"] if debug else []),
            "DEFAULT_PARSER_CLASSES": ["shared.parsers.JSONParser"],
            "DEFAULT_AUTHENTICATION_CLASSES": ["shared.jwt_auth.JWTAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["shared.access.RouteAccess"],
            "UNAUTHENTICATED_USER": None,
            "EXCEPTION_HANDLER": "shared.errors.problem_exception_handler",
            "DEFAULT_PAGINATION_CLASS": "shared.pagination.PageNumberPagination",
            "PAGE_SIZE": 20,
            "DEFAULT_SCHEMA_CLASS": "shared.schema.AutoSchema",
        },
        "SPECTACULAR_SETTINGS": {
            "TITLE": f"{service} service",
            "VERSION": "1.0.0",
            "SERVE_INCLUDE_SCHEMA": False,
        },
        "LOGGING": logging_config(service, env_str("LOG_LEVEL", "INFO").upper()),
        "GRPC_PORT": env_int("GRPC_PORT", spec.grpc_port or 0),
        "GRPC_SERVICERS": [],
        "KAFKA_BOOTSTRAP_SERVERS": env_str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        "KAFKA_TOPIC_PREFIX": env_str("KAFKA_TOPIC_PREFIX", ""),
        # The consumer's handlers (shared.events.EventHandlers); it subscribes to the topics of their events.
        "EVENT_HANDLERS": "shared.events.HANDLERS",
        # Event backbone: handler attempts before a message is dead-lettered; how long sent outbox rows
        # and inbox records are kept (the inbox must outlive Kafka's retention, or old redeliveries re-apply).
        "CONSUMER_MAX_ATTEMPTS": env_int("CONSUMER_MAX_ATTEMPTS", 5),
        "OUTBOX_RETENTION_HOURS": env_int("OUTBOX_RETENTION_HOURS", 168),
        "INBOX_RETENTION_DAYS": env_int("INBOX_RETENTION_DAYS", 30),
        # Access tokens: RS256 only, checked against the user service's public key(s) or its JWKS.
        "JWT_PUBLIC_KEY_PATH": env_str("JWT_PUBLIC_KEY_PATH", str(REPO_ROOT / "var" / "keys" / "jwt_public.pem")),
        "JWT_PREVIOUS_PUBLIC_KEY_PATH": env_str("JWT_PREVIOUS_PUBLIC_KEY_PATH", ""),
        "JWT_JWKS_URL": env_str("JWT_JWKS_URL", ""),
        "JWT_ISSUER": env_str("JWT_ISSUER", "shop-user-svc"),
        "JWT_AUDIENCE": env_str("JWT_AUDIENCE", "shop"),
        "JWT_LEEWAY_SECONDS": env_int("JWT_LEEWAY_SECONDS", 5),
        # How stale this process's copy of the revoked access tokens may get (shared.revocations).
        "TOKEN_REVOCATIONS_REFRESH_SECONDS": env_float("TOKEN_REVOCATIONS_REFRESH_SECONDS", 0.5),
        "SERVICE_URLS": service_urls,
        "PUBLIC_BASE_URL": public_base_url(default=service_urls["gateway"]),
        "SERVICE_GRPC_TARGETS": {
            other.name: env_str(f"{other.env_prefix}GRPC", f"127.0.0.1:{other.grpc_port}")
            for other in ALL_SERVICES
            if other.grpc_port
        },
        # Security headers hold everywhere; HTTPS-only parts are on in production (check --deploy).
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_REDIRECT_EXEMPT": PROBE_PATHS,
    }
    if production:
        settings.update(
            SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
            SECURE_SSL_REDIRECT=env_bool("DJANGO_SECURE_SSL_REDIRECT", True),
            SESSION_COOKIE_SECURE=True,
            CSRF_COOKIE_SECURE=True,
            SECURE_HSTS_SECONDS=env_int("DJANGO_HSTS_SECONDS", 31_536_000),
            SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
            SECURE_HSTS_PRELOAD=True,
            CSRF_TRUSTED_ORIGINS=env_list("DJANGO_CSRF_TRUSTED_ORIGINS", []),
        )
    return settings


def logging_config(service: str, level: str) -> dict[str, Any]:
    """JSON lines on stderr, each carrying the service name and the current request id."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "shared.logs.ContextFilter", "service": service}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {"stderr": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django": {"level": level},
            "django.server": {"level": level},
        },
    }
