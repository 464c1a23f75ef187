from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from orders import events  # noqa: F401  registers the event handlers with shared.events
        from orders import tasks  # noqa: F401  registers the periodic tasks with shared.periodic
