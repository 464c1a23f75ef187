"""``shop.payment.v1.PaymentService`` (protos/payment/v1/payment.proto): payments for other services."""

from __future__ import annotations

import grpc

from payments.models import Payment
from payments.selectors import payment_get_for_order
from protos.payment.v1 import payment_pb2, payment_pb2_grpc
from shared.grpc_server import found, registration, requested_id
from shared.money import money


class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    def GetPayment(self, request: payment_pb2.GetPaymentRequest, context: grpc.ServicerContext) -> payment_pb2.Payment:
        order_id = requested_id(context, request.order_id, noun="an order")
        payment = found(context, payment_get_for_order(order_id=order_id), f"No payment for order {order_id}.")
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


register = registration(
    payment_pb2_grpc.add_PaymentServiceServicer_to_server,
    PaymentServicer,
    payment_pb2.DESCRIPTOR.services_by_name["PaymentService"],
)
