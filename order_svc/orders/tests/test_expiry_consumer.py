"""The order service's own consumer process expires pending orders by itself: no cron, no extra process."""

from __future__ import annotations

import signal

import pytest

from orders.models import Order, OrderStatus
from orders.services import EXPIRED_REASON
from orders.tests.factories import make_order
from shared.testing import wait_until
from shared.tests.conftest import isolated_topics, start_process  # noqa: F401 - isolated_topics is a fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("isolated_topics")]


def test_the_consume_events_process_rejects_a_pending_order_past_the_timeout_while_idle(tmp_path):
    order = make_order()
    consumer = start_process(
        ["manage.py", "consume_events"],
        tmp_path / "consumer.log",
        ORDER_PENDING_TIMEOUT_SECONDS="1",
        ORDER_EXPIRY_INTERVAL_SECONDS="1",
        METRICS_PORT="0",
    )
    try:
        rejected = wait_until(
            lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.REJECTED).first(),
            timeout=60,
            interval=0.2,
            what="the consumer to reject the pending order",
        )
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(timeout=30)
    assert rejected.rejection_reason == EXPIRED_REASON
    assert consumer.returncode == 0, (tmp_path / "consumer.log").read_text()
