from django.apps import AppConfig


class SharedConfig(AppConfig):
    name = "shared"
    verbose_name = "Events (outbox, inbox, dead letters)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from shared import schema  # noqa: F401 - registers the OpenAPI extension
