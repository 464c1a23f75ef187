"""Settings of the order service: the shared base (read from the environment) plus its own parts."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from shared.env import env_int
from shared.settings import service_settings

_base = service_settings("order", apps=["orders", "carts"], base_dir=str(Path(__file__).resolve().parent.parent))
# Two choice sets answer to "status" (an order's, and the ones staff may set): name both in the schema.
_base["SPECTACULAR_SETTINGS"]["ENUM_NAME_OVERRIDES"] = {
    "OrderStatusEnum": "orders.models.OrderStatus",
    "StaffOrderStatusEnum": "orders.serializers.STAFF_SETTABLE_STATUSES",
}
globals().update(_base)

# Dotted paths of register(server) functions for run_grpc.
GRPC_SERVICERS: list[str] = ["orders.grpc.register"]

# A pending order still waiting for inventory's answer this long is rejected ("timed out waiting for
# stock reservation"); the consumer process sweeps for such orders every ORDER_EXPIRY_INTERVAL_SECONDS.
ORDER_PENDING_TIMEOUT_SECONDS: int = env_int("ORDER_PENDING_TIMEOUT_SECONDS", 600)
ORDER_EXPIRY_INTERVAL_SECONDS: int = env_int("ORDER_EXPIRY_INTERVAL_SECONDS", 15)
if ORDER_PENDING_TIMEOUT_SECONDS < 1:
    raise ImproperlyConfigured("ORDER_PENDING_TIMEOUT_SECONDS must be at least 1.")
# At most 30 s apart, so an order is never left pending more than 30 s past its timeout.
if not 1 <= ORDER_EXPIRY_INTERVAL_SECONDS <= 30:
    raise ImproperlyConfigured("ORDER_EXPIRY_INTERVAL_SECONDS must be between 1 and 30.")

# A cart nobody changed for this many days is deleted, by the same sweep that expires pending orders.
CART_TTL_DAYS: int = env_int("CART_TTL_DAYS", 30)
if CART_TTL_DAYS < 1:
    raise ImproperlyConfigured("CART_TTL_DAYS must be at least 1.")
