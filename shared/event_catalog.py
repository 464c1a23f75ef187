"""Writes ``docs/events.md`` from the event registry: ``python -m shared.event_catalog``.

A test fails when the committed file differs from what this prints, so the
docs always list every event with its current schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shared.event_types import EVENT_TYPES, EventType

DOCS = Path(__file__).resolve().parent.parent / "docs" / "events.md"


def render() -> str:
    lines = [
        "# Events",
        "",
        "Generated from `shared/event_types.py` by `python -m shared.event_catalog`; do not edit by hand.",
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
        consumers = ", ".join(event.consumers) or "-"
        lines.append(f"| `{event.name}` | {event.version} | `{event.topic}` | {consumers} | {event.description} |")
    for event in EVENT_TYPES:
        lines += ["", f"## {event.name} (v{event.version})", "", event.description, "", *_fields(event)]
    return "\n".join(lines) + "\n"


def _fields(event: EventType) -> list[str]:
    return ["```json", json.dumps(event.schema, indent=2, sort_keys=True), "```"]


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if DOCS.read_text() == render() else 1)
    DOCS.write_text(render())
    print(f"wrote {DOCS}")
