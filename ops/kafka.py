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
# A small heap with the serial collector: one broker on a developer's machine or a CI runner needs no
# concurrent GC threads competing with the services for the same few cores (G1's idle cost was higher).
# The C1 compiler only (TieredStopAtLevel=1): in a `make bench` run the broker's C2 compiler threads took
# about 60 % of its CPU (5.2 of 11.5 s, per thread from /proc), compiling for a peak the local broker never
# needs; with C1 alone the broker cost 4.9-5.1 CPU ms per order instead of 7.0-8.0 (quick runs, 2 cores).
# A production broker (KAFKA_BOOTSTRAP_SERVERS) runs for weeks and keeps C2: there it is a one-off.
JVM_OPTIONS = ["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


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
    broker = default_broker()
    if broker.pid() is not None:
        wait_until_answers(broker.bootstrap, timeout=60, pid=broker.pid())
        return KafkaBroker(broker.bootstrap, started_here=False)
    broker.start()
    return KafkaBroker(broker.bootstrap, started_here=True)


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


@dataclass(frozen=True)
class LocalBroker:
    """One combined broker/controller node on 127.0.0.1: ``port`` for clients, ``port + 1`` for its controller.

    ``home`` holds its storage and config; the default broker is ``var/kafka``. Tests
    start private ones (their own port and home) when they need to stop and restart Kafka.
    """

    port: int
    home: Path
    log_file: Path
    pid_file: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def server_properties(self) -> str:
        return server_properties(self.port, self.home / "data")

    def start(self, *, timeout: float = 90) -> None:
        for taken in (self.port, self.port + 1):
            if port_open("127.0.0.1", taken):
                raise ProvisionError(
                    f"Port {taken} is taken by another program, so a local Kafka can't start. Point us at a "
                    "running broker with KAFKA_BOOTSTRAP_SERVERS=HOST:PORT, free the port, or set LOCAL_KAFKA_PORT."
                )
        java_binary = java()
        libs = fetch_jars()
        for folder in (self.home, self.log_file.parent, self.pid_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        properties = self.home / "server.properties"
        properties.write_text(self.server_properties())
        classpath = f"{libs}/*"
        if not (self.home / "data" / "meta.properties").exists():
            format_storage(java_binary, classpath, properties, new_cluster_id())
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [
                    java_binary,
                    *JVM_OPTIONS,
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
        self.pid_file.write_text(str(process.pid))
        wait_until_answers(self.bootstrap, timeout=timeout, pid=process.pid, log_file=self.log_file)

    def stop(self, *, timeout: float = 30) -> bool:
        """Stops the broker if it runs (SIGTERM: a clean shutdown); True when it was running."""
        pid = self.pid()
        if pid is None:
            return False
        stopped = stop_pid(pid, timeout=timeout)
        self.pid_file.unlink(missing_ok=True)
        return stopped


def new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def format_storage(java_binary: str, classpath: str, properties: Path, cluster_id: str) -> None:
    """Formats a new node's storage (KRaft needs it once, before the first start)."""
    result = subprocess.run(
        # "--cluster-id=ID" in one word: a random id starting with "-" (1 in 64) would be read as an option.
        [
            java_binary,
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_id}",
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


def default_broker() -> LocalBroker:
    return LocalBroker(local_port(), DATA_DIR, LOG_FILE, PID_FILE)


def server_properties(port: int, data_dir: Path) -> str:
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
            f"log.dirs={data_dir}",
            "num.partitions=6",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # A single-node dev broker, sized for a small machine (defaults: 3 network, 8 I/O, 10 background
            # threads): fewer threads to wake. The controller appends a no-op record to its metadata log every
            # 500 ms by default to show liveness; every 5 s is plenty with one node (idle CPU 34 -> 23 ms/s).
            "num.network.threads=2",
            "num.io.threads=2",
            "background.threads=2",
            "metadata.max.idle.interval.ms=5000",
            "auto.create.topics.enable=false",
            "",
        ]
    )


def start_local() -> None:
    default_broker().start()


def wait_until_answers(bootstrap: str, *, timeout: float, pid: int | None = None, log_file: Path = LOG_FILE) -> None:
    """Waits for a metadata answer naming a broker; fails fast if the local broker process died."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    # log_level 2: connection refusals while the broker starts are expected, not worth printing.
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 2000, "log_level": 2})
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if pid is not None and not pid_alive(pid):
            raise ProvisionError(f"The Kafka broker exited while starting. Its log ({log_file}):\n{tail(log_file, 30)}")
        try:
            if admin.list_topics(timeout=2).brokers:
                return
        except KafkaException as exc:
            last_error = str(exc.args[0])
        time.sleep(0.3)
    raise ProvisionError(f"Kafka at {bootstrap} did not answer within {timeout:.0f}s ({last_error}).")


def stop_local() -> bool:
    """Stops the default local broker if it runs; True when it was running."""
    return default_broker().stop()


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
