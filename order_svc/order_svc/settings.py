"""Settings of the order service: the shared base (read from the environment) plus its own parts."""

from pathlib import Path

from shared.settings import service_settings

_base = service_settings("order", apps=["orders"], base_dir=str(Path(__file__).resolve().parent.parent))
# Two choice sets answer to "status" (an order's, and the ones staff may set): name both in the schema.
_base["SPECTACULAR_SETTINGS"]["ENUM_NAME_OVERRIDES"] = {
    "OrderStatusEnum": "orders.models.OrderStatus",
    "StaffOrderStatusEnum": "orders.serializers.STAFF_SETTABLE_STATUSES",
}
globals().update(_base)

# Dotted paths of register(server) functions for run_grpc.
GRPC_SERVICERS: list[str] = ["orders.grpc.register"]
# Topics this service's consumer group reads.
KAFKA_SUBSCRIPTIONS: list[str] = ["users", "inventory"]
