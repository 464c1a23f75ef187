from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Importing them registers the event handlers (shared.events), periodic tasks (shared.periodic)
        # and the order's parts of the saga story (shared.saga).
        from orders import events, saga, tasks  # noqa: F401
