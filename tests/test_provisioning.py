"""Provisioning fails fast with a message that says what to do, never a hang."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ops import kafka, postgres, procs
from ops.paths import REPO_ROOT, ProvisionError
from shared.topology import ALL_SERVICES


@pytest.fixture
def taken_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_local_postgres_refuses_a_taken_port(monkeypatch, taken_port):
    monkeypatch.setenv("LOCAL_POSTGRES_PORT", str(taken_port))
    with pytest.raises(ProvisionError, match=rf"Port {taken_port} is taken by another program.*POSTGRES_URL"):
        postgres.start_local()


def test_local_kafka_refuses_a_taken_port(monkeypatch, taken_port):
    monkeypatch.setenv("LOCAL_KAFKA_PORT", str(taken_port))
    with pytest.raises(ProvisionError, match=rf"Port {taken_port} is taken.*KAFKA_BOOTSTRAP_SERVERS"):
        kafka.start_local()


def test_kafka_without_java_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(kafka.shutil, "which", lambda name: None)
    with pytest.raises(ProvisionError, match="Java 17 or newer is needed"):
        kafka.java()


def test_kafka_broker_config_is_kraft_on_loopback():
    properties = dict(
        line.split("=", 1) for line in kafka.server_properties(19092, REPO_ROOT / "var" / "x").splitlines() if line
    )
    assert properties["process.roles"] == "broker,controller"
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["auto.create.topics.enable"] == "false"


def test_kafka_storage_formats_with_a_cluster_id_that_starts_with_a_dash(tmp_path):
    """urlsafe base64 ids start with "-" one time in 64; the storage tool must not read one as an option."""
    properties = tmp_path / "server.properties"
    properties.write_text(kafka.server_properties(19092, tmp_path / "data"))
    kafka.format_storage(kafka.java(), f"{kafka.fetch_jars()}/*", properties, "-" + kafka.new_cluster_id()[1:])
    assert "cluster.id=-" in (tmp_path / "data" / "meta.properties").read_text()


@pytest.mark.parametrize("service", list(ALL_SERVICES), ids=lambda spec: spec.name)
def test_every_model_change_has_a_migration(service, stack):
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=REPO_ROOT / service.project,
        env=stack.env(service.name),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_free_ports_are_never_handed_out_twice_and_lie_below_the_ephemeral_range():
    """An outgoing connection takes its local port from the ephemeral range: a port picked there for a
    stack's process could be taken before that process binds it."""
    lowest_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])

    ports = [procs.free_port() for _ in range(300)]

    assert len(set(ports)) == len(ports)
    assert all(10000 <= port < lowest_ephemeral for port in ports), sorted(ports)[-5:]
    for port in ports[:10]:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", port))
