"""Writes ``docs/events.md`` from the event registry: ``python -m shared.event_catalog``.

A test fails when the committed file differs from what this prints, so the
docs always list every event with its current schema. Who consumes an event is
not written down anywhere: each service (its own Django project) is started in a
subprocess and asked which events its registered handlers apply (``--handled``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

from shared.event_types import EVENT_TYPES, EventType

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "events.md"


def services() -> list[str]:
    """Every service project in the repository: ``<name>_svc/<name>_svc/settings.py``."""
    return sorted(path.parent.name.removesuffix("_svc") for path in REPO.glob("*_svc/*_svc/settings.py"))


@cache
def consumed_by(service: str) -> tuple[frozenset[str], frozenset[str]]:
    """The event types ``service`` handles and the topics it subscribes to, asked in a process of its own."""
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": f"{service}_svc.settings",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "shared.event_catalog", "--handled"],
        cwd=REPO / f"{service}_svc",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"could not list the handlers of {service}: {result.stderr}")
    found = json.loads(result.stdout)
    return frozenset(found["handled"]), frozenset(found["topics"])


def consumers_of(event: EventType) -> list[str]:
    """The services whose consumer applies ``event``: a handler, on a topic it reads (``system.ping`` rides on any)."""
    applied = []
    for service in services():
        handled, topics = consumed_by(service)
        if event.name in handled and (event.topic in topics or (event.topic == "*" and topics)):
            applied.append(service)
    return applied


def render() -> str:
    lines = [
        "# Events",
        "",
        "Generated from `shared/event_types.py` and each service's registered handlers (`@handles`, which also",
        "decide the topics its consumer reads) by `python -m shared.event_catalog`; do not edit by hand.",
        "",
        "Every message is a JSON envelope: `id` (uuid), `type`, `version`, `occurred_at` (RFC 3339 UTC),",
        "`source` (the producing service), `key` (the aggregate id, also the Kafka message key),",
        "`request_id` and `payload`. A payload must match the schema of its type and version exactly",
        "(no extra fields); producers refuse to publish one that doesn't, and consumers dead-letter it.",
        "",
        "| event | version | topic | consumers | meaning |",
        "|---|---|---|---|---|",
    ]
    for event in EVENT_TYPES:
        consumers = ", ".join(consumers_of(event)) or "-"
        lines.append(f"| `{event.name}` | {event.version} | `{event.topic}` | {consumers} | {event.description} |")
    for event in EVENT_TYPES:
        lines += ["", f"## {event.name} (v{event.version})", "", event.description, "", *_fields(event)]
    return "\n".join(lines) + "\n"


def _fields(event: EventType) -> list[str]:
    return ["```json", json.dumps(event.schema, indent=2, sort_keys=True), "```"]


def _print_handled() -> None:
    """Prints this process's handled event types as JSON (run with a service's settings)."""
    import django

    django.setup()
    from shared.events import event_handlers

    handlers = event_handlers()
    print(json.dumps({"handled": handlers.names(), "topics": handlers.topics()}))


if __name__ == "__main__":
    if "--handled" in sys.argv:
        _print_handled()
    elif "--check" in sys.argv:
        sys.exit(0 if DOCS.read_text() == render() else 1)
    else:
        DOCS.write_text(render())
        print(f"wrote {DOCS}")
