"""The handler registry: unknown event names fail at import, each registry is its own, topics follow the handlers."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shared import event_catalog
from shared.event_types import EVENT_TYPES, UnknownEventType
from shared.events import HANDLERS, PING, Envelope, EventHandlers
from shared.tests import effects


def test_a_handler_of_an_unknown_event_type_fails_when_its_module_is_imported(tmp_path: Path):
    (tmp_path / "typo_handlers.py").write_text(
        textwrap.dedent(
            """
            from shared.events import EventHandlers

            handlers = EventHandlers()

            @handlers.handles("inventory.reserverd")
            def on_reserved(envelope):
                pass
            """
        )
    )
    repo = Path(event_catalog.REPO)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); import typo_handlers"],
        cwd=repo / "order_svc",
        env=os.environ | {"PYTHONPATH": f"{tmp_path}:{repo}", "DJANGO_SETTINGS_MODULE": "order_svc.settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "UnknownEventType: no event type 'inventory.reserverd'" in result.stderr


def test_the_module_level_decorator_checks_the_name_too():
    with pytest.raises(UnknownEventType):
        EventHandlers().handles("order.palced")


def test_a_registry_of_its_own_shares_nothing_with_the_services():
    own = EventHandlers()

    @own.handles("order.confirmed")
    def on_confirmed(envelope: Envelope) -> None:
        pass

    assert own.names() == ["order.confirmed", PING]
    assert HANDLERS.get("order.confirmed") is None
    assert HANDLERS.get(effects.EVENT_TYPE) is None  # the test handlers never reach the service's registry
    assert effects.HANDLERS.get(effects.EVENT_TYPE) is effects.record_effect


def test_the_consumer_reads_the_topics_of_the_events_it_handles():
    own = EventHandlers()
    assert own.topics() == []  # ping alone subscribes to nothing
    own.handles("product.created")(lambda envelope: None)
    own.handles("order.placed")(lambda envelope: None)
    assert own.topics() == ["orders", "products"]
    assert HANDLERS.topics() == ["inventory", "payments", "users"]  # this (order) process's consumer


def test_every_event_but_the_status_trail_has_a_consumer_and_ping_reaches_every_consumer():
    """Consumers come from each service's registered handlers (a process per service), not from a list."""
    consumers = {event.name: event_catalog.consumers_of(event) for event in EVENT_TYPES}
    assert consumers["inventory.released"] == []
    assert consumers["user.tokens_revoked"] == ["gateway", "inventory", "order", "payment", "product"]  # not its issuer
    assert consumers[PING] == ["gateway", "inventory", "order", "payment", "product"]  # user consumes no topic
    assert consumers["inventory.reserved"] == ["order", "payment"]
    assert consumers["order.refund_requested"] == ["payment"]
    assert [name for name, services in consumers.items() if not services] == [
        "order.confirmed",
        "order.status_changed",
        "inventory.released",
    ]
