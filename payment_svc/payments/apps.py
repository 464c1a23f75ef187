from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Registers the event handlers (shared.events), the saga story part (shared.saga), the payments'
        # consistency facts (shared.consistency), the retry of unfinished provider steps (shared.periodic)
        # and the business metrics.
        from payments import consistency, events, metrics, saga, tasks  # noqa: F401
