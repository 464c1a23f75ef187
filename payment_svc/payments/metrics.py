"""Business metrics of payments: ``shop_payment_steps_total{step, outcome}``, counted by the process that
records the provider's answer, once it has committed.

``outcome`` is ``succeeded``, ``declined`` (the provider refused: a declined card, or a follow-up its state
does not allow), ``unavailable`` (no answer after the retries) or ``refused`` (the saga asked for a step
the payment cannot take, e.g. a capture without an authorization). The alerts on failing authorizations
and captures read it (compose/prometheus/alerts.yml).
"""

from __future__ import annotations

from django.db import transaction
from prometheus_client import Counter

STEPS: tuple[str, ...] = ("authorize", "capture", "void", "refund")
OUTCOMES: tuple[str, ...] = ("succeeded", "declined", "unavailable", "refused")
PAYMENT_STEPS = Counter(
    "shop_payment_steps",
    "Provider steps of payments by step (authorize|capture|void|refund) and outcome "
    "(succeeded|declined|unavailable|refused).",
    ["step", "outcome"],
)
for _step in STEPS:
    for _outcome in OUTCOMES:
        PAYMENT_STEPS.labels(_step, _outcome)  # every series exists from the start, at zero


def count_step_on_commit(*, step: str, outcome: str) -> None:
    """Counts one step's outcome once the caller's transaction commits."""
    if step not in STEPS or outcome not in OUTCOMES:
        raise ValueError(f"Unknown payment step outcome {step}/{outcome}.")
    transaction.on_commit(PAYMENT_STEPS.labels(step, outcome).inc)
