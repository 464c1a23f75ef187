from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Gateway"

    def ready(self) -> None:
        # A mistyped RATE_LIMIT_* stops the process at start-up rather than failing every request.
        from gateway.ratelimits import configured_limit

        for name in settings.GATEWAY_RATE_LIMITS:
            try:
                configured_limit(name)
            except ValueError as exc:
                raise ImproperlyConfigured(
                    f"RATE_LIMIT_{name.upper()} must be count/seconds, such as 20/60: {exc}"
                ) from exc
        # The storefront is read and fingerprinted once, now: a file it cannot serve stops the process.
        from gateway.storefront import current

        current()
