from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class SharedConfig(AppConfig):
    name = "shared"
    verbose_name = "Events (outbox, inbox, dead letters)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI extension, the periodic tasks and the user.tokens_revoked handler.
        from shared import revocations, schema, tasks  # noqa: F401
        from shared.metrics import metrics_allowed_networks
        from shared.ratelimit import login_limits

        try:
            login_limits()  # a malformed limit stops the process here rather than failing every sign-in
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"LOGIN_FAILURES_PER_EMAIL_AND_CLIENT, _PER_EMAIL and _PER_CLIENT are count/seconds: {exc}"
            ) from exc
        try:
            metrics_allowed_networks()
        except ValueError as exc:
            raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS is comma-separated CIDRs: {exc}") from exc
