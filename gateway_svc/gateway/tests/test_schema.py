"""/api/schema merges every service's OpenAPI document; /api/docs shows it in Swagger UI."""

import pytest

from gateway.schema import merge_documents
from gateway.tests.conftest import json_body
from ops.procs import free_port

pytestmark = pytest.mark.django_db


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def operation(schema_name: str) -> dict:
    return {"responses": {"200": {"content": {"application/json": {"schema": ref(schema_name)}}}}}


PRODUCT_SCHEMA = {
    "openapi": "3.0.3",
    "info": {"title": "product service", "version": "1.0.0"},
    "paths": {
        "/api/v1/products": {"get": operation("PaginatedProductList"), "post": operation("Product")},
        "/api/v1/products/{id}": {"get": operation("Product")},
    },
    "components": {
        "schemas": {
            "Product": {"type": "object", "properties": {"sku": {"type": "string"}, "status": ref("StatusEnum")}},
            "PaginatedProductList": {"type": "object", "properties": {"results": {"items": ref("Product")}}},
            "StatusEnum": {"enum": ["active", "inactive"], "type": "string"},
            "Money": {"type": "string", "format": "decimal"},
        }
    },
}
ORDER_SCHEMA = {
    "openapi": "3.0.3",
    "info": {"title": "order service", "version": "1.0.0"},
    "paths": {
        "/api/v1/orders": {"get": operation("Order"), "post": operation("Order")},
        "/api/v1/orders/{id}/status": {"post": operation("StatusEnum")},
    },
    "components": {
        "schemas": {
            "Order": {"type": "object", "properties": {"status": ref("StatusEnum"), "total": ref("Money")}},
            "StatusEnum": {"enum": ["pending", "confirmed"], "type": "string"},
            "Money": {"type": "string", "format": "decimal"},
        }
    },
}


@pytest.fixture
def two_services_up(upstreams, settings):
    json_body(upstreams["product"], PRODUCT_SCHEMA)
    json_body(upstreams["order"], ORDER_SCHEMA)
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "user": f"http://127.0.0.1:{free_port()}"}
    upstreams["inventory"].status = 503
    return upstreams


def test_schema_merges_the_services_and_names_the_missing_ones(client, two_services_up):
    response = client.get("/api/schema")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "shop API"
    assert document["openapi"] == "3.0.3"
    assert set(document["paths"]) == {
        "/api/v1/products",
        "/api/v1/products/{id}",
        "/api/v1/orders",
        "/api/v1/orders/{id}/status",
    }
    assert document["x-missing-services"] == ["user", "inventory", "payment"]
    assert two_services_up["product"].requests[0]["path"] == "/api/schema?format=json"


def test_colliding_component_names_are_prefixed_and_refs_follow(client, two_services_up):
    document = client.get("/api/schema").json()
    schemas = document["components"]["schemas"]
    assert set(schemas) == {
        "Product",
        "PaginatedProductList",
        "ProductStatusEnum",
        "OrderStatusEnum",
        "Money",  # the same definition in both: kept once, unrenamed
        "Order",
    }
    assert schemas["ProductStatusEnum"]["enum"] == ["active", "inactive"]
    assert schemas["OrderStatusEnum"]["enum"] == ["pending", "confirmed"]
    assert schemas["Product"]["properties"]["status"] == ref("ProductStatusEnum")
    assert schemas["Order"]["properties"]["status"] == ref("OrderStatusEnum")
    assert schemas["Order"]["properties"]["total"] == ref("Money")
    status_answer = document["paths"]["/api/v1/orders/{id}/status"]["post"]["responses"]["200"]
    assert status_answer["content"]["application/json"]["schema"] == ref("OrderStatusEnum")


def test_operations_say_which_need_a_token(client, two_services_up):
    paths = client.get("/api/schema").json()["paths"]
    assert paths["/api/v1/products"]["get"]["security"] == []
    assert paths["/api/v1/products"]["post"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/products"]["post"]["x-access"] == "staff"
    assert paths["/api/v1/orders"]["get"]["x-access"] == "user"
    assert paths["/api/v1/orders/{id}/status"]["post"]["x-access"] == "staff"


def test_a_complete_document_is_cached(client, upstreams):
    for name in upstreams:
        json_body(upstreams[name], {"openapi": "3.0.3", "paths": {f"/api/v1/{name}": {}}, "components": {}})
    first = client.get("/api/schema").json()
    second = client.get("/api/schema").json()
    assert first == second
    assert first["x-missing-services"] == []
    assert all(len(upstream.requests) == 1 for upstream in upstreams.values())


def test_no_service_answering_is_503(client, settings):
    settings.SERVICE_URLS = {name: f"http://127.0.0.1:{free_port()}" for name in settings.SERVICE_URLS}
    response = client.get("/api/schema")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"


def test_rename_avoids_a_name_already_taken():
    documents = {
        "order": {
            "paths": {},
            "components": {"schemas": {"Line": {"type": "object"}, "OrderLine": {"type": "string"}}},
        },
        "inventory": {"paths": {}, "components": {"schemas": {"Line": {"type": "integer"}}}},
    }
    schemas = merge_documents(documents)["components"]["schemas"]
    assert schemas == {
        "OrderLine2": {"type": "object"},
        "OrderLine": {"type": "string"},
        "InventoryLine": {"type": "integer"},
    }


def test_docs_are_swagger_ui_over_the_merged_schema(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in response.content
    assert b"/api/schema" in response.content


def test_docs_ignore_a_bad_token(client):
    assert client.get("/api/docs", HTTP_AUTHORIZATION="Bearer junk").status_code == 200
