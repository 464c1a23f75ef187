"""Settings of the gateway service: the shared base (read from the environment) plus its own parts."""

from pathlib import Path

from shared.env import env_float
from shared.settings import service_settings

globals().update(service_settings("gateway", apps=["gateway"], base_dir=str(Path(__file__).resolve().parent.parent)))

# Dotted paths of register(server) functions for run_grpc.
GRPC_SERVICERS: list[str] = []
# Topics this service's consumer group reads.
KAFKA_SUBSCRIPTIONS: list[str] = []

# Seconds an upstream service gets to answer a forwarded request before the gateway answers 504.
GATEWAY_UPSTREAM_TIMEOUT = env_float("GATEWAY_UPSTREAM_TIMEOUT", 10.0)
