"""A real Apache Kafka broker (KRaft) for development and tests.

When ``KAFKA_BOOTSTRAP_SERVERS`` names a broker, that one is used. Otherwise the
broker's jars are fetched from Maven Central with Maven (once, into
``var/cache``), its storage is formatted, and one combined broker/controller
node runs on 127.0.0.1 (``LOCAL_KAFKA_PORT``, default 9092; controller on the next port).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ops.paths import CACHE_DIR, LOG_DIR, REPO_ROOT, RUN_DIR, VAR, ProvisionError
from ops.procs import pid_alive, port_open, read_pid, stop_pid, tail

POM = REPO_ROOT / "ops" / "kafka-pom.xml"
LOG4J_CONFIG = REPO_ROOT / "ops" / "kafka-log4j2.properties"
DATA_DIR = VAR / "kafka"
PID_FILE = RUN_DIR / "kafka.pid"
LOG_FILE = LOG_DIR / "kafka.log"


@dataclass(frozen=True)
class KafkaBroker:
    bootstrap: str
    started_here: bool


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, "kafka.version missing from ops/kafka-pom.xml"
    return match.group(1)


def local_port() -> int:
    return int(os.environ.get("LOCAL_KAFKA_PORT", "9092"))


def ensure_broker() -> KafkaBroker:
    """The broker to use, started here when the environment names none. Idempotent."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        wait_until_answers(configured, timeout=30)
        return KafkaBroker(configured, started_here=False)
    bootstrap = f"127.0.0.1:{local_port()}"
    if read_pid(PID_FILE) is not None:
        wait_until_answers(bootstrap, timeout=60, pid=read_pid(PID_FILE))
        return KafkaBroker(bootstrap, started_here=False)
    start_local()
    return KafkaBroker(bootstrap, started_here=True)


def java() -> str:
    found = shutil.which("java")
    if not found:
        raise ProvisionError("Java 17 or newer is needed to run Kafka: install it (apt-get install openjdk-17-jre).")
    output = subprocess.run([found, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', output)
    if not match or int(match.group(1)) < 17:
        raise ProvisionError(f"Kafka {kafka_version()} needs Java 17 or newer; `java -version` says: {output.strip()}")
    return found


def fetch_jars() -> Path:
    """The folder of the broker's jars, fetched with Maven the first time."""
    libs = CACHE_DIR / f"kafka-{kafka_version()}" / "libs"
    if (libs / ".complete").exists():
        return libs
    mvn = shutil.which("mvn")
    if not mvn:
        raise ProvisionError("Maven (mvn) is needed to fetch Kafka's jars: install it (apt-get install maven).")
    shutil.rmtree(libs, ignore_errors=True)
    print(f"fetching Apache Kafka {kafka_version()} from Maven Central ...", flush=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise ProvisionError(
            f"Maven could not fetch Kafka {kafka_version()} (is Maven Central reachable?):\n"
            + (result.stdout + result.stderr)[-3000:]
        )
    (libs / ".complete").write_text(kafka_version())
    return libs


def server_properties(port: int) -> str:
    controller = port + 1
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={DATA_DIR / 'data'}",
            "num.partitions=6",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "",
        ]
    )


def start_local() -> None:
    port = local_port()
    for taken in (port, port + 1):
        if port_open("127.0.0.1", taken):
            raise ProvisionError(
                f"Port {taken} is taken by another program, so a local Kafka can't start. Point us at a running "
                f"broker with KAFKA_BOOTSTRAP_SERVERS=HOST:PORT, free the port, or set LOCAL_KAFKA_PORT."
            )
    java_binary = java()
    libs = fetch_jars()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    properties = DATA_DIR / "server.properties"
    properties.write_text(server_properties(port))
    classpath = f"{libs}/*"
    if not (DATA_DIR / "data" / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            [
                java_binary,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(properties),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise ProvisionError(f"Formatting Kafka's storage failed:\n{result.stdout}{result.stderr}")
    with LOG_FILE.open("ab") as log:
        process = subprocess.Popen(
            [
                java_binary,
                "-Xms256m",
                "-Xmx768m",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(properties),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    PID_FILE.write_text(str(process.pid))
    wait_until_answers(f"127.0.0.1:{port}", timeout=90, pid=process.pid)


def wait_until_answers(bootstrap: str, *, timeout: float, pid: int | None = None) -> None:
    """Waits for a metadata answer naming a broker; fails fast if the local broker process died."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    # log_level 2: connection refusals while the broker starts are expected, not worth printing.
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 2000, "log_level": 2})
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if pid is not None and not pid_alive(pid):
            raise ProvisionError(f"The Kafka broker exited while starting. Its log ({LOG_FILE}):\n{tail(LOG_FILE, 30)}")
        try:
            if admin.list_topics(timeout=2).brokers:
                return
        except KafkaException as exc:
            last_error = str(exc.args[0])
        time.sleep(0.3)
    raise ProvisionError(f"Kafka at {bootstrap} did not answer within {timeout:.0f}s ({last_error}).")


def stop_local() -> bool:
    """Stops the local broker if it runs; True when it was running."""
    pid = read_pid(PID_FILE)
    if pid is None:
        return False
    stopped = stop_pid(pid, timeout=30)
    PID_FILE.unlink(missing_ok=True)
    return stopped


def create_topics(bootstrap: str, names: list[str], partitions: int) -> list[str]:
    from confluent_kafka.admin import AdminClient

    from shared.kafka import ensure_topics

    return ensure_topics(AdminClient({"bootstrap.servers": bootstrap}), names, partitions=partitions)


def delete_topics(bootstrap: str, names: list[str]) -> None:
    """Removes a test run's topics from a broker that outlives the run."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [name for name in names if name in existing]
    for future in admin.delete_topics(doomed, operation_timeout=30).values() if doomed else []:
        future.result()
