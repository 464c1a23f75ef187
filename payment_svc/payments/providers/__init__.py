"""The payment provider this process uses, chosen by ``PAYMENT_PROVIDER``: ``sandbox`` (default) or ``stripe``.

The interface is :mod:`payments.providers.base`; the Stripe adapter (and its SDK) is imported only when chosen.
"""

from __future__ import annotations

from django.conf import settings

from payments.providers.base import PaymentProvider


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider named ``name``, by default ``settings.PAYMENT_PROVIDER``."""
    chosen = name or settings.PAYMENT_PROVIDER
    if chosen == "sandbox":
        from payments.providers.sandbox import SandboxProvider

        return SandboxProvider()
    if chosen == "stripe":
        from payments.providers.stripe import StripeProvider  # type: ignore[import-not-found,import-untyped,unused-ignore]

        provider: PaymentProvider = StripeProvider()
        return provider
    raise ValueError(f"Unknown payment provider {chosen!r}; PAYMENT_PROVIDER is sandbox or stripe.")
