import pytest

from gateway.routes import ROUTES, route_for
from shared.topology import DOMAIN_SERVICES


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/auth/token", "user"),
        ("/api/v1/users/me", "user"),
        ("/.well-known/jwks.json", "user"),
        ("/api/v1/products", "product"),
        ("/api/v1/products/5d0c/", "product"),
        ("/api/v1/categories", "product"),
        ("/api/v1/inventory/5d0c/adjustments", "inventory"),
        ("/api/v1/orders/5d0c/cancel", "order"),
        ("/api/v1/payments/5d0c", "payment"),
        ("/api/v1/cart", "order"),
        ("/api/v1/cart/items/5d0c", "order"),
        ("/api/v1/cart/checkout", "order"),
    ],
)
def test_each_public_path_has_its_service(path, service):
    route = route_for(path)
    assert route is not None
    assert route.service == service


@pytest.mark.parametrize("path", ["/api/v1/productsx", "/api/v2/orders", "/api/v1", "/admin/"])
def test_paths_outside_the_table_have_no_route(path):
    assert route_for(path) is None


def test_route_table_names_only_domain_services():
    assert {route.service for route in ROUTES} == {spec.name for spec in DOMAIN_SERVICES}
