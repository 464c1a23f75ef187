"""The committed gRPC code matches the protos, and each service exposes its RPCs.

Plain pytest, no Django. If the freshness test fails, run ``python -m ops.protos``
and commit the result.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # no root conftest guaranteed; protos/ and ops/ live at the root
    sys.path.insert(0, str(ROOT))

protogen = importlib.import_module("ops.protos")


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    fresh = {p.relative_to(tmp_path) for p in protogen.generate(tmp_path)}
    committed = set(protogen.existing_outputs(ROOT))

    missing = sorted(fresh - committed)
    extra = sorted(committed - fresh)
    stale = sorted(rel for rel in fresh & committed if (ROOT / rel).read_bytes() != (tmp_path / rel).read_bytes())

    problems = [f"missing: {p}" for p in missing]
    problems += [f"extra (no .proto): {p}" for p in extra]
    problems += [f"stale: {p}" for p in stale]
    assert not problems, "generated gRPC code is out of date; run `python -m ops.protos`:\n" + "\n".join(problems)


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in protogen.generate(tmp_path / "a")}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in protogen.generate(tmp_path / "b")}
    assert first == second


SERVICES = [
    ("user", "UserService", {"GetUser"}),
    ("product", "ProductService", {"GetProducts", "GetProduct"}),
    ("inventory", "InventoryService", {"GetStock"}),
    ("order", "OrderService", {"GetOrder"}),
    ("payment", "PaymentService", {"GetPayment"}),
    ("saga", "SagaService", {"GetLocalStory"}),
]


@pytest.mark.parametrize(("svc", "service", "rpcs"), SERVICES, ids=[s[0] for s in SERVICES])
def test_service_descriptor(svc: str, service: str, rpcs: set[str]) -> None:
    pb2 = importlib.import_module(f"protos.{svc}.v1.{svc}_pb2")
    pb2_grpc = importlib.import_module(f"protos.{svc}.v1.{svc}_pb2_grpc")

    assert pb2.DESCRIPTOR.package == f"shop.{svc}.v1"
    descriptor = pb2.DESCRIPTOR.services_by_name[service]
    assert descriptor.full_name == f"shop.{svc}.v1.{service}"
    assert rpcs <= set(descriptor.methods_by_name)
    # Client stub and server registration exist for the service.
    assert hasattr(pb2_grpc, f"{service}Stub")
    assert hasattr(pb2_grpc, f"add_{service}Servicer_to_server")
