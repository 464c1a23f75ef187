"""The payment provider interface: what the payment service asks of a provider, whichever it is.

Amounts cross this boundary in minor units (``int`` cents), never as floats. Every call carries an
idempotency key derived from the order and the step (``<order id>:authorize``), so a retried call or a
redelivered event never charges twice: a provider answers a repeated key with the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ProviderError(Exception):
    """The provider failed in a way a retry may mend (a timeout, a 5xx, a dropped connection)."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time."""


class PaymentDeclined(Exception):
    """The provider refused the payment for good; ``code`` is its reason (``card_declined``, ...)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's view of one payment after a call."""

    provider_id: str  # the provider's own id (a PaymentIntent id for Stripe)
    status: str  # "authorized", "captured", "voided" or "refunded"
    amount_minor: int
    currency: str  # ISO 4217, lower case as Stripe has it ("usd")


class PaymentProvider(Protocol):
    name: str

    def authorize(
        self, *, amount_minor: int, currency: str, payment_method: str, idempotency_key: str, reference: str
    ) -> ProviderPayment: ...

    def capture(self, *, provider_id: str, amount_minor: int, idempotency_key: str) -> ProviderPayment: ...

    def void(self, *, provider_id: str, idempotency_key: str) -> ProviderPayment: ...

    def refund(self, *, provider_id: str, amount_minor: int, idempotency_key: str) -> ProviderPayment: ...
