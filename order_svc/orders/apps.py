from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Importing them registers the event handlers (shared.events), periodic tasks (shared.periodic)
        # the order's parts of the saga story (shared.saga) and its consistency facts (shared.consistency).
        from orders import consistency, events, saga, tasks  # noqa: F401
