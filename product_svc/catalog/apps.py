from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        # Registers the event handlers (shared.events) and the catalog's consistency facts (shared.consistency).
        from catalog import consistency, events  # noqa: F401
