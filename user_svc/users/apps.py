from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Users and identity"

    def ready(self) -> None:
        # Imported for its side effect: the OpenAPI description of the bearer authentication.
        from users import authentication  # noqa: F401
        from users.auth import login_limits

        try:
            login_limits()  # a malformed limit stops the process here rather than failing every sign-in
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"LOGIN_FAILURES_PER_EMAIL_AND_CLIENT, _PER_EMAIL and _PER_CLIENT are count/seconds: {exc}"
            ) from exc
