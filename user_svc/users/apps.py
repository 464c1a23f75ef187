from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Users and identity"

    def ready(self) -> None:
        # Imported for its side effect: the OpenAPI description of the bearer authentication.
        from users import backends  # noqa: F401
