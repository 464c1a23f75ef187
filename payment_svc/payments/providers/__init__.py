"""The payment provider this process uses, chosen by ``PAYMENT_PROVIDER``: ``sandbox`` (default) or ``stripe``.

The interface is :mod:`payments.providers.base`; the Stripe adapter (and its SDK) is imported only when chosen.
"""

from __future__ import annotations

import functools

from django.conf import settings

from payments.providers.base import PaymentProvider


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider named ``name``, by default ``settings.PAYMENT_PROVIDER``; one per process and configuration.

    Built once and kept: the Stripe client holds an HTTP session per thread, so every call after the
    first reuses its keep-alive connection instead of a new TCP and TLS handshake per payment.
    """
    chosen = name or settings.PAYMENT_PROVIDER
    if chosen == "stripe":
        return _provider(
            chosen,
            getattr(settings, "STRIPE_API_KEY", ""),
            getattr(settings, "STRIPE_API_BASE", ""),
            getattr(settings, "STRIPE_TIMEOUT", None),
        )
    return _provider(chosen)


@functools.cache
def _provider(name: str, *configuration: object) -> PaymentProvider:
    """The provider ``name`` built for ``configuration`` (the settings it reads), cached by both."""
    if name == "sandbox":
        from payments.providers.sandbox import SandboxProvider

        return SandboxProvider()
    if name == "stripe":
        from payments.providers.stripe import StripeProvider  # type: ignore[import-not-found,import-untyped,unused-ignore]

        provider: PaymentProvider = StripeProvider()
        return provider
    raise ValueError(f"Unknown payment provider {name!r}; PAYMENT_PROVIDER is sandbox or stripe.")
