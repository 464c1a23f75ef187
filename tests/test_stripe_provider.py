"""Contract tests of the Stripe adapter against a real stripe-mock process (Stripe's own API mock).

stripe-mock checks every request against Stripe's OpenAPI spec (an unknown parameter or a
non-integer amount is a 400), so a call that passes here speaks Stripe's API. It answers from
fixtures and simulates neither declines nor state; the error mapping is checked against small
local HTTP servers that answer as Stripe does when it declines, fails or never answers.

Pure pytest, no Django: the adapter is imported from the payment service's app folder.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "payment_svc"))

# mypy checks the adapter in the payment project's own run; from here it cannot see that project's app.
from payments.providers.base import PaymentDeclined, ProviderError, ProviderTimeout  # type: ignore[import-not-found]  # noqa: E402
from payments.providers.stripe import StripeProvider  # type: ignore[import-not-found]  # noqa: E402

from ops import stripe_mock  # noqa: E402


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    form: dict[str, list[str]]
    headers: Mapping[str, str]
    answer_headers: Mapping[str, str]


class RecordingClient(stripe.RequestsClient):
    """The SDK's own HTTP client, noting each request it sends and the headers of each answer."""

    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.sent: list[Sent] = []

    def request(  # type: ignore[override]  # RequestsClient's own signature, which differs from HTTPClient's
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        content, status, answer_headers = super().request(method, url, headers, post_data)
        body = post_data.decode() if isinstance(post_data, bytes) else post_data or ""
        self.sent.append(Sent(method, urlsplit(url).path, parse_qs(body), dict(headers or {}), answer_headers))
        return content, status, answer_headers


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stripe_mock.StripeMock]:
    running = stripe_mock.start(log_file=tmp_path_factory.mktemp("stripe-mock") / "stripe-mock.log")
    yield running
    running.stop()


@pytest.fixture
def recorder() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def provider(mock: stripe_mock.StripeMock, recorder: RecordingClient) -> StripeProvider:
    return StripeProvider(api_key=stripe_mock.API_KEY, api_base=mock.api_base, http_client=recorder)


def authorize(provider: StripeProvider, order: str = "o-1", amount_minor: int = 1234) -> Any:
    return provider.authorize(
        amount_minor=amount_minor,
        currency="USD",
        payment_method="pm_card_visa",
        idempotency_key=f"{order}:authorize",
        reference=order,
    )


def test_authorize_holds_the_amount_in_minor_units_with_manual_capture(provider, recorder):
    payment = authorize(provider, amount_minor=1234)

    assert payment.provider_id.startswith("pi_")
    assert (payment.status, payment.amount_minor, payment.currency) == ("authorized", 1234, "usd")
    [sent] = recorder.sent
    assert (sent.method, sent.path) == ("post", "/v1/payment_intents")
    assert sent.form["amount"] == ["1234"]
    assert sent.form["currency"] == ["usd"]
    assert sent.form["capture_method"] == ["manual"]
    assert sent.form["confirm"] == ["true"]
    assert sent.form["error_on_requires_action"] == ["true"]
    assert sent.form["automatic_payment_methods[allow_redirects]"] == ["never"]
    assert sent.form["payment_method"] == ["pm_card_visa"]
    assert sent.form["metadata[reference]"] == ["o-1"]
    assert sent.headers["Idempotency-Key"] == "o-1:authorize"


def test_authorize_then_capture(provider, recorder):
    held = authorize(provider)

    captured = provider.capture(provider_id=held.provider_id, amount_minor=1234, idempotency_key="o-1:capture")

    assert (captured.provider_id, captured.status, captured.amount_minor) == (held.provider_id, "captured", 1234)
    sent = recorder.sent[-1]
    assert (sent.method, sent.path) == ("post", f"/v1/payment_intents/{held.provider_id}/capture")
    assert sent.form["amount_to_capture"] == ["1234"]
    assert sent.headers["Idempotency-Key"] == "o-1:capture"


def test_authorize_then_void_cancels_the_intent(provider, recorder):
    held = authorize(provider)

    voided = provider.void(provider_id=held.provider_id, idempotency_key="o-1:void")

    assert (voided.provider_id, voided.status) == (held.provider_id, "voided")
    sent = recorder.sent[-1]
    assert (sent.method, sent.path) == ("post", f"/v1/payment_intents/{held.provider_id}/cancel")
    assert sent.headers["Idempotency-Key"] == "o-1:void"


def test_capture_then_refund(provider, recorder):
    held = authorize(provider)
    provider.capture(provider_id=held.provider_id, amount_minor=1234, idempotency_key="o-1:capture")

    refunded = provider.refund(provider_id=held.provider_id, amount_minor=1234, idempotency_key="o-1:refund")

    assert (refunded.provider_id, refunded.status, refunded.amount_minor) == (held.provider_id, "refunded", 1234)
    sent = recorder.sent[-1]
    assert (sent.method, sent.path) == ("post", "/v1/refunds")
    assert sent.form["payment_intent"] == [held.provider_id]
    assert sent.form["amount"] == ["1234"]
    assert sent.headers["Idempotency-Key"] == "o-1:refund"


def test_a_repeated_idempotency_key_is_sent_again_and_stripe_mock_takes_it(provider, recorder):
    authorize(provider, order="o-2")
    authorize(provider, order="o-2")

    assert [sent.headers["Idempotency-Key"] for sent in recorder.sent] == ["o-2:authorize", "o-2:authorize"]
    # stripe-mock answers with the key it received, as Stripe does.
    assert [sent.answer_headers["Idempotency-Key"] for sent in recorder.sent] == ["o-2:authorize", "o-2:authorize"]


@pytest.mark.parametrize("amount", [Decimal("12.34"), 12.34, "1234", 0, -5, True])
def test_an_amount_that_is_not_positive_minor_units_never_reaches_stripe(provider, recorder, amount):
    with pytest.raises(ValueError, match="minor units"):
        authorize(provider, amount_minor=amount)
    held = "pi_123"
    with pytest.raises(ValueError, match="minor units"):
        provider.capture(provider_id=held, amount_minor=amount, idempotency_key="o-1:capture")
    with pytest.raises(ValueError, match="minor units"):
        provider.refund(provider_id=held, amount_minor=amount, idempotency_key="o-1:refund")
    assert recorder.sent == []


# The error mapping, against a local server that answers as Stripe does.


@contextmanager
def stripe_answering(status: int, **error: str) -> Iterator[StripeProvider]:
    """A provider whose Stripe answers every request with ``status`` and Stripe's error body ``error``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"error": error}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StripeProvider(api_key=stripe_mock.API_KEY, api_base=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def test_a_card_refusal_is_a_decline_with_stripes_decline_code():
    card_error = {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}
    with (
        stripe_answering(402, **card_error, message="Your card has insufficient funds.") as provider,
        pytest.raises(PaymentDeclined) as refused,
    ):
        authorize(provider)

    assert refused.value.code == "insufficient_funds"


def test_a_request_stripe_refuses_for_good_is_a_decline_with_its_code():
    missing = {"type": "invalid_request_error", "code": "resource_missing"}
    with (
        stripe_answering(400, **missing, message="No such PaymentMethod: 'pm_nope'") as provider,
        pytest.raises(PaymentDeclined) as refused,
    ):
        authorize(provider)

    assert refused.value.code == "resource_missing"


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(500, "api_error"), (503, "api_error"), (429, "invalid_request_error"), (401, "invalid_request_error")],
)
def test_a_5xx_a_rate_limit_or_our_bad_key_is_a_provider_error_a_retry_may_mend(status, error_type):
    with (
        stripe_answering(status, type=error_type, message="not now") as provider,
        pytest.raises(ProviderError) as failed,
    ):
        authorize(provider)

    assert not isinstance(failed.value, ProviderTimeout)


def test_nothing_listening_is_a_provider_timeout():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # bound, never listening: connections are refused
        provider = StripeProvider(api_key=stripe_mock.API_KEY, api_base=f"http://127.0.0.1:{closed}")

        with pytest.raises(ProviderTimeout):
            authorize(provider)


def test_a_provider_that_never_answers_times_out_within_the_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts the connection; nobody ever answers
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        provider = StripeProvider(api_key=stripe_mock.API_KEY, api_base=base, timeout=0.5)

        with pytest.raises(ProviderTimeout):
            authorize(provider)


def test_with_no_arguments_it_is_configured_by_django_settings(mock):
    """As the payment service builds it (``PAYMENT_PROVIDER=stripe``): key and base from the settings."""
    script = textwrap.dedent(
        f"""
        import sys
        from django.conf import settings
        settings.configure(STRIPE_API_KEY={stripe_mock.API_KEY!r}, STRIPE_API_BASE={mock.api_base!r})
        sys.path.insert(0, {str(REPO_ROOT / "payment_svc")!r})
        from payments.providers.stripe import StripeProvider
        payment = StripeProvider().authorize(
            amount_minor=4200, currency="eur", payment_method="pm_card_visa", idempotency_key="o-9:authorize",
            reference="o-9",
        )
        print(payment.status, payment.amount_minor, payment.currency)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["authorized", "4200", "eur"]


def test_with_no_key_in_the_settings_it_says_which_setting_to_set():
    script = (
        "from django.conf import settings; settings.configure()\n"
        f"import sys; sys.path.insert(0, {str(REPO_ROOT / 'payment_svc')!r})\n"
        "from payments.providers.stripe import StripeProvider; StripeProvider.from_settings()"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode != 0
    assert "STRIPE_API_KEY is empty" in done.stderr


def test_an_empty_api_key_is_refused_at_construction():
    with pytest.raises(ValueError, match="STRIPE_API_KEY"):
        StripeProvider(api_key="")
