"""``shop.saga.v1.SagaService`` (protos/saga/v1/saga.proto): this service's part of orders' saga stories.

Served by every domain service's ``run_grpc`` through the shared bootstrap
(:data:`shared.grpc_server.SHARED_SERVICERS`), so the order admin can show a whole story.
"""

from __future__ import annotations

import json
import uuid

import grpc

from protos.saga.v1 import saga_pb2, saga_pb2_grpc
from shared.saga import local_stories


class SagaServicer(saga_pb2_grpc.SagaServiceServicer):
    def GetLocalStory(
        self, request: saga_pb2.GetLocalStoryRequest, context: grpc.ServicerContext
    ) -> saga_pb2.LocalStory:
        try:
            order_ids = [uuid.UUID(value) for value in request.order_ids]
        except ValueError:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Order ids must be UUIDs, got {list(request.order_ids)}.")
        stories = local_stories(order_ids=order_ids)
        return saga_pb2.LocalStory(service=stories["service"], stories_json=json.dumps(stories))


def register(server: grpc.Server) -> list[str]:
    """Adds the servicer to ``server``; the names are what the health service reports as serving."""
    saga_pb2_grpc.add_SagaServiceServicer_to_server(SagaServicer(), server)
    return [saga_pb2.DESCRIPTOR.services_by_name["SagaService"].full_name]
