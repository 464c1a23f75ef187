"""Settings of the inventory service: the shared base (read from the environment) plus its own parts."""

from pathlib import Path

from shared.settings import service_settings

globals().update(
    service_settings("inventory", apps=["inventory"], base_dir=str(Path(__file__).resolve().parent.parent))
)

# Dotted paths of register(server) functions for run_grpc.
GRPC_SERVICERS: list[str] = ["inventory.grpc.register"]
