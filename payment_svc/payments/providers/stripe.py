"""The Stripe adapter: PaymentIntents with manual capture, through the official SDK.

authorize creates and confirms a PaymentIntent with ``capture_method=manual`` (the card is
held, not charged); capture captures it, void cancels it, refund refunds it. Every call sends
the caller's idempotency key, so Stripe answers a repeated call with its first answer.

The SDK's own retries are off (``max_network_retries=0``): the payment service retries with
backoff and owns that policy. Errors become the interface's: a card refusal (HTTP 402) is
:class:`PaymentDeclined` with Stripe's decline code, a request Stripe refuses for good (4xx) is
:class:`PaymentDeclined` with its error code, and no answer, a 5xx or a rate limit is
:class:`ProviderError` (:class:`ProviderTimeout` when nothing answered), which a retry may mend.

Configured by ``STRIPE_API_KEY`` and, for stripe-mock or a proxy, ``STRIPE_API_BASE``. The
client is an instance (``StripeClient``), never the SDK's global key, so two configurations can
live in one process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import stripe

from payments.providers.base import PaymentDeclined, ProviderError, ProviderPayment, ProviderTimeout

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 10.0


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | None = None,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        """Given no ``api_key``, the key, the base and the timeout come from Django's settings.

        Those are ``STRIPE_API_KEY``, ``STRIPE_API_BASE`` (stripe-mock's address, a proxy's) and
        ``STRIPE_TIMEOUT`` (seconds per request, default 10). ``http_client`` replaces the SDK's
        requests-based client (and with it ``timeout``).
        """
        if api_key is None:
            from django.conf import settings

            api_key = getattr(settings, "STRIPE_API_KEY", "")
            api_base = api_base or getattr(settings, "STRIPE_API_BASE", None) or None
            timeout = timeout or getattr(settings, "STRIPE_TIMEOUT", None)
        if not api_key:
            raise ValueError("STRIPE_API_KEY is empty: set it to a Stripe secret key (sk_test_... or sk_live_...).")
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=http_client or stripe.RequestsClient(timeout=timeout or DEFAULT_TIMEOUT_SECONDS),
            max_network_retries=0,
        )

    @classmethod
    def from_settings(cls) -> StripeProvider:
        """The provider Django's settings describe: ``STRIPE_API_KEY``, ``STRIPE_API_BASE``, ``STRIPE_TIMEOUT``."""
        return cls()

    def authorize(
        self, *, amount_minor: int, currency: str, payment_method: str, idempotency_key: str, reference: str
    ) -> ProviderPayment:
        check_minor_units(amount_minor)
        intent = call(
            lambda: self.client.v1.payment_intents.create(
                params={
                    "amount": amount_minor,
                    "currency": currency.lower(),
                    "payment_method": payment_method,
                    # Server-side, with nobody to send off to a bank's page: methods that redirect are out.
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                    "capture_method": "manual",
                    "confirm": True,
                    # No customer is there to pass a 3-D Secure challenge: Stripe declines instead.
                    "error_on_requires_action": True,
                    "metadata": {"reference": reference},
                },
                options={"idempotency_key": idempotency_key},
            )
        )
        return ProviderPayment(intent.id, "authorized", intent.amount, intent.currency)

    def capture(self, *, provider_id: str, amount_minor: int, idempotency_key: str) -> ProviderPayment:
        check_minor_units(amount_minor)
        intent = call(
            lambda: self.client.v1.payment_intents.capture(
                provider_id,
                params={"amount_to_capture": amount_minor},
                options={"idempotency_key": idempotency_key},
            )
        )
        # The amount captured is the one asked for: Stripe captures exactly that or refuses (a 4xx).
        return ProviderPayment(intent.id, "captured", amount_minor, intent.currency)

    def void(self, *, provider_id: str, idempotency_key: str) -> ProviderPayment:
        intent = call(
            lambda: self.client.v1.payment_intents.cancel(provider_id, options={"idempotency_key": idempotency_key})
        )
        return ProviderPayment(intent.id, "voided", intent.amount, intent.currency)

    def refund(self, *, provider_id: str, amount_minor: int, idempotency_key: str) -> ProviderPayment:
        check_minor_units(amount_minor)
        refund = call(
            lambda: self.client.v1.refunds.create(
                params={"payment_intent": provider_id, "amount": amount_minor},
                options={"idempotency_key": idempotency_key},
            )
        )
        return ProviderPayment(provider_id, "refunded", refund.amount, refund.currency)


def check_minor_units(amount_minor: Any) -> None:
    """Amounts reach Stripe as a positive whole number of minor units (cents), never a Decimal or a float."""
    if type(amount_minor) is not int or amount_minor <= 0:
        raise ValueError(f"amount_minor must be a positive int of minor units, not {amount_minor!r}")


def call(request: Callable[[], T]) -> T:
    """Runs one Stripe request, turning the SDK's errors into the provider interface's."""
    try:
        return request()
    except stripe.CardError as exc:
        error = exc.error
        code = (error.decline_code if error else None) or exc.code or "card_declined"
        raise PaymentDeclined(code, exc.user_message or str(exc)) from exc
    except stripe.APIConnectionError as exc:
        raise ProviderTimeout(f"Stripe did not answer: {exc.user_message or exc}") from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        # Our key, not the customer's card: a retry after fixing STRIPE_API_KEY mends it.
        raise ProviderError(f"Stripe refused our API key (check STRIPE_API_KEY): {exc.user_message or exc}") from exc
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        if status >= 500 or status == 429 or isinstance(exc, (stripe.APIError, stripe.RateLimitError)):
            raise ProviderError(f"Stripe failed (HTTP {status}): {exc.user_message or exc}") from exc
        raise PaymentDeclined(exc.code or "invalid_request", exc.user_message or str(exc)) from exc
