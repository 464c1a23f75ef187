"""What ``make test`` runs: lint and types, then every suite on real Postgres and Kafka.

Each service is its own Django project, so each gets its own pytest run (own
settings, own test database ``test_shop_<service>``); ``shared/`` is tested
inside the order project; ``tests/`` holds the cross-service tests, which
start the whole stack as real processes. A suite that collects no test fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ops import browser, kafka, keys, monitor, postgres
from ops.paths import REPO_ROOT, VAR
from shared.topology import DOMAIN_SERVICES, GATEWAY, ORDER, TOPIC_PARTITIONS, TOPICS

RESULTS = VAR / "test-results"
NO_TESTS_COLLECTED = 5


@dataclass(frozen=True)
class Suite:
    name: str
    cwd: Path
    paths: list[str]
    settings: str | None  # DJANGO_SETTINGS_MODULE, None for the cross-service suite


def suites() -> list[Suite]:
    found = [
        Suite(spec.name, spec.directory, ["."], f"{spec.project}.settings") for spec in (GATEWAY, *DOMAIN_SERVICES)
    ]
    found.append(Suite("shared", ORDER.directory, [str(REPO_ROOT / "shared" / "tests")], f"{ORDER.project}.settings"))
    found.append(Suite("cross-service", REPO_ROOT, ["tests"], None))
    return found


def lint() -> bool:
    # mypy's Django plugin imports each project's settings; the user service's need the signing key.
    keys.ensure_dev_keys()
    venv_bin = Path(sys.executable).parent
    ok = True
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        print(f"$ {' '.join(command)}", flush=True)
        ok &= subprocess.call([str(venv_bin / command[0]), *command[1:]], cwd=REPO_ROOT) == 0
    # The Prometheus config and alert rules (compose/prometheus/): syntax, rules, and the rules' unit tests.
    ok &= monitor.check_config()
    # One mypy run per Django project (the django-stubs plugin loads that project's settings), then one
    # for the code outside the projects: shared/ on its own under the gateway's settings (shared's apps and
    # no domain app, so no service's models stand in for it), with ops/, tests/ and bench/.
    runs: list[tuple[str, Path, list[str], dict[str, str]]] = [
        (spec.project, spec.directory, ["."], {}) for spec in (GATEWAY, *DOMAIN_SERVICES)
    ]
    outside = ["shared", "ops", "manage_all.py", "tests", "bench"]
    # From the repository root the gateway's settings module is found through PYTHONPATH.
    runs.append((GATEWAY.project, REPO_ROOT, outside, {"PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{GATEWAY.directory}"}))
    for project, directory, targets, extra in runs:
        where = directory.relative_to(REPO_ROOT)
        print(f"$ mypy {' '.join(targets)}  (in {where}, DJANGO_SETTINGS_MODULE={project}.settings)", flush=True)
        env = os.environ | {"DJANGO_SETTINGS_MODULE": f"{project}.settings", "MYPYPATH": str(REPO_ROOT)} | extra
        command = [str(venv_bin / "mypy"), "--config-file", str(REPO_ROOT / "pyproject.toml"), *targets]
        ok &= subprocess.call(command, cwd=directory, env=env) == 0
    return ok


def run_suite(suite: Suite, env: dict[str, str], extra: list[str]) -> tuple[int, dict[str, int]]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = RESULTS / f"{suite.name}.xml"
    report.unlink(missing_ok=True)
    suite_env = env | {"PYTHONPATH": str(REPO_ROOT)}
    if suite.settings:
        suite_env["DJANGO_SETTINGS_MODULE"] = suite.settings
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(REPO_ROOT / "pyproject.toml"),
        "--rootdir",
        str(REPO_ROOT),
        f"--junitxml={report}",
        *suite.paths,
        *extra,
    ]
    print(f"\n=== {suite.name}: pytest {' '.join(suite.paths)}", flush=True)
    code = subprocess.call(command, cwd=suite.cwd, env=suite_env)
    return code, counts(report)


def counts(report: Path) -> dict[str, int]:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if not report.exists():
        return totals
    root = ET.parse(report).getroot()  # noqa: S314 - our own pytest's report
    for testsuite in root.iter("testsuite"):
        for key in totals:
            totals[key] += int(testsuite.get(key, 0))
    return totals


def run_all(extra: list[str]) -> int:
    started = time.monotonic()
    lint_ok = lint()
    # Before anything slow: a machine that cannot run the browser test fails here, loudly (never a skip).
    chromium = browser.ensure_chromium()
    print(f"browser: {chromium.browser} driven by {chromium.driver}", flush=True)
    server = postgres.ensure_server()
    broker = kafka.ensure_broker()
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    kafka.create_topics(broker.bootstrap, [prefix + topic for topic in TOPICS], TOPIC_PARTITIONS)
    env = os.environ | {
        "DJANGO_ENV": "test",
        "POSTGRES_URL": server.url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        # Topics and consumer groups of this run only, so tests never see a running stack's events.
        "KAFKA_TOPIC_PREFIX": prefix,
    }
    env.pop("DATABASE_URL", None)
    failed: list[str] = []
    passed = failures = skipped = 0
    try:
        for suite in suites():
            code, totals = run_suite(suite, env, extra)
            passed += totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
            failures += totals["failures"] + totals["errors"]
            skipped += totals["skipped"]
            if code == NO_TESTS_COLLECTED:
                print(f"{suite.name}: no tests collected, which counts as a failure", flush=True)
            if code != 0:
                failed.append(suite.name)
    finally:
        # Leave the machine as we found it: stop what this run started.
        if broker.started_here:
            kafka.stop_local()
        else:
            kafka.delete_topics(broker.bootstrap, [prefix + topic for topic in TOPICS])
        if server.started_here:
            postgres.stop_local()
    if not lint_ok:
        failed.insert(0, "lint")
    print(f"\nsuites failed: {', '.join(failed)}" if failed else "\nevery suite passed")
    print(f"took {time.monotonic() - started:.0f}s")
    print(f"total: {passed} passed, {failures} failed, {skipped} skipped")
    return 1 if failed else 0
