"""``shop.payment.v1.PaymentService`` (protos/payment/v1/payment.proto): payments for other services."""

from __future__ import annotations

import grpc

from payments.models import Payment
from payments.selectors import payment_get_for_order
from protos.payment.v1 import payment_pb2, payment_pb2_grpc
from shared.ids import parse_uuid
from shared.money import money


class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    def GetPayment(self, request: payment_pb2.GetPaymentRequest, context: grpc.ServicerContext) -> payment_pb2.Payment:
        order_id = parse_uuid(request.order_id)
        if order_id is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{request.order_id!r} is not an order id (a UUID).")
        payment = payment_get_for_order(order_id=order_id)
        if payment is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"No payment for order {order_id}.")
        return payment_message(payment)


def payment_message(payment: Payment) -> payment_pb2.Payment:
    return payment_pb2.Payment(
        order_id=str(payment.order_id),
        status=payment.status,
        amount=money(payment.amount) if payment.amount is not None else "",
        currency=payment.currency,
        provider=payment.provider,
        failure_reason=payment.failure_reason,
        attempts=payment.attempts,
    )


def register(server: grpc.Server) -> list[str]:
    """Adds the servicer to ``server``; the names are what the health service reports as serving."""
    payment_pb2_grpc.add_PaymentServiceServicer_to_server(PaymentServicer(), server)
    return [payment_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name]
