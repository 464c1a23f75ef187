from django.apps import AppConfig


class SharedConfig(AppConfig):
    name = "shared"
    verbose_name = "Events (outbox and inbox)"
    default_auto_field = "django.db.models.BigAutoField"
