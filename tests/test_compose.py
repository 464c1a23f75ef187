"""The container stack (``compose/``) agrees with the code.

Plain pytest and PyYAML, no Docker and no Django: the compose file is parsed and
cross-checked against ``shared/topology.py`` (services, ports, databases, topics, scrape targets)
and against the environment variables the code actually reads.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # no root conftest guaranteed; shared/ lives at the root
    sys.path.insert(0, str(ROOT))

from ops import monitor  # noqa: E402
from ops.stack import Ports, stack_processes  # noqa: E402
from shared.topology import (  # noqa: E402
    ALL_SERVICES,
    DOMAIN_SERVICES,
    PROCESS_KINDS,
    TOPIC_PARTITIONS,
    TOPICS,
    ServiceSpec,
)

COMPOSE_DIR = ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
DOCKERFILE = COMPOSE_DIR / "Dockerfile"
POSTGRES_INIT = COMPOSE_DIR / "postgres-init.sql"
PROMETHEUS_DIR = COMPOSE_DIR / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
PROMETHEUS_ALERTS = PROMETHEUS_DIR / "alerts.yml"
PROMETHEUS_TARGETS = PROMETHEUS_DIR / "targets" / "compose.json"
GRAFANA_DATASOURCE = COMPOSE_DIR / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
GRAFANA_DASHBOARD_PROVIDERS = COMPOSE_DIR / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
GRAFANA_DASHBOARDS = COMPOSE_DIR / "grafana" / "dashboards"

BY_NAME = {spec.name: spec for spec in ALL_SERVICES}
LONG_RUNNING_ROLES = PROCESS_KINDS
ONE_SHOT_APP_SERVICES = {"migrate"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def roles(spec: ServiceSpec) -> tuple[str, ...]:
    """The processes a service runs (the gateway: web, and a consumer of revoked tokens)."""
    return spec.processes


# --------------------------------------------------------------------------------------------
# Reading the compose file


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def is_app(service: dict[str, Any]) -> bool:
    """Runs the project's own image (built from compose/Dockerfile)."""
    build = service.get("build")
    return isinstance(build, dict) and build.get("dockerfile") == "compose/Dockerfile"


def app_services() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in services().items() if is_app(service)}


def long_running_app_services() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in app_services().items() if name not in ONE_SHOT_APP_SERVICES}


def env_of(service: dict[str, Any]) -> dict[str, Any]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return dict(environment)


def argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def invocations(service: dict[str, Any]) -> list[list[str]]:
    """Every simple command the container runs; ``sh -c`` scripts are split into their commands."""
    full = argv(service.get("entrypoint")) + argv(service.get("command"))
    if len(full) >= 3 and Path(full[0]).name in {"sh", "bash"} and full[1] == "-c":
        script = full[2]
        return [shlex.split(part) for part in re.split(r"&&|\|\||;|\n", script) if part.strip()]
    return [full]


def option(command: list[str], name: str) -> str | None:
    """The value of ``--name value`` (or ``--name=value``) in ``command``."""
    for index, part in enumerate(command):
        if part == name and index + 1 < len(command):
            return command[index + 1]
        if part.startswith(name + "="):
            return part.split("=", 1)[1]
    return None


def published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) pairs, from short (``[ip:]host:container``) or long syntax."""
    pairs: set[tuple[int, int]] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            pairs.add((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        if len(parts) < 2:
            pairs.add((int(parts[-1]), int(parts[-1])))
        else:
            pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Target -> condition (the list syntax means service_started)."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {target: (options or {}).get("condition", "service_started") for target, options in raw.items()}


def healthcheck_text(service: dict[str, Any]) -> str:
    healthcheck = service.get("healthcheck") or {}
    if healthcheck.get("disable"):
        return ""
    test = healthcheck.get("test")
    if not test or test in (["NONE"], "NONE"):
        return ""
    return " ".join(test) if isinstance(test, list) else str(test)


def allowed_hosts(service: dict[str, Any]) -> set[str]:
    return {host.strip() for host in str(env_of(service).get("DJANGO_ALLOWED_HOSTS", "")).split(",") if host.strip()}


# --------------------------------------------------------------------------------------------
# The environment variables the code reads

READ_CALL = re.compile(
    r"""\b(?:env_(?:str|bool|int|list)|os\.environ\.get|os\.getenv|os\.environ\.pop)\(\s*"""
    r"""(?P<prefix>[rRfFbBuU]{0,2})(?P<quote>["'])(?P<name>[^"'\n]*)(?P=quote)"""
)
READ_SUBSCRIPT = re.compile(
    r"""\bos\.environ\[\s*(?P<prefix>[rRfFbBuU]{0,2})(?P<quote>["'])(?P<name>[^"'\n]*)(?P=quote)\s*\]"""
)
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
ENV_PREFIX_EXPRESSION = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_]*\.env_prefix\s*")


def python_sources() -> Iterator[Path]:
    """The code that runs in the containers: shared/, the gunicorn config, every project (not their tests)."""
    yield ROOT / "ops" / "gunicorn_conf.py"
    for root in [ROOT / "shared"] + [spec.directory for spec in ALL_SERVICES]:
        for path in sorted(root.rglob("*.py")):
            if "tests" not in path.relative_to(root).parts and path.name != "conftest.py":
                yield path


def expand(template: str) -> set[str]:
    """Names an f-string reads; only the ``{<spec>.env_prefix}`` family is known (one per service)."""
    pieces = PLACEHOLDER.split(template)  # text, expression, text, expression, ...
    names = {""}
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            names = {name + piece for name in names}
        elif ENV_PREFIX_EXPRESSION.fullmatch(piece):
            names = {name + spec.env_prefix for name in names for spec in ALL_SERVICES}
        else:
            raise ValueError(f"unknown placeholder {{{piece}}}")
    return names


@cache
def names_code_reads() -> tuple[frozenset[str], tuple[str, ...]]:
    """(names, problems): every variable name read in the sources, and reads this test cannot resolve."""
    names: set[str] = set()
    problems: list[str] = []
    for path in python_sources():
        text = path.read_text()
        for match in (*READ_CALL.finditer(text), *READ_SUBSCRIPT.finditer(text)):
            name, prefix = match["name"], match["prefix"].lower()
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
            if "f" in prefix:
                try:
                    names |= expand(name)
                except ValueError as exc:
                    problems.append(f"{where}: {match.group(0)!r}: {exc}")
            else:
                names.add(name)
    return frozenset(names), tuple(problems)


# --------------------------------------------------------------------------------------------
# (a) every service has its processes, with the right ports and addresses


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=lambda spec: spec.name)
def test_each_service_runs_its_processes(spec: ServiceSpec) -> None:
    present = services()
    expected = {f"{spec.name}-{role}" for role in roles(spec)}
    missing = sorted(expected - present.keys())
    assert not missing, f"compose lacks {missing}"
    for name in expected:
        assert is_app(present[name]), f"{name} must be built from compose/Dockerfile"
    unexpected = sorted(({f"{spec.name}-{role}" for role in LONG_RUNNING_ROLES} - expected) & present.keys())
    assert not unexpected, f"shared/topology.py gives {spec.name} no such process, yet compose runs {unexpected}"


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=lambda spec: spec.name)
def test_web_process_serves_the_service_port(spec: ServiceSpec) -> None:
    web = services()[f"{spec.name}-web"]
    assert invocations(web) == [
        ["gunicorn", "-c", "ops/gunicorn_conf.py", "--chdir", spec.project, f"{spec.project}.wsgi"]
    ]
    env = env_of(web)
    assert env.get("HTTP_HOST") == "0.0.0.0"
    assert env.get("HTTP_PORT") == str(spec.http_port), f"{spec.name}-web: HTTP_PORT {env.get('HTTP_PORT')!r}"
    assert (spec.http_port, spec.http_port) in published_ports(web), f"{spec.name}-web must publish {spec.http_port}"


@pytest.mark.parametrize("spec", DOMAIN_SERVICES, ids=lambda spec: spec.name)
def test_grpc_process_serves_the_service_port(spec: ServiceSpec) -> None:
    grpc = services()[f"{spec.name}-grpc"]
    assert invocations(grpc) == [["python", f"{spec.project}/manage.py", "run_grpc"]]
    env = env_of(grpc)
    assert env.get("GRPC_HOST") == "0.0.0.0"
    assert env.get("GRPC_PORT") == str(spec.grpc_port), f"{spec.name}-grpc: GRPC_PORT {env.get('GRPC_PORT')!r}"
    assert spec.grpc_port is not None
    assert (spec.grpc_port, spec.grpc_port) in published_ports(grpc), f"{spec.name}-grpc must publish {spec.grpc_port}"


@pytest.mark.parametrize("spec", ALL_SERVICES, ids=lambda spec: spec.name)
def test_event_processes_run_their_commands(spec: ServiceSpec) -> None:
    for role, command in (("consumer", "consume_events"), ("relay", "relay_outbox")):
        if role not in roles(spec):
            continue
        service = services()[f"{spec.name}-{role}"]
        assert invocations(service) == [["python", f"{spec.project}/manage.py", command]], f"{spec.name}-{role}"
        assert not service.get("ports"), f"{spec.name}-{role} serves nothing and publishes no port"


def test_every_app_container_belongs_to_a_known_service() -> None:
    known = {f"{spec.name}-{role}" for spec in ALL_SERVICES for role in roles(spec)} | ONE_SHOT_APP_SERVICES
    strays = sorted(app_services().keys() - known)
    assert not strays, f"app containers matching no service/process in shared/topology.py: {strays}"
    for name, service in long_running_app_services().items():
        spec = BY_NAME[name.rsplit("-", 1)[0]]
        for command in invocations(service):
            projects = {part.split("/")[0] for part in command if part.endswith("manage.py")}
            projects |= {value for value in [option(command, "--chdir")] if value}
            assert projects == {spec.project}, f"{name} runs {command}, not {spec.project}'s code"


def test_services_find_each_other() -> None:
    for name, service in long_running_app_services().items():
        env = env_of(service)
        for spec in ALL_SERVICES:
            url = f"{spec.env_prefix}URL"
            assert env.get(url) == f"http://{spec.name}-web:{spec.http_port}", f"{name}: {url}={env.get(url)!r}"
            grpc = f"{spec.env_prefix}GRPC"
            if spec.grpc_port:
                assert env.get(grpc) == f"{spec.name}-grpc:{spec.grpc_port}", f"{name}: {grpc}={env.get(grpc)!r}"
            else:
                assert grpc not in env, f"{name}: {spec.name} has no gRPC server, {grpc} is never read"


def test_no_two_services_publish_the_same_host_port() -> None:
    seen: dict[int, str] = {}
    for name, service in services().items():
        for host_port, _ in published_ports(service):
            assert host_port not in seen, f"{name} and {seen[host_port]} both publish {host_port}"
            seen[host_port] = name
    for port, owner in ((9092, "kafka"), (9090, "prometheus"), (3000, "grafana")):
        assert seen.get(port) == owner, f"{owner} must publish {port}"


# --------------------------------------------------------------------------------------------
# (b) app containers set only variables the code reads


def test_the_scan_finds_what_the_code_reads() -> None:
    names, problems = names_code_reads()
    assert not problems, "env reads the scan cannot resolve (teach expand() the new family):\n" + "\n".join(problems)
    sample = {"DJANGO_ENV", "DJANGO_SECRET_KEY", "DATABASE_URL", "POSTGRES_URL", "KAFKA_BOOTSTRAP_SERVERS"}
    sample |= {"HTTP_HOST", "HTTP_PORT", "GRPC_HOST", "GRPC_PORT", "WEB_CONCURRENCY", "USER_SVC_URL", "USER_SVC_GRPC"}
    assert sample <= names, f"the scan missed {sorted(sample - names)}: is the regex still right?"


def test_app_containers_set_only_variables_the_code_reads() -> None:
    names, _ = names_code_reads()
    unknown = {
        f"{service_name}: {variable}"
        for service_name, service in app_services().items()
        for variable in env_of(service)
        if variable not in names
    }
    assert not unknown, "variables no code reads (typo, or a setting that does not exist):\n" + "\n".join(
        sorted(unknown)
    )


def test_environment_values_are_strings() -> None:
    # YAML turns false/on/8000 into bool/int; compose's conversion of those is not what the code parses.
    for name, service in app_services().items():
        for variable, value in env_of(service).items():
            assert isinstance(value, str), f"{name}: {variable}={value!r} should be quoted"


def test_production_settings_are_satisfied() -> None:
    for name, service in app_services().items():
        env = env_of(service)
        assert env.get("DJANGO_ENV", "production") == "production", name
        assert env.get("DJANGO_SECRET_KEY"), f"{name}: production settings require DJANGO_SECRET_KEY"
        assert allowed_hosts(service), f"{name}: production settings require DJANGO_ALLOWED_HOSTS"
        assert env.get("DJANGO_SECURE_SSL_REDIRECT") == "false", f"{name}: no TLS in compose, redirect must be off"
        assert env.get("KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092", name


# --------------------------------------------------------------------------------------------
# (c) databases


def postgres_credentials() -> tuple[str, str]:
    env = env_of(services()["postgres"])
    return env.get("POSTGRES_USER", "postgres"), env["POSTGRES_PASSWORD"]


def check_server_url(owner: str, url: str) -> str:
    """The URL points at the compose postgres with its credentials; returns the database name."""
    parts = urlsplit(url)
    assert parts.scheme in {"postgres", "postgresql"}, f"{owner}: {url}"
    assert parts.hostname == "postgres", f"{owner}: {url} is not the compose postgres"
    assert (parts.port or 5432) == 5432, f"{owner}: {url}"
    assert (parts.username, parts.password) == postgres_credentials(), f"{owner}: credentials differ from postgres's"
    return parts.path.lstrip("/")


def test_each_process_uses_its_service_database() -> None:
    for name, service in long_running_app_services().items():
        spec = BY_NAME[name.rsplit("-", 1)[0]]
        url = env_of(service).get("DATABASE_URL")
        assert url, f"{name} has no DATABASE_URL"
        assert check_server_url(name, url) == spec.database, f"{name}: {url} is not {spec.database}"


def test_migrate_migrates_every_database() -> None:
    migrate = services()["migrate"]
    env = env_of(migrate)
    # One DATABASE_URL would send every project's migrations into the same database.
    assert "DATABASE_URL" not in env, "migrate runs every project: POSTGRES_URL + /shop_<service>, not DATABASE_URL"
    assert check_server_url("migrate", env["POSTGRES_URL"]) == "", "POSTGRES_URL names the server, not a database"
    migrated = {
        command[1].split("/")[0]
        for command in invocations(migrate)
        if command[:1] == ["python"] and command[2:3] == ["migrate"] and "--noinput" in command
    }
    assert migrated == {spec.project for spec in ALL_SERVICES}


def test_postgres_init_creates_every_database() -> None:
    sql = re.sub(r"--[^\n]*", "", POSTGRES_INIT.read_text())
    created = set(re.findall(r'(?i)\bCREATE\s+DATABASE\s+"?(\w+)"?', sql))
    missing = sorted({spec.database for spec in ALL_SERVICES} - created)
    assert not missing, f"postgres-init.sql does not create {missing}"
    mounts = [str(volume) for volume in services()["postgres"].get("volumes") or []]
    assert any(mount.startswith("./postgres-init.sql:/docker-entrypoint-initdb.d/") for mount in mounts), (
        "postgres must mount postgres-init.sql into /docker-entrypoint-initdb.d/"
    )


# --------------------------------------------------------------------------------------------
# (d) Kafka topics


def test_kafka_init_creates_the_topics() -> None:
    created: dict[str, int] = {}
    for command in invocations(services()["kafka-init"]):
        if not command or not command[0].endswith("kafka-topics.sh") or "--create" not in command:
            continue
        assert "--if-not-exists" in command, f"{command}: rerunning must not fail"
        assert option(command, "--bootstrap-server") == "kafka:9092", command
        topic, partitions = option(command, "--topic"), option(command, "--partitions")
        assert topic and partitions, f"{command}: needs --topic and --partitions"
        created[topic] = int(partitions)
    assert created == dict.fromkeys(TOPICS, TOPIC_PARTITIONS)
    for name, service in app_services().items():
        assert "KAFKA_TOPIC_PREFIX" not in env_of(service), f"{name}: a prefix would miss the created topics"


def test_kafka_advertises_the_address_the_services_use() -> None:
    env = env_of(services()["kafka"])
    assert env.get("KAFKA_PROCESS_ROLES") == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env.get("KAFKA_ADVERTISED_LISTENERS", "").split(",")


# --------------------------------------------------------------------------------------------
# (e) start order and health


def test_depends_on_targets_exist_with_valid_conditions() -> None:
    present = services()
    for name, service in present.items():
        for target, condition in depends_on(service).items():
            assert target in present, f"{name} depends on {target}, which compose does not define"
            assert condition in CONDITIONS, f"{name} -> {target}: unknown condition {condition}"
            if condition == "service_healthy":
                assert healthcheck_text(present[target]), f"{name} waits for {target} healthy: it has no healthcheck"
            if condition == "service_completed_successfully":
                restart = str(present[target].get("restart", "no"))
                assert restart in {"no", "on-failure"}, f"{target} is a one-shot: restart {restart} never completes"


def test_app_containers_wait_for_infrastructure() -> None:
    needs = {"postgres": "service_healthy"}
    for name, service in app_services().items():
        edges = depends_on(service)
        for target, condition in needs.items():
            assert edges.get(target) == condition, f"{name} must wait for {target} ({condition})"
    later = {
        "kafka": "service_healthy",
        "migrate": "service_completed_successfully",
        "kafka-init": "service_completed_successfully",
    }
    for name, service in long_running_app_services().items():
        edges = depends_on(service)
        for target, condition in later.items():
            assert edges.get(target) == condition, f"{name} must wait for {target} ({condition})"
    assert depends_on(services()["kafka-init"]).get("kafka") == "service_healthy"


def test_healthchecks() -> None:
    present = services()
    assert "pg_isready" in healthcheck_text(present["postgres"])
    kafka_check = healthcheck_text(present["kafka"])
    assert "kafka-broker-api-versions.sh" in kafka_check or "kafka-topics.sh" in kafka_check
    for spec in ALL_SERVICES:
        web = healthcheck_text(present[f"{spec.name}-web"])
        assert "/healthz" in web, f"{spec.name}-web needs an HTTP healthcheck on /healthz"
        assert "curl" not in web, f"{spec.name}-web: python:3.11-slim has no curl"
        if spec.grpc_port:
            grpc = healthcheck_text(present[f"{spec.name}-grpc"])
            assert "grpc_health" in grpc, f"{spec.name}-grpc needs a grpc_health healthcheck"


# --------------------------------------------------------------------------------------------
# (f) metrics


def prometheus_targets() -> list[dict[str, Any]]:
    return json.loads(PROMETHEUS_TARGETS.read_text())


def scraped_addresses() -> dict[str, dict[str, str]]:
    """address -> labels, from the committed file_sd targets of the containers."""
    return {address: group["labels"] for group in prometheus_targets() for address in group["targets"]}


def standard_metrics_port(spec: ServiceSpec, role: str) -> int:
    """Where a gRPC/consumer/relay process serves /metrics with the standard ports (gRPC servers: 9301-9305)."""
    return Ports.standard().metrics.get(f"{spec.name}-{role}") or {"grpc": 9300 + spec.http_port % 100}[role]


def test_prometheus_scrapes_every_web_process() -> None:
    scraped = scraped_addresses()
    for spec in ALL_SERVICES:
        target = f"{spec.name}-web:{spec.http_port}"
        assert scraped.get(target) == {"service": spec.name, "process": "web"}, f"targets do not scrape {target}"
        # Django answers 400 to a Host it does not allow.
        assert f"{spec.name}-web" in allowed_hosts(services()[f"{spec.name}-web"]), f"{target} not in ALLOWED_HOSTS"


def test_prometheus_config_discovers_targets_from_files() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert config["global"]["scrape_interval"] == "5s"
    assert config["global"]["evaluation_interval"] == "5s"
    assert config["rule_files"] == ["alerts.yml"], "rules resolve next to prometheus.yml, in compose and locally"
    kept: dict[str, str] = {}
    for job in config["scrape_configs"]:
        name = job["job_name"]
        assert "static_configs" not in job, f"{name}: targets come from targets/*.json, not from the config"
        # Relative: Prometheus resolves it against the config's folder (/etc/prometheus, or var/prometheus).
        assert job["file_sd_configs"] == [{"files": ["targets/*.json"]}], name
        keep = [rule for rule in job.get("relabel_configs", []) if rule.get("action") == "keep"]
        assert [rule["source_labels"] for rule in keep] == [["process"]], f"{name} keeps one process kind"
        kept[keep[0]["regex"]] = name
    assert set(kept) == {*LONG_RUNNING_ROLES, "prometheus"}, f"one job per process kind: {kept}"


def test_prometheus_targets_match_compose() -> None:
    expected: dict[str, dict[str, str]] = {"localhost:9090": {"service": "prometheus", "process": "prometheus"}}
    for name, service in long_running_app_services().items():
        spec, role = BY_NAME[name.rsplit("-", 1)[0]], name.rsplit("-", 1)[1]
        env = env_of(service)
        if role == "web":
            port = env["HTTP_PORT"]
        else:
            # gRPC servers, consumers and relays serve their own /metrics on METRICS_PORT, on every interface.
            port = env.get("METRICS_PORT", "")
            assert port == str(standard_metrics_port(spec, role)), f"{name}: METRICS_PORT {port!r}"
            assert env.get("METRICS_HOST") == "0.0.0.0", f"{name}: Prometheus scrapes it from another container"
        expected[f"{name}:{port}"] = {"service": spec.name, "process": role}
    assert scraped_addresses() == expected
    assert sum(len(group["targets"]) for group in prometheus_targets()) == len(expected), "a target listed twice"


def test_metrics_are_open_to_prometheus_and_loopback_only() -> None:
    # Prometheus scrapes from its container, at an address in one of docker's private pools.
    prometheus_side = [ipaddress.ip_address(address) for address in ("172.18.0.5", "192.168.16.5")]
    for name, service in long_running_app_services().items():
        text = env_of(service).get("METRICS_ALLOWED_NETWORKS", "")
        networks = [ipaddress.ip_network(entry.strip()) for entry in text.split(",") if entry.strip()]
        assert networks, f"{name}: METRICS_ALLOWED_NETWORKS unset, so Prometheus (not loopback) is refused"
        for address in [ipaddress.ip_address("127.0.0.1"), *prometheus_side]:
            assert any(address in network for network in networks), f"{name}: {address} may not scrape"
        assert not any(network.prefixlen == 0 for network in networks), f"{name}: metrics open to everyone"
        assert not any(ipaddress.ip_address("203.0.113.9") in network for network in networks), name


def test_prometheus_mounts_its_config_rules_and_targets() -> None:
    prometheus = services()["prometheus"]
    assert option(argv(prometheus.get("command")), "--config.file") == "/etc/prometheus/prometheus.yml"
    mounts = {str(volume).rsplit(":ro", 1)[0] for volume in prometheus.get("volumes") or []}
    for source in ("prometheus.yml", "alerts.yml", "targets"):
        assert f"./prometheus/{source}:/etc/prometheus/{source}" in mounts, f"prometheus must mount {source}"


def test_local_prometheus_uses_the_same_config(tmp_path: Path) -> None:
    processes = stack_processes(postgres_url="postgresql://x@127.0.0.1", kafka="127.0.0.1:9092", ports=Ports.standard())
    config = monitor.write_config(tmp_path, processes, prometheus_port=9090)
    for name in ("prometheus.yml", "alerts.yml"):
        assert (tmp_path / name).read_bytes() == (PROMETHEUS_DIR / name).read_bytes(), f"{name} differs from compose's"
    assert config == tmp_path / "prometheus.yml"
    local = {
        address: group["labels"]
        for group in json.loads((tmp_path / "targets" / "local.json").read_text())
        for address in group["targets"]
    }
    for process in processes:
        port = process.http_port if process.kind == "web" else process.metrics_port
        if port:
            assert local[f"127.0.0.1:{port}"] == {"service": process.service, "process": process.kind}
    assert local["127.0.0.1:9090"] == {"service": "prometheus", "process": "prometheus"}
    # The same services and process kinds as in containers (gRPC servers once they have a metrics port).
    assert set(map(json.dumps, local.values())) <= set(map(json.dumps, scraped_addresses().values()))


ALERTS = {
    "ServiceDown",
    "HighErrorRatio",
    "GrpcErrors",
    "ConsumerLagHigh",
    "OutboxStuck",
    "DeadLettersGrowing",
    "OrderStuckPending",
    "PaymentAuthorizationsFailing",
    "PaymentCapturesFailing",
}


def test_alert_rules_say_how_bad_and_what_happened() -> None:
    rules = [rule for group in yaml.safe_load(PROMETHEUS_ALERTS.read_text())["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} == ALERTS
    operations = (ROOT / "docs" / "operations.md").read_text()
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert f"docs/operations.md#{rule['alert'].lower()}" in rule["annotations"]["description"], rule["alert"]
        assert f"### {rule['alert']}" in operations, f"docs/operations.md does not explain {rule['alert']}"
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())
    assert tests["rule_files"] == ["alerts.yml"]
    proven = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {"ServiceDown", "OutboxStuck", "OrderStuckPending"} <= proven, "alerts_test.yml must show these alerts fire"


def test_allowed_hosts_admit_every_caller() -> None:
    for spec in ALL_SERVICES:
        web = services()[f"{spec.name}-web"]
        assert "127.0.0.1" in allowed_hosts(web), f"{spec.name}-web: the healthcheck calls 127.0.0.1"
        for name, caller in long_running_app_services().items():
            host = urlsplit(env_of(caller).get(f"{spec.env_prefix}URL", "")).hostname
            assert host in allowed_hosts(web), f"{name} calls {host}, which {spec.name}-web does not allow"


def test_grafana_reads_prometheus() -> None:
    config = yaml.safe_load(GRAFANA_DATASOURCE.read_text())
    urls = {source["url"] for source in config["datasources"] if source["type"] == "prometheus"}
    assert urls == {"http://prometheus:9090"}
    mounts = [str(volume) for volume in services()["grafana"].get("volumes") or []]
    assert any(mount.startswith("./grafana/provisioning:/etc/grafana/provisioning") for mount in mounts)


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(GRAFANA_DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def test_grafana_provisions_the_dashboards() -> None:
    providers = yaml.safe_load(GRAFANA_DASHBOARD_PROVIDERS.read_text())["providers"]
    paths = {provider["options"]["path"] for provider in providers if provider["type"] == "file"}
    mounts = {str(volume).rsplit(":ro", 1)[0] for volume in services()["grafana"].get("volumes") or []}
    assert {f"./grafana/dashboards:{path}" for path in paths} <= mounts, f"grafana must mount dashboards at {paths}"
    found = dashboards()
    assert {"overview.json", "orders.json", "events.json", "grpc.json"} <= found.keys()
    uids = [dashboard["uid"] for dashboard in found.values()]
    assert len(set(uids)) == len(uids), f"dashboard uids must be unique: {uids}"


def test_dashboards_query_the_provisioned_datasource() -> None:
    sources = yaml.safe_load(GRAFANA_DATASOURCE.read_text())["datasources"]
    uid = next(source["uid"] for source in sources if source["type"] == "prometheus")
    for name, dashboard in dashboards().items():
        assert dashboard.get("schemaVersion", 0) >= 36, f"{name}: an old dashboard model"
        for panel in panels(dashboard):
            if panel["type"] == "row":
                continue
            where = f"{name}: {panel['title']!r}"
            assert panel.get("datasource") == {"type": "prometheus", "uid": uid}, where
            assert panel.get("targets"), f"{where} queries nothing"
            for target in panel["targets"]:
                assert target.get("datasource", panel["datasource"]) == panel["datasource"], where
                assert target.get("expr", "").strip(), f"{where}: target {target.get('refId')} has no expr"


# --------------------------------------------------------------------------------------------
# (g) the image


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not pending):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in logical]


def copied_sources() -> list[str]:
    sources: list[str] = []
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY":
            parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
            sources.extend(part.rstrip("/") or "." for part in parts[:-1])
    return sources


def is_copied(path: str) -> bool:
    return any(source == "." or path == source or path.startswith(source + "/") for source in copied_sources())


def test_compose_builds_from_the_dockerfile() -> None:
    for name, service in app_services().items():
        build = service["build"]
        assert (COMPOSE_DIR / build["context"]).resolve() == ROOT, f"{name}: the build context is the repo root"
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE.resolve()
    assert len({service.get("image") for service in app_services().values()}) == 1, "one image, built once"


def test_dockerfile_installs_the_pinned_requirements() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert (ROOT / "requirements" / "base.txt").is_file()
    assert "requirements/base.txt" in copied_sources(), "the Dockerfile must COPY requirements/base.txt"
    runs = [arguments for instruction, arguments in instructions if instruction == "RUN"]
    assert any("pip install" in run and "-r requirements/base.txt" in run for run in runs)
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the processes must not run as root"
    assert ("WORKDIR", "/app") in instructions
    baked = [arguments for instruction, arguments in instructions if instruction in {"ENV", "ARG"}]
    assert not any("DJANGO_SECRET_KEY" in arguments for arguments in baked), "no secret key in the image"
    assert any(re.search(r"\bDJANGO_ENV=production\b", arguments) for arguments in baked)


def test_dockerfile_collects_static_files_of_every_project() -> None:
    runs = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "RUN"]
    collect = [run for run in runs if "collectstatic" in run]
    assert len(collect) == 1, "one RUN line collects every project's static files"
    loop = re.search(r"for (\w+) in ([\w ]+?);", collect[0])
    assert loop, "expected `for svc in <services>; do ... collectstatic`"
    assert loop.group(2).split() == [spec.name for spec in ALL_SERVICES]
    assert f'"${{{loop.group(1)}}}_svc/manage.py" collectstatic --noinput' in collect[0]
    for variable in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"):
        assert f"{variable}=" in collect[0], f"collectstatic needs a build-only {variable} in production mode"


def test_commands_name_files_the_image_holds() -> None:
    for name, service in app_services().items():
        for command in invocations(service):
            paths = [part for part in command if part.endswith(("manage.py", ".py"))]
            if command[:2] == ["python", "-m"]:
                paths.append(command[2].replace(".", "/") + ".py")  # python -m package.module
            if chdir := option(command, "--chdir"):
                module = command[-1]
                paths.append(f"{chdir}/{module.replace('.', '/')}.py")
            assert paths, f"{name}: {command} runs no file of the repo"
            for path in paths:
                assert (ROOT / path).is_file(), f"{name}: {path} does not exist in the repo"
                assert is_copied(path), f"{name}: {path} is not copied into the image"
    for spec in ALL_SERVICES:
        assert is_copied(f"{spec.project}/manage.py"), f"{spec.project} is not copied into the image"
    for package in ("shared", "protos"):
        assert is_copied(f"{package}/__init__.py"), f"{package}/ is imported by every project: copy it"
