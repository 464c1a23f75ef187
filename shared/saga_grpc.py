"""``shop.saga.v1.SagaService`` (protos/saga/v1/saga.proto): this service's part of orders' saga stories.

Served by every domain service's ``run_grpc`` through the shared bootstrap
(:data:`shared.grpc_server.SHARED_SERVICERS`), so the order admin can show a whole story.
"""

from __future__ import annotations

import json

import grpc

from protos.saga.v1 import saga_pb2, saga_pb2_grpc
from shared.grpc_server import registration, requested_ids
from shared.saga import local_stories

MAX_ORDER_IDS = 100  # stories per call (the order admin asks for one)


class SagaServicer(saga_pb2_grpc.SagaServiceServicer):
    def GetLocalStory(
        self, request: saga_pb2.GetLocalStoryRequest, context: grpc.ServicerContext
    ) -> saga_pb2.LocalStory:
        order_ids = requested_ids(context, request.order_ids, noun="an order", most=MAX_ORDER_IDS)
        stories = local_stories(order_ids=order_ids)
        return saga_pb2.LocalStory(service=stories["service"], stories_json=json.dumps(stories))


register = registration(
    saga_pb2_grpc.add_SagaServiceServicer_to_server, SagaServicer, saga_pb2.DESCRIPTOR.services_by_name["SagaService"]
)
