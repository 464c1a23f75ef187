from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Registers the event handlers (shared.events) and the saga story parts (shared.saga).
        from orders import events, saga  # noqa: F401
