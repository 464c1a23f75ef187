"""The payment service's periodic task, run by its consumer processes (:mod:`shared.periodic`): provider calls
left pending (a crash between a call and its record, a provider that did not answer) are made again.

Imported at startup (``PaymentsConfig.ready``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from payments.services import payment_retry_pending
from shared.periodic import periodic


@periodic("payments.retry_pending", every_seconds=settings.PAYMENT_RETRY_INTERVAL_SECONDS)
def retry_pending_payments() -> None:
    payment_retry_pending(older_than=timedelta(seconds=settings.PAYMENT_RETRY_AFTER_SECONDS))
