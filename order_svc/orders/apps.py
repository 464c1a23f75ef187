from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Importing them registers the event handlers (shared.events) and periodic tasks (shared.periodic).
        from orders import events, tasks  # noqa: F401
