"""Event backbone benchmark (``make bench``): end-to-end latency at idle and relay throughput.

Runs the real processes (order_svc's ``relay_outbox`` and ``consume_events``)
against a database and topics of its own on the local Postgres and Kafka:

- latency: one ``system.ping`` at a time, from the outbox write (transaction
  commit) to the consumer's inbox commit, at idle;
- relay throughput: a backlog of N events written with the relay stopped, then
  timed from the relay's start until the last row is marked sent.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "order_svc"))

from ops import kafka, postgres  # noqa: E402
from ops.paths import VAR  # noqa: E402
from shared.settings import test_database_suffix  # noqa: E402
from shared.topology import TOPIC_PARTITIONS, TOPICS  # noqa: E402

DATABASE = "bench_shop_order"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--backlog", type=int, default=20_000)
    options = parser.parse_args()

    server = postgres.ensure_server()
    broker = kafka.ensure_broker()
    prefix = f"bench-{uuid.uuid4().hex[:6]}-"
    kafka.create_topics(broker.bootstrap, [prefix + topic for topic in TOPICS], TOPIC_PARTITIONS)
    database = DATABASE + test_database_suffix()
    postgres.recreate_databases(server.url, [database])
    os.environ.update(
        DJANGO_SETTINGS_MODULE="order_svc.settings",
        DJANGO_ENV="test",
        LOG_LEVEL="WARNING",
        DATABASE_URL=postgres.database_url(server.url, database),
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap,
        KAFKA_TOPIC_PREFIX=prefix,
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    logs = VAR / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        latency(options.samples, logs)
        throughput(options.backlog, logs)
    finally:
        kafka.delete_topics(broker.bootstrap, [prefix + topic for topic in TOPICS])


def start(command: str, logs: Path) -> subprocess.Popen[bytes]:
    with (logs / f"{command}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", command], cwd=REPO_ROOT / "order_svc", stdout=log, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def latency(samples: int, logs: Path) -> None:
    from django.db import transaction

    from shared.events import PING, Envelope, publish
    from shared.models import OutboxEvent, ProcessedEvent

    relay, consumer = start("relay_outbox", logs), start("consume_events", logs)
    try:
        warm = _ping()
        _wait(lambda: ProcessedEvent.objects.filter(event_id=warm).exists(), 60)
        results = []
        for _ in range(samples):
            time.sleep(0.2)  # idle between events
            envelope = Envelope(type=PING, key=str(uuid.uuid4()), payload={})
            with transaction.atomic():
                publish(envelope, topic="users")
            _wait(lambda event_id=envelope.id: ProcessedEvent.objects.filter(event_id=event_id).exists(), 30)
            written = OutboxEvent.objects.get(event_id=envelope.id).created_at
            applied = ProcessedEvent.objects.get(event_id=envelope.id).processed_at
            results.append((applied - written).total_seconds() * 1000)
    finally:
        stop(relay)
        stop(consumer)
    results.sort()
    print(
        f"end-to-end latency at idle (outbox write -> handler commit), {samples} events: "
        f"p50 {statistics.median(results):.1f} ms, p95 {results[int(len(results) * 0.95) - 1]:.1f} ms, "
        f"max {results[-1]:.1f} ms"
    )


def _ping() -> str:
    from django.db import transaction

    from shared.events import PING, Envelope, publish

    envelope = Envelope(type=PING, key=str(uuid.uuid4()), payload={})
    with transaction.atomic():
        publish(envelope, topic="users")
    return envelope.id


def throughput(backlog: int, logs: Path) -> None:
    from django.db import transaction

    from shared.events import PING, Envelope, publish
    from shared.models import OutboxEvent

    keys = [str(uuid.uuid4()) for _ in range(500)]
    with transaction.atomic():
        for number in range(backlog):
            publish(Envelope(type=PING, key=keys[number % len(keys)], payload={}), topic="orders")
    started = time.monotonic()
    relay = start("relay_outbox", logs)
    try:
        _wait(lambda: not OutboxEvent.objects.filter(sent_at__isnull=True).exists(), 600)
    finally:
        stop(relay)
    elapsed = time.monotonic() - started
    print(
        f"relay throughput: {backlog} events in {elapsed:.1f} s = {backlog / elapsed:.0f} events/s "
        "(one relay process, including its start-up)"
    )


def _wait(condition, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not met in time")
        time.sleep(0.002)


if __name__ == "__main__":
    main()
