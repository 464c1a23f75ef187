"""Fixtures for the event backbone tests: isolated Kafka topics, an effects table, helper processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from django.conf import settings as django_settings
from django.db import connection

from ops.procs import free_port
from shared.kafka import ensure_topics
from shared.topology import TOPIC_PARTITIONS, TOPICS

REPO_ROOT = Path(__file__).resolve().parents[2]
ORDER_SVC = REPO_ROOT / "order_svc"


@pytest.fixture(autouse=True)
def revocations_read_at_once(settings) -> None:
    """Every token check reads new revocations, so a test sees its own at once (0.5 s apart in production)."""
    settings.TOKEN_REVOCATIONS_REFRESH_SECONDS = 0


@pytest.fixture
def isolated_topics(settings) -> Iterator[str]:
    """A topic prefix of this test's own, with every topic created; deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings.KAFKA_TOPIC_PREFIX = prefix
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
    ensure_topics(admin, [prefix + topic for topic in TOPICS], partitions=TOPIC_PARTITIONS)
    yield prefix
    mine = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
    if mine:
        for future in admin.delete_topics(mine, operation_timeout=30).values():
            future.result()


@pytest.fixture(autouse=True)
def test_handlers(settings) -> None:
    """The consumer and dead-letter replay apply the test handlers (shared/tests/effects.py), never the service's."""
    settings.EVENT_HANDLERS = "shared.tests.effects.HANDLERS"


@pytest.fixture
def effects(transactional_db) -> Iterator[None]:
    """The table the test handler (shared/tests/effects.py) appends one row to per application."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS test_effects (id bigserial PRIMARY KEY, event_id uuid NOT NULL, "
            "key text NOT NULL, seq bigint NOT NULL)"
        )
        cursor.execute("TRUNCATE test_effects")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS test_effects")


def effect_rows() -> list[tuple[str, str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT event_id::text, key, seq FROM test_effects ORDER BY id")
        return [(str(event_id), str(key), int(seq)) for event_id, key, seq in cursor.fetchall()]


def database_url() -> str:
    db = django_settings.DATABASES["default"]
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    """The environment of a helper process working on this test's database and topics."""
    return (
        os.environ
        | {
            "DJANGO_SETTINGS_MODULE": "order_svc.settings",
            "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{ORDER_SVC}",
            "DATABASE_URL": database_url(),
            "KAFKA_BOOTSTRAP_SERVERS": django_settings.KAFKA_BOOTSTRAP_SERVERS,
            "KAFKA_TOPIC_PREFIX": django_settings.KAFKA_TOPIC_PREFIX,
            "LOG_LEVEL": "INFO",
        }
        | extra
    )


def start_process(args: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ORDER_SVC, env=process_env(**env), stdout=output, stderr=subprocess.STDOUT
        )


def free_port_pair() -> int:
    """A free port whose successor is free too (a local broker's controller takes port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports found")
