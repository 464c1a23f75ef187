from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        # Registers the event handlers (shared.events) and the saga story parts (shared.saga),
        # and inventory's consistency facts (shared.consistency).
        from inventory import consistency, events, saga  # noqa: F401
