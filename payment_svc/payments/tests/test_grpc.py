"""shop.payment.v1.PaymentService over a real in-process server and channel."""

import uuid
from decimal import Decimal

import grpc
import pytest

from payments.grpc import register
from payments.models import Payment
from protos.payment.v1 import payment_pb2, payment_pb2_grpc
from shared.grpc_server import create_server
from shared.testing.grpc import serving


@pytest.fixture
def stub(monkeypatch):
    with serving(register, monkeypatch) as channel:
        yield payment_pb2_grpc.PaymentServiceStub(channel)


def test_register_names_the_full_service():
    server, _, _ = create_server(port=0, registers=[])
    try:
        assert register(server) == ["shop.payment.v1.PaymentService"]
    finally:
        server.stop(0)


# The server's worker threads use their own connections, so the data must be committed.
@pytest.mark.django_db(transaction=True)
def test_get_payment_answers_the_payment_of_the_order(stub):
    payment = Payment.objects.create(
        order_id=uuid.uuid4(),
        status="authorized",
        amount=Decimal("12.30"),
        currency="USD",
        provider="sandbox",
        attempts=2,
    )
    answer = stub.GetPayment(payment_pb2.GetPaymentRequest(order_id=str(payment.order_id)), timeout=5)
    assert (answer.order_id, answer.status, answer.amount, answer.currency, answer.provider, answer.attempts) == (
        str(payment.order_id), "authorized", "12.30", "USD", "sandbox", 2,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("order_id", "code"), [(str(uuid.uuid4()), grpc.StatusCode.NOT_FOUND), ("nope", grpc.StatusCode.INVALID_ARGUMENT)]
)
def test_get_payment_refuses_unknown_and_malformed_ids(stub, order_id, code):
    with pytest.raises(grpc.RpcError) as error:
        stub.GetPayment(payment_pb2.GetPaymentRequest(order_id=order_id), timeout=5)
    assert error.value.code() == code
