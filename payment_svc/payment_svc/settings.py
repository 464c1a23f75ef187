"""Settings of the payment service: the shared base (read from the environment) plus its own parts."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from shared.env import env_int, env_str
from shared.settings import service_settings

globals().update(service_settings("payment", apps=["payments"], base_dir=str(Path(__file__).resolve().parent.parent)))

# Dotted paths of register(server) functions for run_grpc.
GRPC_SERVICERS: list[str] = ["payments.grpc.register"]

# Which provider takes the payments (payments.providers): "sandbox" (deterministic by token) or "stripe".
PAYMENT_PROVIDER: str = env_str("PAYMENT_PROVIDER", "sandbox")
if PAYMENT_PROVIDER not in {"sandbox", "stripe"}:
    raise ImproperlyConfigured(f"PAYMENT_PROVIDER must be sandbox or stripe (got {PAYMENT_PROVIDER!r}).")
# Calls per provider step before the payment gives up (a failed authorization: "provider unavailable"),
# and the pause before the first retry, doubled before each next one.
# PAYMENT_PROVIDER=stripe (payments.providers.stripe): the secret key, and stripe-mock's or a proxy's address.
STRIPE_API_KEY: str = env_str("STRIPE_API_KEY", "")
STRIPE_API_BASE: str = env_str("STRIPE_API_BASE", "")
STRIPE_TIMEOUT: int = env_int("STRIPE_TIMEOUT", 10)  # seconds per request
if PAYMENT_PROVIDER == "stripe" and not STRIPE_API_KEY:
    raise ImproperlyConfigured("PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY (sk_test_... or sk_live_...).")

PAYMENT_PROVIDER_ATTEMPTS: int = env_int("PAYMENT_PROVIDER_ATTEMPTS", 3)
PAYMENT_PROVIDER_BACKOFF_MS: int = env_int("PAYMENT_PROVIDER_BACKOFF_MS", 200)
if not 1 <= PAYMENT_PROVIDER_ATTEMPTS <= 10:
    raise ImproperlyConfigured("PAYMENT_PROVIDER_ATTEMPTS must be between 1 and 10.")
# The consumer retries provider steps left unfinished (a crash between the call and its record) this often,
# once they are this old.
PAYMENT_RETRY_INTERVAL_SECONDS: int = env_int("PAYMENT_RETRY_INTERVAL_SECONDS", 5)
PAYMENT_RETRY_AFTER_SECONDS: int = env_int("PAYMENT_RETRY_AFTER_SECONDS", 5)
# The sandbox provider's pretend network latency per call, in milliseconds (0: none).
PAYMENT_SANDBOX_LATENCY_MS: int = env_int("PAYMENT_SANDBOX_LATENCY_MS", 0)
